/**
 * Every check has a passing and a failing fixture: a fully hardened tenant where all pass, and one change each
 * that makes exactly that check fail.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CATALOGUE } from '../../src/audit/catalogue.js';
import { prove } from '../../src/prove/prove.js';
import { CHECK_IMPLEMENTATIONS, failsAt, runAudit } from '../../src/audit/run.js';
import { SOURCES } from '../../src/eop/sources.js';
import { givenProfile, inferProfile, type GatewayProfile } from '../../src/profile/profile.js';
import { parseSnapshot } from '../../src/snapshot/parse.js';
import { SEG_IPS } from '../helpers/tenant.js';

type Raw = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function hardened(): Raw {
  return {
    Meta: { eoplockSnapshot: 1, tenant: 'Fixture' },
    OrganizationConfig: { RejectDirectSend: true },
    AcceptedDomain: [
      { DomainName: 'contoso.com', DomainType: 'Authoritative', Default: true },
      { DomainName: 'contoso.onmicrosoft.com', DomainType: 'Authoritative', InitialDomain: true },
    ],
    InboundConnector: [
      {
        Name: 'From SEG (certificate)',
        ConnectorType: 'Partner',
        SenderDomains: ['smtp:*;1'],
        SenderIPAddresses: [],
        TlsSenderCertificateName: '*.seg.example.net',
        RestrictDomainsToCertificate: true,
        RequireTls: true,
        EFSkipIPs: [...SEG_IPS],
        EFSkipLastIP: false,
        EFUsers: [],
      },
      { Name: 'Scanners', ConnectorType: 'Partner', SenderDomains: ['smtp:contoso.com;1'], SenderIPAddresses: ['192.0.2.25'] },
    ],
    TransportRule: [
      {
        Name: 'Quarantine mail not from the gateway',
        Priority: 0,
        State: 'Enabled',
        Mode: 'Enforce',
        ExceptIfSenderIpRanges: [...SEG_IPS, '192.0.2.25'],
        ExceptIfHeaderContainsMessageHeader: 'X-MS-Exchange-Organization-AuthAs',
        ExceptIfHeaderContainsWords: ['Internal'],
        Quarantine: true,
        StopRuleProcessing: true,
      },
    ],
    AntiPhishPolicy: [
      {
        Name: 'Office365 AntiPhish Default',
        EnableSpoofIntelligence: true,
        HonorDmarcPolicy: true,
        DmarcRejectAction: 'Reject',
        DmarcQuarantineAction: 'Quarantine',
        AuthenticationFailAction: 'Quarantine',
        EnableMailboxIntelligence: true,
      },
    ],
    HostedContentFilterPolicy: [
      { Name: 'Default', BulkThreshold: 6, HighConfidenceSpamAction: 'Quarantine', PhishSpamAction: 'Quarantine', HighConfidencePhishAction: 'Quarantine', AllowedSenders: [], AllowedSenderDomains: [] },
    ],
    HostedConnectionFilterPolicy: { Name: 'Default', IPAllowList: [], IPBlockList: [], EnableSafeList: false },
    DkimSigningConfig: [{ Domain: 'contoso.com', Enabled: true }],
    Dns: {
      'contoso.com': {
        MX: ['10 mx1.seg.example.net'],
        TXT: ['v=spf1 ip4:203.0.113.10 ip4:203.0.113.11 ip4:198.51.100.0/28 -all'],
        DMARC: ['v=DMARC1; p=reject; rua=mailto:dmarc@contoso.com'],
      },
    },
  };
}

const PROFILE = givenProfile({ ips: [...SEG_IPS], certificateName: '*.seg.example.net' });
const IP_CONNECTOR = { ...hardened().InboundConnector[0], Name: 'From SEG (IP)', SenderIPAddresses: [...SEG_IPS], TlsSenderCertificateName: null, RestrictDomainsToCertificate: false, RestrictDomainsToIPAddresses: true };

/** The audit of a fixture; EOPL-090/091 search every class (audit --prove) when the check asked for is one of them. */
function audit(raw: Raw, profile: GatewayProfile = PROFILE, classSearch = false) {
  return runAudit(parseSnapshot(raw).snapshot, profile, { file: 'fixture.json', ...(classSearch ? { classSearch: prove } : {}) });
}
function statusOf(raw: Raw, id: string, profile?: GatewayProfile) {
  const finding = audit(raw, profile, id === 'EOPL-090' || id === 'EOPL-091').findings.find((entry) => entry.id === id);
  assert.ok(finding, id);
  return finding;
}

