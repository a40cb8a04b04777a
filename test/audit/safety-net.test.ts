/**
 * Issue 17 items 9–10: the audit recognises every form of safety net (sender addresses, EOP's AuthAs stamp, a header
 * the gateway stamps), judges each exception (a header an outside sender can write; addresses beyond the gateway's),
 * names the real gap of an IPv4-only rule, flags certificate names other parties can present, and builds the
 * gateway's legitimate mail with the header it stamps.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildContext } from '../../src/audit/context.js';
import { runAudit } from '../../src/audit/run.js';
import { builtinCorpus, corpusOutcome, gatewayStamps } from '../../src/corpus/builtin.js';
import { DEFAULT_ASSUMPTIONS } from '../../src/eop/assumptions.js';
import { decide } from '../../src/eop/decide.js';
import { givenProfile, type GatewayProfile } from '../../src/profile/profile.js';
import { prove } from '../../src/prove/prove.js';
import { sharedCertificateName } from '../../src/profile/vendors.js';
import { parseSnapshot } from '../../src/snapshot/parse.js';

type Raw = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const GATEWAY_IPS = ['203.0.113.10', '198.51.100.0/28'];
const PROFILE = givenProfile({ ips: GATEWAY_IPS });
const SCANNER = '192.0.2.25';

/** A tenant locked to an IP-identified gateway, with a scanner connector and the safety net given. */
function tenantWith(net: Raw, connectorOverrides: Raw = {}): Raw {
  return {
    Meta: { eoplockSnapshot: 1, tenant: 'Safety nets' },
    OrganizationConfig: { RejectDirectSend: true },
    AcceptedDomain: [{ DomainName: 'contoso.com', DomainType: 'Authoritative', Default: true }],
    InboundConnector: [
      {
        Name: 'From SEG',
        ConnectorType: 'Partner',
        SenderDomains: ['smtp:*;1'],
        SenderIPAddresses: [...GATEWAY_IPS],
        RestrictDomainsToIPAddresses: true,
        RequireTls: true,
        ...connectorOverrides,
      },
      { Name: 'Scanners', ConnectorType: 'Partner', SenderDomains: ['smtp:contoso.com;1'], SenderIPAddresses: [SCANNER] },
    ],
    TransportRule: [{ Name: 'Safety net', Priority: 0, State: 'Enabled', Mode: 'Enforce', Quarantine: true, StopRuleProcessing: true, ...net }],
  };
}

const MICROSOFT_FORM = {
  ExceptIfSenderIpRanges: [...GATEWAY_IPS, SCANNER],
  ExceptIfHeaderContainsMessageHeader: 'X-MS-Exchange-Organization-AuthAs',
  ExceptIfHeaderContainsWords: ['Internal'],
};
const GATEWAY_HEADER = { ExceptIfSenderIpRanges: [SCANNER], ExceptIfHeaderContainsMessageHeader: 'X-Gateway-Scanned', ExceptIfHeaderContainsWords: ['yes'] };

function findingOf(raw: Raw, id: string, profile: GatewayProfile = PROFILE) {
  const finding = runAudit(parseSnapshot(raw).snapshot, profile, { file: 'fixture.json' }).findings.find((entry) => entry.id === id);
  assert.ok(finding, id);
  return finding;
}

