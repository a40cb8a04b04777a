/**
 * The authentication layer: skip listing (EFSkipIPs, EFSkipLastIP, EFUsers), SPF through a loopback DNS server,
 * DMARC with strict/relaxed alignment, Honor DMARC and its MX-elsewhere limitation (Ghost-Sender), EXO-form headers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decideAuthenticated } from '../../src/dns/authenticate.js';
import { evaluatedSource, enhancedFiltering, receivedFromIps } from '../../src/eop/authentication.js';
import { decide } from '../../src/eop/decide.js';
import type { Transaction } from '../../src/eop/types.js';
import { liveResolver } from '../../src/dns/live-resolver.js';
import { analyseHeaders } from '../../src/headers/analyse.js';
import { parseHeaderBlock } from '../../src/headers/parse.js';
import { InputError } from '../../src/errors.js';
import { loadScenarioFile, parseScenarios } from '../../src/scenarios/load.js';
import { loadSnapshotFile } from '../../src/snapshot/load.js';
import type { Snapshot } from '../../src/snapshot/parse.js';
import { startDnsServer } from '../helpers/dns-server.js';

const exposed = (await loadSnapshotFile('examples/contoso-exposed.json')).snapshot;
const locked = (await loadSnapshotFile('examples/contoso-locked.json')).snapshot;

/** A copy of a snapshot with some changes (snapshots are plain data). */
function variant(snapshot: Snapshot, change: (copy: Snapshot) => void): Snapshot {
  const copy = structuredClone(snapshot);
  change(copy);
  return copy;
}
const mxAtExchange = (copy: Snapshot) => {
  for (const data of Object.values(copy.Dns)) data.MX = ['0 contoso-com.mail.protection.outlook.com'];
};

const ghost = (authentication: Transaction['authentication']): Transaction => ({
  clientIp: '198.51.100.77',
  helo: 'mail.attacker.example',
  mailFrom: 'payments@bank.example',
  rcptTo: ['alice@contoso.com'],
  headers: [{ name: 'From', value: 'Bank <payments@bank.example>' }, { name: 'Subject', value: 'Payment confirmation' }],
  authentication,
});
const REJECT_RECORD = 'v=DMARC1; p=reject';

