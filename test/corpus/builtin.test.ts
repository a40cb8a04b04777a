/**
 * The builtin corpus is generated from the snapshot: its domains, connectors and SPF sources.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { acceptedClaim, ATTACK_ACCEPTED, builtinCorpus, corpusOutcome, gatewayStamps, headerExceptions, headerWriter } from '../../src/corpus/builtin.js';
import { decide } from '../../src/eop/decide.js';
import { parseIp } from '../../src/eop/ip.js';
import { loadSnapshotFile } from '../../src/snapshot/load.js';
import { onPremisesConnector, partnerConnector, tenant } from '../helpers/tenant.js';

describe('builtin corpus', async () => {
  const exposed = (await loadSnapshotFile('examples/contoso-exposed.json')).snapshot;
  const locked = (await loadSnapshotFile('examples/contoso-locked.json')).snapshot;

  test('the attacks named in the issue are all there, aimed at the default accepted domain', () => {
    const ids = builtinCorpus(exposed).filter((e) => e.kind === 'attack').map((e) => e.id);
    assert.deepEqual(ids, [
      'direct-send-spoof',
      'foreign-p1-internal-from',
      'foreign-domain-bypass',
      'ghost-sender',
      'null-sender',
      'ipv6-direct',
      'tls-wrong-certificate',
      'forged-authas-header',
    ]);
    const spoof = builtinCorpus(exposed)[0];
    assert.equal(spoof?.transaction.mailFrom, 'ceo@contoso.com');
    assert.equal(parseIp(builtinCorpus(exposed).find((e) => e.id === 'ipv6-direct')?.transaction.clientIp ?? '')?.kind(), 'ipv6');
  });

  test('the attacker address is outside every connector list', () => {
    const t = tenant({ connectors: [partnerConnector({ SenderIPAddresses: ['198.51.100.0/24'] })] });
    const attack = builtinCorpus(t).find((e) => e.id === 'direct-send-spoof');
    assert.equal(attack?.transaction.clientIp, '203.0.113.77');
  });

  test('legitimate paths: scanner and hybrid connectors, then the gateway by each address with its certificate', () => {
    const t = tenant({
      connectors: [
        partnerConnector({ SenderIPAddresses: ['203.0.113.10', '198.51.100.0/28'], TlsSenderCertificateName: '*.seg.example.net' }),
        partnerConnector({ Name: 'Scanner', SenderDomains: ['contoso.com'], SenderIPAddresses: ['192.0.2.25'] }),
        onPremisesConnector(),
        partnerConnector({ Name: 'Off', Enabled: false }),
      ],
    });
    const legit = builtinCorpus(t).filter((e) => e.kind === 'legitimate');
    assert.deepEqual(
      legit.map((e) => [e.transaction.clientIp, e.transaction.tls?.certificate?.subject ?? null, e.transaction.mailFrom]),
      [
        ['192.0.2.25', null, 'scanner@contoso.com'],
        ['192.0.2.80', 'CN=mail.contoso.com', 'colleague@contoso.com'],
        ['203.0.113.10', 'CN=mx1.seg.example.net', 'customer@partner.example'],
        ['198.51.100.1', 'CN=mx1.seg.example.net', 'customer@partner.example'],
      ],
    );
  });

  test('a given gateway profile replaces the inferred one, and a certificate-only gateway gets one path', () => {
    const t = tenant({ connectors: [partnerConnector()] });
    const legit = builtinCorpus(t, { ips: [], certificateName: '*.gw.example' }).filter((e) => e.kind === 'legitimate');
    assert.deepEqual(legit.map((e) => [e.id, e.transaction.tls?.certificate?.subject]), [['legit-gateway-certificate', 'CN=mx1.gw.example']]);
  });

  test('an SPF ip4 source that no connector covers becomes a Direct Send path', () => {
    const legit = builtinCorpus(exposed).filter((e) => e.id.startsWith('legit-direct-send'));
    assert.deepEqual(legit.map((e) => e.transaction.clientIp), ['192.0.2.25']);
    assert.ok(!builtinCorpus(locked).some((e) => e.id.startsWith('legit-direct-send')), 'covered by the scanner connector in the locked tenant');
  });

  test('outcomes: an attack EOP accepts for delivery got in; quarantine contains it; a legit path not accepted broke', () => {
    const [attack] = builtinCorpus(exposed);
    assert.ok(attack);
    assert.equal(corpusOutcome(attack, decide(exposed, attack.transaction)), 'got-in');
    assert.equal(corpusOutcome(attack, decide(locked, attack.transaction)), 'blocked');
    const quarantined = { ...decide(exposed, attack.transaction), disposition: 'quarantine' as const };
    assert.equal(corpusOutcome(attack, quarantined), 'contained');
    const legit = { ...attack, kind: 'legitimate' as const };
    assert.equal(corpusOutcome(legit, decide(locked, attack.transaction)), 'broken');
  });
});

describe('what an accepted attack claims', () => {
  // The emulator stops at EOP's transport decision; content filtering runs afterwards and is not emulated. S32: a rule's
  // SCL -1 ("allow") wins over spam, bulk and phishing verdicts but not over malware or high-confidence phishing.
  test('accepted by EOP without passing the gateway, and content filtering may still act', () => {
    const claim = acceptedClaim({ disposition: 'deliver', scl: null });
    assert.ok(claim.startsWith(ATTACK_ACCEPTED));
    assert.match(claim, /content filtering \(spam, phishing, malware — not emulated\) may still junk or quarantine it/);
    assert.doesNotMatch(claim, /mailbox|inbox/);
  });

  test('with SCL -1 from a rule, only malware and high-confidence phishing still act (S32)', () => {
    assert.match(acceptedClaim({ disposition: 'deliver', scl: -1 }), /SCL -1, which overrides spam, bulk and phishing verdicts — only malware and high-confidence phishing are still acted on \(S32\)/);
  });

  test('a relayed message is said to be relayed on', () => {
    assert.match(acceptedClaim({ disposition: 'relay', scl: null }), /^accepted by EOP and relayed on without passing the gateway/);
  });

  test('no corpus text claims a mailbox or inbox was reached', async () => {
    const exposed = (await loadSnapshotFile('examples/contoso-exposed.json')).snapshot;
    for (const entry of builtinCorpus(exposed)) assert.doesNotMatch(`${entry.name} ${entry.description}`, /reach(es|ed)? (a|the) (mailbox|inbox)|delivered straight/i, entry.id);
  });
});

test('without a gateway, only the Direct Send spoof is an attack (outside mail straight to EOP is the normal path)', () => {
  const t = tenant();
  const attacks = builtinCorpus(t).filter((e) => e.kind === 'attack').map((e) => e.id);
  assert.deepEqual(attacks, ['direct-send-spoof']);
});

describe('headers a transport rule exempts', () => {
  const withNet = (net: Record<string, unknown>) =>
    tenant({ connectors: [partnerConnector()], rules: [{ Name: 'Net', Priority: 0, State: 'Enabled', Mode: 'Enforce', Quarantine: true, ...net }] });

  test('a header the sender writes is one the gateway stamps: its paths carry it, and an attack forges it', () => {
    const t = withNet({ ExceptIfHeaderMatchesMessageHeader: 'X-SEG-Scanned', ExceptIfHeaderMatchesPatterns: ['^(true|yes)$'] });
    assert.deepEqual(gatewayStamps(t), [{ name: 'X-SEG-Scanned', value: 'true' }]);
    const corpus = builtinCorpus(t);
    for (const entry of corpus.filter((e) => e.id.startsWith('legit-gateway-') || e.id === 'forged-gateway-header')) {
      assert.ok(JSON.stringify(entry.transaction.headers).includes('"X-SEG-Scanned","value":"true"'), entry.id);
    }
    assert.ok(corpus.some((e) => e.id === 'forged-gateway-header'));
  });

  test('EOP\'s own headers are not stamped by the gateway: AuthAs and other X-MS-Exchange-Organization-* headers', () => {
    assert.equal(headerWriter('X-MS-Exchange-Organization-AuthAs'), 'eop-stamp');
    assert.equal(headerWriter('x-ms-exchange-organization-scl'), 'internal-only');
    assert.equal(headerWriter('X-MS-Exchange-CrossPremises-AuthAs'), 'sender');
    const t = withNet({ ExceptIfHeaderContainsMessageHeader: 'X-MS-Exchange-Organization-AuthAs', ExceptIfHeaderContainsWords: ['Internal'] });
    assert.deepEqual(gatewayStamps(t), []);
    assert.ok(!builtinCorpus(t).some((e) => e.id === 'forged-gateway-header'));
  });

  test('a pattern no value is found for stamps nothing; a rule that blocks nothing stamps nothing', () => {
    assert.deepEqual(headerExceptions({ ExceptIfHeaderMatchesMessageHeader: 'X-A', ExceptIfHeaderMatchesPatterns: ['(?=x)y'] }).map((e) => e.satisfiedBy), [null]);
    const notBlocking = tenant({ connectors: [partnerConnector()], rules: [{ Name: 'Tag', Priority: 0, ExceptIfHeaderContainsMessageHeader: 'X-A', ExceptIfHeaderContainsWords: ['b'], SetSCL: 5 }] });
    assert.deepEqual(gatewayStamps(notBlocking), []);
  });
});