describe('every form of safety net is recognised (EOPL-013)', () => {
  test('Microsoft\'s form: quarantine unless the gateway\'s addresses or AuthAs Internal', () => {
    const finding = findingOf(tenantWith(MICROSOFT_FORM), 'EOPL-013');
    assert.equal(finding.status, 'pass');
    assert.match(finding.evidence[0]?.message ?? '', /^quarantine unless the sender address is in .*, or X-MS-Exchange-Organization-AuthAs contains "Internal"$/);
  });

  test('a rule excepting only by the AuthAs header (HeaderMatches) is a safety net, and is told it blocks the gateway', () => {
    const raw = tenantWith({ ExceptIfHeaderMatchesMessageHeader: 'X-MS-Exchange-Organization-AuthAs', ExceptIfHeaderMatchesPatterns: ['Internal'] });
    assert.equal(findingOf(raw, 'EOPL-013').status, 'pass');
    const coverage = findingOf(raw, 'EOPL-016');
    assert.equal(coverage.status, 'fail');
    assert.deepEqual(coverage.evidence.map((evidence) => evidence.expected), GATEWAY_IPS.map((ip) => `to include ${ip}`));
  });

  test('a rule excepting by a gateway-stamped header is a safety net; the gateway passes it by that header', () => {
    const raw = tenantWith(GATEWAY_HEADER);
    assert.equal(findingOf(raw, 'EOPL-013').status, 'pass');
    const coverage = findingOf(raw, 'EOPL-016');
    assert.equal(coverage.status, 'pass');
    assert.match(coverage.summary, /by the header it stamps/);
  });

  test('the context says how each net excepts, beside safetyNets', () => {
    const context = buildContext(parseSnapshot(tenantWith(GATEWAY_HEADER)).snapshot, PROFILE, DEFAULT_ASSUMPTIONS);
    const [net] = context.safetyNets;
    assert.ok(net);
    assert.deepEqual(context.safetyNetExceptions.get(net.index)?.map((exception) => exception.kind), ['sender-ip', 'sender-header']);
  });

  test('a blocking rule with a content condition is not a safety net', () => {
    const raw = tenantWith({ ...MICROSOFT_FORM, AttachmentExtensionMatchesWords: ['exe'] });
    assert.equal(findingOf(raw, 'EOPL-013').status, 'fail');
  });
});

describe('each exception is judged (EOPL-035, EOPL-036)', () => {
  test('a header an outside sender can write is a high-severity bypass naming the header and the value to add', () => {
    const finding = findingOf(tenantWith(GATEWAY_HEADER), 'EOPL-035');
    assert.equal(finding.status, 'fail');
    assert.equal(finding.severity, 'high');
    assert.equal(finding.evidence.length, 1);
    assert.equal(finding.evidence[0]?.path, 'TransportRule[0].ExceptIfHeaderContainsMessageHeader');
    assert.match(finding.evidence[0]?.message ?? '', /adds the header "X-Gateway-Scanned: yes"/);
  });

  test('a header pattern: the value an attacker adds is one the pattern accepts', () => {
    const raw = tenantWith({ ExceptIfSenderIpRanges: [SCANNER], ExceptIfHeaderMatchesMessageHeader: 'X-SEG-Verdict', ExceptIfHeaderMatchesPatterns: ['^clean-\\d+$'] });
    assert.match(findingOf(raw, 'EOPL-035').evidence[0]?.message ?? '', /adds the header "X-SEG-Verdict: clean-1"/);
  });

  test('the AuthAs exception (Microsoft\'s form) and other X-MS-Exchange-Organization-* headers are not that finding', () => {
    assert.equal(findingOf(tenantWith(MICROSOFT_FORM), 'EOPL-035').status, 'pass');
    const organization = { ...MICROSOFT_FORM, ExceptIfHeaderContainsMessageHeader: 'X-MS-Exchange-Organization-Network-Message-Id', ExceptIfHeaderContainsWords: ['x'] };
    assert.equal(findingOf(tenantWith(organization), 'EOPL-035').status, 'pass');
  });

  test('an AuthAs exception that accepts Anonymous lets every direct sender through', () => {
    const raw = tenantWith({ ...MICROSOFT_FORM, ExceptIfHeaderContainsWords: ['Internal', 'Anonymous'] });
    const finding = findingOf(raw, 'EOPL-035');
    assert.equal(finding.status, 'fail');
    assert.match(finding.evidence[0]?.message ?? '', /lets through AuthAs Anonymous, Internal/);
  });

  test('a /24 exception around a /28 gateway lists the addresses it lets through', () => {
    const raw = tenantWith({ ...MICROSOFT_FORM, ExceptIfSenderIpRanges: ['203.0.113.10', '198.51.100.0/24', SCANNER] });
    const finding = findingOf(raw, 'EOPL-036');
    assert.equal(finding.status, 'fail');
    assert.deepEqual(finding.evidence.map((evidence) => evidence.path), ['TransportRule[0].ExceptIfSenderIpRanges[1]']);
    assert.equal(
      finding.evidence[0]?.message,
      "198.51.100.0/24 lets through 240 addresses that are neither the gateway's nor a connector's: 198.51.100.16/28, 198.51.100.32/27, 198.51.100.64/26, 198.51.100.128/25",
    );
  });

  test('the gateway\'s and the scanner connector\'s addresses are not extra', () => {
    assert.equal(findingOf(tenantWith(MICROSOFT_FORM), 'EOPL-036').status, 'pass');
  });
});

