/**
 * DNS checks against a DNS server on loopback, DMARC parsing and alignment.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { checkDomain } from '../../src/dns/check.js';
import { aligned, organisationalDomain, parseDmarc } from '../../src/dns/dmarc.js';
import { liveResolver } from '../../src/dns/live-resolver.js';
import { snapshotResolver, txtRecords } from '../../src/dns/resolver.js';
import { loadSnapshotFile } from '../../src/snapshot/load.js';
import { cli } from '../helpers/cli.js';
import { startDnsServer } from '../helpers/dns-server.js';

const LONG_KEY = `v=DKIM1; k=rsa; p=${'A'.repeat(400)}`;
const chain: Record<string, { TXT: string[] }> = {};
for (let i = 0; i < 11; i++) chain[`n${i}.spf.example`] = { TXT: [`v=spf1 ${i < 10 ? `include:n${i + 1}.spf.example` : 'ip4:192.0.2.99'} -all`] };

let dns: Awaited<ReturnType<typeof startDnsServer>>;
before(async () => {
  dns = await startDnsServer({
    'good.example': {
      MX: [[10, 'eu-smtp-inbound-1.mimecast.com'], [20, 'eu-smtp-inbound-2.mimecast.com']],
      TXT: [`v=spf1 include:eu._netblocks.mimecast.com include:spf.protection.outlook.com -all`, 'MS=ms1234'],
    },
    '_dmarc.good.example': { TXT: ['v=DMARC1; p=reject; rua=mailto:dmarc@good.example; adkim=s'] },
    'selector1._domainkey.good.example': { CNAME: 'selector1-good-example._domainkey.good.onmicrosoft.com' },
    'selector2._domainkey.good.example': { CNAME: 'selector2-good-example._domainkey.good.onmicrosoft.com' },
    'eu._netblocks.mimecast.com': { TXT: ['v=spf1 ip4:192.0.2.0/24 ~all'] },
    'spf.protection.outlook.com': { TXT: ['v=spf1 ip4:198.51.100.0/24 -all'] },
    'bad.example': {
      MX: [[0, 'bad-example.mail.protection.outlook.com'], [10, 'mx1.seg.example.net']],
      TXT: ['v=spf1 include:n0.spf.example +all', 'v=spf1 -all', LONG_KEY],
    },
    '_dmarc.bad.example': { TXT: ['v=DMARC1; p=maybe; pct=50; rua=mailto:d@bad.example'] },
    'selector1._domainkey.bad.example': { CNAME: 'selector1-bad-example._domainkey.old.onmicrosoft.com' },
    ...chain,
    'sub.inherit.example': { MX: [[10, 'inherit-example.mail.protection.outlook.com']], TXT: ['v=spf1 -all'] },
    '_dmarc.inherit.example': { TXT: ['v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@inherit.example'] },
    'long.example': { TXT: [`v=spf1 ${Array.from({ length: 30 }, (_, i) => `ip4:192.0.2.${i}`).join(' ')} -all`] },
  });
});
after(async () => {
  await dns.close();
});

describe('live checks against the loopback DNS server', () => {
  test('a healthy domain: MX at Mimecast (from the vendor data), SPF within budget, DMARC reject, DKIM as configured', async () => {
    const report = await checkDomain('good.example', liveResolver(dns.server), {
      evaluateSpf: true,
      dkim: { Enabled: true, Selector1CNAME: 'selector1-good-example._domainkey.good.onmicrosoft.com', Selector2CNAME: 'selector2-good-example._domainkey.good.onmicrosoft.com' },
    });
    assert.equal(report.mx.pointsTo, 'gateway');
    assert.equal(report.vendor?.name, 'Mimecast');
    assert.equal(report.spf.lookups, 2);
    assert.equal(report.dmarc.record?.policy, 'reject');
    assert.equal(report.dmarc.record?.adkim, 's');
    assert.deepEqual(report.dkim.map((entry) => entry.matches), [true, true]);
    assert.deepEqual(report.issues.filter((issue) => issue.severity !== 'info'), []);
  });

  test('a broken domain: mixed MX, two SPF records, +all, over 10 lookups, bad DMARC, obsolete pct, wrong DKIM', async () => {
    const report = await checkDomain('bad.example', liveResolver(dns.server), {
      evaluateSpf: true,
      dkim: { Enabled: true, Selector1CNAME: 'selector1-bad-example._domainkey.bad.onmicrosoft.com', Selector2CNAME: 'selector2-bad-example._domainkey.bad.onmicrosoft.com' },
    });
    const messages = report.issues.map((issue) => `${issue.severity} ${issue.area}: ${issue.message}`);
    const expect = (pattern: RegExp) => assert.ok(messages.some((message) => pattern.test(message)), `${pattern} in\n${messages.join('\n')}`);
    expect(/^warning mx: the MX hosts point to different places/);
    expect(/^error spf: 2 SPF records/);
    expect(/^error spf: \+all authorises every sender/);
    expect(/^error spf: (the record does not evaluate|\d+ DNS-querying terms: over the limit of 10)/);
    expect(/^error dmarc: p=maybe is not none, quarantine or reject/);
    expect(/^warning dmarc: pct= is obsolete: RFC 9989 removed it/);
    expect(/^error dkim: selector1\._domainkey\.bad\.example points to selector1-bad-example\._domainkey\.old\.onmicrosoft\.com/);
    expect(/^error dkim: selector2\._domainkey\.bad\.example is missing/);
  });

  test('a TXT record over 255 bytes arrives in several strings and is joined', async () => {
    const records = await txtRecords(liveResolver(dns.server), 'bad.example');
    assert.ok(records?.includes(LONG_KEY));
    const spf = await checkDomain('long.example', liveResolver(dns.server), { evaluateSpf: true });
    assert.equal(spf.spf.record?.length, spf.spf.record ? spf.spf.record.length : 0);
    assert.ok((spf.spf.record?.length ?? 0) > 255);
    assert.equal(spf.spf.lookups, 0);
  });

  test('a subdomain without DMARC inherits the organisational domain\'s sp=', async () => {
    const report = await checkDomain('sub.inherit.example', liveResolver(dns.server), { evaluateSpf: true });
    assert.equal(report.dmarc.foundAt, 'inherit.example');
    assert.ok(report.issues.some((issue) => /inherited from inherit\.example \(sp=quarantine\)/.test(issue.message)));
    assert.equal(report.mx.pointsTo, 'exchange-online');
  });

  test('CLI: eoplock dns with --resolver, exit 1 on errors', async () => {
    const good = await cli('dns', 'good.example', '--resolver', dns.server, '--format', 'json');
    assert.equal(good.code, 0, good.stderr);
    assert.equal((JSON.parse(good.stdout) as { domains: { domain: string }[] }).domains[0]?.domain, 'good.example');
    const bad = await cli('dns', 'bad.example', '--resolver', dns.server);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /✗ SPF: 2 SPF records/);
    assert.equal((await cli('dns', 'not a domain')).code, 2);
  });
});

describe('offline checks from a snapshot', () => {
  test('the exposed example: contosolabs.com has no SPF and no DMARC; DKIM selectors compared with Get-DkimSigningConfig', async () => {
    const { snapshot } = await loadSnapshotFile('examples/contoso-exposed.json');
    const labs = await checkDomain('contosolabs.com', snapshotResolver(snapshot), { evaluateSpf: false });
    assert.deepEqual(labs.issues.filter((issue) => issue.severity === 'error').map((issue) => issue.area), ['spf', 'dmarc']);
    const result = await cli('dns', '--snapshot', 'examples/contoso-exposed.json');
    assert.equal(result.code, 1);
    assert.match(result.stdout, /contoso\.com\n {2}MX {5}10 mx1\.seg\.example\.net, 20 mx2\.seg\.example\.net → gateway/);
    assert.match(result.stdout, /selector1 selector1-contoso-com\._domainkey\.contoso\.onmicrosoft\.com ✓/);
  });
});

describe('DMARC', () => {
  test('parsing: policy, subdomain policy, reporting addresses, alignment modes', () => {
    const record = parseDmarc('v=DMARC1; p=quarantine; sp=reject; rua=mailto:a@x.example,mailto:b@y.example; aspf=s');
    assert.equal(record.policy, 'quarantine');
    assert.equal(record.subdomainPolicy, 'reject');
    assert.deepEqual(record.rua, ['mailto:a@x.example', 'mailto:b@y.example']);
    assert.equal(record.aspf, 's');
    assert.equal(record.adkim, 'r');
    assert.deepEqual(parseDmarc('p=reject; v=DMARC1').issues, ['the record does not start with v=DMARC1']);
  });

  test('alignment: strict needs the same domain (mailauth 4.13.3 gets this wrong), relaxed the same organisational domain', () => {
    assert.equal(aligned('example.org', 'mail.example.org', 's'), false);
    assert.equal(aligned('example.org', 'mail.example.org', 'r'), true);
    assert.equal(aligned('example.org', 'EXAMPLE.org.', 's'), true);
    assert.equal(aligned('a.example.co.uk', 'b.example.co.uk', 'r'), true);
    assert.equal(aligned('example.co.uk', 'other.co.uk', 'r'), false, 'co.uk is a public suffix');
    assert.equal(organisationalDomain('mail.contoso.co.uk'), 'contoso.co.uk');
  });
});

describe('audit --live-dns', () => {
  let live: Awaited<ReturnType<typeof startDnsServer>>;
  before(async () => {
    // contoso.com as DNS has it today: MX moved back to Exchange Online, SPF and DMARC hardened; contoso.co.uk fails.
    live = await startDnsServer({
      'contoso.com': { MX: [[0, 'contoso-com.mail.protection.outlook.com']], TXT: ['v=spf1 include:spf.protection.outlook.com -all'] },
      '_dmarc.contoso.com': { TXT: ['v=DMARC1; p=reject; rua=mailto:dmarc@contoso.com'] },
      'contoso.co.uk': { MX: [[10, 'mx1.seg.example.net']], TXT: ['v=spf1 ip4:203.0.113.10 -all'] },
      '_dmarc.contoso.co.uk': { TXT: ['v=DMARC1; p=quarantine; rua=mailto:dmarc@contoso.com'] },
      'contosolabs.com': { MX: [[10, 'mx1.seg.example.net']], TXT: ['v=spf1 -all'] },
      '_dmarc.contosolabs.com': { TXT: ['v=DMARC1; p=reject; rua=mailto:dmarc@contoso.com'] },
    });
  });
  after(() => live.close());

  test('audits the DNS it finds, not the snapshot\'s Dns section', async () => {
    const status = (stdout: string, id: string) => (JSON.parse(stdout) as { findings: { id: string; status: string }[] }).findings.find((finding) => finding.id === id)?.status;
    const offline = await cli('audit', 'examples/contoso-exposed.json', '--format', 'json', '--fail-on', 'none');
    const online = await cli('audit', 'examples/contoso-exposed.json', '--format', 'json', '--fail-on', 'none', '--live-dns', '--resolver', live.server);
    assert.equal(online.code, 0, online.stderr);
    assert.equal(status(offline.stdout, 'EOPL-033'), 'pass', 'the snapshot has every MX at the gateway');
    assert.equal(status(online.stdout, 'EOPL-033'), 'fail', 'live DNS has contoso.com at Exchange Online');
    assert.equal(status(offline.stdout, 'EOPL-032'), 'fail');
    assert.equal(status(online.stdout, 'EOPL-032'), 'pass', 'live DNS has DMARC at quarantine/reject with rua everywhere');
    assert.ok(live.queries.some((query) => /selector1\._domainkey\.contoso\.com/i.test(query)), live.queries.join(', '));
    assert.ok(!live.queries.some((query) => /onmicrosoft/i.test(query)), 'onmicrosoft.com domains are not looked up');
  });

  test('--resolver without --live-dns is an input error', async () => {
    const lonely = await cli('audit', 'examples/contoso-exposed.json', '--resolver', live.server);
    assert.equal(lonely.code, 2);
    assert.match(lonely.stderr, /--resolver needs --live-dns/);
  });
});
