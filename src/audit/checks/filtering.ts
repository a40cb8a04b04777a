/**
 * Filtering that a bypass reaches: allow lists, Enhanced Filtering, anti-phishing, anti-spam (eop-behaviour.md §5, §6).
 */
import { normaliseDomain } from '../../eop/addresses.js';
import { compileIpList, formatIpv4Interval, ipv4Interval, subtractIntervals } from '../../eop/ip.js';
import { POLICY_SECTION, policyReach, type PolicyKind, type PolicyReach } from '../../eop/policy-scope.js';
import { isSet } from '../../eop/rule-predicates.js';
import type { Snapshot } from '../../snapshot/parse.js';
import { fail, ipv4Cover, notApplicable, pass, type AuditContext } from '../context.js';
import type { CheckOutcome, Evidence } from '../model.js';

type Check = (context: AuditContext) => CheckOutcome;
type Policy = Record<string, unknown>;

const nameOf = (policy: Policy, fallback: string) => String(policy.Name ?? policy.Identity ?? fallback);

/**
 * Applies `test` to every object of a section; each returns the evidence of what is wrong with it. A section the
 * snapshot does not hold makes the check not applicable (the export may not have had the licence or the role).
 */
function eachPolicy(
  context: AuditContext,
  section: 'AntiPhishPolicy' | 'HostedContentFilterPolicy' | 'HostedConnectionFilterPolicy',
  test: (policy: Policy, path: string) => Evidence[],
  passed: string,
  failed: (count: number) => string,
): CheckOutcome {
  const policies = context.snapshot[section] as Policy[];
  if (policies.length === 0) return notApplicable(`the snapshot holds no ${section}`);
  const evidence = policies.flatMap((policy, index) => test(policy, `${section}[${index}]`));
  const offending = new Set(evidence.map((entry) => entry.path.replace(/\].*$/, ']'))).size;
  return evidence.length > 0 ? fail(failed(offending), evidence) : pass(passed);
}

/**
 * Exchange Online's value for a property that is absent from the export: the "Default" column of Microsoft's
 * recommended settings (S29) and the cmdlet references (S27 anti-phishing, S28 anti-spam; eop-behaviour.md §6.4,
 * §6.5). PhishSpamAction: MoveToJmf in the default policy and in policies made in PowerShell (the portal uses
 * Quarantine for new ones).
 */
const EXCHANGE_DEFAULTS: Readonly<Record<string, unknown>> = {
  EnableSpoofIntelligence: true,
  HonorDmarcPolicy: true,
  DmarcRejectAction: 'Reject',
  DmarcQuarantineAction: 'Quarantine',
  AuthenticationFailAction: 'MoveToJmf',
  EnableMailboxIntelligence: true,
  BulkThreshold: 7,
  HighConfidenceSpamAction: 'MoveToJmf',
  PhishSpamAction: 'MoveToJmf',
  HighConfidencePhishAction: 'Quarantine',
};

/** The value Exchange Online uses: the exported one, else its default (undefined when neither is known). */
function effective(policy: Policy, property: string): unknown {
  const value = policy[property];
  return value === undefined || value === null ? EXCHANGE_DEFAULTS[property] : value;
}

/**
 * Evidence when the value Exchange Online uses for `policy[property]` is not one of `wanted`. A property absent from
 * the export is judged by Exchange Online's default, and the evidence says so rather than showing a value.
 */
function expect(policy: Policy, path: string, property: string, wanted: readonly unknown[], message: string, label: string): Evidence[] {
  const value = effective(policy, property);
  if (value === undefined || wanted.includes(value)) return [];
  const expected = wanted.map(String).join(' or ');
  const absent = policy[property] === undefined || policy[property] === null;
  return absent
    ? [{ path: `${path}.${property}`, expected, message: `${label}: ${property} is absent from the export (Exchange Online's default is ${String(value)}): ${message}` }]
    : [{ path: `${path}.${property}`, actual: policy[property], expected, message: `${label}: ${message}` }];
}

/** The recipients the audit asks about: each accepted domain (a `*.` pattern as its parent domain). */
function acceptedDomains(snapshot: Snapshot): string[] {
  return [...new Set(snapshot.AcceptedDomain.map((domain) => normaliseDomain(domain.DomainName.replace(/^\s*\*\./, ''))))];
}