describe('an IPv4-only rule: IPv6 senders are not covered (EOPL-037, EOPL-016)', () => {
  const withIpv6Gateway = givenProfile({ ips: [...GATEWAY_IPS, '2001:db8:5e9::/48'] });
  const ipv4Only = { ...MICROSOFT_FORM, SenderIpRanges: ['0.0.0.0-255.255.255.255'] };

  test('the finding says IPv6 senders are not covered', () => {
    const finding = findingOf(tenantWith(ipv4Only), 'EOPL-037', withIpv6Gateway);
    assert.equal(finding.status, 'fail');
    assert.equal(finding.evidence.length, 1);
    assert.match(finding.evidence[0]?.message ?? '', /^IPv6 senders are not covered: the rule applies only to senders in 0\.0\.0\.0-255\.255\.255\.255/);
  });

  test('not that the gateway\'s IPv6 range is missing from the exception', () => {
    const finding = findingOf(tenantWith(ipv4Only), 'EOPL-016', withIpv6Gateway);
    assert.equal(finding.status, 'pass', JSON.stringify(finding.evidence));
  });

  test('a rule for every sender does need the gateway\'s IPv6 range excepted', () => {
    const finding = findingOf(tenantWith(MICROSOFT_FORM), 'EOPL-016', withIpv6Gateway);
    assert.equal(finding.status, 'fail');
    assert.match(finding.evidence[0]?.message ?? '', /gateway address 2001:db8:5e9::\/48 is not excepted/);
    const excepted = tenantWith({ ...MICROSOFT_FORM, ExceptIfSenderIpRanges: [...MICROSOFT_FORM.ExceptIfSenderIpRanges, '2001:db8::/32'] });
    assert.equal(findingOf(excepted, 'EOPL-016', withIpv6Gateway).status, 'pass');
  });

  test('an IPv4 condition that leaves part of IPv4 out names it too', () => {
    const finding = findingOf(tenantWith({ ...MICROSOFT_FORM, SenderIpRanges: ['0.0.0.0/1', '::/0'] }), 'EOPL-037');
    assert.deepEqual(finding.evidence.map((evidence) => evidence.message), ['IPv4 senders in 128.0.0.0/1 are not covered: their mail is never quarantined']);
    assert.equal(findingOf(tenantWith(MICROSOFT_FORM), 'EOPL-037').status, 'pass');
  });
});

