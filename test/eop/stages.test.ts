/**
 * Each stage of the decision (src/eop/stages.ts) on its own, as tables: the stage's input (a snapshot and a
 * transaction, run through the stages before it) and what it decides. Sources are the fact base's ids
 * (docs/sources.md); the full verdicts are pinned in decide.test.ts and honor-dmarc.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveAssumptions } from '../../src/eop/assumptions.js';
import { compileTables } from '../../src/eop/compile.js';
import { InputError } from '../../src/errors.js';
import {
  attribution,
  connection,
  connectionFilter,
  connectorMatch,
  data,
  Decision,
  disposition,
  partnerRestriction,
  recipientReplies,
  rejectDirectSend,
  transportRules,
} from '../../src/eop/stages.js';
import type { Transaction } from '../../src/eop/types.js';
import { parseSnapshot } from '../../src/snapshot/parse.js';

const GATEWAY = { Name: 'Gateway', ConnectorType: 'Partner', SenderDomains: ['*'], TlsSenderCertificateName: '*.seg.example.net', RestrictDomainsToCertificate: true, RequireTls: true };
const SCANNER = { Name: 'Scanner', ConnectorType: 'Partner', SenderDomains: ['contoso.com'], SenderIPAddresses: ['192.0.2.25'] };
const HYBRID = { Name: 'Hybrid', ConnectorType: 'OnPremises', SenderDomains: ['*'], SenderIPAddresses: ['198.51.100.0/28'] };

function tenant(changes: Record<string, unknown> = {}) {
  return parseSnapshot({
    Meta: { eoplockSnapshot: 1, tenant: 'Contoso' },
    OrganizationConfig: { RejectDirectSend: true },
    AcceptedDomain: [
      { DomainName: 'contoso.com', DomainType: 'Authoritative' },
      { DomainName: 'fabrikam.com', DomainType: 'Authoritative', MatchSubDomains: true },
    ],
    InboundConnector: [GATEWAY, SCANNER, HYBRID],
    TransportRule: [],
    HostedConnectionFilterPolicy: [{ Name: 'Default', IPBlockList: ['203.0.113.66', '203.0.113.64/27'], IPAllowList: ['203.0.113.70'] }],
    ...changes,
  }).snapshot;
}

const tx = (changes: Partial<Transaction> = {}): Transaction => ({ clientIp: '198.51.100.77', mailFrom: 'attacker@fabrikam.example', rcptTo: ['alice@contoso.com'], ...changes });
const fromGateway = { clientIp: '203.0.113.10', tls: { certificate: { subject: 'CN=mx1.seg.example.net' } } };

/** A decision run through the stages before the one under test. */
function decision(transaction: Transaction, options: { snapshot?: ReturnType<typeof tenant>; assume?: Record<string, string>; until: 'connection' | 'connector' | 'filter' | 'recipients' | 'data' }): Decision {
  const d = new Decision(compileTables(options.snapshot ?? tenant(), resolveAssumptions(options.assume)), transaction, true);
  connection(d);
  if (options.until === 'connection') return d;
  connectorMatch(d);
  if (options.until === 'connector') return d;
  connectionFilter(d);
  if (options.until === 'filter') return d;
  recipientReplies(d);
  if (options.until === 'recipients') return d;
  data(d);
  return d;
}

describe('connection', () => {
  const rows: [string, Partial<Transaction>, { family: string; mailFrom: string; senderDomain: string | null; tls: boolean; names: string[] }][] = [
    ['IPv4, plain sender', {}, { family: 'ipv4', mailFrom: 'attacker@fabrikam.example', senderDomain: 'fabrikam.example', tls: false, names: [] }],
    ['IPv4-mapped IPv6 is IPv4', { clientIp: '::ffff:198.51.100.77' }, { family: 'ipv4', mailFrom: 'attacker@fabrikam.example', senderDomain: 'fabrikam.example', tls: false, names: [] }],
    ['IPv6, bracketed sender, domain case', { clientIp: '2001:db8::25', mailFrom: ' <CEO@Contoso.COM> ' }, { family: 'ipv6', mailFrom: 'CEO@Contoso.COM', senderDomain: 'contoso.com', tls: false, names: [] }],
    ['the null sender has no domain', { mailFrom: '' }, { family: 'ipv4', mailFrom: '', senderDomain: null, tls: false, names: [] }],
    ['TLS with a certificate: CN and SANs', { tls: { certificate: { subject: 'CN=MX1.seg.example.net, O=SEG', san: ['DNS:mx2.seg.example.net'] } } }, { family: 'ipv4', mailFrom: 'attacker@fabrikam.example', senderDomain: 'fabrikam.example', tls: true, names: ['mx1.seg.example.net', 'mx2.seg.example.net'] }],
  ];
  for (const [name, changes, expected] of rows) {
    test(name, () => {
      const d = decision(tx(changes), { until: 'connection' });
      assert.deepEqual({ family: d.address.family, mailFrom: d.mailFrom, senderDomain: d.senderDomain, tls: d.tls, names: d.certificateNames }, expected);
    });
  }
  const refused: [string, Partial<Transaction>, string][] = [
    ['a client address that is not one', { clientIp: '203.0.113.300' }, 'clientIp'],
    ['no MAIL FROM', { mailFrom: undefined as unknown as string }, 'mailFrom'],
    ['no recipient', { rcptTo: [] }, 'rcptTo'],
    ['a recipient that is not an address', { rcptTo: ['alice@contoso.com', 'bob'] }, 'rcptTo[1]'],
  ];
  for (const [name, changes, where] of refused) {
    test(`refuses ${name}, naming the field`, () => {
      assert.throws(() => decision(tx(changes), { until: 'connection' }), (error: unknown) => error instanceof InputError && error.where === where);
    });
  }
});