/** For each check: how to make it pass (default: the hardened tenant) and how to make it fail. */
const CASES: Record<string, { pass?: (raw: Raw) => void; fail: (raw: Raw) => void; profile?: GatewayProfile }> = {
  'EOPL-001': { fail: (r) => void (r.OrganizationConfig.RejectDirectSend = false) },
  'EOPL-002': { fail: (r) => void (r.InboundConnector[0].Enabled = false) },
  'EOPL-003': { fail: (r) => void (r.InboundConnector[0].ConnectorType = 'OnPremises') },
  'EOPL-004': { fail: (r) => void (r.InboundConnector[0].SenderDomains = ['contoso.com']) },
  'EOPL-005': { fail: (r) => void (r.InboundConnector[0].RestrictDomainsToCertificate = false) },
  'EOPL-006': { fail: (r) => void (r.InboundConnector[1].SenderIPAddresses = ['192.0.2.25', '2001:db8::25', '10.0.0.0/16']) },
  'EOPL-007': {
    pass: (r) => void (r.InboundConnector[0] = { ...IP_CONNECTOR }),
    fail: (r) => void (r.InboundConnector[0] = { ...IP_CONNECTOR, SenderIPAddresses: ['203.0.113.10', '198.51.100.0/29'] }),
  },
  'EOPL-008': {
    pass: (r) => void (r.InboundConnector[0] = { ...IP_CONNECTOR }),
    fail: (r) => void (r.InboundConnector[0] = { ...IP_CONNECTOR, SenderIPAddresses: [...SEG_IPS, '192.0.2.99'] }),
  },
  'EOPL-009': { fail: (r) => void (r.InboundConnector[0].SenderIPAddresses = ['203.0.113.10']) },
  'EOPL-010': { fail: (r) => void (r.InboundConnector[0].RequireTls = false) },
  'EOPL-011': { fail: (r) => void (r.InboundConnector[0].TlsSenderCertificateName = '*.example.net') },
  'EOPL-012': { fail: (r) => void r.InboundConnector.push({ Name: 'Partner by domain', ConnectorType: 'Partner', SenderDomains: ['partner.example'] }) },
  'EOPL-013': { fail: (r) => void (r.TransportRule = []) },
  'EOPL-014': { fail: (r) => void (r.TransportRule[0].Mode = 'AuditAndNotify') },
  'EOPL-015': {
    fail: (r) => {
      r.TransportRule[0].Priority = 1;
      r.TransportRule.push({ Name: 'Allow partner', Priority: 0, State: 'Enabled', Mode: 'Enforce', SenderDomainIs: ['partner.example'], SetSCL: -1, StopRuleProcessing: true });
    },
  },
  'EOPL-016': { fail: (r) => void (r.TransportRule[0].ExceptIfSenderIpRanges = ['203.0.113.10', '203.0.113.11', '192.0.2.25']) },
  'EOPL-017': { fail: (r) => void (r.TransportRule[0].FromScope = 'NotInOrganization') },
  'EOPL-035': {
    fail: (r) => {
      r.TransportRule[0].ExceptIfHeaderContainsMessageHeader = 'X-Gateway-Scanned';
      r.TransportRule[0].ExceptIfHeaderContainsWords = ['yes'];
    },
  },
  'EOPL-036': { fail: (r) => void (r.TransportRule[0].ExceptIfSenderIpRanges = ['203.0.113.10', '203.0.113.11', '198.51.100.0/24', '192.0.2.25']) },
  'EOPL-037': { fail: (r) => void (r.TransportRule[0].SenderIpRanges = ['0.0.0.0-255.255.255.255']) },
  'EOPL-038': { fail: (r) => void (r.InboundConnector[0].TlsSenderCertificateName = '*.westeurope.cloudapp.azure.com') },
  'EOPL-018': { fail: (r) => void r.TransportRule.push({ Name: 'Bypass', Priority: 5, SenderDomainIs: ['news.example'], SetSCL: -1 }) },
  'EOPL-019': { fail: (r) => void (r.HostedContentFilterPolicy[0].AllowedSenderDomains = ['partner.example']) },
  'EOPL-020': { fail: (r) => void (r.HostedConnectionFilterPolicy.IPAllowList = ['198.51.100.9']) },
  'EOPL-021': { fail: (r) => void (r.HostedConnectionFilterPolicy.EnableSafeList = true) },
  'EOPL-022': { fail: (r) => void (r.InboundConnector[0].EFSkipIPs = ['203.0.113.10', '192.0.2.99']) },
  'EOPL-023': { fail: (r) => void (r.InboundConnector[0].EFUsers = ['ceo@contoso.com']) },
  'EOPL-024': { fail: (r) => void (r.AntiPhishPolicy[0].EnableSpoofIntelligence = false) },
  'EOPL-025': { fail: (r) => void (r.AntiPhishPolicy[0].DmarcRejectAction = 'Quarantine') },
  'EOPL-026': { fail: (r) => void (r.AntiPhishPolicy[0].AuthenticationFailAction = 'MoveToJmf') },
  'EOPL-027': { fail: (r) => void (r.AntiPhishPolicy[0].EnableMailboxIntelligence = false) },
  'EOPL-028': { fail: (r) => void (r.HostedContentFilterPolicy[0].BulkThreshold = 7) },
  'EOPL-029': { fail: (r) => void (r.HostedContentFilterPolicy[0].HighConfidencePhishAction = 'Redirect') },
  'EOPL-030': { fail: (r) => void (r.DkimSigningConfig[0].Enabled = false) },
  'EOPL-031': { fail: (r) => void (r.Dns['contoso.com'].TXT = ['v=spf1 ip4:203.0.113.10 ?all']) },
  'EOPL-032': { fail: (r) => void (r.Dns['contoso.com'].DMARC = ['v=DMARC1; p=none; rua=mailto:dmarc@contoso.com']) },
  'EOPL-034': { fail: (r) => void (r.InboundConnector[0].AssociatedAcceptedDomains = ['contoso.onmicrosoft.com']) },
  'EOPL-033': {
    fail: (r) => {
      r.AcceptedDomain.push({ DomainName: 'contoso.de', DomainType: 'Authoritative' });
      r.DkimSigningConfig.push({ Domain: 'contoso.de', Enabled: true });
      r.Dns['contoso.de'] = { ...r.Dns['contoso.com'], MX: ['0 contoso-de.mail.protection.outlook.com'] };
    },
    profile: givenProfile({ ips: [...SEG_IPS], certificateName: '*.seg.example.net', file: { mxHosts: ['mx1.seg.example.net'] } }),
  },
  'EOPL-090': {
    fail: (r) => {
      r.OrganizationConfig.RejectDirectSend = false;
      r.InboundConnector[0].RestrictDomainsToCertificate = false;
      r.TransportRule = [];
    },
  },
  'EOPL-091': { fail: (r) => void (r.TransportRule[0].ExceptIfSenderIpRanges = [...SEG_IPS]) },
};

