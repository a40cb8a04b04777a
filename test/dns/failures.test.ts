/**
 * A failed DNS lookup is not an answer. RFC 1035 §4.1.1 gives the response codes (2 server failure, 3 name error,
 * 5 refused); RFC 2308 names the two negative answers, NXDOMAIN (no such name) and NODATA (the name, but no record of
 * that type); RFC 7208 §5 treats "an error (RCODE other than 0 or 3) or the query times out" as temperror, not as no
 * record; RFC 7489 §6.6.3 looks for the organisational domain's DMARC record only when there is "no such record as
 * opposed to a transient DNS error". Node's dns module reports them as ENOTFOUND, ENODATA, ESERVFAIL, EREFUSED,
 * ETIMEOUT and ECONNREFUSED ("could not contact DNS servers"). Every server here is on loopback.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { checkDomain } from '../../src/dns/check.js';
import { dnsSection, dnsSectionFailures } from '../../src/dns/dns-section.js';
import { liveResolver, parseServer } from '../../src/dns/live-resolver.js';
import { describeLookup, lookup, lookupTxt, snapshotResolver } from '../../src/dns/resolver.js';
import { loadSnapshotFile } from '../../src/snapshot/load.js';
import { parseSnapshot } from '../../src/snapshot/parse.js';
import { cli } from '../helpers/cli.js';
import { startDnsServer } from '../helpers/dns-server.js';

let dns: Awaited<ReturnType<typeof startDnsServer>>;
/** A loopback address and port where no DNS server listens (a server started and stopped). */
let closed: string;

before(async () => {
  const stopped = await startDnsServer({});
  closed = stopped.server;
  await stopped.close();
  dns = await startDnsServer({
    'servfail.example': { rcode: 2 },
    'refused.example': { rcode: 5 },
    'silent.example': { silent: true },
    // Exists, publishes SPF and DMARC, has no MX: NODATA for MX.
    'parked.example': { TXT: ['v=spf1 -all'] },
    '_dmarc.parked.example': { TXT: ['v=DMARC1; p=reject;'] },
    // Its own _dmarc lookup fails; the organisational domain's record says p=none.
    'sub.inherit.example': { MX: [[10, 'mx1.seg.example.net']], TXT: ['v=spf1 -all'] },
    '_dmarc.sub.inherit.example': { rcode: 2 },
    '_dmarc.inherit.example': { TXT: ['v=DMARC1; p=none; rua=mailto:d@inherit.example'] },
    // The SPF record includes a name whose server fails.
    'broken-include.example': { MX: [[10, 'mx1.seg.example.net']], TXT: ['v=spf1 include:spf.servfail.example -all'] },
    'spf.servfail.example': { rcode: 2 },
    '_dmarc.broken-include.example': { TXT: ['v=DMARC1; p=reject; rua=mailto:d@broken-include.example'] },
  });
});
after(() => dns.close());

describe('one lookup, four outcomes', () => {
  test('records, NODATA, NXDOMAIN and failures (SERVFAIL, REFUSED, timeout, no server) are told apart', async () => {
    const resolver = liveResolver(dns.server, 200);
    assert.deepEqual(await lookupTxt(resolver, 'parked.example'), { kind: 'answer', records: ['v=spf1 -all'] });
    assert.deepEqual(await lookup(resolver, 'parked.example', 'MX'), { kind: 'nodata' });
    assert.deepEqual(await lookup(resolver, 'nowhere.example', 'MX'), { kind: 'nxdomain' });
    assert.deepEqual(await lookup(resolver, 'servfail.example', 'MX'), { kind: 'failed', reason: 'server failure (SERVFAIL)' });
    assert.deepEqual(await lookup(resolver, 'refused.example', 'TXT'), { kind: 'failed', reason: 'refused by the server (REFUSED)' });
    assert.deepEqual(await lookup(resolver, 'silent.example', 'MX'), { kind: 'failed', reason: 'timed out (ETIMEOUT)' });
    const nobody = await lookup(liveResolver(closed, 200), 'parked.example', 'MX');
    assert.equal(nobody.kind, 'failed');
    assert.match(describeLookup(nobody), /^lookup failed: connection refused/);
    assert.equal(describeLookup({ kind: 'nxdomain' }), 'the domain does not exist (NXDOMAIN)');
    assert.equal(describeLookup({ kind: 'nodata' }), 'no record');
  });

  test('--resolver values: IPv4 and IPv6 with or without a port; anything else is an input error', () => {
    assert.equal(parseServer('127.0.0.1'), '127.0.0.1');
    assert.equal(parseServer(' 127.0.0.1:5353 '), '127.0.0.1:5353');
    assert.equal(parseServer('::1'), '::1');
    assert.equal(parseServer('[::1]'), '::1');
    assert.equal(parseServer('[2001:db8::53]:5353'), '[2001:db8::53]:5353');
    for (const bad of ['', 'dns.example', '999.1.1.1', '1.2.3', '1:2', '::::', '1.2.3.4:0', '1.2.3.4:65536', '1.2.3.4:', '[1.2.3.4]:53', 'fe80::1%eth0', '127.0.0.1:53:53']) {
      assert.throws(() => parseServer(bad), (error: Error & { where?: string }) => error.name === 'InputError' && error.where === '--resolver', JSON.stringify(bad));
    }
  });
});

