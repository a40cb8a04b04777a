/**
 * Which anti-phishing / anti-spam policy applies to a recipient (eop-behaviour.md §6.3–§6.5). Pure: plain data in.
 *
 * Microsoft's order ("Order and precedence of email protection"; "Preset security policies"): the Strict preset
 * security policy, then the Standard one, then custom policies by their rule's Priority (0 first), then the default
 * policy, which applies to everyone and cannot be turned off. Only the first policy that includes the recipient
 * applies; settings are never merged.
 *
 * Who a policy includes is said by a rule. Presets: Get-EOPProtectionPolicyRule (the anti-phishing spoof settings and
 * anti-spam) and Get-ATPProtectionPolicyRule (Defender for Office 365: impersonation, mailbox intelligence). A preset
 * rule with no conditions includes everyone (Set-EOPProtectionPolicyRule, example 2); a preset without a rule is
 * assigned to no one. Custom policies: Get-AntiPhishRule / Get-HostedContentFilterRule, linked by the rule's
 * AntiPhishPolicy / HostedContentFilterPolicy; a custom policy without a rule applies to no one. Only rules with
 * State Enabled count.
 *
 * Conditions (Set-AntiPhishRule, Set-HostedContentFilterRule, Set-EOPProtectionPolicyRule): RecipientDomainIs (the
 * domain and its subdomains), SentTo (recipients), SentToMemberOf (group members). Values of one condition: OR;
 * different conditions: AND; exceptions (ExceptIf…): OR. A snapshot holds no mailboxes or group members, so a
 * condition on users or groups that the address alone does not settle leaves the policy `may-apply`: it applies if
 * the recipient is among them, and the next policy otherwise.
 *
 * A recipient is an address (`ceo@contoso.com`), or a bare domain (`contoso.com`) meaning "recipients whose address is
 * in that domain" (what the audit asks for each accepted domain).
 */
import type { Snapshot } from '../snapshot/parse.js';
import { DEFAULT_ASSUMPTIONS, type Assumptions } from './assumptions.js';

/**
 * `antiPhish`: the anti-phishing settings every tenant has (spoof intelligence, Honor DMARC, the spoof action);
 * `antiPhishDefender`: the Defender for Office 365 settings of the same policies (mailbox intelligence,
 * impersonation), whose preset scope is the ATP rule; `antiSpam`: anti-spam (hosted content filter) policies.
 */
export type PolicyKind = 'antiPhish' | 'antiSpam' | 'antiPhishDefender';

export interface ApplyingPolicy {
  /** The policy's properties; `{}` when the snapshot holds none (Microsoft's defaults then apply). */
  policy: Record<string, unknown>;
  /** Its name, or a description of the defaults. */
  name: string;
  /** Where it comes from. */
  source: 'preset-strict' | 'preset-standard' | 'custom' | 'default' | 'defaults';
  /** `applies`: the snapshot shows it applies; `may-apply`: a condition the snapshot cannot resolve (users, groups) decides. */
  certainty: 'applies' | 'may-apply';
  /** Why this policy, in one sentence (for traces and evidence). */
  reason: string;
  /** Its index in the snapshot's section (`AntiPhishPolicy` or `HostedContentFilterPolicy`); null for presets/defaults not exported. */
  index: number | null;
  /** Assumption ids the answer relied on (see assumptions.ts); absent or empty when none. */
  assumptions?: string[];
}

export interface PolicyScopeOptions {
  /** Only `policy-recipient-domain` is read; the default when absent. */
  assumptions?: Partial<Pick<Assumptions, 'policy-recipient-domain'>>;
}