describe('connector match (S7, S9, S11) and AuthAs (S33)', () => {
  const rows: [string, Partial<Transaction>, Record<string, string>, { connector: string | null; by?: string; authAs: string }][] = [
    ['no connector: anonymous', {}, {}, { connector: null, authAs: 'Anonymous' }],
    ['the gateway by a certificate under its wildcard', fromGateway, {}, { connector: 'Gateway', by: 'certificate', authAs: 'Partner' }],
    ['the wildcard apex, under the default reading ("a domain and all subdomains")', { tls: { certificate: { subject: 'CN=seg.example.net' } } }, {}, { connector: 'Gateway', by: 'certificate', authAs: 'Partner' }],
    ['the apex is not matched under certificate-wildcard=subdomains', { tls: { certificate: { subject: 'CN=seg.example.net' } } }, { 'certificate-wildcard': 'subdomains' }, { connector: null, authAs: 'Anonymous' }],
    ['RequireTls without TLS: not matched', { clientIp: '203.0.113.10' }, {}, { connector: null, authAs: 'Anonymous' }],
    ['the scanner by IP, for its SenderDomains', { clientIp: '192.0.2.25', mailFrom: 'scanner@contoso.com' }, {}, { connector: 'Scanner', by: 'ip', authAs: 'Partner' }],
    ['the scanner\'s IP with a sender its SenderDomains do not cover', { clientIp: '192.0.2.25', mailFrom: 'x@fabrikam.com' }, {}, { connector: null, authAs: 'Anonymous' }],
    ['OnPremises: Internal', { clientIp: '198.51.100.5', mailFrom: 'x@fabrikam.com' }, {}, { connector: 'Hybrid', by: 'ip', authAs: 'Internal' }],
    ['Partner AuthAs under partner-authas=Anonymous', { clientIp: '192.0.2.25', mailFrom: 'scanner@contoso.com' }, { 'partner-authas': 'Anonymous' }, { connector: 'Scanner', by: 'ip', authAs: 'Anonymous' }],
  ];
  for (const [name, changes, assume, expected] of rows) {
    test(name, () => {
      const d = decision(tx(changes), { until: 'connector', assume });
      assert.deepEqual({ connector: d.connector?.name ?? null, ...(d.connector ? { by: d.connector.matchedBy } : {}), authAs: d.authAs }, expected);
    });
  }

  test('two connectors match: connector-precedence picks one', () => {
    const both = tenant({ InboundConnector: [{ ...SCANNER, SenderIPAddresses: ['203.0.113.10'], SenderDomains: ['*'] }, GATEWAY] });
    for (const [mode, expected] of [['certificate-first', 'Gateway'], ['ip-first', 'Scanner'], ['config-order', 'Scanner']] as const) {
      const d = decision(tx(fromGateway), { snapshot: both, until: 'connector', assume: { 'connector-precedence': mode } });
      assert.equal(d.connector?.name, expected, mode);
      assert.equal(d.candidates.length, 2);
    }
  });
});

describe('connection filter (S30, S32)', () => {
  const rows: [string, string, Record<string, string>, { reject: string | null; drop: boolean }][] = [
    ['an address on the IP Block List is refused with 5.7.513', '203.0.113.66', {}, { reject: '5.7.513', drop: false }],
    ['on both lists: allow wins', '203.0.113.70', {}, { reject: null, drop: false }],
    ['not listed', '198.51.100.77', {}, { reject: null, drop: false }],
    ['ip-block-list=drop: accepted, then dropped', '203.0.113.66', { 'ip-block-list': 'drop' }, { reject: null, drop: true }],
  ];
  for (const [name, clientIp, assume, expected] of rows) {
    test(name, () => {
      const d = decision(tx({ clientIp }), { until: 'filter', assume });
      assert.deepEqual({ reject: d.blockListReject?.enhanced ?? null, drop: d.blockListDrop }, expected);
      if (d.blockListReject) assert.match(d.blockListReject.text, /Client host \[203\.0\.113\.66\] blocked by contoso\.com using Customer Block list/);
    });
  }
});

