/**
 * What an authentication failure does, from Microsoft's documentation:
 * - "Spoof protection and sender DMARC policies" in "Anti-phishing policies" (S26, fact base §6.4): the table of Honor
 *   DMARC policy × spoof intelligence, followed cell by cell; defaults from the recommended settings (S29:
 *   DmarcRejectAction Reject, DmarcQuarantineAction Quarantine, AuthenticationFailAction MoveToJmf).
 * - "Order and precedence of email protection" (S32, §6.3, §4.2): a mail flow rule allow wins ("Tenant wins: Email
 *   delivered to mailbox"), except over malware and high-confidence phishing; S26 lists "an Exchange mail flow rule …
 *   that allows messages for those particular senders" among the Honor DMARC overrides.
 * - Which anti-phishing policy applies to a recipient (S32: only the first policy that includes the recipient).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decide, type DecideOptions } from '../../src/eop/decide.js';
import type { Transaction, Verdict } from '../../src/eop/types.js';
import { parseSnapshot, type Snapshot } from '../../src/snapshot/parse.js';
import { acceptedDomains, rule } from '../helpers/tenant.js';

const MX_AT_EXCHANGE = { MX: ['0 contoso-com.mail.protection.outlook.com'], TXT: [], DMARC: [] };

interface TenantParts {
  antiPhish?: Record<string, unknown>[];
  antiPhishRules?: Record<string, unknown>[];
  rules?: Record<string, unknown>[];
  connectionFilter?: Record<string, unknown>;
}

function tenant(parts: TenantParts = {}): Snapshot {
  return parseSnapshot({
    Meta: { eoplockSnapshot: 1, tenant: 'Contoso', initialDomain: 'contoso.onmicrosoft.com', capturedAt: '2026-11-20T09:00:00Z' },
    OrganizationConfig: { Name: 'contoso.onmicrosoft.com', RejectDirectSend: false },
    AcceptedDomain: acceptedDomains(),
    InboundConnector: [],
    TransportRule: parts.rules ?? [],
    AntiPhishPolicy: parts.antiPhish ?? [{ Name: 'Office365 AntiPhish Default', IsDefault: true }],
    AntiPhishRule: parts.antiPhishRules ?? [],
    HostedConnectionFilterPolicy: parts.connectionFilter ? [{ Name: 'Default', ...parts.connectionFilter }] : [],
    Dns: { 'contoso.com': MX_AT_EXCHANGE, 'contoso.co.uk': { ...MX_AT_EXCHANGE, MX: ['0 contoso-co-uk.mail.protection.outlook.com'] } },
  }).snapshot;
}

const defaultPolicy = (settings: Record<string, unknown>) => tenant({ antiPhish: [{ Name: 'Office365 AntiPhish Default', IsDefault: true, ...settings }] });

/** Mail from an outside domain straight to EOP (the MX points to Exchange Online), failing SPF, unsigned. */
function spoof(dmarcRecord: string | null, overrides: Partial<Transaction> = {}): Transaction {
  return {
    clientIp: '198.51.100.77',
    helo: 'mail.attacker.example',
    mailFrom: 'payments@bank.example',
    rcptTo: ['alice@contoso.com'],
    headers: [{ name: 'From', value: 'Bank <payments@bank.example>' }],
    authentication: { spf: 'fail', dmarcRecord },
    ...overrides,
  };
}

const traceText = (verdict: Verdict) => verdict.trace.map((step) => step.detail).join('\n');
const reasons = (verdict: Verdict) => (verdict.incompleteReasons ?? []).join('\n');