/** The snapshot section that holds the policies of a kind. */
export const POLICY_SECTION = { antiPhish: 'AntiPhishPolicy', antiPhishDefender: 'AntiPhishPolicy', antiSpam: 'HostedContentFilterPolicy' } as const;
const RULE_SECTION = { antiPhish: 'AntiPhishRule', antiPhishDefender: 'AntiPhishRule', antiSpam: 'HostedContentFilterRule' } as const;
const PRESET_RULE_SECTION = { antiPhish: 'EOPProtectionPolicyRule', antiPhishDefender: 'ATPProtectionPolicyRule', antiSpam: 'EOPProtectionPolicyRule' } as const;
/** The rule property that names its policy. */
const LINK = { antiPhish: 'AntiPhishPolicy', antiPhishDefender: 'AntiPhishPolicy', antiSpam: 'HostedContentFilterPolicy' } as const;
const DEFAULT_NAME = { antiPhish: 'Office365 AntiPhish Default', antiPhishDefender: 'Office365 AntiPhish Default', antiSpam: 'Default' } as const;
const DEFAULTS_NAME = { antiPhish: 'Office365 AntiPhish Default (defaults)', antiPhishDefender: 'Office365 AntiPhish Default (defaults)', antiSpam: 'Default (defaults)' } as const;

type Level = 'Strict' | 'Standard';
type Row = Record<string, unknown>;
type Tri = 'yes' | 'no' | 'unknown';

/**
 * The settings eoplock reads, as Microsoft sets them in the preset policies ("Recommended settings for EOP and
 * Microsoft Defender for Office 365", S29): used when a preset applies but its policy object is not in the snapshot.
 */
export const PRESET_SETTINGS: Readonly<Record<Level, Readonly<Record<'antiPhish' | 'antiSpam', Readonly<Row>>>>> = {
  Standard: {
    antiPhish: { EnableSpoofIntelligence: true, HonorDmarcPolicy: true, DmarcRejectAction: 'Reject', DmarcQuarantineAction: 'Quarantine', AuthenticationFailAction: 'MoveToJmf', EnableMailboxIntelligence: true },
    antiSpam: { BulkThreshold: 6, SpamAction: 'MoveToJmf', HighConfidenceSpamAction: 'Quarantine', PhishSpamAction: 'Quarantine', HighConfidencePhishAction: 'Quarantine', BulkSpamAction: 'MoveToJmf' },
  },
  Strict: {
    antiPhish: { EnableSpoofIntelligence: true, HonorDmarcPolicy: true, DmarcRejectAction: 'Reject', DmarcQuarantineAction: 'Quarantine', AuthenticationFailAction: 'Quarantine', EnableMailboxIntelligence: true },
    antiSpam: { BulkThreshold: 5, SpamAction: 'Quarantine', HighConfidenceSpamAction: 'Quarantine', PhishSpamAction: 'Quarantine', HighConfidencePhishAction: 'Quarantine', BulkSpamAction: 'Quarantine' },
  },
};

/** What a policy object is, from its own properties. */
export function presetLevel(policy: Row): Level | null {
  const type = typeof policy.RecommendedPolicyType === 'string' ? policy.RecommendedPolicyType.toLowerCase() : '';
  if (type === 'strict') return 'Strict';
  if (type === 'standard') return 'Standard';
  if (type !== '') return null;
  const name = nameOf(policy);
  const match = /^(strict|standard) preset security policy\d*$/i.exec(name ?? '');
  return match ? (match[1]!.toLowerCase() === 'strict' ? 'Strict' : 'Standard') : null;
}

// ---------------------------------------------------------------------------------------------------------------
// Reading the snapshot
// ---------------------------------------------------------------------------------------------------------------

function nameOf(row: Row): string | null {
  for (const key of ['Name', 'Identity']) if (typeof row[key] === 'string' && row[key] !== '') return row[key] as string;
  return null;
}

/** A condition's values as lower-case strings (null, one string or a list). */
function values(row: Row, property: string): string[] {
  const value = row[property];
  const list = Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
  return list.filter((item): item is string => typeof item === 'string' && item.trim() !== '').map((item) => item.trim());
}

const bareDomain = (value: string) => value.trim().toLowerCase().replace(/\.$/, '').replace(/^\*\./, '');

function rows(snapshot: Snapshot, section: string): Row[] | null {
  const value = (snapshot as Record<string, unknown>)[section];
  return Array.isArray(value) ? (value as Row[]) : null;
}

function enabled(rule: Row): boolean {
  return rule.State !== 'Disabled';
}

