/**
 * The audit and missing DNS data. The export script (scripts/Export-EoplockSnapshot.ps1) writes no `Dns` key where
 * Resolve-DnsName is missing ("it ships with Windows only") or with -SkipDns; `audit --live-dns` may meet lookups that
 * fail. Neither is "no MX": Microsoft's Enhanced Filtering guidance (S23, S26) turns on where the MX points, so an
 * unknown MX leaves EOPL-022 and EOPL-033 not evaluated, and unknown TXT/_dmarc data leaves EOPL-031/032 not evaluated —
 * never passed or failed on data nobody saw. DNS servers here are on loopback.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { buildContext, mxSummary } from '../../src/audit/context.js';
import { runAudit } from '../../src/audit/run.js';
import { dnsGapNote, domainDnsFacts, mxFactFor } from '../../src/dns/facts.js';
import { DEFAULT_ASSUMPTIONS } from '../../src/eop/assumptions.js';
import { inferProfile } from '../../src/profile/profile.js';
import { parseSnapshot, type Snapshot } from '../../src/snapshot/parse.js';
import { cli, tempFolder } from '../helpers/cli.js';
import { startDnsServer } from '../helpers/dns-server.js';

const temp = tempFolder('eoplock-audit-dns-');
const exposedRaw = JSON.parse(await readFile('examples/contoso-exposed.json', 'utf8')) as Record<string, unknown>;
const { Dns: _dns, ...withoutDnsRaw } = exposedRaw;

const parse = (raw: unknown): Snapshot => parseSnapshot(raw).snapshot;
const findings = (snapshot: Snapshot) => {
  const result = runAudit(snapshot, inferProfile(snapshot), { file: 'x.json', assumptions: DEFAULT_ASSUMPTIONS });
  return new Map(result.findings.map((finding) => [finding.id, finding]));
};
const DNS_CHECKS = ['EOPL-022', 'EOPL-031', 'EOPL-032', 'EOPL-033'];

describe('a snapshot without a Dns section', () => {
  test('the MX is unknown, not "at Exchange Online": the checks that need DNS are not evaluated, with why', () => {
    const withDns = findings(parse(exposedRaw));
    const without = findings(parse(withoutDnsRaw));
    // With its Dns section the exposed example fails EOPL-022 (its MX is at the gateway) and EOPL-031/032.
    assert.deepEqual(['EOPL-022', 'EOPL-031', 'EOPL-032'].map((id) => withDns.get(id)?.status), ['fail', 'fail', 'fail']);
    for (const id of DNS_CHECKS) {
      const finding = without.get(id);
      assert.equal(finding?.status, 'not-applicable', id);
      assert.match(finding?.summary ?? '', /not evaluated/, id);
      assert.match(finding?.summary ?? '', /the snapshot has no Dns section/, id);
    }
    assert.match(without.get('EOPL-033')?.summary ?? '', /contoso\.com, contoso\.co\.uk, contosolabs\.com/);
  });

  test('the context and the emulator\'s helper say unknown, with the reason', () => {
    const snapshot = parse(withoutDnsRaw);
    const context = buildContext(snapshot, inferProfile(snapshot), DEFAULT_ASSUMPTIONS);
    assert.equal(context.mxAtExchange, null);
    assert.match(context.mxUnknown ?? '', /^where the MX of contoso\.com, contoso\.co\.uk, contosolabs\.com points is unknown \(the snapshot has no Dns section\)$/);
    assert.deepEqual(mxFactFor(snapshot, 'contoso.com'), { kind: 'unknown', why: 'the snapshot has no Dns section' });
    assert.equal(mxFactFor(parse(exposedRaw), 'Contoso.COM').kind, 'elsewhere');
  });

  test('CLI: one warning on stderr naming the domains and what to do; the findings are unchanged otherwise', async () => {
    const path = await temp.file('no-dns.json', JSON.stringify(withoutDnsRaw));
    for (const format of ['text', 'json']) {
      const result = await cli('audit', path, '--format', format, '--fail-on', 'none');
      assert.equal(result.code, 0, result.stderr);
      const warnings = result.stderr.split('\n').filter((line) => line.startsWith('eoplock: warning:'));
      assert.equal(warnings.length, 1, result.stderr);
      assert.match(warnings[0] ?? '', /no-dns\.json: the snapshot has no Dns section \(the export script leaves it out where Resolve-DnsName is missing, or with -SkipDns\)/);
      assert.match(warnings[0] ?? '', /contoso\.com, contoso\.co\.uk and contosolabs\.com/);
      assert.match(warnings[0] ?? '', /EOPL-022 and EOPL-031–033 are not evaluated\. Add --live-dns, or export on Windows\./);
    }
    const complete = await cli('audit', 'examples/contoso-exposed.json', '--format', 'json', '--fail-on', 'none');
    assert.equal(complete.stderr, '', 'a snapshot with DNS data for every custom domain gets no warning');
  });
});

describe('part of the DNS data missing', () => {
  test('a domain the Dns section lacks: no pass on the others alone; a failure elsewhere still fails, naming the gap', () => {
    const raw = JSON.parse(JSON.stringify(exposedRaw)) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    // Every present domain with SPF -all and DMARC reject + rua, then contoso.de added with no Dns entry.
    for (const entry of Object.values(raw.Dns as Record<string, any>)) { // eslint-disable-line @typescript-eslint/no-explicit-any
      entry.TXT = ['v=spf1 ip4:203.0.113.10 -all'];
      entry.DMARC = ['v=DMARC1; p=reject; rua=mailto:dmarc@contoso.com'];
    }
    raw.AcceptedDomain.push({ DomainName: 'contoso.de', DomainType: 'Authoritative' });
    const gap = findings(parse(raw));
    assert.equal(gap.get('EOPL-031')?.status, 'not-applicable');
    assert.equal(gap.get('EOPL-031')?.summary, "not evaluated for contoso.de (the snapshot's Dns section holds nothing for contoso.de)");
    assert.equal(gap.get('EOPL-032')?.status, 'not-applicable');
    assert.equal(gap.get('EOPL-022')?.status, 'fail', 'the MX of the other domains is known to be at the gateway: Enhanced Filtering is needed');

    raw.Dns['contoso.com'].TXT = ['v=spf1 +all'];
    const failing = findings(parse(raw)).get('EOPL-031');
    assert.equal(failing?.status, 'fail');
    assert.match(failing?.summary ?? '', /^1 domain\(s\) lack an SPF record that fails unlisted senders; not evaluated for contoso\.de/);
  });

  test('mxSummary: one domain known to point away settles it; else an unknown MX is said', () => {
    const facts = (mx: Record<string, string[] | null>) =>
      domainDnsFacts(
        parse({
          ...withoutDnsRaw,
          AcceptedDomain: Object.keys(mx).map((name) => ({ DomainName: name, DomainType: 'Authoritative' })),
          Dns: Object.fromEntries(Object.entries(mx).flatMap(([name, hosts]) => (hosts ? [[name, { MX: hosts, TXT: [], DMARC: [] }]] : []))),
        }),
      );
    assert.deepEqual(mxSummary(facts({ 'a.example': ['0 a-example.mail.protection.outlook.com'], 'b.example': null })), {
      mxAtExchange: null,
      mxUnknown: "where the MX of b.example points is unknown (the snapshot's Dns section holds nothing for b.example)",
    });
    assert.deepEqual(mxSummary(facts({ 'a.example': ['10 mx1.seg.example.net'], 'b.example': null })), { mxAtExchange: false, mxUnknown: null });
    assert.deepEqual(mxSummary(facts({ 'a.example': ['0 a-example.mail.protection.outlook.com'], 'b.example': [] })), { mxAtExchange: true, mxUnknown: null });
    assert.deepEqual(mxSummary(facts({ 'a.example': [] })), { mxAtExchange: null, mxUnknown: null });
  });

  test('a snapshot whose Dns entry records failed lookups (as eoplock pull writes them) is read the same way', () => {
    const raw = JSON.parse(JSON.stringify(exposedRaw)) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    raw.Dns['contoso.co.uk'] = { MX: [], TXT: [], DMARC: [], DKIM: {}, Failed: { MX: 'timed out (ETIMEOUT)', TXT: 'timed out (ETIMEOUT)', DMARC: 'timed out (ETIMEOUT)' } };
    const snapshot = parse(raw);
    assert.match(findings(snapshot).get('EOPL-031')?.summary ?? '', /not evaluated for contoso\.co\.uk \(the TXT lookup failed: timed out \(ETIMEOUT\)\)/);
    assert.equal(dnsGapNote(snapshot), 'DNS data is missing (the MX, TXT and _dmarc TXT lookup(s) of contoso.co.uk failed: timed out (ETIMEOUT)): what it would say is unknown, so the checks that read it (EOPL-022 and EOPL-031–033) are not evaluated for those domains.');
  });
});

describe('an export whose lookup failed', () => {
  // Export-EoplockSnapshot.ps1's Invoke-DnsQuery: a lookup that fails with anything but "no such name" / "no records"
  // adds a Meta.warnings line and the list is left out of the entry ("It was left out of Dns"); an answer with no
  // record writes an empty list.
  test('a list left out of a Dns entry is unknown, an empty list is "no record"', async () => {
    const raw = JSON.parse(JSON.stringify(exposedRaw)) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    delete raw.Dns['contoso.co.uk'].MX;
    raw.Dns['contosolabs.com'].MX = [];
    const snapshot = parse(raw);
    assert.equal(mxFactFor(snapshot, 'contoso.co.uk').kind, 'unknown');
    assert.deepEqual(mxFactFor(snapshot, 'contosolabs.com'), { kind: 'none' });
    assert.match(findings(snapshot).get('EOPL-033')?.summary ?? '', /^not evaluated for contoso\.co\.uk \(the MX lookup failed: absent from the snapshot \(the export leaves a record list out when its lookup failed; see Meta\.warnings\)\)$/);
    const path = await temp.file('mx-left-out.json', JSON.stringify(raw));
    const offline = await cli('dns', 'contoso.co.uk', '--snapshot', path);
    assert.equal(offline.code, 2);
    assert.match(offline.stdout, /MX {5}lookup failed: the snapshot's MX lookup of contoso\.co\.uk failed: absent from the snapshot/);
  });
});

describe('audit --live-dns with lookups that fail', () => {
  let dns: Awaited<ReturnType<typeof startDnsServer>>;
  before(async () => {
    dns = await startDnsServer({
      'contoso.com': { rcode: 2 },
      '_dmarc.contoso.com': { rcode: 2 },
      'contoso.co.uk': { rcode: 5 },
      '_dmarc.contoso.co.uk': { rcode: 5 },
      'contosolabs.com': { rcode: 2 },
      '_dmarc.contosolabs.com': { rcode: 2 },
    });
  });
  after(() => dns.close());

  const status = (stdout: string) => new Map((JSON.parse(stdout) as { findings: { id: string; status: string; summary: string }[] }).findings.map((finding) => [finding.id, finding]));

  test('every DNS check is not evaluated (never passed or failed), with why; stderr says so once', async () => {
    const result = await cli('audit', 'examples/contoso-exposed.json', '--format', 'json', '--fail-on', 'none', '--live-dns', '--resolver', dns.server);
    assert.equal(result.code, 0, result.stderr);
    const found = status(result.stdout);
    for (const id of DNS_CHECKS) assert.equal(found.get(id)?.status, 'not-applicable', id);
    assert.match(found.get('EOPL-033')?.summary ?? '', /not evaluated for contoso\.com, contosolabs\.com \(the MX lookup failed: server failure \(SERVFAIL\)\); contoso\.co\.uk \(the MX lookup failed: refused by the server \(REFUSED\)\)/);
    assert.match(found.get('EOPL-022')?.summary ?? '', /^not evaluated: where the MX of/);
    const warnings = result.stderr.split('\n').filter((line) => line.startsWith('eoplock: warning:'));
    assert.equal(warnings.length, 1, result.stderr);
    assert.match(warnings[0] ?? '', /the MX, TXT and _dmarc TXT lookup\(s\) of contoso\.com and contosolabs\.com failed: server failure \(SERVFAIL\); the MX, TXT and _dmarc TXT lookup\(s\) of contoso\.co\.uk failed: refused by the server \(REFUSED\)/);
    assert.doesNotMatch(result.stderr, /internal error/);
  });

  test('a domain whose lookups answered still fails the check; the ones that failed are named as not evaluated', async () => {
    const mixed = await startDnsServer({
      'contoso.com': { MX: [[0, 'contoso-com.mail.protection.outlook.com']], TXT: ['v=spf1 -all'] },
      '_dmarc.contoso.com': { TXT: ['v=DMARC1; p=reject; rua=mailto:d@contoso.com'] },
      'contoso.co.uk': { silent: true },
      'contosolabs.com': { MX: [[10, 'mx1.seg.example.net']], TXT: ['v=spf1 -all'] },
      '_dmarc.contosolabs.com': { TXT: ['v=DMARC1; p=reject;'] },
    });
    try {
      const result = await cli('audit', 'examples/contoso-exposed.json', '--format', 'json', '--fail-on', 'none', '--live-dns', '--resolver', mixed.server);
      const found = status(result.stdout);
      assert.equal(found.get('EOPL-033')?.status, 'fail', 'contoso.com\'s MX is Exchange Online itself');
      assert.match(found.get('EOPL-033')?.summary ?? '', /; not evaluated for contoso\.co\.uk \(the MX lookup failed: timed out \(ETIMEOUT\)\)$/);
      assert.equal(found.get('EOPL-031')?.status, 'not-applicable', 'the answered domains pass, contoso.co.uk is unknown');
      assert.equal(found.get('EOPL-022')?.status, 'fail', 'contosolabs.com\'s MX is at the gateway, so Enhanced Filtering is needed');
    } finally {
      await mixed.close();
    }
  });
});