describe('checkDomain draws no finding from a failed lookup', () => {
  test('SERVFAIL on the apex: MX and SPF unknown, not "no MX (parked?)" or "no SPF"', async () => {
    const report = await checkDomain('servfail.example', liveResolver(dns.server, 200), { evaluateSpf: true });
    assert.equal(report.exists, null);
    assert.equal(report.mx.pointsTo, 'unknown');
    assert.equal(report.mx.lookup, 'failed');
    assert.equal(report.spf.lookup, 'failed');
    assert.deepEqual(report.failed.map((entry) => `${entry.name} ${entry.type}: ${entry.reason}`), [
      'servfail.example MX: server failure (SERVFAIL)',
      'servfail.example TXT: server failure (SERVFAIL)',
    ]);
    assert.ok(!report.issues.some((issue) => /no MX record|no SPF record/.test(issue.message)), JSON.stringify(report.issues));
  });

  test('NXDOMAIN is an answer: the domain does not exist, said once', async () => {
    const report = await checkDomain('nowhere.example', liveResolver(dns.server, 200), { evaluateSpf: true });
    assert.equal(report.exists, false);
    assert.deepEqual(report.failed, []);
    assert.deepEqual(report.issues.map((issue) => `${issue.severity} ${issue.message}`), ['error the domain does not exist (NXDOMAIN): it receives no mail and publishes no SPF, DMARC or DKIM']);
  });

  test('NODATA for MX is an answer: no MX record', async () => {
    const report = await checkDomain('parked.example', liveResolver(dns.server, 200), { evaluateSpf: true });
    assert.equal(report.exists, true);
    assert.equal(report.mx.lookup, 'nodata');
    assert.equal(report.mx.pointsTo, 'none');
    assert.ok(report.issues.some((issue) => /^no MX record/.test(issue.message)));
    assert.deepEqual(report.failed, []);
  });

  test('a failed _dmarc lookup does not fall back to the organisational domain\'s record (RFC 7489 §6.6.3)', async () => {
    const report = await checkDomain('sub.inherit.example', liveResolver(dns.server, 200), { evaluateSpf: true });
    assert.equal(report.dmarc.lookup, 'failed');
    assert.equal(report.dmarc.record, null, 'p=none of inherit.example is not reported as this domain\'s policy');
    assert.ok(!report.issues.some((issue) => issue.area === 'dmarc'), JSON.stringify(report.issues));
    assert.deepEqual(report.failed.map((entry) => entry.name), ['_dmarc.sub.inherit.example']);
  });

  test('an include whose server fails: SPF temperror (RFC 7208 §5) is a failed lookup, the count unknown', async () => {
    const report = await checkDomain('broken-include.example', liveResolver(dns.server, 200), { evaluateSpf: true });
    assert.equal(report.spf.result, 'temperror');
    assert.equal(report.spf.lookups, null);
    // mailauth itself passes over this SERVFAIL (its verdict would be "fail" from -all); the failed lookup is named.
    assert.deepEqual(report.failed.map((entry) => `${entry.name} ${entry.type}`), ['spf.servfail.example SPF']);
    assert.match(report.failed[0]?.reason ?? '', /TXT lookup of spf\.servfail\.example while evaluating the record: server failure \(SERVFAIL\)/);
  });
});

