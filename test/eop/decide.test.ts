/**
 * The emulator's documented behaviours, one table row per behaviour, each named with its source in
 * eop-behaviour.md (S-number and section).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decide, type DecideOptions } from '../../src/eop/decide.js';
import type { Transaction, Verdict } from '../../src/eop/types.js';
import type { Snapshot } from '../../src/snapshot/parse.js';
import { SEG_CERT, onPremisesConnector, partnerConnector, rule, tenant } from '../helpers/tenant.js';

const ATTACKER = '198.51.100.77';
const SEG = '203.0.113.10';

function tx(overrides: Partial<Transaction> = {}): Transaction {
  return {
    clientIp: ATTACKER,
    helo: 'mail.example',
    mailFrom: 'someone@fabrikam.example',
    rcptTo: ['user@contoso.com'],
    headers: [{ name: 'From', value: 'Someone <someone@fabrikam.example>' }],
    ...overrides,
  };
}

interface Row {
  name: string;
  snapshot: Snapshot;
  transaction: Transaction;
  options?: DecideOptions;
  expect: Partial<Pick<Verdict, 'action' | 'stage' | 'code' | 'enhanced' | 'disposition' | 'authAs' | 'incomplete' | 'scl'>> & {
    connector?: string | null;
    matchedBy?: 'ip' | 'certificate';
    assumptions?: string[];
    traceIncludes?: RegExp;
    textIncludes?: string;
  };
}

function check(row: Row): void {
  const verdict = decide(row.snapshot, row.transaction, row.options);
  const { connector, matchedBy, assumptions, traceIncludes, textIncludes, ...fields } = row.expect;
  for (const [key, value] of Object.entries(fields)) {
    assert.deepEqual(verdict[key as keyof Verdict], value, `${key} (trace: ${verdict.trace.map((s) => s.detail).join(' | ')})`);
  }
  if (connector !== undefined) assert.equal(verdict.connector?.name ?? null, connector, 'connector');
  if (matchedBy !== undefined) assert.equal(verdict.connector?.matchedBy, matchedBy, 'matchedBy');
  for (const id of assumptions ?? []) assert.ok(verdict.assumptions.includes(id), `assumption ${id} in ${verdict.assumptions.join(',')}`);
  if (traceIncludes) assert.match(verdict.trace.map((step) => step.detail).join('\n'), traceIncludes);
  if (textIncludes) assert.ok(verdict.text.includes(textIncludes), `text "${verdict.text}" includes "${textIncludes}"`);
  for (const step of verdict.trace) assert.ok(step.sources.length > 0 || step.step === 'none', `trace step ${step.step} cites a source`);
}

const open = tenant();
const rds = tenant({ rejectDirectSend: true });
const restrictedIp = tenant({ connectors: [partnerConnector({ RestrictDomainsToIPAddresses: true })] });
const restrictedCert = tenant({
  connectors: [
    partnerConnector({
      Name: 'SEG by certificate',
      SenderIPAddresses: [],
      TlsSenderCertificateName: '*.seg.example.net',
      RestrictDomainsToCertificate: true,
      RequireTls: true,
    }),
  ],
});
const lockedBoth = tenant({
  rejectDirectSend: true,
  connectors: [
    partnerConnector({ RestrictDomainsToIPAddresses: true }),
    partnerConnector({ Name: 'Scanners', SenderDomains: ['smtp:contoso.com;1'], SenderIPAddresses: ['192.0.2.25'] }),
    onPremisesConnector(),
  ],
});

describe('tenant attribution (§1.3, §9)', () => {
  const rows: Row[] = [
    {
      name: 'S50: a recipient domain the tenant does not host gets 550 5.7.64 TenantAttribution; Relay Access Denied',
      snapshot: open,
      transaction: tx({ rcptTo: ['someone@not-hosted.example'] }),
      expect: { action: 'reject', code: 550, enhanced: '5.7.64', stage: 'rcpt', textIncludes: 'TenantAttribution; Relay Access Denied' },
    },
    {
      name: 'S3: with nothing hardened, anyone on the internet reaches an accepted domain (anonymous, no connector)',
      snapshot: open,
      transaction: tx({ mailFrom: 'ceo@contoso.com' }),
      expect: { action: 'accept', code: 250, disposition: 'deliver', connector: null, authAs: 'Anonymous' },
    },
    {
      name: 'S3: an InternalRelay domain is accepted too',
      snapshot: open,
      transaction: tx({ rcptTo: ['user@contosolabs.com'] }),
      expect: { action: 'accept' },
    },
    {
      name: 'S13: relay to the internet through an OnPremises connector whose certificate domain is accepted',
      snapshot: tenant({ connectors: [onPremisesConnector()] }),
      transaction: tx({
        clientIp: '192.0.2.80',
        tls: { certificate: { subject: 'CN=mail.contoso.com' } },
        mailFrom: 'user@contoso.com',
        rcptTo: ['friend@gmail.example'],
      }),
      expect: { action: 'accept', disposition: 'relay', connector: 'Inbound from on-premises', authAs: 'Internal' },
    },
    {
      name: 'S13: relay through an OnPremises connector is denied when neither the certificate nor the MAIL FROM domain is accepted',
      snapshot: tenant({ connectors: [onPremisesConnector({ TlsSenderCertificateName: null, SenderIPAddresses: ['192.0.2.80'] })] }),
      transaction: tx({ clientIp: '192.0.2.80', mailFrom: 'x@fabrikam.example', rcptTo: ['friend@gmail.example'] }),
      expect: { action: 'reject', enhanced: '5.7.64' },
    },
    {
      name: 'S49: a recipient beyond the 200th in one transaction gets 452 4.5.3',
      snapshot: open,
      transaction: tx({ rcptTo: Array.from({ length: 201 }, (_, i) => `user${i}@contoso.com`) }),
      expect: { action: 'accept', traceIncludes: /accepted/ },
    },
  ];
  for (const row of rows) test(row.name, () => check(row));

  test('S50/S3: mixed recipients are answered one by one', () => {
    const verdict = decide(open, tx({ rcptTo: ['user@contoso.com', 'x@not-hosted.example'] }));
    assert.equal(verdict.action, 'accept');
    assert.deepEqual(
      verdict.recipients?.map((r) => [r.recipient, r.code, r.enhanced]),
      [
        ['user@contoso.com', 250, '2.1.5'],
        ['x@not-hosted.example', 550, '5.7.64'],
      ],
    );
  });

  test('S49: the 201st recipient gets 452 4.5.3 Too many recipients', () => {
    const verdict = decide(open, tx({ rcptTo: Array.from({ length: 201 }, (_, i) => `user${i}@contoso.com`) }));
    const last = verdict.recipients?.at(-1);
    assert.equal(verdict.recipients?.length, 201);
    assert.equal(last?.code, 452);
    assert.equal(last?.enhanced, '4.5.3');
    assert.equal(verdict.recipients?.[199]?.code, 250);
  });
});

describe('RejectDirectSend (§2, S1, S2)', () => {
  const rows: Row[] = [
    {
      name: 'S1: anonymous mail with an accepted-domain MAIL FROM and no connector gets 550 5.7.68',
      snapshot: rds,
      transaction: tx({ mailFrom: 'ceo@contoso.com' }),
      expect: {
        action: 'reject',
        code: 550,
        enhanced: '5.7.68',
        stage: 'rcpt',
        disposition: 'none',
        textIncludes: 'TenantInboundAttribution; Direct Send not allowed for this organization from unauthorized sources',
        assumptions: ['attribution-reject-stage'],
      },
    },
    {
      name: 'S1: every accepted domain counts, including the initial onmicrosoft.com domain',
      snapshot: rds,
      transaction: tx({ mailFrom: 'admin@contoso.onmicrosoft.com' }),
      expect: { action: 'reject', enhanced: '5.7.68' },
    },
    {
      name: 'S2: only the P1 sender is tested — a foreign MAIL FROM with an internal header From gets in',
      snapshot: rds,
      transaction: tx({ mailFrom: 'bounce@attacker.example', headers: [{ name: 'From', value: 'CEO <ceo@contoso.com>' }] }),
      expect: { action: 'accept', disposition: 'deliver', traceIncludes: /From header is not checked/ },
    },
    {
      name: 'S1: the null sender has no domain, so RejectDirectSend does not apply',
      snapshot: rds,
      transaction: tx({ mailFrom: '' }),
      expect: { action: 'accept' },
    },
    {
      name: 'S1 (2026-03 update): a connector that matches only by sender domain does not exempt Direct Send',
      snapshot: tenant({
        rejectDirectSend: true,
        connectors: [partnerConnector({ Name: 'Domain only', SenderDomains: ['contoso.com'], SenderIPAddresses: [] })],
      }),
      transaction: tx({ mailFrom: 'app@contoso.com' }),
      expect: { action: 'reject', enhanced: '5.7.68', connector: null },
    },
    {
      name: 'S1: a connector matched by IP exempts the message',
      snapshot: tenant({ rejectDirectSend: true, connectors: [partnerConnector()] }),
      transaction: tx({ clientIp: SEG, mailFrom: 'ceo@contoso.com' }),
      expect: { action: 'accept', connector: 'From SEG', matchedBy: 'ip', authAs: 'Partner', assumptions: ['partner-authas'] },
    },
    {
      name: 'S7: a disabled connector is ignored',
      snapshot: tenant({ rejectDirectSend: true, connectors: [partnerConnector({ Enabled: false })] }),
      transaction: tx({ clientIp: SEG, mailFrom: 'ceo@contoso.com' }),
      expect: { action: 'reject', enhanced: '5.7.68', connector: null, traceIncludes: /disabled/ },
    },
    {
      name: '§2.2: the reply stage is an assumption (attribution-reject-stage=data)',
      snapshot: rds,
      transaction: tx({ mailFrom: 'ceo@contoso.com' }),
      options: { assumptions: { 'attribution-reject-stage': 'data' } },
      expect: { action: 'reject', enhanced: '5.7.68', stage: 'data' },
    },
    {
      name: '§2.1: a subdomain of an accepted domain with MatchSubDomains counts (accepted-subdomains default)',
      snapshot: rds,
      transaction: tx({ mailFrom: 'ceo@sales.contoso.co.uk', rcptTo: ['user@contoso.co.uk'] }),
      expect: { action: 'reject', enhanced: '5.7.68', assumptions: ['accepted-subdomains'] },
    },
    {
      name: '§2.1: a subdomain of an accepted domain without MatchSubDomains is foreign (accepted-subdomains default)',
      snapshot: rds,
      transaction: tx({ mailFrom: 'ceo@sales.contoso.com' }),
      expect: { action: 'accept' },
    },
    {
      name: '§2.1: accepted-subdomains=always treats every subdomain as accepted',
      snapshot: rds,
      transaction: tx({ mailFrom: 'ceo@sales.contoso.com' }),
      options: { assumptions: { 'accepted-subdomains': 'always' } },
      expect: { action: 'reject', enhanced: '5.7.68' },
    },
    {
      name: '§2.1: accepted-subdomains=exact ignores MatchSubDomains',
      snapshot: rds,
      transaction: tx({ mailFrom: 'ceo@sales.contoso.co.uk', rcptTo: ['user@contoso.co.uk'] }),
      options: { assumptions: { 'accepted-subdomains': 'exact' } },
      expect: { action: 'accept' },
    },
  ];
  for (const row of rows) test(row.name, () => check(row));
});

describe('inbound connectors (§3, S7, S9, S10, S11)', () => {
  const rows: Row[] = [
    {
      name: 'S9/S10: a Partner connector with RestrictDomainsToIPAddresses rejects other IPs with 550 5.7.51',
      snapshot: restrictedIp,
      transaction: tx(),
      expect: {
        action: 'reject',
        code: 550,
        enhanced: '5.7.51',
        stage: 'rcpt',
        textIncludes: "There is a partner connector configured that matched the message's recipient domain",
      },
    },
    {
      name: 'S3: the restriction matches on the recipient domain, so an internal-domain sender is rejected too',
      snapshot: restrictedIp,
      transaction: tx({ mailFrom: 'ceo@contoso.com' }),
      expect: { action: 'reject', enhanced: '5.7.51' },
    },
    {
      name: 'S9: mail from the listed SEG IP passes the restriction',
      snapshot: restrictedIp,
      transaction: tx({ clientIp: SEG }),
      expect: { action: 'accept', connector: 'From SEG', matchedBy: 'ip' },
    },
    {
      name: 'S7: CIDR entries match inside the block (198.51.100.15 in /28)',
      snapshot: restrictedIp,
      transaction: tx({ clientIp: '198.51.100.15' }),
      expect: { action: 'accept', matchedBy: 'ip' },
    },
    {
      name: 'S7: CIDR entries do not match just outside the block (198.51.100.16 not in /28)',
      snapshot: restrictedIp,
      transaction: tx({ clientIp: '198.51.100.16' }),
      expect: { action: 'reject', enhanced: '5.7.51' },
    },
    {
      name: 'S7: SenderIPAddresses is IPv4 only, so an IPv6 client never matches and is restricted',
      snapshot: restrictedIp,
      transaction: tx({ clientIp: '2001:db8::25' }),
      expect: { action: 'reject', enhanced: '5.7.51' },
    },
    {
      name: 'S7: an IPv4-mapped IPv6 address is the IPv4 address',
      snapshot: restrictedIp,
      transaction: tx({ clientIp: '::ffff:203.0.113.10' }),
      expect: { action: 'accept', matchedBy: 'ip' },
    },
    {
      name: 'S9/§11.7: RestrictDomainsTo* on an OnPremises connector is never enforced',
      snapshot: tenant({ connectors: [onPremisesConnector({ RestrictDomainsToIPAddresses: true, SenderIPAddresses: SEG_IPSAFE() })] }),
      transaction: tx(),
      expect: { action: 'accept', traceIncludes: /never enforced/ },
    },
    {
      name: 'S7: TlsSenderCertificateName *.seg.example.net matches the certificate CN mx1.seg.example.net',
      snapshot: restrictedCert,
      transaction: tx({ clientIp: '192.0.2.200', tls: { certificate: SEG_CERT } }),
      expect: { action: 'accept', connector: 'SEG by certificate', matchedBy: 'certificate', assumptions: ['certificate-wildcard'] },
    },
    {
      name: 'S7: a subjectAltName satisfies the certificate name',
      snapshot: restrictedCert,
      transaction: tx({ tls: { certificate: { subject: 'CN=gateway.internal', san: ['relay2.seg.example.net'] } } }),
      expect: { action: 'accept', matchedBy: 'certificate' },
    },
    {
      name: 'S9: a certificate for another host is restricted with 5.7.51',
      snapshot: restrictedCert,
      transaction: tx({ tls: { certificate: { subject: 'CN=mail.attacker.example' } } }),
      expect: { action: 'reject', enhanced: '5.7.51' },
    },
    {
      name: 'S9: a look-alike name (seg.example.net.attacker.example) does not match the wildcard',
      snapshot: restrictedCert,
      transaction: tx({ tls: { certificate: { subject: 'CN=mx1.seg.example.net.attacker.example' } } }),
      expect: { action: 'reject', enhanced: '5.7.51' },
    },
    {
      name: 'S7: certificate-wildcard=single-label does not reach two labels down',
      snapshot: restrictedCert,
      transaction: tx({ tls: { certificate: { subject: 'CN=a.b.seg.example.net' } } }),
      options: { assumptions: { 'certificate-wildcard': 'single-label' } },
      expect: { action: 'reject', enhanced: '5.7.51' },
    },
    {
      name: 'S7: certificate-wildcard=subdomains reaches two labels down',
      snapshot: restrictedCert,
      transaction: tx({ tls: { certificate: { subject: 'CN=a.b.seg.example.net' } } }),
      expect: { action: 'accept' },
    },
    {
      name: 'S7: a Partner connector with RequireTls does not match a connection without TLS (require-tls-without-tls default)',
      snapshot: tenant({ connectors: [partnerConnector({ RestrictDomainsToIPAddresses: true, RequireTls: true })] }),
      transaction: tx({ clientIp: SEG }),
      expect: { action: 'reject', enhanced: '5.7.51', assumptions: ['require-tls-without-tls'] },
    },
    {
      name: 'S7: require-tls-without-tls=ignored lets the IP match stand',
      snapshot: tenant({ connectors: [partnerConnector({ RestrictDomainsToIPAddresses: true, RequireTls: true })] }),
      transaction: tx({ clientIp: SEG }),
      options: { assumptions: { 'require-tls-without-tls': 'ignored' } },
      expect: { action: 'accept', connector: 'From SEG' },
    },
    {
      name: 'S7/§11.7: RequireTls is enforced only on Partner connectors — an OnPremises connector still matches without TLS',
      snapshot: tenant({ rejectDirectSend: true, connectors: [onPremisesConnector({ TlsSenderCertificateName: null, SenderIPAddresses: ['192.0.2.80'], RequireTls: true })] }),
      transaction: tx({ clientIp: '192.0.2.80', mailFrom: 'app@contoso.com' }),
      expect: { action: 'accept', connector: 'Inbound from on-premises', matchedBy: 'ip' },
    },
    {
      name: 'S7: a restriction scoped by SenderDomains leaves other sender domains alone',
      snapshot: tenant({ connectors: [partnerConnector({ SenderDomains: ['partner.example'], RestrictDomainsToIPAddresses: true })] }),
      transaction: tx({ mailFrom: 'x@fabrikam.example' }),
      expect: { action: 'accept', connector: null },
    },
    {
      name: 'S7: a restriction scoped by SenderDomains rejects that domain from other IPs',
      snapshot: tenant({ connectors: [partnerConnector({ SenderDomains: ['*.partner.example'], RestrictDomainsToIPAddresses: true })] }),
      transaction: tx({ mailFrom: 'x@mail.partner.example' }),
      expect: { action: 'reject', enhanced: '5.7.51' },
    },
    {
      name: 'S7/S11: AssociatedAcceptedDomains limits the restriction to its recipient domains',
      snapshot: tenant({ connectors: [partnerConnector({ AssociatedAcceptedDomains: ['contoso.co.uk'], RestrictDomainsToIPAddresses: true })] }),
      transaction: tx({ rcptTo: ['user@contoso.com'] }),
      expect: { action: 'accept' },
    },
    {
      name: '§12: with both controls applying, 5.7.68 is sent first (attribution-reject-order default)',
      snapshot: lockedBoth,
      transaction: tx({ mailFrom: 'ceo@contoso.com' }),
      expect: { action: 'reject', enhanced: '5.7.68', assumptions: ['attribution-reject-order'] },
    },
    {
      name: '§12: attribution-reject-order=partner-restriction-first sends 5.7.51',
      snapshot: lockedBoth,
      transaction: tx({ mailFrom: 'ceo@contoso.com' }),
      options: { assumptions: { 'attribution-reject-order': 'partner-restriction-first' } },
      expect: { action: 'reject', enhanced: '5.7.51' },
    },
    {
      name: 'S10/S11: a scanner matched by its own IP connector is not restricted (restriction-satisfied-by default)',
      snapshot: lockedBoth,
      transaction: tx({ clientIp: '192.0.2.25', mailFrom: 'scanner@contoso.com' }),
      expect: { action: 'accept', connector: 'Scanners', assumptions: ['restriction-satisfied-by'] },
    },
    {
      name: 'S11: restriction-satisfied-by=restricting-connector-only rejects the scanner',
      snapshot: lockedBoth,
      transaction: tx({ clientIp: '192.0.2.25', mailFrom: 'scanner@contoso.com' }),
      options: { assumptions: { 'restriction-satisfied-by': 'restricting-connector-only' } },
      expect: { action: 'reject', enhanced: '5.7.51' },
    },
    {
      name: 'S7: a Partner connector does not match a sender outside its SenderDomains',
      snapshot: lockedBoth,
      transaction: tx({ clientIp: '192.0.2.25', mailFrom: 'x@fabrikam.example' }),
      expect: { action: 'reject', enhanced: '5.7.51', connector: null },
    },
    {
      name: 'S10/S35: hybrid mail through the OnPremises connector is Internal and passes the restriction',
      snapshot: lockedBoth,
      transaction: tx({ clientIp: '192.0.2.80', tls: { certificate: { subject: 'CN=mail.contoso.com' } }, mailFrom: 'user@contoso.com' }),
      expect: { action: 'accept', connector: 'Inbound from on-premises', authAs: 'Internal', matchedBy: 'certificate' },
    },
    {
      name: '§3.2: connector-precedence certificate-first picks the certificate match',
      snapshot: tenant({
        connectors: [partnerConnector({ Name: 'By IP' }), partnerConnector({ Name: 'By cert', SenderIPAddresses: [], TlsSenderCertificateName: '*.seg.example.net' })],
      }),
      transaction: tx({ clientIp: SEG, tls: { certificate: SEG_CERT } }),
      expect: { connector: 'By cert', matchedBy: 'certificate', assumptions: ['connector-precedence'] },
    },
    {
      name: '§3.2: connector-precedence ip-first picks the IP match',
      snapshot: tenant({
        connectors: [partnerConnector({ Name: 'By cert', SenderIPAddresses: [], TlsSenderCertificateName: '*.seg.example.net' }), partnerConnector({ Name: 'By IP' })],
      }),
      transaction: tx({ clientIp: SEG, tls: { certificate: SEG_CERT } }),
      options: { assumptions: { 'connector-precedence': 'ip-first' } },
      expect: { connector: 'By IP', matchedBy: 'ip' },
    },
  ];
  for (const row of rows) test(row.name, () => check(row));
});

function SEG_IPSAFE(): string[] {
  return ['203.0.113.10'];
}

describe('connection filter (§6.6, S30)', () => {
  const rows: Row[] = [
    {
      name: 'S30/S49: an address on the IP Block List gets 550 5.7.513 (ip-block-list default)',
      snapshot: tenant({ connectionFilter: { IPBlockList: ['198.51.100.0/24'] } }),
      transaction: tx(),
      expect: { action: 'reject', enhanced: '5.7.513', textIncludes: 'Client host [198.51.100.77] blocked by contoso.com', assumptions: ['ip-block-list'] },
    },
    {
      name: 'S30: the IP Allow List wins over the Block List',
      snapshot: tenant({ connectionFilter: { IPBlockList: ['198.51.100.0/24'], IPAllowList: ['198.51.100.77'] } }),
      transaction: tx(),
      expect: { action: 'accept' },
    },
    {
      name: 'S32: ip-block-list=drop accepts and silently drops',
      snapshot: tenant({ connectionFilter: { IPBlockList: ['198.51.100.1-198.51.100.100'] } }),
      transaction: tx(),
      options: { assumptions: { 'ip-block-list': 'drop' } },
      expect: { action: 'accept', disposition: 'delete' },
    },
  ];
  for (const row of rows) test(row.name, () => check(row));
});

describe('transport rules (§4, S18–S22)', () => {
  const guideRule = rule({
    Name: 'BLOCK - Direct EOP Ingress (Bypass SEG)',
    FromScope: 'NotInOrganization',
    ExceptIfSenderIpRanges: ['203.0.113.10', '203.0.113.11', '198.51.100.0/28'],
    ExceptIfHeaderMatchesMessageHeader: 'X-MS-Exchange-Organization-AuthAs',
    ExceptIfHeaderMatchesPatterns: ['Internal'],
    RejectMessageEnhancedStatusCode: '5.7.1',
    RejectMessageReasonText: 'Mail not delivered via SEG.',
  });
  const microsoftRule = rule({
    Name: 'Quarantine unless from known IPs',
    ExceptIfSenderIpRanges: ['203.0.113.10'],
    ExceptIfHeaderContainsMessageHeader: 'X-MS-Exchange-Organization-AuthAs',
    ExceptIfHeaderContainsWords: ['Internal'],
    Quarantine: true,
    StopRuleProcessing: true,
  });
  const rows: Row[] = [
    {
      name: 'S18/S21/§11.2: the guide\'s FromScope NotInOrganization rule misses an anonymous spoof of an accepted domain',
      snapshot: tenant({ rules: [guideRule] }),
      transaction: tx({ mailFrom: 'bounce@attacker.example', headers: [{ name: 'From', value: 'ceo@contoso.com' }] }),
      expect: { action: 'accept', disposition: 'deliver' },
    },
    {
      name: 'S18: the guide\'s rule rejects foreign senders not from the SEG: 5.7.1 as an NDR after DATA (rule-reject-stage default)',
      snapshot: tenant({ rules: [guideRule] }),
      transaction: tx(),
      expect: { action: 'reject', code: 550, enhanced: '5.7.1', stage: 'data', disposition: 'ndr', textIncludes: 'Mail not delivered via SEG.', assumptions: ['rule-reject-stage'] },
    },
    {
      name: 'S18: rule-reject-stage=end-of-data rejects inside the session',
      snapshot: tenant({ rules: [guideRule] }),
      transaction: tx(),
      options: { assumptions: { 'rule-reject-stage': 'end-of-data' } },
      expect: { action: 'reject', stage: 'data', disposition: 'none' },
    },
    {
      name: 'S18: ExceptIfSenderIpRanges tests the last hop (the SEG)',
      snapshot: tenant({ rules: [guideRule] }),
      transaction: tx({ clientIp: SEG }),
      expect: { action: 'accept' },
    },
    {
      name: 'S33: a forged X-MS-Exchange-Organization-AuthAs header is removed by the header firewall',
      snapshot: tenant({ rules: [guideRule] }),
      transaction: tx({ headers: [{ name: 'From', value: 'x@fabrikam.example' }, { name: 'X-MS-Exchange-Organization-AuthAs', value: 'Internal' }] }),
      expect: { action: 'reject', enhanced: '5.7.1', traceIncludes: /removed 1 X-MS-Exchange-Organization/ },
    },
    {
      name: 'S3/§4.3: Microsoft\'s rule quarantines an anonymous spoof of an accepted domain',
      snapshot: tenant({ rules: [microsoftRule] }),
      transaction: tx({ mailFrom: 'ceo@contoso.com', headers: [{ name: 'From', value: 'ceo@contoso.com' }] }),
      expect: { action: 'accept', disposition: 'quarantine' },
    },
    {
      name: 'S3/§4.3: Microsoft\'s rule lets hybrid mail (AuthAs Internal) through',
      snapshot: tenant({ rules: [microsoftRule], connectors: [onPremisesConnector()] }),
      transaction: tx({ clientIp: '192.0.2.80', tls: { certificate: { subject: 'CN=mail.contoso.com' } }, mailFrom: 'user@contoso.com' }),
      expect: { action: 'accept', disposition: 'deliver', authAs: 'Internal' },
    },
    {
      name: 'S18: Audit mode logs the match and takes no action',
      snapshot: tenant({ rules: [{ ...guideRule, Mode: 'Audit' }] }),
      transaction: tx(),
      expect: { action: 'accept', disposition: 'deliver', traceIncludes: /Audit mode: logged only/ },
    },
    {
      name: 'S18: AuditAndNotify mode takes no action either',
      snapshot: tenant({ rules: [{ ...guideRule, Mode: 'AuditAndNotify' }] }),
      transaction: tx(),
      expect: { action: 'accept', disposition: 'deliver' },
    },
    {
      name: 'S19/S20: a rule whose State is Disabled is skipped',
      snapshot: tenant({ rules: [{ ...guideRule, State: 'Disabled' }] }),
      transaction: tx(),
      expect: { action: 'accept', traceIncludes: /disabled rule/ },
    },
    {
      name: 'S18: rules run in Priority order and StopRuleProcessing ends evaluation',
      snapshot: tenant({
        rules: [
          rule({ Name: 'later reject', Priority: 3, RejectMessageReasonText: 'no' }),
          rule({ Name: 'allow SEG', Priority: 1, SenderIpRanges: ['203.0.113.0/24'], SetSCL: -1, StopRuleProcessing: true }),
        ],
      }),
      transaction: tx({ clientIp: SEG }),
      expect: { action: 'accept', scl: -1 },
    },
    {
      name: 'S18: without StopRuleProcessing the next rule runs',
      snapshot: tenant({
        rules: [
          rule({ Name: 'later reject', Priority: 3, RejectMessageReasonText: 'no' }),
          rule({ Name: 'allow SEG', Priority: 1, SenderIpRanges: ['203.0.113.0/24'], SetSCL: -1 }),
        ],
      }),
      transaction: tx({ clientIp: SEG }),
      expect: { action: 'reject', enhanced: '5.7.1', scl: -1 },
    },
    {
      name: 'S18: RejectMessageEnhancedStatusCode alone uses its code and the text "Delivery not authorized, message refused"',
      snapshot: tenant({ rules: [rule({ RejectMessageEnhancedStatusCode: '5.7.950' })] }),
      transaction: tx(),
      expect: { action: 'reject', enhanced: '5.7.950', textIncludes: 'Delivery not authorized, message refused' },
    },
    {
      name: 'S18: with RejectMessageReasonText as well, the code becomes 5.7.1',
      snapshot: tenant({ rules: [rule({ RejectMessageEnhancedStatusCode: '5.7.950', RejectMessageReasonText: 'Go away' })] }),
      transaction: tx(),
      expect: { action: 'reject', enhanced: '5.7.1', textIncludes: 'Go away' },
    },
    {
      name: 'S18: DeleteMessage drops silently (accepted, no NDR)',
      snapshot: tenant({ rules: [rule({ DeleteMessage: true })] }),
      transaction: tx(),
      expect: { action: 'accept', disposition: 'delete' },
    },
    {
      name: 'S18: SenderIpRanges accepts a range a-b',
      snapshot: tenant({ rules: [rule({ SenderIpRanges: ['198.51.100.70-198.51.100.80'], DeleteMessage: true })] }),
      transaction: tx(),
      expect: { disposition: 'delete' },
    },
    {
      name: 'S18: SenderIpRanges accepts IPv6 CIDR',
      snapshot: tenant({ rules: [rule({ SenderIpRanges: ['2001:db8::/32'], DeleteMessage: true })] }),
      transaction: tx({ clientIp: '2001:db8:1::5' }),
      expect: { disposition: 'delete' },
    },
    {
      name: 'S18: SenderDomainIs matches the header From domain and its subdomains',
      snapshot: tenant({ rules: [rule({ SenderDomainIs: ['fabrikam.example'], Quarantine: true })] }),
      transaction: tx({ headers: [{ name: 'From', value: 'a@mail.fabrikam.example' }] }),
      expect: { disposition: 'quarantine' },
    },
    {
      name: 'S18: SenderAddressLocation Envelope makes sender conditions read MAIL FROM',
      snapshot: tenant({ rules: [rule({ SenderDomainIs: ['contoso.com'], SenderAddressLocation: 'Envelope', Quarantine: true })] }),
      transaction: tx({ mailFrom: 'a@fabrikam.example', headers: [{ name: 'From', value: 'ceo@contoso.com' }] }),
      expect: { disposition: 'deliver' },
    },
    {
      name: 'S18: From matches the sender address',
      snapshot: tenant({ rules: [rule({ From: ['ceo@contoso.com'], Quarantine: true })] }),
      transaction: tx({ headers: [{ name: 'From', value: 'The CEO <CEO@Contoso.com>' }] }),
      expect: { disposition: 'quarantine' },
    },
    {
      name: 'S18: RecipientDomainIs matches a recipient\'s domain',
      snapshot: tenant({ rules: [rule({ RecipientDomainIs: ['contoso.co.uk'], Quarantine: true })] }),
      transaction: tx({ rcptTo: ['a@contoso.com', 'b@contoso.co.uk'] }),
      expect: { disposition: 'quarantine' },
    },
    {
      name: 'S18: SentToScope InOrganization matches recipients in accepted domains',
      snapshot: tenant({ rules: [rule({ SentToScope: 'InOrganization', Quarantine: true })] }),
      transaction: tx(),
      expect: { disposition: 'quarantine' },
    },
    {
      name: 'S18: FromScope InOrganization needs an authenticated (Internal) connection',
      snapshot: tenant({ rules: [rule({ FromScope: 'InOrganization', Quarantine: true })] }),
      transaction: tx({ mailFrom: 'ceo@contoso.com', headers: [{ name: 'From', value: 'ceo@contoso.com' }] }),
      expect: { disposition: 'deliver' },
    },
    {
      name: 'S18: FromScope InOrganization matches hybrid mail from an accepted domain',
      snapshot: tenant({ rules: [rule({ FromScope: 'InOrganization', Quarantine: true })], connectors: [onPremisesConnector()] }),
      transaction: tx({
        clientIp: '192.0.2.80',
        tls: { certificate: { subject: 'CN=mail.contoso.com' } },
        mailFrom: 'user@contoso.com',
        headers: [{ name: 'From', value: 'user@contoso.com' }],
      }),
      expect: { disposition: 'quarantine' },
    },
    {
      name: 'S18: FromScope NotInOrganization matches a sender in an ExternalRelay domain',
      snapshot: tenant({ rules: [rule({ FromScope: 'NotInOrganization', Quarantine: true })] }),
      transaction: tx({ headers: [{ name: 'From', value: 'x@partner-relay.example' }] }),
      expect: { disposition: 'quarantine' },
    },
    {
      name: 'S21: HeaderContainsWords matches whole words, case-insensitively',
      snapshot: tenant({ rules: [rule({ HeaderContainsMessageHeader: 'X-Scanner', HeaderContainsWords: ['scan job'], Quarantine: true })] }),
      transaction: tx({ headers: [{ name: 'From', value: 'a@fabrikam.example' }, { name: 'x-scanner', value: 'Daily SCAN  JOB 4' }] }),
      expect: { disposition: 'quarantine' },
    },
    {
      name: 'S21: HeaderContainsWords does not match inside a longer word',
      snapshot: tenant({ rules: [rule({ HeaderContainsMessageHeader: 'X-Tag', HeaderContainsWords: ['Internal'], Quarantine: true })] }),
      transaction: tx({ headers: [{ name: 'From', value: 'a@fabrikam.example' }, { name: 'X-Tag', value: 'NonInternalish' }] }),
      expect: { disposition: 'deliver' },
    },
    {
      name: 'S21: HeaderMatchesPatterns is a case-insensitive regular expression',
      snapshot: tenant({ rules: [rule({ HeaderMatchesMessageHeader: 'Subject', HeaderMatchesPatterns: ['^invoice \\d+$'], Quarantine: true })] }),
      transaction: tx({ headers: [{ name: 'From', value: 'a@fabrikam.example' }, { name: 'Subject', value: 'INVOICE 42' }] }),
      expect: { disposition: 'quarantine' },
    },
    {
      name: 'S21: a predicate eoplock does not evaluate makes the rule "not evaluated", never true or false',
      snapshot: tenant({ rules: [rule({ Name: 'Invoices', SubjectContainsWords: ['invoice'], RejectMessageReasonText: 'no invoices' })] }),
      transaction: tx(),
      expect: { action: 'accept', incomplete: true, traceIncludes: /could not be evaluated: SubjectContainsWords/ },
    },
    {
      name: 'S49: a message without a From header gets 550 5.7.512',
      snapshot: open,
      transaction: tx({ headers: [{ name: 'Subject', value: 'no from' }] }),
      expect: { action: 'reject', enhanced: '5.7.512', stage: 'data' },
    },
  ];
  for (const row of rows) test(row.name, () => check(row));

  test('S18: each evaluated rule is reported with name, priority, mode, match and action', () => {
    const verdict = decide(tenant({ rules: [guideRule, rule({ Name: 'second', Priority: 5, SetSCL: 5 })] }), tx());
    assert.deepEqual(
      verdict.rules.map((r) => [r.name, r.priority, r.mode, r.matched]),
      [['BLOCK - Direct EOP Ingress (Bypass SEG)', 0, 'Enforce', true]],
    );
    assert.match(verdict.rules[0]?.actionTaken ?? '', /reject 5\.7\.1/);
  });
});

describe('bad transactions', () => {
  for (const [name, transaction, where] of [
    ['an invalid client IP', tx({ clientIp: '300.1.1.1' }), 'clientIp'],
    ['a short IPv4 form', tx({ clientIp: '127.1' }), 'clientIp'],
    ['no recipients', tx({ rcptTo: [] }), 'rcptTo'],
    ['a recipient without a domain', tx({ rcptTo: ['user@contoso.com', 'nobody'] }), 'rcptTo[1]'],
  ] as const) {
    test(`${name} is an InputError naming ${where}`, () => {
      assert.throws(() => decide(open, transaction), (error: Error & { where?: string }) => error.name === 'InputError' && error.where === where);
    });
  }
  test('an unknown assumption is refused', () => {
    assert.throws(() => decide(open, tx(), { assumptions: { 'no-such-thing': 'x' } }), /unknown assumption/);
  });
});

test('a raw header block given to decide() directly is an InputError pointing to parseHeaderBlock', () => {
  assert.throws(
    () => decide(open, { ...tx(), headers: 'From: a@b.example\n' as unknown as Transaction['headers'] }),
    (error: Error & { where?: string }) => error.name === 'InputError' && error.where === 'headers' && /parseHeaderBlock/.test(error.message),
  );
});