describe('attribution (S3, S13, S16, S50)', () => {
  const rows: [string, Partial<Transaction>, string, Record<string, string>, string | null][] = [
    ['an accepted domain: attributed', {}, 'alice@contoso.com', {}, null],
    ['a domain that is not accepted: 5.7.64', {}, 'bob@elsewhere.example', {}, '5.7.64'],
    ['a subdomain without MatchSubDomains: 5.7.64', {}, 'x@sales.contoso.com', {}, '5.7.64'],
    ['a subdomain with MatchSubDomains: attributed', {}, 'x@sales.fabrikam.com', {}, null],
    ['a subdomain under accepted-subdomains=always: attributed', {}, 'x@sales.contoso.com', { 'accepted-subdomains': 'always' }, null],
    ['OnPremises with an accepted MAIL FROM domain: relayed (250)', { clientIp: '198.51.100.5', mailFrom: 'x@contoso.com' }, 'bob@elsewhere.example', {}, '2.1.5'],
    ['OnPremises, neither certificate nor MAIL FROM accepted: 5.7.64', { clientIp: '198.51.100.5', mailFrom: 'x@other.example' }, 'bob@elsewhere.example', {}, '5.7.64'],
  ];
  for (const [name, changes, recipient, assume, expected] of rows) {
    test(name, () => {
      const d = decision(tx({ ...changes, rcptTo: [recipient] }), { until: 'filter', assume });
      d.senderAccepted = d.tables.accepted.find(d.senderDomain);
      const reply = attribution(d, recipient, d.recipientDomains[0] as string);
      assert.equal(reply?.enhanced ?? null, expected);
      if (expected === '2.1.5') assert.deepEqual(d.relayed, [recipient]);
    });
  }
});

describe('RejectDirectSend (S1, S2)', () => {
  const rows: [string, Partial<Transaction>, boolean, string | null][] = [
    ['on, no connector, accepted MAIL FROM domain: 5.7.68', { mailFrom: 'ceo@contoso.com' }, true, '5.7.68'],
    ['on, but a connector matched', { ...fromGateway, mailFrom: 'ceo@contoso.com' }, true, null],
    ['on, MAIL FROM domain not accepted (the From header is not checked)', { headers: [{ name: 'From', value: 'ceo@contoso.com' }] }, true, null],
    ['on, the null sender', { mailFrom: '' }, true, null],
    ['off', { mailFrom: 'ceo@contoso.com' }, false, null],
  ];
  for (const [name, changes, on, expected] of rows) {
    test(name, () => {
      const d = decision(tx(changes), { snapshot: tenant({ OrganizationConfig: { RejectDirectSend: on } }), until: 'filter' });
      d.senderAccepted = d.tables.accepted.find(d.senderDomain);
      assert.equal(rejectDirectSend(d)?.enhanced ?? null, expected);
    });
  }
});

describe('Partner-connector restriction (S3, S9, S10)', () => {
  const rows: [string, Partial<Transaction>, Record<string, unknown>, Record<string, string>, string | null][] = [
    ['not from the restricting connector: 5.7.51', {}, {}, {}, '5.7.51'],
    ['from it, by the certificate it restricts to', fromGateway, {}, {}, null],
    ['another connector matched (any-connector, the default)', { clientIp: '198.51.100.5' }, {}, {}, null],
    ['another connector matched, restricting-connector-only', { clientIp: '198.51.100.5' }, {}, { 'restriction-satisfied-by': 'restricting-connector-only' }, '5.7.51'],
    ['AssociatedAcceptedDomains that do not cover the recipient', {}, { AssociatedAcceptedDomains: ['fabrikam.com'] }, {}, null],
    ['AssociatedAcceptedDomains that cover it', {}, { AssociatedAcceptedDomains: ['Contoso.com'] }, {}, '5.7.51'],
  ];
  for (const [name, changes, gateway, assume, expected] of rows) {
    test(name, () => {
      const d = decision(tx(changes), { snapshot: tenant({ InboundConnector: [{ ...GATEWAY, ...gateway }, SCANNER, HYBRID] }), until: 'filter', assume });
      assert.equal(partnerRestriction(d, 'contoso.com')?.enhanced ?? null, expected);
    });
  }

  test('both 5.7.68 and 5.7.51: attribution-reject-order picks the reply', () => {
    for (const [order, expected] of [['direct-send-first', '5.7.68'], ['partner-restriction-first', '5.7.51']] as const) {
      const d = decision(tx({ mailFrom: 'ceo@contoso.com' }), { until: 'recipients', assume: { 'attribution-reject-order': order } });
      assert.equal(d.replies[0]?.enhanced, expected, order);
    }
  });
});

