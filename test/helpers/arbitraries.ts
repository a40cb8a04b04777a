/**
 * Random tenants for property tests (fast-check): accepted domains, connectors, transport rules with every evaluated
 * predicate and some that are not, connection filter lists, DMARC and MX for contoso.com; and assumption sets. Used by
 * test/eop/fast-path.test.ts (fast against traced decisions) and test/prove/prune.test.ts (pruned against full search).
 */
import fc from 'fast-check';
import { ASSUMPTIONS } from '../../src/eop/assumptions.js';
import { parseSnapshot, type Snapshot } from '../../src/snapshot/parse.js';

export const DOMAINS = ['contoso.com', 'fabrikam.com', 'sub.contoso.com', 'Contoso.COM', 'deep.sub.contoso.com', 'relay.example', 'other.example', 'seg.example.net'];
export const IPS = ['203.0.113.10', '203.0.113.15', '203.0.113.16', '198.51.100.77', '198.51.100.255', '192.0.2.1', '192.0.2.40', '192.0.2.41', '10.0.0.1', '2001:db8::25', '2001:db8::1:0', '2001:db9::1', '::ffff:203.0.113.10', '::ffff:cb00:710a', ' 203.0.113.10', '[2001:db8::25]', '203.000.113.10', 'fe80::1%eth0', 'not-an-ip', '0.0.0.0', '255.255.255.255', '::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'];
export const LISTS = ['203.0.113.0/28', '203.0.113.10', '198.51.100.0/24', '192.0.2.1-192.0.2.40', '2001:db8::/64', '2001:db8::25', '0.0.0.0/0', '::/0', '10.0.0.0/8'];
export const NAMES = ['mx1.seg.example.net', 'seg.example.net', 'a.b.seg.example.net', '*.seg.example.net', 'mail.contoso.com', 'contoso.com', 'mail.attacker.example'];

export const octet = fc.integer({ min: 0, max: 255 });
export const ipv4 = fc.tuple(octet, octet, octet, octet).map((parts) => parts.join('.'));
export const ipv6 = fc.array(fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16)), { minLength: 8, maxLength: 8 }).map((groups) => groups.join(':'));
export const some = <T>(items: readonly T[], max = 3) => fc.subarray([...items], { maxLength: max });

export const acceptedDomain = fc.record({
  DomainName: fc.constantFrom('contoso.com', 'fabrikam.com', 'relay.example', '*.wild.example', 'sub.contoso.com'),
  DomainType: fc.constantFrom('Authoritative', 'InternalRelay', 'ExternalRelay'),
  MatchSubDomains: fc.boolean(),
});

export const connector = fc.record({
  Name: fc.constantFrom('Gateway', 'Scanner', 'Hybrid', 'Partner', 'Other'),
  Enabled: fc.boolean(),
  ConnectorType: fc.constantFrom('Partner', 'OnPremises'),
  SenderDomains: fc.constantFrom(['*'], ['fabrikam.com'], ['*.contoso.com'], [], ['contoso.com', 'other.example']),
  SenderIPAddresses: some(LISTS),
  TlsSenderCertificateName: fc.constantFrom(null, '*.seg.example.net', 'mail.contoso.com', 'seg.example.net'),
  RestrictDomainsToIPAddresses: fc.boolean(),
  RestrictDomainsToCertificate: fc.boolean(),
  RequireTls: fc.boolean(),
  AssociatedAcceptedDomains: some(['contoso.com', 'fabrikam.com', 'Sub.Contoso.com'], 2),
  EFSkipLastIP: fc.boolean(),
  EFSkipIPs: some(LISTS, 2),
});