describe('the catalogue', () => {
  test('ids are unique, stable in form, and each has an implementation, sources and a fix', () => {
    const ids = CATALOGUE.map((meta) => meta.id);
    assert.equal(new Set(ids).size, ids.length);
    for (const meta of CATALOGUE) {
      assert.match(meta.id, /^EOPL-\d{3}$/);
      assert.ok(CHECK_IMPLEMENTATIONS[meta.id], `${meta.id} has an implementation`);
      assert.ok(meta.why.length > 40 && meta.fix.length > 10, meta.id);
      for (const source of meta.sources) assert.ok(SOURCES[source], `${meta.id} cites ${source}, which SOURCES resolves`);
    }
    assert.deepEqual(Object.keys(CHECK_IMPLEMENTATIONS).sort(), [...ids].sort());
  });

  test('every check has a failing fixture here', () => {
    assert.deepEqual(Object.keys(CASES).sort(), CATALOGUE.map((meta) => meta.id).sort());
  });
});

describe('the hardened fixture passes every applicable check', () => {
  const result = audit(hardened());
  test('all pass except the address coverage checks of an IP connector (the gateway uses a certificate)', () => {
    const notPassing = result.findings.filter((finding) => finding.status !== 'pass').map((finding) => `${finding.id} ${finding.status}`);
    assert.deepEqual(notPassing, ['EOPL-007 not-applicable']);
    assert.equal(failsAt(result, 'low'), false);
    assert.equal(result.summary.attacksIn, 0);
    assert.equal(result.summary.legitimateBroken, 0);
  });
});