describe('DATA: the From header (S49) and the header firewall (S33)', () => {
  const rows: [string, Transaction['headers'], string | null, string | null][] = [
    ['no headers given: not judged', undefined, null, null],
    ['headers without From: 5.7.512', [{ name: 'Subject', value: 'hi' }], '5.7.512', null],
    ['a From without an address: 5.7.512', [{ name: 'From', value: 'undisclosed' }], '5.7.512', null],
    ['a From with an address', { From: 'Alice <Alice@Contoso.com>' }, null, 'alice@contoso.com'],
  ];
  for (const [name, headers, expected, headerFrom] of rows) {
    test(name, () => {
      const d = decision(tx({ ...fromGateway, headers }), { until: 'recipients' });
      assert.equal(data(d)?.enhanced ?? null, expected);
      if (!expected) assert.equal(d.headerFrom, headerFrom);
    });
  }
});

describe('transport rules (S18, S20, S21)', () => {
  const rule = (fields: Record<string, unknown>) => tenant({ TransportRule: [{ Name: 'R', Priority: 0, ...fields }] });
  const headers = [{ name: 'From', value: 'x@fabrikam.example' }, { name: 'X-MS-Exchange-Organization-AuthAs', value: 'Internal' }];
  const rows: [string, Record<string, unknown>, { reply: string | null; disposition: string | null; matched: boolean | null }][] = [
    ['a reject reason: 5.7.1 by NDR (rule-reject-stage)', { RejectMessageReasonText: 'No' }, { reply: '5.7.1', disposition: 'ndr', matched: true }],
    ['only a code: that code', { RejectMessageEnhancedStatusCode: '5.7.99' }, { reply: '5.7.99', disposition: 'ndr', matched: true }],
    ['quarantine', { Quarantine: true }, { reply: '2.6.0', disposition: 'quarantine', matched: true }],
    ['delete', { DeleteMessage: true }, { reply: '2.6.0', disposition: 'delete', matched: true }],
    ['Audit mode: logged only', { Mode: 'Audit', Quarantine: true }, { reply: null, disposition: null, matched: true }],
    ['a forged AuthAs Internal does not satisfy the exception (header firewall)', { Quarantine: true, ExceptIfHeaderContainsMessageHeader: 'X-MS-Exchange-Organization-AuthAs', ExceptIfHeaderContainsWords: ['Internal'] }, { reply: '2.6.0', disposition: 'quarantine', matched: true }],
    ['a predicate eoplock does not evaluate: not applied', { Quarantine: true, SubjectContainsWords: ['x'] }, { reply: null, disposition: null, matched: null }],
  ];
  for (const [name, fields, expected] of rows) {
    for (const traced of [true, false]) {
      test(`${name}${traced ? '' : ' (fast path)'}`, () => {
        const d = new Decision(compileTables(rule(fields), resolveAssumptions()), tx({ ...fromGateway, headers }), traced);
        connection(d);
        connectorMatch(d);
        connectionFilter(d);
        recipientReplies(d);
        assert.deepEqual(d.acceptedRecipients, ['alice@contoso.com']);
        assert.equal(data(d), null);
        const ending = transportRules(d);
        assert.deepEqual({ reply: ending?.reply.enhanced ?? null, disposition: ending?.disposition ?? null, matched: d.rules[0]?.matched ?? null }, expected);
        if (expected.matched === null) assert.equal(d.incompleteReasons?.length, 1);
      });
    }
  }
});

describe('disposition (S18, S32)', () => {
  const rows: [string, Record<string, unknown>, Partial<Transaction>, string, boolean][] = [
    ['delivered', {}, {}, 'deliver', false],
    ['a rule set SCL 6: delivered, not final (content filtering is not emulated)', { SetSCL: 6 }, {}, 'deliver', true],
    ['relayed through OnPremises', {}, { clientIp: '198.51.100.5', mailFrom: 'x@contoso.com', rcptTo: ['bob@elsewhere.example'] }, 'relay', false],
  ];
  for (const [name, fields, changes, expected, incomplete] of rows) {
    test(name, () => {
      const snapshot = tenant({ TransportRule: Object.keys(fields).length ? [{ Name: 'R', Priority: 0, ...fields }] : [] });
      const d = new Decision(compileTables(snapshot, resolveAssumptions()), tx({ ...fromGateway, ...changes }), false);
      connection(d);
      connectorMatch(d);
      connectionFilter(d);
      recipientReplies(d);
      data(d);
      assert.equal(transportRules(d), null);
      assert.equal(disposition(d).disposition, expected);
      assert.equal(d.incompleteReasons !== null, incomplete);
    });
  }
});