function sameName(a: unknown, policy: Row): boolean {
  if (typeof a !== 'string') return false;
  const wanted = a.trim().toLowerCase();
  return ['Name', 'Identity', 'Guid', 'DistinguishedName'].some((key) => typeof policy[key] === 'string' && (policy[key] as string).toLowerCase() === wanted);
}

const CONDITIONS = ['RecipientDomainIs', 'SentTo', 'SentToMemberOf'] as const;
const EXCEPTIONS = ['ExceptIfRecipientDomainIs', 'ExceptIfSentTo', 'ExceptIfSentToMemberOf'] as const;

/** `RecipientDomainIs contoso.com; SentToMemberOf Executives`, for reasons. */
function describeScope(rule: Row, emptyMeansEveryone = false): string {
  const part = (property: string) => {
    const list = values(rule, property);
    return list.length > 0 ? `${property} ${list.join(', ')}` : null;
  };
  const conditions = CONDITIONS.map(part).filter((text): text is string => text !== null);
  const exceptions = EXCEPTIONS.map(part).filter((text): text is string => text !== null);
  const none = emptyMeansEveryone ? 'no recipient conditions, so everyone' : 'no recipient conditions';
  return [conditions.length > 0 ? conditions.join(' and ') : none, ...(exceptions.length > 0 ? [`except ${exceptions.join(' or ')}`] : [])].join(', ');
}

// ---------------------------------------------------------------------------------------------------------------
// The ordered candidates for one kind
// ---------------------------------------------------------------------------------------------------------------

interface Candidate {
  source: ApplyingPolicy['source'];
  policy: Row;
  index: number | null;
  name: string;
  /** The rule that scopes it; null with `fixed`. */
  rule: Row | null;
  /** `AntiPhishRule "Executives" (priority 0)`, for reasons. */
  ruleLabel: string;
  /** A rule with no conditions includes everyone (documented for preset rules only). */
  emptyMeansEveryone: boolean;
  /** A verdict that does not depend on the recipient (the default; a preset whose rules are not in the snapshot). */
  fixed: { result: Tri; reason: string } | null;
}

/** What the snapshot says about every policy of a section, before any recipient is known. */
export interface PolicyScope {
  /** Index in the policy section. */
  index: number;
  name: string;
  source: ApplyingPolicy['source'] | 'not-modelled';
  /** `enabled` (a rule includes some recipients), `disabled`, `no-rule`, `unknown` (the rule section is not in the snapshot), `default`, or why it is not modelled. */
  state: 'enabled' | 'disabled' | 'no-rule' | 'unknown' | 'default' | 'not-modelled';
  /** One sentence on its rule (for reports). */
  detail: string;
}

interface Model {
  candidates: Candidate[];
  scopes: PolicyScope[];
}