const reachCache = new WeakMap<Snapshot, Map<PolicyKind, PolicyReach[]>>();
function reachOf(context: AuditContext, kind: PolicyKind): PolicyReach[] {
  let byKind = reachCache.get(context.snapshot);
  if (!byKind) reachCache.set(context.snapshot, (byKind = new Map()));
  let reach = byKind.get(kind);
  if (!reach) byKind.set(kind, (reach = policyReach(context.snapshot, kind, acceptedDomains(context.snapshot), { assumptions: context.assumptions })));
  return reach;
}

function listed(items: readonly string[]): string {
  return items.length <= 4 ? items.join(', ') : `${items.slice(0, 3).join(', ')} and ${items.length - 3} more`;
}

/** `applies to contoso.com; may apply to fabrikam.com: …`: whom a policy reaches. */
function reachText(item: PolicyReach): string {
  const parts: string[] = [];
  if (item.applies.length > 0) parts.push(item.source === 'default' ? `the default policy for ${listed(item.applies)}` : `applies to ${listed(item.applies)}`);
  if (item.mayApply.length > 0) {
    const why = item.state === 'enabled' ? `${item.detail}, which the snapshot cannot resolve` : item.detail;
    parts.push(`may apply to ${listed(item.mayApply.map((entry) => entry.recipient))}: ${why}`);
  }
  return parts.join('; ');
}

/**
 * Judges the policies of `kind` that apply, or may apply, to the recipients of some accepted domain
 * (src/eop/policy-scope.ts: presets, then custom policies by rule priority, then the default). Microsoft's Standard and
 * Strict preset policies are never judged (their settings are Microsoft's); a policy no recipient reaches is named as
 * such, not judged. A snapshot without the section makes the check not applicable (the export may not have had the
 * licence or the role).
 */
function judgeApplying(
  context: AuditContext,
  kind: PolicyKind,
  test: (policy: Policy, path: string, label: string) => Evidence[],
  passed: string,
  failed: (count: number) => string,
): CheckOutcome {
  const section = POLICY_SECTION[kind];
  const policies = context.snapshot[section] as Policy[];
  if (policies.length === 0) return notApplicable(`the snapshot holds no ${section}`);
  const evidence: Evidence[] = [];
  const notes: Evidence[] = [];
  const unreached: string[] = [];
  let offending = 0;
  for (const item of reachOf(context, kind)) {
    const path = `${section}[${item.index}]`;
    if (item.source === 'preset-strict' || item.source === 'preset-standard') {
      const level = item.source === 'preset-strict' ? 'Strict' : 'Standard';
      const reach = item.unreachable === null ? reachText(item) : `it reaches no accepted domain: ${item.unreachable}`;
      notes.push({ path, message: `"${item.name}" is the ${level} preset security policy, with Microsoft's ${level} settings: not judged (${reach})` });
      continue;
    }
    if (item.unreachable !== null) {
      unreached.push(`"${item.name}"`);
      notes.push({ path, message: `"${item.name}" is not judged: no recipient of an accepted domain reaches it (${item.unreachable})` });
      continue;
    }
    const found = test(policies[item.index] as Policy, path, `"${item.name}" (${reachText(item)})`);
    if (found.length > 0) offending++;
    evidence.push(...found);
  }
  const aside = unreached.length > 0 ? `; not judged, as no recipient reaches ${unreached.length === 1 ? 'it' : 'them'}: ${listed(unreached)}` : '';
  return evidence.length > 0 ? fail(`${failed(offending)}${aside}`, evidence) : pass(`${passed}${aside}`, notes);
}