export const WORDS = ['campaign-1', 'Internal', 'urgent wire', 'ſecret', 'K-list', '', 'a.b', '[x]', 'naïve', '—'];
export const PATTERNS = ['^\\[ticket-1\\]', 'ticket-\\d+', 'invoice|receipt', '(', 'a{2}b', 'x?y', '^$', 'Internal', '[a-z]+ 5', '\\bfoo\\b'];
/** One rule predicate (a condition, or with `ExceptIf` its exception), as Get-TransportRule shows it. */
export const predicate = fc.oneof(
  some(LISTS, 2).map((list) => ({ SenderIpRanges: list.length ? list : ['not-a-range'] })),
  fc.tuple(some(DOMAINS, 2), fc.constantFrom(undefined, 'Header', 'Envelope', 'HeaderOrEnvelope')).map(([list, location]) => ({ SenderDomainIs: list.length ? list : ['contoso.com'], ...(location ? { SenderAddressLocation: location } : {}) })),
  fc.constantFrom(['ceo@contoso.com'], ['CEO <ceo@contoso.com>', 'x@fabrikam.com']).map((list) => ({ From: list })),
  fc.constantFrom('InOrganization', 'NotInOrganization').map((scope) => ({ FromScope: scope })),
  some(DOMAINS, 2).map((list) => ({ RecipientDomainIs: list.length ? list : ['contoso.com'] })),
  fc.constantFrom('InOrganization', 'NotInOrganization', 'ExternalPartner').map((scope) => ({ SentToScope: scope })),
  fc.tuple(fc.constantFrom('X-Campaign', 'Subject', 'X-MS-Exchange-Organization-AuthAs', ' subject '), some(WORDS, 3)).map(([header, words]) => ({ HeaderContainsMessageHeader: header, HeaderContainsWords: words })),
  fc.tuple(fc.constantFrom('X-Campaign', 'Subject'), some(PATTERNS, 2)).map(([header, patterns]) => ({ HeaderMatchesMessageHeader: header, HeaderMatchesPatterns: patterns })),
  fc.constant({ SubjectContainsWords: ['invoice'] }),
  fc.constantFrom({ AttachmentExtensionMatchesWords: ['exe'] }, { AttachmentSizeOver: '10 MB (10,485,760 bytes)' }, { AttachmentSizeOver: 'big' }, { AttachmentHasExecutableContent: true }),
);
export const exceptIf = (entry: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(entry).map(([key, value]) => [key === 'SenderAddressLocation' ? key : `ExceptIf${key}`, value]));
export const rule = fc
  .record({
    conditions: fc.array(predicate, { maxLength: 2 }),
    exceptions: fc.array(predicate, { maxLength: 1 }),
    State: fc.constantFrom('Enabled', 'Enabled', 'Disabled'),
    Mode: fc.constantFrom('Enforce', 'Enforce', 'Audit', 'AuditAndNotify'),
    Priority: fc.integer({ min: 0, max: 5 }),
    action: fc.constantFrom({ SetSCL: -1 }, { SetSCL: 6 }, { Quarantine: true }, { DeleteMessage: true }, { RejectMessageReasonText: 'Blocked' }, { RejectMessageEnhancedStatusCode: '5.7.99' }, { ApplyHtmlDisclaimerText: 'x' }),
    StopRuleProcessing: fc.boolean(),
  })
  .map(({ conditions, exceptions, action, ...rest }, ) => ({ ...rest, ...Object.assign({}, ...conditions), ...Object.assign({}, ...exceptions.map(exceptIf)), ...action }));

export const snapshot: fc.Arbitrary<Snapshot> = fc
  .record({
    RejectDirectSend: fc.boolean(),
    AcceptedDomain: fc.array(acceptedDomain, { minLength: 1, maxLength: 4 }),
    InboundConnector: fc.array(connector, { maxLength: 4 }),
    TransportRule: fc.array(rule, { maxLength: 5 }),
    block: some(LISTS, 2),
    allow: some(LISTS, 2),
    dmarc: fc.constantFrom(null, 'v=DMARC1; p=reject', 'v=DMARC1; p=quarantine; sp=none', 'v=DMARC1; p=none'),
    mx: fc.constantFrom(null, 'contoso-com.mail.protection.outlook.com', 'mx1.seg.example.net'),
  })
  .map(({ RejectDirectSend, AcceptedDomain, InboundConnector, TransportRule, block, allow, dmarc, mx }) =>
    parseSnapshot({
      Meta: { eoplockSnapshot: 1, tenant: 'Generated' },
      OrganizationConfig: { RejectDirectSend },
      AcceptedDomain,
      InboundConnector: InboundConnector.map((entry, index) => ({ ...entry, Name: `${entry.Name} ${index}` })),
      TransportRule: TransportRule.map((entry, index) => ({ ...entry, Name: `Rule ${index}` })),
      HostedConnectionFilterPolicy: [{ Name: 'Default', IPBlockList: block, IPAllowList: allow }],
      ...(dmarc || mx ? { Dns: { 'contoso.com': { MX: mx ? [`0 ${mx}`] : [], TXT: [], DMARC: dmarc ? [dmarc] : [] } } } : {}),
    }).snapshot,
  );

export const assumptions = fc.record(Object.fromEntries(ASSUMPTIONS.map((entry) => [entry.id, fc.constantFrom(...Object.keys(entry.values))])) as Record<string, fc.Arbitrary<string>>);