describe('eoplock dns: exit 2 when it could not look up what it was asked', () => {
  test('SERVFAIL: the report says "lookup failed", stderr names the lookups and why', async () => {
    const result = await cli('dns', 'servfail.example', '--resolver', dns.server);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stdout, /MX {5}lookup failed: server failure \(SERVFAIL\)/);
    assert.match(result.stdout, /SPF {4}lookup failed: server failure \(SERVFAIL\)/);
    assert.doesNotMatch(result.stdout, /no SPF record|parked/);
    assert.match(result.stderr, /^eoplock: error: 2 DNS lookup\(s\) failed.*servfail\.example MX, servfail\.example TXT: server failure \(SERVFAIL\)\n$/);
  });

  test('REFUSED in JSON: each domain carries its failed lookups', async () => {
    const result = await cli('dns', 'refused.example', '--resolver', dns.server, '--format', 'json');
    assert.equal(result.code, 2);
    const report = (JSON.parse(result.stdout) as { domains: { mx: { pointsTo: string }; failed: { type: string; reason: string }[] }[] }).domains[0];
    assert.equal(report?.mx.pointsTo, 'unknown');
    assert.deepEqual(report?.failed.map((entry) => entry.reason), ['refused by the server (REFUSED)', 'refused by the server (REFUSED)']);
  });

  test('--resolver 127.0.0.1:<closed port> is "lookup failed" with exit 2, not an internal error', async () => {
    const result = await cli('dns', 'contoso.com', '--resolver', closed);
    assert.equal(result.code, 2, result.stderr);
    assert.doesNotMatch(result.stderr, /internal error|bug in eoplock/);
    assert.match(result.stderr, /5 DNS lookup\(s\) failed.*connection refused/);
    assert.match(result.stdout, /MX {5}lookup failed: connection refused/);
  });

  test('a bad --resolver value is a clear input error (dns and audit --live-dns)', async () => {
    for (const bad of ['999.1.1.1', '1.2.3.4:0', '1.2.3.4:99999', '']) {
      const result = await cli('dns', 'contoso.com', '--resolver', bad);
      assert.equal(result.code, 2, bad);
      assert.match(result.stderr, /^eoplock: error: at --resolver: ".*" is not a DNS server address/, bad);
    }
    const audit = await cli('audit', 'examples/contoso-exposed.json', '--live-dns', '--resolver', '127.0.0.1:0');
    assert.equal(audit.code, 2);
    assert.match(audit.stderr, /at --resolver: "127\.0\.0\.1:0" is not a DNS server address: the port must be a number from 1 to 65535/);
  });

  test('NXDOMAIN: an answer (exit 1 for the error), not a failed lookup', async () => {
    const result = await cli('dns', 'nowhere.example', '--resolver', dns.server);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, /MX {5}\(the domain does not exist\)/);
    assert.match(result.stdout, /✗ MX: the domain does not exist \(NXDOMAIN\)/);
    assert.equal(result.stderr, '');
  });

  test('offline, a domain the snapshot holds nothing for is unknown, not a domain without records', async () => {
    const result = await cli('dns', 'contoso.de', '--snapshot', 'examples/contoso-exposed.json');
    assert.equal(result.code, 2);
    assert.match(result.stdout, /MX {5}lookup failed: not in the snapshot: its Dns section holds no data for contoso\.de/);
    assert.doesNotMatch(result.stdout, /no SPF record|no DMARC record|parked/);
  });
});

describe('a Dns section records the lookups that failed', () => {
  test('dnsSection leaves failed lists empty and says why in Failed; the snapshot resolver fails them again', async () => {
    const section = await dnsSection(['servfail.example', 'parked.example', 'sub.inherit.example'], liveResolver(dns.server, 200));
    assert.deepEqual(section['parked.example'], { MX: [], TXT: ['v=spf1 -all'], DMARC: ['v=DMARC1; p=reject;'], DKIM: {} });
    assert.deepEqual(section['servfail.example']?.Failed, {
      MX: 'server failure (SERVFAIL)',
      TXT: 'server failure (SERVFAIL)',
    });
    assert.deepEqual(dnsSectionFailures(section).map((entry) => `${entry.domain} ${entry.record}`), ['servfail.example MX', 'servfail.example TXT', 'sub.inherit.example DMARC']);

    // Written to a snapshot (as eoplock pull does) and read back, the failures stay failures.
    const { snapshot } = await loadSnapshotFile('examples/contoso-exposed.json');
    const reread = parseSnapshot(JSON.parse(JSON.stringify({ ...snapshot, Dns: section }))).snapshot;
    const offline = snapshotResolver(reread);
    assert.deepEqual(await lookup(offline, 'servfail.example', 'MX'), { kind: 'failed', reason: "the snapshot's MX lookup of servfail.example failed: server failure (SERVFAIL)" });
    assert.deepEqual(await lookup(offline, 'parked.example', 'MX'), { kind: 'nodata' });
    const report = await checkDomain('sub.inherit.example', offline, { evaluateSpf: false });
    assert.equal(report.dmarc.lookup, 'failed');
  });
});
