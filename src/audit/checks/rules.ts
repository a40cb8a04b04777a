/**
 * The safety-net transport rule and rules that bypass filtering (eop-behaviour.md §4, §11.2).
 */
import { compileIpList, formatIpv4Interval, ipv4Interval, subtractIntervals } from '../../eop/ip.js';
import { isSet } from '../../eop/rule-predicates.js';
import type { TransportRule } from '../../snapshot/schema.js';
import { blockingAction, fail, ipv4Cover, notApplicable, pass, type AuditContext, type Indexed } from '../context.js';
import type { CheckOutcome, Evidence } from '../model.js';

type Check = (context: AuditContext) => CheckOutcome;

const at = (index: number, property: string) => `TransportRule[${index}].${property}`;

function withSafetyNet(context: AuditContext, body: (rule: Indexed<TransportRule>) => CheckOutcome): CheckOutcome {
  if (!context.hasGateway) return notApplicable('no gateway in front of Exchange Online: no safety-net rule is needed');
  const [best] = context.safetyNets;
  if (!best) return notApplicable('there is no safety-net rule (see EOPL-013)');
  return body(best);
}

export const RULE_CHECKS: Record<string, Check> = {
  'EOPL-013': (context) => {
    if (!context.hasGateway) return notApplicable('no gateway in front of Exchange Online: no safety-net rule is needed');
    const [best] = context.safetyNets;
    if (!best) {
      return fail('no transport rule blocks mail that does not come from the gateway', [
        { path: 'TransportRule', actual: context.snapshot.TransportRule.length, message: 'no rule combines a reject, delete, quarantine or redirect action with ExceptIfSenderIpRanges' },
      ]);
    }
    return pass(`"${best.item.Name}" is the safety net`, [
      { path: at(best.index, 'Name'), actual: best.item.Name, message: `${blockingAction(best.item as Record<string, unknown>)} unless from listed addresses` },
    ]);
  },

  'EOPL-014': (context) =>
    withSafetyNet(context, ({ item, index }) => {
      const evidence: Evidence[] = [];
      if (item.State !== 'Enabled') evidence.push({ path: at(index, 'State'), actual: item.State, expected: 'Enabled', message: 'the rule is disabled' });
      if (item.Mode !== 'Enforce') evidence.push({ path: at(index, 'Mode'), actual: item.Mode, expected: 'Enforce', message: `${item.Mode} mode only logs: the rule protects nothing` });
      return evidence.length > 0 ? fail(`"${item.Name}" does not act`, evidence) : pass(`"${item.Name}" is enabled and enforced`);
    }),

  'EOPL-015': (context) =>
    withSafetyNet(context, ({ item, index }) => {
      const earlier = context.snapshot.TransportRule.map((rule, position) => ({ rule, position })).filter(
        ({ rule }) =>
          rule.State === 'Enabled' &&
          rule.Mode === 'Enforce' &&
          rule.Priority < item.Priority &&
          (rule.StopRuleProcessing || Number((rule as Record<string, unknown>).SetSCL) === -1 || blockingAction(rule as Record<string, unknown>) === 'redirect'),
      );
      if (earlier.length === 0) return pass(`"${item.Name}" (priority ${item.Priority}) runs before any rule that could pre-empt it`);
      return fail(`${earlier.length} rule(s) run before "${item.Name}" and can pre-empt it`, [
        { path: at(index, 'Priority'), actual: item.Priority, expected: `lower than ${Math.min(...earlier.map(({ rule }) => rule.Priority))}`, message: 'the safety net runs too late' },
        ...earlier.map(({ rule, position }) => ({
          path: at(position, 'Priority'),
          actual: rule.Priority,
          message: `"${rule.Name}" ${rule.StopRuleProcessing ? 'stops rule processing' : 'sets SCL -1'} before the safety net`,
        })),
      ]);
    }),

  'EOPL-016': (context) =>
    withSafetyNet(context, ({ item, index }) => {
      if (context.gatewayEntries.length === 0) return notApplicable('the gateway profile lists no addresses');
      const raw = item as Record<string, unknown>;
      const listed = Array.isArray(raw.ExceptIfSenderIpRanges) ? (raw.ExceptIfSenderIpRanges as string[]) : [];
      const cover = ipv4Cover(compileIpList(listed).entries);
      const v6 = compileIpList(listed).entries.filter((entry) => entry.family === 'ipv6');
      const evidence: Evidence[] = [];
      for (const entry of context.gatewayEntries) {
        const interval = ipv4Interval(entry);
        if (!interval) {
          if (!v6.some((candidate) => candidate.text === entry.text)) {
            evidence.push({ path: at(index, 'ExceptIfSenderIpRanges'), actual: listed, expected: `to include ${entry.text}`, message: `gateway address ${entry.text} is not excepted` });
          }
          continue;
        }
        const missing = subtractIntervals(interval, cover);
        if (missing.length > 0) {
          evidence.push({ path: at(index, 'ExceptIfSenderIpRanges'), actual: listed, expected: `to include ${entry.text}`, message: `gateway address ${missing.map(formatIpv4Interval).join(', ')} is not excepted: its mail is ${blockingAction(raw)}d` });
        }
      }
      return evidence.length > 0 ? fail(`"${item.Name}" does not except every gateway address`, evidence) : pass(`"${item.Name}" excepts every gateway address`);
    }),

  'EOPL-017': (context) =>
    withSafetyNet(context, ({ item, index }) => {
      const raw = item as Record<string, unknown>;
      if (raw.FromScope !== 'NotInOrganization') return pass(`"${item.Name}" does not depend on FromScope NotInOrganization`);
      const spoof = context.proof.find((entry) => entry.id === 'foreign-p1-internal-from') ?? context.proof.find((entry) => entry.id === 'direct-send-spoof');
      const evaluation = spoof?.verdict.rules.find((rule) => rule.name === item.Name);
      return fail(`"${item.Name}" applies only to FromScope NotInOrganization, which an anonymous spoof of your own domain is not`, [
        {
          path: at(index, 'FromScope'),
          actual: 'NotInOrganization',
          expected: 'no FromScope (apply to all messages)',
          message:
            `a spoof of ${spoof?.transaction.headers && Array.isArray(spoof.transaction.headers) ? spoof.transaction.headers.find((h) => h.name === 'From')?.value : 'an internal sender'} sent straight to EOP ` +
            `is neither in nor outside the organisation: the rule ${evaluation?.matched ? 'matched' : 'did not match'} it in the emulator`,
          ...(spoof ? { transaction: spoof.transaction, verdict: spoof.verdict } : {}),
        },
      ]);
    }),

  'EOPL-018': ({ snapshot }) => {
    const evidence: Evidence[] = [];
    snapshot.TransportRule.forEach((rule, index) => {
      const raw = rule as Record<string, unknown>;
      if (rule.State !== 'Enabled' || !isSet(raw.SetSCL) || Number(raw.SetSCL) !== -1) return;
      const scope = describeScope(raw);
      evidence.push({ path: at(index, 'SetSCL'), actual: -1, message: `"${rule.Name}" (${rule.Mode}) bypasses spam filtering for ${scope}` });
    });
    return evidence.length > 0 ? fail(`${evidence.length} enabled rule(s) set SCL -1`, evidence) : pass('no enabled rule sets SCL -1');
  },
};

function describeScope(rule: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const name of ['SenderIpRanges', 'SenderDomainIs', 'From', 'FromScope', 'HeaderContainsMessageHeader', 'HeaderMatchesMessageHeader']) {
    if (isSet(rule[name])) parts.push(`${name} ${JSON.stringify(rule[name])}`);
  }
  return parts.length > 0 ? parts.join(', ') : 'every message';
}