function buildModel(snapshot: Snapshot, kind: PolicyKind): Model {
  const policies = rows(snapshot, POLICY_SECTION[kind]) ?? [];
  const customRules = rows(snapshot, RULE_SECTION[kind]);
  const presetRules = rows(snapshot, PRESET_RULE_SECTION[kind]);
  const ruleSection = RULE_SECTION[kind];
  const presetSection = PRESET_RULE_SECTION[kind];
  const candidates: Candidate[] = [];
  const scopes = new Map<number, PolicyScope>();
  const taken = new Set<number>();

  // Presets, Strict first.
  for (const level of ['Strict', 'Standard'] as const) {
    const source = level === 'Strict' ? 'preset-strict' : 'preset-standard';
    const ruleIndex = (presetRules ?? []).findIndex((rule) => presetRuleLevel(rule, policies, kind) === level);
    const rule = ruleIndex >= 0 ? (presetRules![ruleIndex] as Row) : null;
    // The policy the rule names, else the one marked as this preset.
    const named = rule && kind !== 'antiPhishDefender' ? policies.findIndex((policy) => sameName(rule[LINK[kind]], policy) && presetLevel(policy) === level) : -1;
    const policyIndex = named >= 0 ? named : policies.findIndex((policy) => presetLevel(policy) === level);
    if (policyIndex < 0 && !rule) continue;
    const policy = policyIndex >= 0 ? (policies[policyIndex] as Row) : { ...PRESET_SETTINGS[level][kind === 'antiSpam' ? 'antiSpam' : 'antiPhish'] };
    const name = policyIndex >= 0 ? (nameOf(policy) ?? `${level} preset security policy`) : `${level} preset security policy (not in the snapshot: Microsoft's ${level} settings)`;
    const label = `${presetSection} "${rule ? (nameOf(rule) ?? `${level} Preset Security Policy`) : ''}"`;
    if (policyIndex >= 0) taken.add(policyIndex);
    let fixed: Candidate['fixed'] = null;
    let state: PolicyScope['state'] = 'enabled';
    let detail = '';
    if (presetRules === null) {
      fixed = { result: 'unknown', reason: `the snapshot has no ${presetSection} section, which says who the ${level} preset applies to` };
      state = 'unknown';
      detail = fixed.reason;
    } else if (!rule) {
      fixed = { result: 'no', reason: `no ${presetSection} for the ${level} preset: it is assigned to no one` };
      state = 'no-rule';
      detail = fixed.reason;
    } else if (!enabled(rule)) {
      fixed = { result: 'no', reason: `the ${level} preset is off (${label} State Disabled)` };
      state = 'disabled';
      detail = fixed.reason;
    } else {
      detail = `${label}: ${describeScope(rule, true)}`;
    }
    if (policyIndex >= 0) scopes.set(policyIndex, { index: policyIndex, name, source, state, detail });
    candidates.push({ source, policy, index: policyIndex >= 0 ? policyIndex : null, name, rule, ruleLabel: label, emptyMeansEveryone: true, fixed });
  }

  // The default policy.
  let defaultIndex = policies.findIndex((policy) => policy.IsDefault === true);
  if (defaultIndex < 0) defaultIndex = policies.findIndex((policy, index) => !taken.has(index) && nameOf(policy)?.toLowerCase() === DEFAULT_NAME[kind].toLowerCase());
  const noneMarked = !policies.some((policy) => typeof policy.IsDefault === 'boolean');
  if (defaultIndex < 0 && noneMarked) {
    // Hand-written snapshots: the first policy that is neither a preset nor named by a rule.
    defaultIndex = policies.findIndex((policy, index) => !taken.has(index) && presetLevel(policy) === null && !(customRules ?? []).some((rule) => sameName(rule[LINK[kind]], policy)));
  }
  if (defaultIndex >= 0) taken.add(defaultIndex);

  // Custom policies, by their rule's priority.
  const ordered = (customRules ?? [])
    .map((rule, position) => ({ rule, position }))
    .sort((a, b) => priority(a.rule) - priority(b.rule) || a.position - b.position);
  for (const { rule } of ordered) {
    const link = rule[LINK[kind]];
    const policyIndex = policies.findIndex((policy, index) => !taken.has(index) && sameName(link, policy));
    const policy = policyIndex >= 0 ? (policies[policyIndex] as Row) : {};
    const name = policyIndex >= 0 ? (nameOf(policy) ?? `${POLICY_SECTION[kind]}[${policyIndex}]`) : `${typeof link === 'string' ? link : nameOf(rule) ?? '?'} (not in the snapshot)`;
    const label = `${ruleSection} "${nameOf(rule) ?? '?'}"${typeof rule.Priority === 'number' ? ` (priority ${rule.Priority})` : ''}`;
    if (policyIndex >= 0) {
      taken.add(policyIndex);
      scopes.set(policyIndex, {
        index: policyIndex,
        name,
        source: 'custom',
        state: enabled(rule) ? 'enabled' : 'disabled',
        detail: enabled(rule) ? `${label}: ${describeScope(rule)}` : `its rule ${label} is disabled (State Disabled)`,
      });
    }
    if (!enabled(rule)) continue;
    candidates.push({ source: 'custom', policy, index: policyIndex >= 0 ? policyIndex : null, name, rule, ruleLabel: label, emptyMeansEveryone: false, fixed: null });
  }

  // Policies left over: custom ones without a rule, and kinds eoplock does not model.
  policies.forEach((policy, index) => {
    if (taken.has(index)) return;
    const name = nameOf(policy) ?? `${POLICY_SECTION[kind]}[${index}]`;
    const type = typeof policy.RecommendedPolicyType === 'string' ? policy.RecommendedPolicyType : 'Custom';
    if (type.toLowerCase() !== 'custom') {
      scopes.set(index, { index, name, source: 'not-modelled', state: 'not-modelled', detail: `RecommendedPolicyType ${type} is not a kind of policy eoplock models` });
      return;
    }
    if (customRules === null) {
      const reason = `the snapshot has no ${ruleSection} section, which says who "${name}" applies to`;
      scopes.set(index, { index, name, source: 'custom', state: 'unknown', detail: reason });
      candidates.push({ source: 'custom', policy, index, name, rule: null, ruleLabel: '', emptyMeansEveryone: false, fixed: { result: 'unknown', reason } });
      return;
    }
    scopes.set(index, { index, name, source: 'custom', state: 'no-rule', detail: `no ${ruleSection} names it, so it applies to no one` });
  });

  // The default, last.
  if (defaultIndex >= 0) {
    const policy = policies[defaultIndex] as Row;
    const name = nameOf(policy) ?? DEFAULT_NAME[kind];
    const marked = policy.IsDefault === true;
    const reason = marked ? 'the default policy, which applies to everyone no other policy includes' : 'the default policy (taken as such: no policy in the snapshot is marked IsDefault)';
    scopes.set(defaultIndex, { index: defaultIndex, name, source: 'default', state: 'default', detail: reason });
    candidates.push({ source: 'default', policy, index: defaultIndex, name, rule: null, ruleLabel: '', emptyMeansEveryone: true, fixed: { result: 'yes', reason } });
  } else {
    candidates.push({
      source: 'defaults',
      policy: {},
      index: null,
      name: DEFAULTS_NAME[kind],
      rule: null,
      ruleLabel: '',
      emptyMeansEveryone: true,
      fixed: { result: 'yes', reason: `the snapshot holds no default ${POLICY_SECTION[kind]}: Microsoft's defaults` },
    });
  }
  return { candidates, scopes: [...scopes.values()].sort((a, b) => a.index - b.index) };
}