describe('S26 "Spoof protection and sender DMARC policies": every cell of the table', () => {
  const p = (policy: 'reject' | 'quarantine' | 'none') => `v=DMARC1; p=${policy}`;
  const rows: { name: string; settings: Record<string, unknown>; record: string; expect: { enhanced?: string; disposition: Verdict['disposition'] } }[] = [
    // Honor DMARC On, spoof intelligence On: explicit failures use the DMARC actions; p=none: no action.
    { name: 'Honor on, spoof on, p=reject: DmarcRejectAction Reject → 5.7.509', settings: {}, record: p('reject'), expect: { enhanced: '5.7.509', disposition: 'none' } },
    { name: 'Honor on, spoof on, p=reject with DmarcRejectAction Quarantine', settings: { DmarcRejectAction: 'Quarantine' }, record: p('reject'), expect: { disposition: 'quarantine' } },
    { name: 'Honor on, spoof on, p=quarantine: DmarcQuarantineAction Quarantine', settings: {}, record: p('quarantine'), expect: { disposition: 'quarantine' } },
    { name: 'Honor on, spoof on, p=quarantine with DmarcQuarantineAction MoveToJmf', settings: { DmarcQuarantineAction: 'MoveToJmf' }, record: p('quarantine'), expect: { disposition: 'junk' } },
    { name: 'Honor on, spoof on, p=none: "No action is applied by Microsoft 365"', settings: {}, record: p('none'), expect: { disposition: 'deliver' } },
    // Honor DMARC Off, spoof intelligence On: the spoof action for explicit failures, which ignore every p= value.
    { name: 'Honor off, spoof on, p=reject: AuthenticationFailAction (default MoveToJmf)', settings: { HonorDmarcPolicy: false }, record: p('reject'), expect: { disposition: 'junk' } },
    { name: 'Honor off, spoof on, p=quarantine: AuthenticationFailAction MoveToJmf', settings: { HonorDmarcPolicy: false }, record: p('quarantine'), expect: { disposition: 'junk' } },
    { name: 'Honor off, spoof on, p=reject with AuthenticationFailAction Quarantine', settings: { HonorDmarcPolicy: false, AuthenticationFailAction: 'Quarantine' }, record: p('reject'), expect: { disposition: 'quarantine' } },
    { name: 'Honor off, spoof on, p=none: explicit failures "ignore … p=none", so the spoof action', settings: { HonorDmarcPolicy: false }, record: p('none'), expect: { disposition: 'junk' } },
    // Honor DMARC On, spoof intelligence Off: the DMARC actions for explicit failures, no implicit checks.
    { name: 'Honor on, spoof off, p=reject: 5.7.509', settings: { EnableSpoofIntelligence: false }, record: p('reject'), expect: { enhanced: '5.7.509', disposition: 'none' } },
    { name: 'Honor on, spoof off, p=quarantine: quarantined', settings: { EnableSpoofIntelligence: false }, record: p('quarantine'), expect: { disposition: 'quarantine' } },
    { name: 'Honor on, spoof off, p=none: not identified as spoofing', settings: { EnableSpoofIntelligence: false }, record: p('none'), expect: { disposition: 'deliver' } },
    // Both Off: "p=quarantine: Messages are quarantined. p=reject: Messages are quarantined."
    { name: 'both off, p=reject: quarantined', settings: { HonorDmarcPolicy: false, EnableSpoofIntelligence: false }, record: p('reject'), expect: { disposition: 'quarantine' } },
    { name: 'both off, p=quarantine: quarantined', settings: { HonorDmarcPolicy: false, EnableSpoofIntelligence: false }, record: p('quarantine'), expect: { disposition: 'quarantine' } },
    { name: 'both off, p=none: no action', settings: { HonorDmarcPolicy: false, EnableSpoofIntelligence: false }, record: p('none'), expect: { disposition: 'deliver' } },
  ];
  for (const row of rows) {
    test(row.name, () => {
      const verdict = decide(defaultPolicy(row.settings), spoof(row.record));
      assert.equal(verdict.disposition, row.expect.disposition, traceText(verdict));
      if (row.expect.enhanced) assert.equal(verdict.enhanced, row.expect.enhanced);
      else assert.equal(verdict.action, 'accept');
      // Each cell is documented: none of them rests on spoof intelligence's implicit verdict.
      assert.equal(verdict.incomplete, false, reasons(verdict));
      assert.ok(verdict.trace.some((step) => step.step === 'honor-dmarc' && step.sources.includes('S26')));
    });
  }

  test('an implicit failure (no DMARC record) with spoof intelligence on: delivered, but not final (spoof intelligence is not emulated)', () => {
    const verdict = decide(defaultPolicy({}), spoof(null));
    assert.equal(verdict.authentication?.compauth.reason, '001');
    assert.equal(verdict.disposition, 'deliver');
    assert.equal(verdict.incomplete, true);
    assert.match(reasons(verdict), /spoof intelligence's implicit \(compauth\) verdict is not emulated: it may apply AuthenticationFailAction \(MoveToJmf\)/);
  });

  test('an implicit failure with spoof intelligence off: "Implicit email authentication checks aren\'t used", so the delivery is final', () => {
    const verdict = decide(defaultPolicy({ EnableSpoofIntelligence: false }), spoof(null));
    assert.equal(verdict.disposition, 'deliver');
    assert.equal(verdict.incomplete, false, reasons(verdict));
    assert.match(traceText(verdict), /spoof intelligence is off: "Implicit email authentication checks aren't used"/);
  });

  test('a message that passes DMARC is not held up by any policy setting', () => {
    const verdict = decide(defaultPolicy({ HonorDmarcPolicy: false, EnableSpoofIntelligence: false }), spoof('v=DMARC1; p=reject', { authentication: { spf: 'pass', dmarcRecord: 'v=DMARC1; p=reject' } }));
    assert.equal(verdict.disposition, 'deliver');
    assert.equal(verdict.incomplete, false);
    assert.ok(!verdict.trace.some((step) => step.step === 'honor-dmarc'));
  });
});

describe('S32 order and precedence: a tenant allow wins over DMARC and spoof', () => {
  const allowRule = (overrides: Record<string, unknown> = {}) =>
    rule({ Name: 'Allow bank.example', SenderDomainIs: ['bank.example'], SetSCL: -1, ...overrides });

  test('a mail flow rule that sets SCL -1 overrides Honor DMARC p=reject: delivered, and the trace says why', () => {
    const blocked = decide(tenant(), spoof('v=DMARC1; p=reject'));
    assert.equal(blocked.enhanced, '5.7.509', 'without the rule Honor DMARC rejects');
    const verdict = decide(tenant({ rules: [allowRule()] }), spoof('v=DMARC1; p=reject'));
    assert.equal(verdict.action, 'accept');
    assert.equal(verdict.disposition, 'deliver');
    assert.equal(verdict.scl, -1);
    const allow = verdict.trace.find((step) => step.step === 'tenant-allow');
    assert.ok(allow, traceText(verdict));
    assert.match(allow.detail, /transport rule "Allow bank\.example" set SCL -1: tenant allow wins over DMARC\/spoof \(S32 order and precedence\)/);
    // Malware and high-confidence phishing still win over an allow (S32): said, since they are not emulated.
    assert.match(allow.detail, /malware and high-confidence phishing would still be quarantined/);
    assert.ok(allow.sources.includes('S32'));
    assert.equal(verdict.incomplete, false, reasons(verdict));
  });

  test('the allow also wins over the spoof action (Honor DMARC off) and over spoof intelligence\'s implicit verdict', () => {
    const explicit = decide(tenant({ rules: [allowRule()], antiPhish: [{ Name: 'Default', IsDefault: true, HonorDmarcPolicy: false }] }), spoof('v=DMARC1; p=reject'));
    assert.equal(explicit.disposition, 'deliver');
    const implicit = decide(tenant({ rules: [allowRule()] }), spoof(null));
    assert.equal(implicit.disposition, 'deliver');
    assert.equal(implicit.incomplete, false, 'the allow settles what spoof intelligence would have decided');
  });

  test('a rule in Audit mode allows nothing (S18): Honor DMARC still rejects', () => {
    const verdict = decide(tenant({ rules: [allowRule({ Mode: 'Audit' })] }), spoof('v=DMARC1; p=reject'));
    assert.equal(verdict.enhanced, '5.7.509');
  });

  test('the IP Allow List: delivered under the default assumption, Honor DMARC acts under dmarc-acts', () => {
    const snapshot = tenant({ connectionFilter: { IPAllowList: ['198.51.100.77'] } });
    const allowWins = decide(snapshot, spoof('v=DMARC1; p=reject'));
    assert.equal(allowWins.disposition, 'deliver');
    assert.ok(allowWins.assumptions.includes('ip-allow-list-vs-dmarc'));
    assert.match(traceText(allowWins), /198\.51\.100\.77 is on the IP Allow List .*tenant allow wins/);
    const options: DecideOptions = { assumptions: { 'ip-allow-list-vs-dmarc': 'dmarc-acts' } };
    const dmarcActs = decide(snapshot, spoof('v=DMARC1; p=reject'), options);
    assert.equal(dmarcActs.enhanced, '5.7.509');
    assert.match(traceText(dmarcActs), /IP Allow List .*: it does not override the 5\.7\.509 reject/);
  });

  test('a rule that asks for a spam verdict (SCL 6) leaves the outcome to content filtering: not final', () => {
    const verdict = decide(tenant({ rules: [allowRule({ Name: 'Mark as spam', SetSCL: 6 })] }), spoof('v=DMARC1; p=none', { authentication: { spf: 'pass', dmarcRecord: 'v=DMARC1; p=none' } }));
    assert.equal(verdict.disposition, 'deliver');
    assert.equal(verdict.incomplete, true);
    assert.match(reasons(verdict), /a rule set SCL 6, which asks for a spam verdict: the anti-spam policy's action for it \(content filtering\) is not emulated/);
  });
});

describe('Honor DMARC settings come from the anti-phishing policy that applies to each recipient (S32)', () => {
  // A custom policy for contoso.co.uk with Honor DMARC off; the default policy honours DMARC.
  const scoped = (condition: Record<string, unknown>, custom: Record<string, unknown> = { HonorDmarcPolicy: false }) =>
    tenant({
      antiPhish: [
        { Name: 'UK office', IsDefault: false, ...custom },
        { Name: 'Office365 AntiPhish Default', IsDefault: true },
      ],
      antiPhishRules: [{ Name: 'UK office', AntiPhishPolicy: 'UK office', State: 'Enabled', Priority: 0, ...condition }],
    });

  test('RecipientDomainIs resolves against the recipient: the UK policy\'s spoof action, the default policy\'s reject', () => {
    const snapshot = scoped({ RecipientDomainIs: ['contoso.co.uk'] });
    const uk = decide(snapshot, spoof('v=DMARC1; p=reject', { rcptTo: ['bob@contoso.co.uk'] }));
    assert.equal(uk.disposition, 'junk', traceText(uk));
    assert.match(traceText(uk), /"UK office" applies to bob@contoso\.co\.uk/);
    const com = decide(snapshot, spoof('v=DMARC1; p=reject'));
    assert.equal(com.enhanced, '5.7.509');
  });

  test('recipients under different policies with different outcomes: the verdict says so and is not final', () => {
    const verdict = decide(scoped({ RecipientDomainIs: ['contoso.co.uk'] }), spoof('v=DMARC1; p=reject', { rcptTo: ['alice@contoso.com', 'bob@contoso.co.uk'] }));
    assert.equal(verdict.enhanced, '5.7.509', 'the first recipient\'s outcome');
    assert.equal(verdict.incomplete, true);
    assert.match(reasons(verdict), /recipients get different anti-phishing outcomes \(alice@contoso\.com: Reject under "Office365 AntiPhish Default"; bob@contoso\.co\.uk: MoveToJmf under "UK office"\)/);
  });

  test('a group condition the snapshot cannot resolve: the policy may apply; not final when the outcome depends on it', () => {
    const verdict = decide(scoped({ SentToMemberOf: ['Executives'] }), spoof('v=DMARC1; p=reject'));
    assert.equal(verdict.incomplete, true);
    assert.match(reasons(verdict), /which anti-phishing policy applies to alice@contoso\.com is not known from the snapshot, and the outcome depends on it \("UK office": MoveToJmf, "Office365 AntiPhish Default": Reject\)/);
    assert.match(traceText(verdict), /"UK office" may apply to alice@contoso\.com/);
  });

  test('a policy that may apply but decides the same as the next one leaves the verdict final', () => {
    const verdict = decide(scoped({ SentToMemberOf: ['Executives'] }, {}), spoof('v=DMARC1; p=reject'));
    assert.equal(verdict.enhanced, '5.7.509');
    assert.equal(verdict.incomplete, false, reasons(verdict));
    assert.match(traceText(verdict), /whichever applies, the outcome is the same \(Reject\)/);
  });
});
