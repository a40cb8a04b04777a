/**
 * Which anti-phishing / anti-spam policy applies to a recipient (src/eop/policy-scope.ts). The cases follow Microsoft's
 * text:
 * - "Order and precedence of email protection" (learn.microsoft.com/defender-office-365/how-policies-and-protections-are-combined):
 *   Strict preset, Standard preset, custom policies by priority, default last; only the first policy applies; the
 *   "Contoso Executives" example.
 * - "Preset security policies" (…/preset-security-policies): rules named Standard/Strict Preset Security Policy, State
 *   Enabled/Disabled, conditions AND, values OR, exceptions OR, "Subdomains are automatically included unless you
 *   specifically exclude them", the romain@contoso.com + Executives example; policies without rules are assigned to no one.
 * - Set-EOPProtectionPolicyRule example 2: a preset rule without conditions applies to everyone.
 * - The real ScubaGear export (cisagov/ScubaGear, PowerShell/ScubaGear/Sample-Reports/ProviderSettingsExport.json,
 *   commit 23630e84522d39eb61376b9a89a8c93d60b392a2, CC0): its protection_policy_rules and atp_policy_rules are
 *   test/fixtures/snapshots/scubagear-preset-rules.json; its anti-phishing policies are the shared real-world piece.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { policiesFor, policyFor, policyReach, type PolicyKind } from '../../src/eop/policy-scope.js';
import { parseSnapshot } from '../../src/snapshot/parse.js';

type Raw = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const DEFAULT_PHISH = { Name: 'Office365 AntiPhish Default', IsDefault: true, RecommendedPolicyType: 'Custom' };
const STRICT_PHISH = { Name: 'Strict Preset Security Policy1642034872546', IsDefault: false, RecommendedPolicyType: 'Strict' };
const STANDARD_PHISH = { Name: 'Standard Preset Security Policy1622650008019', IsDefault: false, RecommendedPolicyType: 'Standard' };
const custom = (name: string) => ({ Name: name, IsDefault: false, RecommendedPolicyType: 'Custom' });
const presetRule = (level: 'Strict' | 'Standard', extra: Raw = {}) => ({
  Name: `${level} Preset Security Policy`,
  AntiPhishPolicy: level === 'Strict' ? STRICT_PHISH.Name : STANDARD_PHISH.Name,
  State: 'Enabled',
  Priority: level === 'Strict' ? 0 : 1,
  ...extra,
});
const rule = (name: string, priority: number, extra: Raw = {}) => ({ Name: name, AntiPhishPolicy: name, State: 'Enabled', Priority: priority, ...extra });

function tenant(sections: Raw): ReturnType<typeof parseSnapshot>['snapshot'] {
  return parseSnapshot({
    Meta: { eoplockSnapshot: 1 },
    OrganizationConfig: {},
    AcceptedDomain: [{ DomainName: 'contoso.com', DomainType: 'Authoritative' }],
    ...sections,
  }).snapshot;
}

const summary = (snapshot: ReturnType<typeof tenant>, recipient: string, kind: PolicyKind = 'antiPhish') => {
  const chosen = policyFor(snapshot, kind, recipient);
  return `${chosen.name} ${chosen.certainty}`;
};

describe('order: presets (Strict, then Standard), then custom by priority, then the default', () => {
  // "Contoso Executives" is in the Strict preset and in two custom policies: the Strict preset applies.
  const everything = {
    AntiPhishPolicy: [DEFAULT_PHISH, custom('Executives 0'), custom('Executives 1'), STANDARD_PHISH, STRICT_PHISH],
    AntiPhishRule: [rule('Executives 1', 1, { RecipientDomainIs: ['contoso.com'] }), rule('Executives 0', 0, { RecipientDomainIs: ['contoso.com'] })],
    EOPProtectionPolicyRule: [presetRule('Standard', { RecipientDomainIs: ['contoso.com'] }), presetRule('Strict', { RecipientDomainIs: ['contoso.com'] })],
  };
  const table: { name: string; change: (raw: Raw) => void; expect: string }[] = [
    { name: 'all include the recipient: Strict', change: () => {}, expect: `${STRICT_PHISH.Name} applies` },
    { name: 'Strict off (State Disabled): Standard', change: (r) => void (r.EOPProtectionPolicyRule[1].State = 'Disabled'), expect: `${STANDARD_PHISH.Name} applies` },
    {
      name: 'both presets off: the custom policy with priority 0, though listed second',
      change: (r) => r.EOPProtectionPolicyRule.forEach((entry: Raw) => (entry.State = 'Disabled')),
      expect: 'Executives 0 applies',
    },
    {
      name: 'presets off, priority 0 rule disabled: priority 1',
      change: (r) => {
        r.EOPProtectionPolicyRule = [];
        r.AntiPhishRule[1].State = 'Disabled';
      },
      expect: 'Executives 1 applies',
    },
    { name: 'no preset rules, no custom rules: the default', change: (r) => void ((r.EOPProtectionPolicyRule = []), (r.AntiPhishRule = [])), expect: 'Office365 AntiPhish Default applies' },
  ];
  for (const row of table) {
    test(row.name, () => {
      const raw = structuredClone(everything);
      row.change(raw);
      assert.equal(summary(tenant(raw), 'ceo@contoso.com'), row.expect);
    });
  }

  test('the policy that applies is given by its index in the section, with the reason', () => {
    const chosen = policyFor(tenant(structuredClone(everything)), 'antiPhish', 'ceo@contoso.com');
    assert.equal(chosen.index, 4);
    assert.equal(chosen.source, 'preset-strict');
    assert.match(chosen.reason, /EOPProtectionPolicyRule "Strict Preset Security Policy" includes ceo@contoso\.com \(RecipientDomainIs contoso\.com\)/);
  });
});

describe('conditions and exceptions', () => {
  const withRule = (extra: Raw) =>
    tenant({ AntiPhishPolicy: [DEFAULT_PHISH, custom('Scoped')], AntiPhishRule: [rule('Scoped', 0, extra)] });
  const table: { name: string; rule: Raw; recipient: string; expect: string }[] = [
    { name: 'RecipientDomainIs: the domain', rule: { RecipientDomainIs: ['contoso.com'] }, recipient: 'a@contoso.com', expect: 'Scoped applies' },
    { name: 'RecipientDomainIs: subdomains are included', rule: { RecipientDomainIs: ['contoso.com'] }, recipient: 'a@marketing.contoso.com', expect: 'Scoped applies' },
    { name: 'RecipientDomainIs: another domain is not', rule: { RecipientDomainIs: ['contoso.com'] }, recipient: 'a@fabrikam.com', expect: 'Office365 AntiPhish Default applies' },
    { name: 'RecipientDomainIs: a domain that merely ends alike is not', rule: { RecipientDomainIs: ['contoso.com'] }, recipient: 'a@notcontoso.com', expect: 'Office365 AntiPhish Default applies' },
    { name: 'values of one condition: OR', rule: { RecipientDomainIs: ['fabrikam.com', 'contoso.com'] }, recipient: 'a@contoso.com', expect: 'Scoped applies' },
    {
      name: 'exception: the excluded subdomain',
      rule: { RecipientDomainIs: ['contoso.com'], ExceptIfRecipientDomainIs: ['marketing.contoso.com'] },
      recipient: 'a@marketing.contoso.com',
      expect: 'Office365 AntiPhish Default applies',
    },
    { name: 'SentTo the recipient\'s address', rule: { SentTo: ['romain@contoso.com'] }, recipient: 'Romain@Contoso.com', expect: 'Scoped applies' },
    { name: 'SentTo other values: users the snapshot cannot resolve', rule: { SentTo: ['Romain Dupont'] }, recipient: 'romain@contoso.com', expect: 'Scoped may-apply' },
    { name: 'SentToMemberOf: group membership is not in the snapshot', rule: { SentToMemberOf: ['Executives'] }, recipient: 'romain@contoso.com', expect: 'Scoped may-apply' },
    {
      name: 'different conditions: AND (romain@contoso.com and member of Executives)',
      rule: { SentTo: ['romain@contoso.com'], SentToMemberOf: ['Executives'] },
      recipient: 'romain@contoso.com',
      expect: 'Scoped may-apply',
    },
    { name: 'AND with a domain that does not match: settled', rule: { RecipientDomainIs: ['fabrikam.com'], SentToMemberOf: ['Executives'] }, recipient: 'romain@contoso.com', expect: 'Office365 AntiPhish Default applies' },
    { name: 'ExceptIfSentTo the recipient: excluded', rule: { RecipientDomainIs: ['contoso.com'], ExceptIfSentTo: ['romain@contoso.com'] }, recipient: 'romain@contoso.com', expect: 'Office365 AntiPhish Default applies' },
    { name: 'ExceptIfSentToMemberOf: may be excluded', rule: { RecipientDomainIs: ['contoso.com'], ExceptIfSentToMemberOf: ['Interns'] }, recipient: 'romain@contoso.com', expect: 'Scoped may-apply' },
    { name: 'exceptions: OR (one certain exception is enough)', rule: { RecipientDomainIs: ['contoso.com'], ExceptIfSentToMemberOf: ['Interns'], ExceptIfRecipientDomainIs: ['contoso.com'] }, recipient: 'a@contoso.com', expect: 'Office365 AntiPhish Default applies' },
    { name: 'a custom rule without conditions: not documented, so it may apply', rule: {}, recipient: 'a@contoso.com', expect: 'Scoped may-apply' },
  ];
  for (const row of table) {
    test(row.name, () => assert.equal(summary(withRule(row.rule), row.recipient), row.expect));
  }

  test('a may-apply policy says what decides and which policy applies otherwise', () => {
    const chosen = policyFor(withRule({ SentToMemberOf: ['Executives'] }), 'antiPhish', 'romain@contoso.com');
    assert.equal(chosen.certainty, 'may-apply');
    assert.match(chosen.reason, /is scoped to SentToMemberOf Executives, and group membership \(SentToMemberOf\) is not in the snapshot/);
    assert.match(chosen.reason, /otherwise "Office365 AntiPhish Default"$/);
    const chain = policiesFor(withRule({ SentToMemberOf: ['Executives'] }), 'antiPhish', 'romain@contoso.com');
    assert.deepEqual(chain.map((entry) => `${entry.name} ${entry.certainty}`), ['Scoped may-apply', 'Office365 AntiPhish Default applies']);
  });

  test('a bare domain means the recipients at that domain: user conditions stay unresolved', () => {
    assert.equal(summary(withRule({ SentTo: ['romain@contoso.com'] }), 'contoso.com'), 'Scoped may-apply');
    assert.equal(summary(withRule({ RecipientDomainIs: ['contoso.com'] }), 'contoso.com'), 'Scoped applies');
    assert.equal(summary(withRule({ RecipientDomainIs: ['sales.contoso.com'] }), 'contoso.com'), 'Office365 AntiPhish Default applies');
  });

  test('assumption policy-recipient-domain=primary-address: a domain condition on one address is unresolved', () => {
    const snapshot = withRule({ RecipientDomainIs: ['contoso.com'] });
    const chosen = policyFor(snapshot, 'antiPhish', 'a@contoso.com', { assumptions: { 'policy-recipient-domain': 'primary-address' } });
    assert.equal(chosen.certainty, 'may-apply');
    assert.deepEqual(chosen.assumptions, ['policy-recipient-domain']);
    assert.deepEqual(policyFor(snapshot, 'antiPhish', 'a@contoso.com').assumptions, ['policy-recipient-domain']);
    // The audit's question (recipients at a domain) does not depend on it.
    assert.equal(policyFor(snapshot, 'antiPhish', 'contoso.com', { assumptions: { 'policy-recipient-domain': 'primary-address' } }).certainty, 'applies');
  });
});

describe('presets', () => {
  test('a preset rule without conditions includes everyone (Set-EOPProtectionPolicyRule example 2)', () => {
    const snapshot = tenant({ AntiPhishPolicy: [DEFAULT_PHISH, STANDARD_PHISH], EOPProtectionPolicyRule: [presetRule('Standard')] });
    assert.equal(summary(snapshot, 'anyone@fabrikam.com'), `${STANDARD_PHISH.Name} applies`);
  });

  test('a preset policy without its rule is assigned to no one', () => {
    const snapshot = tenant({ AntiPhishPolicy: [DEFAULT_PHISH, STRICT_PHISH], EOPProtectionPolicyRule: [] });
    assert.equal(summary(snapshot, 'a@contoso.com'), 'Office365 AntiPhish Default applies');
  });

  test('without the EOPProtectionPolicyRule section, a preset may apply', () => {
    const snapshot = tenant({ AntiPhishPolicy: [DEFAULT_PHISH, STRICT_PHISH] });
    const chosen = policyFor(snapshot, 'antiPhish', 'a@contoso.com');
    assert.equal(chosen.certainty, 'may-apply');
    assert.equal(chosen.source, 'preset-strict');
    assert.match(chosen.reason, /no EOPProtectionPolicyRule section/);
  });

  test('the rule is linked to its preset by the policy it names, even when renamed', () => {
    const snapshot = tenant({ AntiPhishPolicy: [DEFAULT_PHISH, STRICT_PHISH], EOPProtectionPolicyRule: [{ ...presetRule('Strict'), Name: 'Top management' }] });
    assert.equal(summary(snapshot, 'a@contoso.com'), `${STRICT_PHISH.Name} applies`);
  });

  test('a preset whose policy is not in the snapshot applies with Microsoft\'s settings for it', () => {
    const snapshot = tenant({ HostedContentFilterPolicy: [{ Name: 'Default', IsDefault: true }], EOPProtectionPolicyRule: [{ Name: 'Strict Preset Security Policy', State: 'Enabled', Priority: 0 }] });
    const chosen = policyFor(snapshot, 'antiSpam', 'a@contoso.com');
    assert.equal(chosen.source, 'preset-strict');
    assert.equal(chosen.index, null);
    assert.equal(chosen.policy.BulkThreshold, 5, 'Strict uses BCL 5 (S29)');
  });

  test('Defender for Office 365 settings follow the ATP rule; the spoof settings follow the EOP rule', () => {
    const snapshot = tenant({
      AntiPhishPolicy: [DEFAULT_PHISH, STRICT_PHISH],
      EOPProtectionPolicyRule: [presetRule('Strict')],
      ATPProtectionPolicyRule: [{ Name: 'Strict Preset Security Policy', SafeLinksPolicy: 'Strict Preset Security Policy1642034873192', State: 'Disabled', Priority: 0 }],
    });
    assert.equal(summary(snapshot, 'a@contoso.com', 'antiPhish'), `${STRICT_PHISH.Name} applies`);
    assert.equal(summary(snapshot, 'a@contoso.com', 'antiPhishDefender'), 'Office365 AntiPhish Default applies');
  });
});

describe('custom rules and the default', () => {
  test('a custom policy that no rule names applies to no one', () => {
    assert.equal(summary(tenant({ AntiPhishPolicy: [DEFAULT_PHISH, custom('Orphan')], AntiPhishRule: [] }), 'a@contoso.com'), 'Office365 AntiPhish Default applies');
  });

  test('without the AntiPhishRule section, custom policies may apply', () => {
    const chain = policiesFor(tenant({ AntiPhishPolicy: [DEFAULT_PHISH, custom('Unknown scope')] }), 'antiPhish', 'a@contoso.com');
    assert.deepEqual(chain.map((entry) => `${entry.name} ${entry.certainty}`), ['Unknown scope may-apply', 'Office365 AntiPhish Default applies']);
    assert.match(chain[0]?.reason ?? '', /no AntiPhishRule section/);
  });

  test('the anti-spam default is found by IsDefault; with no policies, Microsoft\'s defaults', () => {
    const snapshot = tenant({ HostedContentFilterPolicy: [{ Name: 'Custom spam', IsDefault: false }, { Name: 'Default', IsDefault: true }], HostedContentFilterRule: [] });
    assert.equal(policyFor(snapshot, 'antiSpam', 'a@contoso.com').index, 1);
    const none = policyFor(tenant({}), 'antiSpam', 'a@contoso.com');
    assert.deepEqual([none.source, none.index, none.policy], ['defaults', null, {}]);
  });

  test('a hand-written snapshot without IsDefault: the first policy no rule names is the default, and says so', () => {
    const chosen = policyFor(tenant({ AntiPhishPolicy: [{ Name: 'Policy' }] }), 'antiPhish', 'a@contoso.com');
    assert.equal(chosen.source, 'default');
    assert.match(chosen.reason, /no policy in the snapshot is marked IsDefault/);
  });

  test('Windows PowerShell 5.1 numbers for State are read (1 = Disabled)', () => {
    const snapshot = tenant({ AntiPhishPolicy: [DEFAULT_PHISH, custom('Off')], AntiPhishRule: [{ ...rule('Off', 0, { RecipientDomainIs: 'contoso.com' }), State: 1 }] });
    assert.equal(summary(snapshot, 'a@contoso.com'), 'Office365 AntiPhish Default applies');
  });
});

describe('policyReach: who each policy reaches', () => {
  test('disabled, orphaned, out-of-scope and shadowed policies are named with why', () => {
    const snapshot = tenant({
      AcceptedDomain: [
        { DomainName: 'contoso.com', DomainType: 'Authoritative' },
        { DomainName: 'fabrikam.com', DomainType: 'Authoritative' },
      ],
      AntiPhishPolicy: [DEFAULT_PHISH, custom('Off'), custom('Orphan'), custom('Elsewhere'), custom('Shadowed'), custom('Contoso'), STANDARD_PHISH],
      AntiPhishRule: [
        rule('Off', 0, { RecipientDomainIs: ['contoso.com'], State: 'Disabled' }),
        rule('Elsewhere', 1, { RecipientDomainIs: ['tailspin.example'] }),
        rule('Contoso', 2, { RecipientDomainIs: ['contoso.com'] }),
        rule('Shadowed', 3, { RecipientDomainIs: ['contoso.com'] }),
      ],
      EOPProtectionPolicyRule: [presetRule('Standard', { RecipientDomainIs: ['fabrikam.com'] })],
    });
    const reach = Object.fromEntries(policyReach(snapshot, 'antiPhish', ['contoso.com', 'fabrikam.com']).map((item) => [item.name, item]));
    assert.deepEqual(reach.Contoso?.applies, ['contoso.com']);
    assert.deepEqual(reach[STANDARD_PHISH.Name]?.applies, ['fabrikam.com']);
    assert.match(reach.Off?.unreachable ?? '', /is disabled \(State Disabled\)/);
    assert.match(reach.Orphan?.unreachable ?? '', /no AntiPhishRule names it, so it applies to no one/);
    assert.match(reach.Elsewhere?.unreachable ?? '', /its rule includes none of contoso\.com, fabrikam\.com .*RecipientDomainIs tailspin\.example/);
    assert.match(reach.Shadowed?.unreachable ?? '', /^"Contoso" applies first to every recipient it would include/);
    assert.match(reach['Office365 AntiPhish Default']?.unreachable ?? '', /"Contoso", "Standard Preset Security Policy1622650008019" apply first/);
  });
});

describe('a real export (ScubaGear sample tenant)', () => {
  const PIECE = 'test/fixtures/real-world/snapshot-pieces/scubagear-Get-AntiPhishPolicy.json';
  const DOMAINS = 'test/fixtures/real-world/snapshot-pieces/scubagear-Get-AcceptedDomain.json';
  const rules = JSON.parse(readFileSync('test/fixtures/snapshots/scubagear-preset-rules.json', 'utf8')) as Raw;

  test('the preset rules parse as written by ConvertTo-Json', () => {
    const snapshot = tenant(rules);
    assert.equal(snapshot.EOPProtectionPolicyRule?.length, 2);
    assert.deepEqual(snapshot.ATPProtectionPolicyRule?.map((entry) => `${entry.Name} ${entry.State} ${entry.Priority}`), ['Strict Preset Security Policy Enabled 0', 'Standard Preset Security Policy Enabled 1']);
  });

  test('Standard (no conditions) covers the tenant; Strict only badpeople.r.us; the default reaches no one', () => {
    const snapshot = tenant({
      ...rules,
      AcceptedDomain: JSON.parse(readFileSync(DOMAINS, 'utf8')),
      AntiPhishPolicy: JSON.parse(readFileSync(PIECE, 'utf8')),
    });
    assert.equal(summary(snapshot, 'user@tqhjy.onmicrosoft.com'), 'Standard Preset Security Policy1659535429826 applies');
    assert.equal(summary(snapshot, 'user@badpeople.r.us'), 'Strict Preset Security Policy1681329955447 applies');
    assert.equal(summary(snapshot, 'user@example.com', 'antiPhishDefender'), 'Standard Preset Security Policy1659535429826 applies');
    const domains = snapshot.AcceptedDomain.map((domain) => domain.DomainName);
    const reach = Object.fromEntries(policyReach(snapshot, 'antiPhish', domains).map((item) => [item.name, item]));
    assert.equal(reach['Standard Preset Security Policy1659535429826']?.applies.length, domains.length);
    assert.match(reach['Office365 AntiPhish Default']?.unreachable ?? '', /"Standard Preset Security Policy1659535429826" applies first/);
    assert.match(reach['Strict Preset Security Policy1681329955447']?.unreachable ?? '', /RecipientDomainIs badpeople\.r\.us/);
  });
});