describe('Honor DMARC and the MX-elsewhere limitation', () => {
  test('Ghost-Sender: with the MX at the gateway and no Enhanced Filtering, a p=reject failure is delivered', () => {
    const verdict = decide(exposed, ghost({ spf: 'fail', dmarcRecord: REJECT_RECORD }));
    assert.equal(verdict.action, 'accept');
    assert.equal(verdict.disposition, 'deliver');
    assert.equal(verdict.authentication?.dmarc, 'fail');
    assert.equal(verdict.authentication?.compauth.reason, '000');
    assert.match(verdict.trace.find((step) => step.step === 'honor-dmarc')?.detail ?? '', /Ghost-Sender/);
    // Without Enhanced Filtering authentication is implicit (S23): spoof intelligence, on in this policy, decides, and
    // eoplock does not emulate it, so the delivery is not presented as final.
    assert.equal(verdict.incomplete, true);
    assert.match(verdict.incompleteReasons?.join('\n') ?? '', /spoof intelligence's implicit \(compauth\) verdict is not emulated/);
  });

  test('with the MX at Exchange Online the same message is rejected with 550 5.7.509 at the end of DATA', () => {
    const verdict = decide(variant(exposed, mxAtExchange), ghost({ spf: 'fail', dmarcRecord: REJECT_RECORD }));
    assert.equal(verdict.action, 'reject');
    assert.equal(verdict.stage, 'data');
    assert.equal(verdict.enhanced, '5.7.509');
    assert.equal(verdict.text, 'Access denied, sending domain [bank.example] does not pass DMARC verification');
    assert.equal(verdict.disposition, 'none');
    assert.ok(verdict.assumptions.includes('dmarc-reject-stage'));
    const ndr = decide(variant(exposed, mxAtExchange), ghost({ spf: 'fail', dmarcRecord: REJECT_RECORD }), { assumptions: { 'dmarc-reject-stage': 'after-data' } });
    assert.equal(ndr.disposition, 'ndr');
  });

  test('anti-phishing settings: DmarcRejectAction Quarantine, p=quarantine to Junk, Honor DMARC off', () => {
    const withPolicy = (settings: Record<string, unknown>) => variant(exposed, (copy) => {
      mxAtExchange(copy);
      copy.AntiPhishPolicy = [{ Name: 'Office365 AntiPhish Default', IsDefault: true, ...settings }];
      copy.AntiPhishRule = [];
    });
    assert.equal(decide(withPolicy({ DmarcRejectAction: 'Quarantine' }), ghost({ spf: 'fail', dmarcRecord: REJECT_RECORD })).disposition, 'quarantine');
    assert.equal(decide(withPolicy({ DmarcQuarantineAction: 'MoveToJmf' }), ghost({ spf: 'fail', dmarcRecord: 'v=DMARC1; p=quarantine' })).disposition, 'junk');
    // Honor DMARC off, spoof intelligence on (the default): the spoof action, AuthenticationFailAction MoveToJmf (S26, S29).
    const off = decide(withPolicy({ HonorDmarcPolicy: false }), ghost({ spf: 'fail', dmarcRecord: REJECT_RECORD }));
    assert.equal(off.disposition, 'junk');
    assert.ok(!(off.incompleteReasons ?? []).some((reason) => /spoof intelligence/.test(reason)), 'the spoof action is documented for explicit failures: no guess');
    assert.match(off.trace.find((step) => step.step === 'honor-dmarc')?.detail ?? '', /Honor DMARC is off and spoof intelligence on/);
  });

  test('alignment: strict aspf refuses a subdomain envelope sender that relaxed accepts; aligned DKIM passes', () => {
    const tx = (record: string, dkim: { result: 'pass' | 'fail' | 'none'; domain: string }[] = []) =>
      decide(variant(exposed, mxAtExchange), { ...ghost({ spf: 'pass', dkim, dmarcRecord: record }), mailFrom: 'bounce@mail.bank.example' });
    assert.equal(tx('v=DMARC1; p=reject').authentication?.dmarc, 'pass');
    assert.equal(tx('v=DMARC1; p=reject; aspf=s').authentication?.dmarc, 'fail');
    assert.equal(tx('v=DMARC1; p=reject; aspf=s').enhanced, '5.7.509');
    assert.equal(tx('v=DMARC1; p=reject; aspf=s', [{ result: 'pass', domain: 'bank.example' }]).authentication?.dmarc, 'pass');
    assert.equal(tx('v=DMARC1; p=reject; aspf=s; adkim=s', [{ result: 'pass', domain: 'news.bank.example' }]).authentication?.dmarc, 'fail');
  });

  test('the tenant\'s own domain: DMARC from the snapshot\'s Dns section; accepted-domain compauth codes', () => {
    const strict = variant(exposed, (copy) => {
      mxAtExchange(copy);
      (copy.Dns['contoso.com'] as { DMARC: string[] }).DMARC = ['v=DMARC1; p=reject'];
    });
    const spoof: Transaction = { clientIp: '198.51.100.77', mailFrom: 'bounce@mailer.attacker.example', rcptTo: ['alice@contoso.com'], headers: [{ name: 'From', value: 'ceo@contoso.com' }], authentication: { spf: 'fail' } };
    const verdict = decide(strict, spoof);
    assert.equal(verdict.authentication?.compauth.reason, '010', 'DMARC fail with p=reject for an accepted domain (self-to-self)');
    assert.equal(verdict.enhanced, '5.7.509');
    // contoso.co.uk has no DMARC record in the snapshot: an implicit failure for an accepted domain.
    const implicit = decide(variant(exposed, mxAtExchange), { ...spoof, headers: [{ name: 'From', value: 'ceo@contoso.co.uk' }] });
    assert.equal(implicit.authentication?.dmarc, 'none');
    assert.equal(implicit.authentication?.compauth.reason, '601');
    assert.equal(implicit.action, 'accept');
  });
});

describe('Enhanced Filtering: the evaluated IP', () => {
  const chain = [
    { name: 'Received', value: 'from out1.seg.example.net (203.0.113.10) by gw2.seg.example.net; Tue, 3 Jun 2025 09:12:00 +0000' },
    { name: 'Received', value: 'from mail.fabrikam.com (mail.fabrikam.com [192.0.2.80]) by mx1.seg.example.net; Tue, 3 Jun 2025 09:11:57 +0000' },
  ];

  test('Received chain addresses, newest first', () => {
    assert.deepEqual(receivedFromIps(chain), ['203.0.113.10', '192.0.2.80']);
  });

  test('EFSkipIPs walks back past every skip-listed hop; EFSkipLastIP skips only the connecting hop; off means the connecting IP', () => {
    const skipIps = enhancedFiltering(locked.InboundConnector.find((connector) => connector.EFSkipIPs.length > 0));
    assert.deepEqual(evaluatedSource('203.0.113.11', chain, skipIps, true), {
      ip: '192.0.2.80',
      skipListed: true,
      resolved: true,
      note: 'EFSkipIPs skips 2 hop(s); 192.0.2.80 (Received header 2) is the first that is not skip-listed',
    });
    const lastIp = { on: true, skipLastIp: true, skipIps: [], users: [] };
    assert.equal(evaluatedSource('203.0.113.11', chain, lastIp, true).ip, '203.0.113.10');
    assert.equal(evaluatedSource('203.0.113.11', chain, lastIp, false).ip, '203.0.113.11');
    assert.equal(enhancedFiltering(exposed.InboundConnector[1]).on, false, 'EFSkipLastIP $false with an empty EFSkipIPs is off');
    const onlySkipListed = evaluatedSource('203.0.113.11', chain.slice(0, 1).map((field) => ({ ...field, value: field.value.replace('203.0.113.10', '203.0.113.11') })), skipIps, true);
    assert.equal(onlySkipListed.skipListed, false);
    assert.equal(onlySkipListed.resolved, false, 'a chain of only skip-listed hops gives no true source');
    assert.match(onlySkipListed.note, /the Received chain ends after 1 hop\(s\): the true source is unknown/);
    assert.equal(evaluatedSource('203.0.113.11', [], lastIp, true).resolved, false, 'EFSkipLastIP without a Received header');
    assert.deepEqual(evaluatedSource('192.0.2.7', chain, skipIps, true), { ip: '192.0.2.7', skipListed: false, resolved: true, note: 'the connecting IP 192.0.2.7 is not in EFSkipIPs: it is evaluated' });
  });
});

describe('authenticate() through DNS (loopback server)', () => {
  let dns: Awaited<ReturnType<typeof startDnsServer>>;
  before(async () => {
    dns = await startDnsServer({
      'bank.example': { TXT: ['v=spf1 ip4:192.0.2.80 -all'] },
      '_dmarc.bank.example': { TXT: ['v=DMARC1; p=reject; rua=mailto:d@bank.example'] },
    });
  });
  after(() => dns.close());

  // contoso-locked: MX at the gateway; the gateway connector (by certificate) skip-lists the gateway's addresses.
  const viaGateway = (originalIp: string, rcpt = 'alice@contoso.com'): Transaction => ({
    clientIp: '203.0.113.10',
    helo: 'mx1.seg.example.net',
    tls: { certificate: { subject: 'CN=mx1.seg.example.net', san: ['mx1.seg.example.net'] } },
    mailFrom: 'payments@bank.example',
    rcptTo: [rcpt],
    headers: [
      { name: 'Received', value: `from sender.example ([${originalIp}]) by mx1.seg.example.net with ESMTPS; Tue, 3 Jun 2025 09:11:57 +0000` },
      { name: 'From', value: 'Bank <payments@bank.example>' },
    ],
  });

  test('skip listing finds the true source: SPF passes for the real sender, and EOP stamps what it did', async () => {
    const verdict = await decideAuthenticated(locked, viaGateway('192.0.2.80'), liveResolver(dns.server));
    assert.equal(verdict.action, 'accept', verdict.trace.map((step) => step.detail).join('\n'));
    assert.equal(verdict.disposition, 'deliver');
    assert.equal(verdict.authentication?.evaluatedIp, '192.0.2.80');
    assert.equal(verdict.authentication?.spf, 'pass');
    assert.equal(verdict.authentication?.dmarc, 'pass');
    const names = (verdict.addedHeaders ?? []).map((field) => field.name);
    assert.deepEqual(names, ['Authentication-Results', 'X-MS-Exchange-SkipListedInternetSender']);
    // The stamped header reads back as EXO's form (no authserv-id), with SPF judged against the true source.
    const fields = await parseHeaderBlock((verdict.addedHeaders ?? []).map((field) => `${field.name}: ${field.value}`).join('\r\n'));
    const analysis = analyseHeaders(fields);
    assert.equal(analysis.authenticationResults[0]?.authservId, null);
    assert.equal(analysis.authenticationResults[0]?.spf?.senderIp, '192.0.2.80');
    assert.equal(analysis.authenticationResults[0]?.compauth?.result, 'pass');
    assert.match(analysis.skipListedInternetSender ?? '', /192\.0\.2\.80/);
  });

  test('with Enhanced Filtering applied, Honor DMARC acts even though the MX is elsewhere: 5.7.509', async () => {
    const verdict = await decideAuthenticated(locked, viaGateway('198.18.9.9'), liveResolver(dns.server));
    assert.equal(verdict.authentication?.spf, 'fail');
    assert.equal(verdict.enhanced, '5.7.509');
    assert.match(verdict.trace.find((step) => step.step === 'honor-dmarc')?.detail ?? '', /MX elsewhere, Enhanced Filtering applied/);
    assert.ok(dns.queries.some((query) => /_dmarc\.bank\.example/i.test(query)));
  });

  test('EFUsers scoping: a recipient outside EFUsers gets no skip listing, so SPF is judged against the gateway', async () => {
    const scoped = variant(locked, (copy) => {
      const connector = copy.InboundConnector.find((entry) => entry.EFSkipIPs.length > 0);
      if (connector) connector.EFUsers = ['alice@contoso.com'];
    });
    const outside = await decideAuthenticated(scoped, viaGateway('198.18.9.9', 'bob@contoso.com'), liveResolver(dns.server));
    assert.equal(outside.authentication?.evaluatedIp, '203.0.113.10');
    assert.equal(outside.authentication?.skipListed, false);
    assert.equal(outside.disposition, 'deliver', 'MX elsewhere and no skip listing: Honor DMARC does not act');
    assert.ok(!(outside.addedHeaders ?? []).some((field) => field.name === 'X-MS-Exchange-SkipListedInternetSender'));
    const inside = await decideAuthenticated(scoped, viaGateway('198.18.9.9', 'alice@contoso.com'), liveResolver(dns.server));
    assert.equal(inside.enhanced, '5.7.509');
  });
});

describe('Enhanced Filtering from the Received chain, without evaluatedIp (S7, S23; docs/emulator.md step 8)', () => {
  // The bundled scenario: the gateway (203.0.113.10, skip-listed on "From Secure Email Gateway (certificate)")
  // relays a DMARC p=reject spoof that reached it from 198.18.9.9.
  const bundled = async () => {
    const scenario = (await loadScenarioFile('examples/scenarios.yaml')).find((entry) => /DMARC p=reject spoof relayed by the gateway/.test(entry.name));
    assert.ok(scenario, 'the scenario is in examples/scenarios.yaml');
    return scenario.transaction;
  };
  const withoutEvaluatedIp = (transaction: Transaction): Transaction => {
    const { evaluatedIp: _evaluatedIp, ...authentication } = transaction.authentication ?? { spf: 'none' };
    return { ...transaction, authentication };
  };

  test('the evaluated source comes from the chain: SPF is judged for 198.18.9.9 and Honor DMARC rejects (no Ghost-Sender gap)', async () => {
    const transaction = withoutEvaluatedIp(await bundled());
    assert.equal(transaction.authentication?.evaluatedIp, undefined);
    const verdict = decide(locked, transaction);
    assert.equal(verdict.enhanced, '5.7.509', verdict.trace.map((step) => step.detail).join('\n'));
    assert.equal(verdict.authentication?.evaluatedIp, '198.18.9.9');
    assert.equal(verdict.authentication?.skipListed, true);
    const efc = verdict.trace.find((step) => step.step === 'enhanced-filtering');
    assert.match(efc?.detail ?? '', /Enhanced Filtering on "From Secure Email Gateway \(certificate\)": EFSkipIPs skips 1 hop\(s\); 198\.18\.9\.9 \(Received header 1\) is the first that is not skip-listed/);
    assert.ok(!(verdict.incompleteReasons ?? []).some((reason) => /Enhanced Filtering/.test(reason)));
    assert.ok(!verdict.trace.some((step) => /Ghost-Sender/.test(step.detail)));
  });

  test('accepted mail gets X-MS-Exchange-SkipListedInternetSender with the source from the chain', async () => {
    const transaction = withoutEvaluatedIp(await bundled());
    const verdict = decide(locked, { ...transaction, authentication: { spf: 'pass', dmarcRecord: 'v=DMARC1; p=reject' } });
    assert.equal(verdict.disposition, 'deliver');
    assert.deepEqual(verdict.addedHeaders?.find((field) => field.name === 'X-MS-Exchange-SkipListedInternetSender'), { name: 'X-MS-Exchange-SkipListedInternetSender', value: 'ip=[198.18.9.9]' });
    assert.match(verdict.addedHeaders?.[0]?.value ?? '', /spf=pass \(sender IP is 198\.18\.9\.9\)/);
  });

  test('an explicit evaluatedIp wins over the chain, and the trace says which was used', async () => {
    const transaction = await bundled();
    const verdict = decide(locked, { ...transaction, authentication: { ...transaction.authentication, spf: 'fail', evaluatedIp: '192.0.2.99' } });
    assert.equal(verdict.authentication?.evaluatedIp, '192.0.2.99');
    assert.match(verdict.trace.find((step) => step.step === 'enhanced-filtering')?.detail ?? '', /the given evaluatedIp 192\.0\.2\.99 is used \(Enhanced Filtering on .*from the Received chain: .*198\.18\.9\.9/);
    assert.throws(() => decide(locked, { ...transaction, authentication: { spf: 'fail', evaluatedIp: 'gateway' } }), /"gateway" is not an IPv4 or IPv6 address/);
  });

  test('without a usable Received chain the trace says so and the verdict is not final', async () => {
    const transaction = withoutEvaluatedIp(await bundled());
    const headers = (transaction.headers as { name: string; value: string }[]).filter((field) => field.name.toLowerCase() !== 'received');
    const none = decide(locked, { ...transaction, headers });
    assert.equal(none.incomplete, true);
    assert.match(none.incompleteReasons?.join('\n') ?? '', /Enhanced Filtering applies on "From Secure Email Gateway \(certificate\)" but the Received chain gives no source that is not skip-listed/);
    assert.match(none.trace.find((step) => step.step === 'enhanced-filtering')?.detail ?? '', /the message has no Received header: the true source is unknown/);
    assert.equal(none.authentication?.skipListed, false);
    // A chain whose every hop is skip-listed (the gateway's own internal hop) gives no source either.
    const internal = decide(locked, { ...transaction, headers: [{ name: 'Received', value: 'from gw2.seg.example.net ([198.51.100.3]) by mx1.seg.example.net; Tue, 3 Jun 2025 09:11:57 +0000' }, ...headers] });
    assert.equal(internal.incomplete, true);
    assert.match(internal.trace.find((step) => step.step === 'enhanced-filtering')?.detail ?? '', /198\.51\.100\.3 is skip-listed \(EFSkipIPs\) and the Received chain ends after 1 hop\(s\)/);
  });
});

describe('the scenario file\'s authentication fields (README "simulate --scenarios")', () => {
  const scenario = (authentication: string) =>
    `scenarios:\n  - name: x\n    clientIp: 203.0.113.10\n    mailFrom: a@bank.example\n    rcptTo: alice@contoso.com\n    authentication: ${authentication}\n`;

  test('every documented field is read', async () => {
    const [parsed] = await parseScenarios(scenario('{ evaluatedIp: "2001:db8::9", spf: softfail, dkim: [{ result: pass, domain: bank.example }], dmarcRecord: null }'), 's.yaml');
    assert.deepEqual(parsed?.transaction.authentication, { evaluatedIp: '2001:db8::9', spf: 'softfail', dkim: [{ result: 'pass', domain: 'bank.example' }], dmarcRecord: null });
  });

  test('a bad value is an input error naming the file and the field', async () => {
    const failsWith = async (authentication: string, where: RegExp, message: RegExp) => {
      const error = await parseScenarios(scenario(authentication), 's.yaml').then(() => null, (caught: unknown) => caught);
      assert.ok(error instanceof InputError, String(error));
      assert.match(error.describe(), /^s\.yaml: at /);
      assert.match(error.where ?? '', where);
      assert.match(error.message, message);
    };
    await failsWith('{ evaluatedIp: gateway, spf: fail }', /^scenarios\[0\]\.authentication\.evaluatedIp/, /"gateway" is not an IPv4 or IPv6 address/);
    await failsWith('{ spf: fail, dkim: [{ result: pass, domain: "bank example" }] }', /^scenarios\[0\]\.authentication\.dkim\[0\]\.domain/, /is not a domain name/);
    await failsWith('{ spf: fail, dmarcRecord: "v=DMARC1;\\u001b[2J p=reject" }', /^scenarios\[0\]\.authentication\.dmarcRecord/, /holds a control character/);
  });
});
