/**
 * Filtering that a bypass reaches: allow lists, Enhanced Filtering, anti-phishing, anti-spam (eop-behaviour.md §5, §6).
 */
import { compileIpList, formatIpv4Interval, ipv4Interval, subtractIntervals } from '../../eop/ip.js';
import { isSet } from '../../eop/rule-predicates.js';
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

/** Evidence when `policy[property]` is not one of `wanted` (absent properties are not judged). */
function expect(policy: Policy, path: string, property: string, wanted: readonly unknown[], message: string): Evidence[] {
  if (!(property in policy) || policy[property] === null) return [];
  return wanted.includes(policy[property])
    ? []
    : [{ path: `${path}.${property}`, actual: policy[property], expected: wanted.map(String).join(' or '), message: `"${nameOf(policy, path)}": ${message}` }];
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
    eachPolicy(context, 'AntiPhishPolicy', (p, path) => expect(p, path, 'EnableSpoofIntelligence', [true], 'spoof intelligence is off'), 'spoof intelligence is on', (n) => `spoof intelligence is off in ${n} polic${n === 1 ? 'y' : 'ies'}`),

  'EOPL-025': (context) =>
    eachPolicy(
      context,
      'AntiPhishPolicy',
      (p, path) => [
        ...expect(p, path, 'HonorDmarcPolicy', [true], 'the sending domain\'s DMARC policy is not honoured'),
        ...(p.HonorDmarcPolicy === true ? expect(p, path, 'DmarcRejectAction', ['Reject'], 'DMARC p=reject failures are not rejected') : []),
        ...(p.HonorDmarcPolicy === true ? expect(p, path, 'DmarcQuarantineAction', ['Quarantine'], 'DMARC p=quarantine failures are not quarantined') : []),
      ],
      'DMARC policies are honoured',
      (n) => `${n} polic${n === 1 ? 'y does' : 'ies do'} not honour DMARC fully`,
    ),

  'EOPL-026': (context) =>
    eachPolicy(context, 'AntiPhishPolicy', (p, path) => expect(p, path, 'AuthenticationFailAction', ['Quarantine'], 'detected spoofs go to Junk'), 'detected spoofs are quarantined', (n) => `${n} polic${n === 1 ? 'y sends' : 'ies send'} spoofs to Junk`),

  'EOPL-027': (context) =>
    eachPolicy(context, 'AntiPhishPolicy', (p, path) => expect(p, path, 'EnableMailboxIntelligence', [true], 'mailbox intelligence is off'), 'mailbox intelligence is on', (n) => `mailbox intelligence is off in ${n} polic${n === 1 ? 'y' : 'ies'}`),

  'EOPL-028': (context) =>
    eachPolicy(
      context,
      'HostedContentFilterPolicy',
      (p, path) =>
        typeof p.BulkThreshold === 'number' && p.BulkThreshold > 6
          ? [{ path: `${path}.BulkThreshold`, actual: p.BulkThreshold, expected: '6 or lower', message: `"${nameOf(p, path)}" lets bulk mail up to BCL ${p.BulkThreshold} through` }]
          : [],
      'the bulk threshold is 6 or lower',
      (n) => `${n} polic${n === 1 ? 'y has' : 'ies have'} a bulk threshold above 6`,
    ),

  'EOPL-029': (context) =>
    eachPolicy(
      context,
      'HostedContentFilterPolicy',
      (p, path) => [
        ...expect(p, path, 'HighConfidenceSpamAction', ['Quarantine'], 'high-confidence spam is not quarantined'),
        ...expect(p, path, 'PhishSpamAction', ['Quarantine'], 'phishing is not quarantined'),
        ...expect(p, path, 'HighConfidencePhishAction', ['Quarantine'], 'high-confidence phishing is not quarantined'),
      ],
      'high-confidence spam and phishing are quarantined',
      (n) => `${n} polic${n === 1 ? 'y does' : 'ies do'} not quarantine high-confidence spam or phishing`,
    ),
};