export const FILTERING_CHECKS: Record<string, Check> = {
  'EOPL-019': (context) =>
    eachPolicy(
      context,
      'HostedContentFilterPolicy',
      (policy, path) =>
        ['AllowedSenders', 'AllowedSenderDomains'].flatMap((property) =>
          isSet(policy[property]) ? [{ path: `${path}.${property}`, actual: policy[property], expected: 'empty', message: `"${nameOf(policy, path)}" skips spam filtering for these` }] : [],
        ),
      'no anti-spam policy allows senders or domains',
      (count) => `${count} anti-spam polic${count === 1 ? 'y allows' : 'ies allow'} senders or domains`,
    ),

  'EOPL-020': (context) =>
    eachPolicy(
      context,
      'HostedConnectionFilterPolicy',
      (policy, path) => (isSet(policy.IPAllowList) ? [{ path: `${path}.IPAllowList`, actual: policy.IPAllowList, expected: 'empty', message: 'these addresses skip spam filtering' }] : []),
      'the IP Allow List is empty',
      () => 'the IP Allow List is not empty',
    ),

  'EOPL-021': (context) =>
    eachPolicy(
      context,
      'HostedConnectionFilterPolicy',
      (policy, path) => (policy.EnableSafeList === true ? [{ path: `${path}.EnableSafeList`, actual: true, expected: 'false', message: 'the Microsoft safe list skips spam filtering' }] : []),
      'the safe list is off',
      () => 'the safe list is on',
    ),

  'EOPL-022': (context) => {
    if (context.mxAtExchange === true) return notApplicable('the MX records point to Exchange Online: Enhanced Filtering is not needed');
    if (context.mxUnknown !== null) return notApplicable(`not evaluated: ${context.mxUnknown}, and Enhanced Filtering is needed only where it points away from Exchange Online`);
    if (!context.hasGateway) return notApplicable('no gateway in front of Exchange Online');
    const gateway = context.gateway;
    if (!gateway) return notApplicable('there is no gateway Partner connector (see EOPL-002)');
    const { item, index } = gateway;
    const path = `InboundConnector[${index}]`;
    if (item.EFSkipLastIP) return pass(`"${item.Name}" skips the last hop (EFSkipLastIP)`, [{ path: `${path}.EFSkipLastIP`, actual: true, message: 'Enhanced Filtering on' }]);
    if (item.EFSkipIPs.length === 0) {
      return fail(`Enhanced Filtering is off on "${item.Name}": Honor DMARC policy is not applied to mail through the gateway`, [
        { path: `${path}.EFSkipIPs`, actual: [], expected: 'the gateway\'s addresses', message: 'EFSkipLastIP is false and EFSkipIPs is empty, so Enhanced Filtering is off' },
      ]);
    }
    if (context.gatewayEntries.length === 0 || context.profile.ipsSource === `${path}.EFSkipIPs`) {
      return pass(`"${item.Name}" skip-lists ${item.EFSkipIPs.join(', ')}`);
    }
    const skipCover = ipv4Cover(compileIpList(item.EFSkipIPs).entries);
    const gatewayCover = ipv4Cover(context.gatewayEntries);
    const evidence: Evidence[] = [];
    for (const entry of context.gatewayEntries) {
      const interval = ipv4Interval(entry);
      const missing = interval ? subtractIntervals(interval, skipCover) : [];
      if (missing.length > 0) evidence.push({ path: `${path}.EFSkipIPs`, actual: item.EFSkipIPs, expected: `to include ${entry.text}`, message: `gateway address ${missing.map(formatIpv4Interval).join(', ')} is not skip-listed` });
    }
    item.EFSkipIPs.forEach((text, position) => {
      const entry = compileIpList([text]).entries[0];
      const interval = entry ? ipv4Interval(entry) : null;
      const extra = interval ? subtractIntervals(interval, gatewayCover) : [];
      if (extra.length > 0) evidence.push({ path: `${path}.EFSkipIPs[${position}]`, actual: text, message: `${extra.map(formatIpv4Interval).join(', ')} is not a gateway address: skipping it hides the real sender` });
    });
    return evidence.length > 0 ? fail('EFSkipIPs differs from the gateway\'s addresses', evidence) : pass('EFSkipIPs lists exactly the gateway\'s addresses');
  },

  'EOPL-023': (context) => {
    const gateway = context.gateway;
    if (!context.hasGateway || !gateway) return notApplicable('no gateway connector');
    const { item, index } = gateway;
    if (!item.EFSkipLastIP && item.EFSkipIPs.length === 0) return notApplicable('Enhanced Filtering is off (see EOPL-022)');
    return item.EFUsers.length > 0
      ? fail(`Enhanced Filtering on "${item.Name}" is limited to ${item.EFUsers.length} recipient(s)`, [
          { path: `InboundConnector[${index}].EFUsers`, actual: item.EFUsers, expected: 'empty (everyone)', message: 'mail to anyone else is filtered as if Enhanced Filtering were off' },
        ])
      : pass('Enhanced Filtering applies to every recipient');
  },

  'EOPL-024': (context) =>
    judgeApplying(
      context,
      'antiPhish',
      (p, path, label) => expect(p, path, 'EnableSpoofIntelligence', [true], 'spoof intelligence is off', label),
      'spoof intelligence is on in every anti-phishing policy that applies',
      (n) => `spoof intelligence is off in ${n} anti-phishing polic${n === 1 ? 'y that applies' : 'ies that apply'}`,
    ),

  'EOPL-025': (context) =>
    judgeApplying(
      context,
      'antiPhish',
      (p, path, label) => [
        ...expect(p, path, 'HonorDmarcPolicy', [true], 'the sending domain\'s DMARC policy is not honoured', label),
        ...(effective(p, 'HonorDmarcPolicy') === true ? expect(p, path, 'DmarcRejectAction', ['Reject'], 'DMARC p=reject failures are not rejected', label) : []),
        ...(effective(p, 'HonorDmarcPolicy') === true ? expect(p, path, 'DmarcQuarantineAction', ['Quarantine'], 'DMARC p=quarantine failures are not quarantined', label) : []),
      ],
      'every anti-phishing policy that applies honours DMARC',
      (n) => `${n} anti-phishing polic${n === 1 ? 'y that applies does' : 'ies that apply do'} not honour DMARC fully`,
    ),

  'EOPL-026': (context) =>
    judgeApplying(
      context,
      'antiPhish',
      (p, path, label) => expect(p, path, 'AuthenticationFailAction', ['Quarantine'], 'detected spoofs go to Junk', label),
      'every anti-phishing policy that applies quarantines detected spoofs',
      (n) => `${n} anti-phishing polic${n === 1 ? 'y that applies sends' : 'ies that apply send'} detected spoofs to Junk`,
    ),

  'EOPL-027': (context) =>
    judgeApplying(
      context,
      'antiPhishDefender',
      (p, path, label) => expect(p, path, 'EnableMailboxIntelligence', [true], 'mailbox intelligence is off', label),
      'mailbox intelligence is on in every anti-phishing policy that applies',
      (n) => `mailbox intelligence is off in ${n} anti-phishing polic${n === 1 ? 'y that applies' : 'ies that apply'}`,
    ),

  'EOPL-028': (context) =>
    judgeApplying(
      context,
      'antiSpam',
      (p, path, label) => {
        const threshold = effective(p, 'BulkThreshold');
        return typeof threshold === 'number' && threshold > 6 ? expect(p, path, 'BulkThreshold', [1, 2, 3, 4, 5, 6], `bulk mail up to BCL ${threshold} gets through`, label).map((entry) => ({ ...entry, expected: '6 or lower' })) : [];
      },
      'the bulk threshold is 6 or lower in every anti-spam policy that applies',
      (n) => `${n} anti-spam polic${n === 1 ? 'y that applies has' : 'ies that apply have'} a bulk threshold above 6`,
    ),

  'EOPL-029': (context) =>
    judgeApplying(
      context,
      'antiSpam',
      (p, path, label) => [
        ...expect(p, path, 'HighConfidenceSpamAction', ['Quarantine'], 'high-confidence spam is not quarantined', label),
        ...expect(p, path, 'PhishSpamAction', ['Quarantine'], 'phishing is not quarantined', label),
        ...expect(p, path, 'HighConfidencePhishAction', ['Quarantine'], 'high-confidence phishing is not quarantined', label),
      ],
      'every anti-spam policy that applies quarantines high-confidence spam and phishing',
      (n) => `${n} anti-spam polic${n === 1 ? 'y that applies does' : 'ies that apply do'} not quarantine high-confidence spam or phishing`,
    ),
};