function priority(rule: Row): number {
  return typeof rule.Priority === 'number' && Number.isFinite(rule.Priority) ? rule.Priority : Number.MAX_SAFE_INTEGER;
}

/** Which preset a preset rule belongs to: by the policy it names, else by its own name. */
function presetRuleLevel(rule: Row, policies: readonly Row[], kind: PolicyKind): Level | null {
  const linked = kind === 'antiPhishDefender' ? undefined : policies.find((policy) => sameName(rule[LINK[kind]], policy));
  const byPolicy = linked ? presetLevel(linked) : null;
  if (byPolicy) return byPolicy;
  for (const text of [nameOf(rule), ...['SafeLinksPolicy', 'SafeAttachmentPolicy', LINK[kind]].map((key) => rule[key])]) {
    const match = typeof text === 'string' ? /^(strict|standard) preset security policy/i.exec(text) : null;
    if (match) return match[1]!.toLowerCase() === 'strict' ? 'Strict' : 'Standard';
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------------------
// Evaluating a rule for a recipient
// ---------------------------------------------------------------------------------------------------------------

interface Target {
  /** The address, lower case; null for "recipients at `domain`". */
  address: string | null;
  domain: string;
  /** As given, for reasons. */
  text: string;
}

function target(recipient: string): Target {
  const text = recipient.trim();
  const at = text.lastIndexOf('@');
  if (at >= 0) return { address: text.toLowerCase(), domain: bareDomain(text.slice(at + 1)), text };
  return { address: null, domain: bareDomain(text), text: `recipients at ${bareDomain(text)}` };
}

interface Verdict {
  result: Tri;
  /** What decided, in words. */
  why: string;
  assumptions: string[];
}

function evaluateRule(candidate: Candidate, to: Target, options: Required<PolicyScopeOptions>['assumptions']): Verdict {
  const rule = candidate.rule as Row;
  const domainReading = options['policy-recipient-domain'] ?? DEFAULT_ASSUMPTIONS['policy-recipient-domain'];
  const used = new Set<string>();
  const unresolved: string[] = [];

  const test = (property: string): Tri | null => {
    const list = values(rule, property);
    if (list.length === 0) return null;
    if (property.endsWith('RecipientDomainIs')) {
      if (to.address !== null) {
        used.add('policy-recipient-domain');
        if (domainReading === 'primary-address') {
          unresolved.push(`only the recipient's primary address counts for ${property}, and the snapshot holds no mailboxes`);
          return 'unknown';
        }
      }
      return list.some((value) => to.domain === bareDomain(value) || to.domain.endsWith(`.${bareDomain(value)}`)) ? 'yes' : 'no';
    }
    if (property.endsWith('SentTo')) {
      if (to.address !== null && list.some((value) => value.toLowerCase() === to.address)) return 'yes';
      unresolved.push(`whether ${to.text} ${to.address ? 'is' : 'are'} among the ${property} recipients is not in the snapshot`);
      return 'unknown';
    }
    unresolved.push(`group membership (${property}) is not in the snapshot`);
    return 'unknown';
  };

  const conditions = CONDITIONS.map(test).filter((value): value is Tri => value !== null);
  const exceptions = EXCEPTIONS.map(test).filter((value): value is Tri => value !== null);
  let included: Tri;
  if (conditions.length === 0) {
    included = candidate.emptyMeansEveryone ? 'yes' : 'unknown';
    if (!candidate.emptyMeansEveryone) unresolved.push('Microsoft documents a rule without recipient conditions only for the preset policies, where it means everyone');
  } else {
    included = conditions.includes('no') ? 'no' : conditions.includes('unknown') ? 'unknown' : 'yes';
  }
  const excluded: Tri = exceptions.includes('yes') ? 'yes' : exceptions.includes('unknown') ? 'unknown' : 'no';
  const result: Tri = included === 'no' || excluded === 'yes' ? 'no' : included === 'yes' && excluded === 'no' ? 'yes' : 'unknown';
  const scope = describeScope(rule, candidate.emptyMeansEveryone);
  const why =
    result === 'unknown'
      ? `${candidate.ruleLabel} is scoped to ${scope}, and ${[...new Set(unresolved)].join('; ')}`
      : `${candidate.ruleLabel} ${result === 'yes' ? 'includes' : 'does not include'} ${to.text} (${scope})`;
  return { result, why, assumptions: [...used] };
}

function evaluate(candidate: Candidate, to: Target, options: Required<PolicyScopeOptions>['assumptions']): Verdict {
  if (candidate.fixed) return { result: candidate.fixed.result, why: candidate.fixed.reason, assumptions: [] };
  return evaluateRule(candidate, to, options);
}

// ---------------------------------------------------------------------------------------------------------------
// Public
// ---------------------------------------------------------------------------------------------------------------

/**
 * The policies of `kind` that may apply to `recipient`, in Microsoft's order: each `may-apply` one in turn (it applies
 * if an unresolved condition holds), ending with the first that `applies` for certain (the default at the latest).
 */
export function policiesFor(snapshot: Snapshot, kind: PolicyKind, recipient: string, options: PolicyScopeOptions = {}): ApplyingPolicy[] {
  return chain(buildModel(snapshot, kind), target(recipient), options.assumptions ?? {});
}

function chain(model: Model, to: Target, assumptions: Required<PolicyScopeOptions>['assumptions']): ApplyingPolicy[] {
  const out: ApplyingPolicy[] = [];
  const used = new Set<string>();
  for (const candidate of model.candidates) {
    const verdict = evaluate(candidate, to, assumptions);
    for (const id of verdict.assumptions) used.add(id);
    if (verdict.result === 'no') continue;
    const base = {
      policy: candidate.policy,
      name: candidate.name,
      source: candidate.source,
      index: candidate.index,
      assumptions: [...used],
    };
    if (verdict.result === 'unknown') {
      out.push({ ...base, certainty: 'may-apply', reason: `"${candidate.name}" may apply to ${to.text}: ${verdict.why}` });
      continue;
    }
    const earlier = out.length > 0 ? ` if none of ${out.map((entry) => `"${entry.name}"`).join(', ')} does` : '';
    out.push({ ...base, certainty: 'applies', reason: `"${candidate.name}" applies to ${to.text}${earlier}: ${verdict.why}` });
    break;
  }
  return out;
}

/**
 * The policy of `kind` for mail to `recipient`: the first of {@link policiesFor}. When it is `may-apply`, its reason
 * names the policy that applies otherwise.
 */
export function policyFor(snapshot: Snapshot, kind: PolicyKind, recipient: string, options: PolicyScopeOptions = {}): ApplyingPolicy {
  const list = policiesFor(snapshot, kind, recipient, options);
  const first = list[0] as ApplyingPolicy;
  if (first.certainty === 'may-apply' && list.length > 1) {
    return { ...first, reason: `${first.reason}; otherwise "${(list[1] as ApplyingPolicy).name}"`, assumptions: (list.at(-1) as ApplyingPolicy).assumptions };
  }
  return first;
}

/** One policy of a section, with the recipients (given as domains or addresses) it reaches. */
export interface PolicyReach extends PolicyScope {
  /** Recipients it applies to for certain. */
  applies: string[];
  /** Recipients it may apply to, with why. */
  mayApply: { recipient: string; reason: string }[];
  /** Why it reaches none of the recipients; null when it reaches some. */
  unreachable: string | null;
}

/**
 * For every policy in the kind's section: which of `recipients` it applies or may apply to, and why it reaches none
 * when it reaches none (its rule is off, it has no rule, its conditions match none of them, or policies before it
 * take every one it would match).
 */
export function policyReach(snapshot: Snapshot, kind: PolicyKind, recipients: readonly string[], options: PolicyScopeOptions = {}): PolicyReach[] {
  const model = buildModel(snapshot, kind);
  const assumptions = options.assumptions ?? {};
  const reach = new Map<number, PolicyReach>(model.scopes.map((scope) => [scope.index, { ...scope, applies: [], mayApply: [], unreachable: null }]));
  /** For policies whose own rule matches somewhere but never first: who takes it. */
  const shadowedBy = new Map<number, Set<string>>();
  for (const recipient of recipients) {
    const to = target(recipient);
    const list = chain(model, to, assumptions);
    for (const entry of list) {
      if (entry.index === null) continue;
      const item = reach.get(entry.index);
      if (!item) continue;
      if (entry.certainty === 'applies') item.applies.push(recipient);
      else item.mayApply.push({ recipient, reason: entry.reason });
    }
    const decided = list.at(-1);
    for (const candidate of model.candidates) {
      if (candidate.index === null || list.some((entry) => entry.index === candidate.index)) continue;
      if (evaluate(candidate, to, assumptions).result === 'no' || !decided) continue;
      const set = shadowedBy.get(candidate.index) ?? new Set<string>();
      set.add(decided.name);
      shadowedBy.set(candidate.index, set);
    }
  }
  const asked = recipients.length <= 4 ? recipients.join(', ') : `${recipients.slice(0, 3).join(', ')} or ${recipients.length - 3} more`;
  for (const item of reach.values()) {
    if (item.applies.length > 0 || item.mayApply.length > 0) continue;
    const before = shadowedBy.get(item.index);
    if (before) {
      const names = [...before].map((name) => `"${name}"`).join(', ');
      item.unreachable = `${names} appl${before.size === 1 ? 'ies' : 'y'} first to every recipient it would include${item.state === 'enabled' ? ` (${item.detail})` : ''}`;
    } else if (item.state === 'enabled') {
      item.unreachable = `its rule includes none of ${asked} (${item.detail})`;
    } else {
      item.unreachable = item.detail;
    }
  }
  return [...reach.values()];
}