describe('certificate names other parties can present (EOPL-038)', () => {
  for (const [name, who] of [
    ['*.mimecast.com', /every customer of Mimecast/],
    ['*.cloudapp.azure.com', /any customer of Microsoft Azure/],
    ['*.westeurope.cloudapp.azure.com', /any customer of Microsoft Azure/],
    ['*.azure.com', /any customer of Microsoft Azure/],
    ['*.net', /anyone who registers a domain under \.net/],
  ] as const) {
    test(`${name}: a high-severity finding saying who else presents it`, () => {
      const finding = findingOf(tenantWith(MICROSOFT_FORM, { TlsSenderCertificateName: name }), 'EOPL-038');
      assert.equal(finding.status, 'fail');
      assert.equal(finding.severity, 'high');
      assert.equal(finding.evidence[0]?.path, 'InboundConnector[0].TlsSenderCertificateName');
      assert.match(finding.evidence[0]?.message ?? '', who);
    });
  }

  test('a name of the tenant\'s own, or one host in a cloud zone, is not shared', () => {
    for (const name of ['*.seg.example.net', 'mygateway.westeurope.cloudapp.azure.com', '*.mygateway.westeurope.cloudapp.azure.com']) {
      assert.equal(sharedCertificateName(name), null, name);
      assert.equal(findingOf(tenantWith(MICROSOFT_FORM, { TlsSenderCertificateName: name }), 'EOPL-038').status, 'pass', name);
    }
  });
});

describe('the gateway\'s legitimate mail carries the header it stamps (EOPL-091)', () => {
  test('no false break with a header-excepted net; the header is what lets the gateway through', () => {
    const raw = tenantWith(GATEWAY_HEADER);
    const snapshot = parseSnapshot(raw).snapshot;
    assert.deepEqual(gatewayStamps(snapshot), [{ name: 'X-Gateway-Scanned', value: 'yes' }]);
    assert.equal(findingOf(raw, 'EOPL-091').status, 'pass');
    const gatewayPaths = builtinCorpus(snapshot, PROFILE).filter((entry) => entry.id.startsWith('legit-gateway-'));
    assert.equal(gatewayPaths.length, GATEWAY_IPS.length);
    for (const entry of gatewayPaths) {
      const headers = entry.transaction.headers as { name: string; value: string }[];
      assert.ok(headers.some((field) => field.name === 'X-Gateway-Scanned' && field.value === 'yes'), entry.id);
      const unstamped = { ...entry.transaction, headers: headers.filter((field) => field.name !== 'X-Gateway-Scanned') };
      assert.equal(decide(snapshot, unstamped).disposition, 'quarantine', 'without the header the net quarantines the gateway\'s mail');
    }
  });

  test('audit --prove: gateway classes are judged as the gateway sends them, with the header; other breaks still show', () => {
    const audit = (raw: Raw) => runAudit(parseSnapshot(raw).snapshot, PROFILE, { file: 'fixture.json', classSearch: prove }).findings.find((entry) => entry.id === 'EOPL-091');
    const finding = audit(tenantWith(GATEWAY_HEADER));
    assert.equal(finding?.status, 'pass', JSON.stringify(finding?.evidence.map((evidence) => evidence.message)));
    // The scanner left out of the exceptions is a real break, and is still reported.
    const scannerLeftOut = audit(tenantWith({ ...GATEWAY_HEADER, ExceptIfSenderIpRanges: ['192.0.2.200'] }));
    assert.equal(scannerLeftOut?.status, 'fail');
    assert.ok(scannerLeftOut?.evidence.every((evidence) => evidence.transaction?.clientIp === SCANNER), JSON.stringify(scannerLeftOut?.evidence.map((evidence) => evidence.transaction?.clientIp)));
  });

  test('the corpus forges the same header, and the attack gets in past the net', () => {
    const snapshot = parseSnapshot(tenantWith(GATEWAY_HEADER, { RestrictDomainsToIPAddresses: false })).snapshot;
    const attack = builtinCorpus(snapshot, PROFILE).find((entry) => entry.id === 'forged-gateway-header');
    assert.ok(attack);
    assert.equal(corpusOutcome(attack, decide(snapshot, attack.transaction)), 'got-in');
    const microsoft = parseSnapshot(tenantWith(MICROSOFT_FORM)).snapshot;
    assert.ok(!builtinCorpus(microsoft, PROFILE).some((entry) => entry.id === 'forged-gateway-header'), 'no stamped header, no such attack');
  });
});