describe('each check: pass and fail', () => {
  for (const [id, { pass, fail, profile }] of Object.entries(CASES)) {
    test(`${id} passes`, () => {
      const raw = hardened();
      pass?.(raw);
      const finding = statusOf(raw, id, profile);
      assert.equal(finding.status, 'pass', finding.summary);
    });
    test(`${id} fails, with evidence`, () => {
      const raw = hardened();
      fail(raw);
      const finding = statusOf(raw, id, profile);
      assert.equal(finding.status, 'fail', finding.summary);
      assert.ok(finding.evidence.length > 0);
      for (const evidence of finding.evidence) assert.match(evidence.path, /^(OrganizationConfig|AcceptedDomain|InboundConnector|TransportRule|AntiPhishPolicy|HostedContentFilterPolicy|HostedConnectionFilterPolicy|DkimSigningConfig|Dns|proof)/);
    });
  }

  test('EOPL-007 names the uncovered addresses exactly', () => {
    const raw = hardened();
    CASES['EOPL-007']?.fail(raw);
    const messages = statusOf(raw, 'EOPL-007').evidence.map((evidence) => evidence.message);
    assert.deepEqual(messages, [
      'gateway address 203.0.113.11 is not covered: 203.0.113.11 missing',
      'gateway address 198.51.100.0/28 is not covered: 198.51.100.8/29 missing',
    ]);
  });

  test('EOPL-006 explains each invalid entry', () => {
    const raw = hardened();
    CASES['EOPL-006']?.fail(raw);
    assert.deepEqual(statusOf(raw, 'EOPL-006').evidence.map((evidence) => evidence.path), ['InboundConnector[1].SenderIPAddresses[1]', 'InboundConnector[1].SenderIPAddresses[2]']);
  });

  test('EOPL-017 carries the spoof that slips past, with the emulator trace', () => {
    const raw = hardened();
    CASES['EOPL-017']?.fail(raw);
    const [evidence] = statusOf(raw, 'EOPL-017').evidence;
    assert.equal(evidence?.transaction?.mailFrom, 'bounce@mailer.attacker.example');
    assert.ok((evidence?.verdict?.trace.length ?? 0) > 3);
  });

  test('EOPL-090 carries every bypass cause of the class search, with a representative transaction and its trace', () => {
    const raw = hardened();
    CASES['EOPL-090']?.fail(raw);
    const finding = statusOf(raw, 'EOPL-090');
    assert.ok(finding.evidence.length > 0);
    for (const evidence of finding.evidence) {
      assert.equal(evidence.verdict?.action, 'accept');
      assert.equal(evidence.verdict?.stage, 'data', 'the evidence keeps the SMTP stage of the reply');
      assert.ok(evidence.transaction?.clientIp);
      assert.ok((evidence.verdict?.trace.length ?? 0) > 0);
      assert.match(evidence.message, /: [\d,]+ class(es)? — accepted by EOP/);
    }
  });

  test('EOPL-091 names the scanner whose mail the rule would quarantine', () => {
    const raw = hardened();
    CASES['EOPL-091']?.fail(raw);
    const finding = statusOf(raw, 'EOPL-091');
    assert.deepEqual(finding.evidence.map((evidence) => evidence.actual), ['accept → quarantine']);
    assert.equal(finding.evidence[0]?.transaction?.clientIp, '192.0.2.25');
  });
});

describe('not applicable', () => {
  test('a tenant with its MX at Exchange Online and no gateway connector: gateway checks do not apply', () => {
    const raw = hardened();
    raw.InboundConnector = [];
    raw.TransportRule = [];
    raw.Dns['contoso.com'].MX = ['0 contoso-com.mail.protection.outlook.com'];
    const result = audit(raw, inferProfile(parseSnapshot(raw).snapshot));
    const notApplicable = result.findings.filter((finding) => finding.status === 'not-applicable').map((finding) => finding.id);
    for (const id of ['EOPL-002', 'EOPL-005', 'EOPL-013', 'EOPL-016', 'EOPL-022']) assert.ok(notApplicable.includes(id), id);
    assert.equal(result.profile.origin.kind, 'none');
    assert.equal(statusOf(raw, 'EOPL-001', result.profile).status, 'pass');
  });

  test('a snapshot without anti-phishing data: those checks do not apply', () => {
    const raw = hardened();
    delete raw.AntiPhishPolicy;
    assert.equal(statusOf(raw, 'EOPL-024').status, 'not-applicable');
  });

  test('a parked domain (SPF v=spf1 -all) needs no DKIM and no rua', () => {
    const raw = hardened();
    raw.AcceptedDomain.push({ DomainName: 'parked.example', DomainType: 'Authoritative' });
    raw.Dns['parked.example'] = { MX: [], TXT: ['v=spf1 -all'], DMARC: ['v=DMARC1; p=reject;'] };
    assert.equal(statusOf(raw, 'EOPL-030').status, 'pass');
    assert.equal(statusOf(raw, 'EOPL-032').status, 'pass');
  });
});
