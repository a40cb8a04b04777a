/**
 * The safety-net transport rule and rules that bypass filtering (eop-behaviour.md §4, §11.2).
 */
import { compileIpList, formatIpv4Interval, ipv4Interval, parseIpEntry, subtractIntervals, type IpEntry } from '../../eop/ip.js';
import { asList, isSet } from '../../eop/rule-predicates.js';
import type { TransportRule } from '../../snapshot/schema.js';
import {
  authAsValuesLetThrough,
  blockingAction,
  fail,
  intersectIntervals,
  ipv4Blocks,
  ipv4Cover,
  ipv4Outside,
  ipv6Covered,
  notApplicable,
  pass,
  type AuditContext,
  type HeaderNetException,
  type Indexed,
  type NetException,
} from '../context.js';
import type { CheckOutcome, Evidence } from '../model.js';

type Check = (context: AuditContext) => CheckOutcome;

const at = (index: number, property: string) => `TransportRule[${index}].${property}`;

function withSafetyNet(context: AuditContext, body: (rule: Indexed<TransportRule>) => CheckOutcome): CheckOutcome {
  if (!context.hasGateway) return notApplicable('no gateway in front of Exchange Online: no safety-net rule is needed');
  const [best] = context.safetyNets;
  if (!best) return notApplicable('there is no safety-net rule (see EOPL-013)');
  return body(best);
}

/** An exception in words: `the sender address is in 203.0.113.10, …` or `X-MS-Exchange-Organization-AuthAs contains "Internal"`. */
export function exceptionText(exception: NetException): string {
  if (exception.kind === 'sender-ip') return `the sender address is in ${exception.entries.join(', ')}`;
  const verb = exception.property === 'ExceptIfHeaderContainsMessageHeader' ? 'contains' : 'matches';
  return `${exception.header} ${verb} ${exception.tests.map((test) => `"${test}"`).join(' or ')}`;
}

const exceptionsOf = (context: AuditContext, index: number): NetException[] => context.safetyNetExceptions.get(index) ?? [];

/** Every address of an IPv6 entry: what `::/0` stands for. */
const ALL_IPV6 = parseIpEntry('::/0') as IpEntry;
const ALL_IPV4: [number, number] = [0, 2 ** 32 - 1];

/** The senders a rule's SenderIpRanges condition applies to; null when the rule has none (it applies to every sender). */
function senderScope(rule: TransportRule): { listed: string[]; ipv4: [number, number][]; ipv6: IpEntry[] } | null {
  const raw = rule as Record<string, unknown>;
  if (!isSet(raw.SenderIpRanges)) return null;
  const listed = asList(raw.SenderIpRanges);
  const entries = compileIpList(listed).entries;
  return { listed, ipv4: ipv4Cover(entries), ipv6: entries.filter((entry) => entry.family === 'ipv6') };
}

/** At most `limit` items, then how many more. */
function listed(items: readonly string[], limit = 8): string {
  return items.length <= limit ? items.join(', ') : `${items.slice(0, limit).join(', ')} and ${items.length - limit} more`;
}

const addressCount = (intervals: readonly (readonly [number, number])[]) => intervals.reduce((sum, [low, high]) => sum + high - low + 1, 0);

export const RULE_CHECKS: Record<string, Check> = {
  'EOPL-013': (context) => {
    if (!context.hasGateway) return notApplicable('no gateway in front of Exchange Online: no safety-net rule is needed');
    const [best] = context.safetyNets;
    if (!best) {
      return fail('no transport rule blocks mail that does not come from the gateway', [
        {
          path: 'TransportRule',
          actual: context.snapshot.TransportRule.length,
          message:
            'no rule without a content condition combines a reject, delete, quarantine or redirect action with an exception that ' +
            'lets the gateway through (ExceptIfSenderIpRanges, X-MS-Exchange-Organization-AuthAs, or a header the gateway stamps)',
        },
      ]);
    }
    const exceptions = exceptionsOf(context, best.index);
    return pass(`"${best.item.Name}" is the safety net`, [
      {
        path: at(best.index, 'Name'),
        actual: best.item.Name,
        message: `${blockingAction(best.item as Record<string, unknown>)} unless ${exceptions.map(exceptionText).join(', or ')}`,
      },
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
      const raw = item as Record<string, unknown>;
      const exceptions = exceptionsOf(context, index);
      // A header the gateway stamps lets all of its mail through, from whichever address (EOPL-035 judges the header).
      const stamped = exceptions.filter(
        (exception): exception is HeaderNetException => exception.kind === 'sender-header' && exception.satisfiedBy !== null,
      );
      if (stamped.length > 0) {
        return pass(`"${item.Name}" lets the gateway's mail through by the header it stamps (see EOPL-035)`, stamped.map((exception) => ({
          path: at(index, exception.property),
          actual: exception.header,
          message: `the gateway's mail carries ${exceptionText(exception)}`,
        })));
      }
      if (context.gatewayEntries.length === 0) return notApplicable('the gateway profile lists no addresses');
      const ipException = exceptions.find((exception) => exception.kind === 'sender-ip');
      const list = ipException?.kind === 'sender-ip' ? ipException.entries : [];
      const excepted = compileIpList(list).entries;
      const cover = ipv4Cover(excepted);
      // A gateway address outside the rule's SenderIpRanges condition is never blocked by it (EOPL-037 says what the
      // condition leaves out), so it needs no exception.
      const scope = senderScope(item);
      const evidence: Evidence[] = [];
      for (const entry of context.gatewayEntries) {
        const interval = ipv4Interval(entry);
        if (!interval) {
          if (scope && scope.ipv6.length === 0) continue;
          if (!ipv6Covered(entry, excepted)) {
            evidence.push({ path: at(index, 'ExceptIfSenderIpRanges'), actual: list, expected: `to include ${entry.text}`, message: `gateway address ${entry.text} is not excepted: its mail is ${blockingAction(raw)}d` });
          }
          continue;
        }
        const uncovered = subtractIntervals(interval, cover);
        const missing = scope ? uncovered.flatMap((part) => intersectIntervals(part, scope.ipv4)) : uncovered;
        if (missing.length > 0) {
          evidence.push({ path: at(index, 'ExceptIfSenderIpRanges'), actual: list, expected: `to include ${entry.text}`, message: `gateway address ${missing.map(formatIpv4Interval).join(', ')} is not excepted: its mail is ${blockingAction(raw)}d` });
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

  'EOPL-035': (context) =>
    withSafetyNet(context, ({ item, index }) => {
      const evidence: Evidence[] = [];
      for (const exception of exceptionsOf(context, index)) {
        if (exception.kind === 'sender-header') {
          const value = exception.satisfiedBy ?? `a value ${exception.property === 'ExceptIfHeaderContainsMessageHeader' ? 'containing' : 'matching'} ${exception.tests.map((test) => `"${test}"`).join(' or ')}`;
          evidence.push({
            path: at(index, exception.property),
            actual: { [exception.property]: exception.header, [exception.testsProperty]: exception.tests },
            expected: 'an exception no outside sender can meet: the gateway\'s addresses (ExceptIfSenderIpRanges) or X-MS-Exchange-Organization-AuthAs containing Internal',
            message:
              `an attacker who adds the header "${exception.header}: ${value}" to mail sent straight to EOP is let through: ` +
              `EOP keeps the headers a sender writes and removes only X-MS-Exchange-Organization-* headers (S33)`,
          });
        } else if (exception.kind === 'authas') {
          const letThrough = authAsValuesLetThrough(exception);
          if (!letThrough.includes('Anonymous')) continue;
          evidence.push({
            path: at(index, exception.property),
            actual: { [exception.property]: exception.header, [exception.testsProperty]: exception.tests },
            expected: 'X-MS-Exchange-Organization-AuthAs containing Internal only',
            message: `the exception lets through AuthAs ${letThrough.join(', ')}: EOP stamps Anonymous on every message sent straight to it (§1.4), so every such message is let through`,
          });
        }
      }
      return evidence.length > 0
        ? fail(`"${item.Name}" lets through mail any outside sender can send`, evidence)
        : pass(`"${item.Name}" has no exception an outside sender can meet`);
    }),

  'EOPL-036': (context) =>
    withSafetyNet(context, ({ item, index }) => {
      const ipException = exceptionsOf(context, index).find((exception) => exception.kind === 'sender-ip');
      if (ipException?.kind !== 'sender-ip') return notApplicable(`"${item.Name}" excepts no sender addresses`);
      if (context.gatewayEntries.length === 0) return notApplicable('the gateway profile lists no addresses');
      // Addresses the tenant knows a sender at: the gateway's, and those of its enabled connectors (scanners, hybrid).
      const known = [
        ...context.gatewayEntries,
        ...context.snapshot.InboundConnector.filter((connector) => connector.Enabled).flatMap((connector) => compileIpList(connector.SenderIPAddresses).entries),
      ];
      const knownCover = ipv4Cover(known);
      const evidence: Evidence[] = [];
      compileIpList(ipException.entries).entries.forEach((entry) => {
        const position = ipException.entries.indexOf(entry.text);
        const path = `${at(index, 'ExceptIfSenderIpRanges')}[${position}]`;
        if (entry.family === 'ipv6') {
          if (!ipv6Covered(entry, known)) evidence.push({ path, actual: entry.text, message: `${entry.text} is neither the gateway's nor a connector's: mail from any address in it is let through` });
          return;
        }
        const extra = ipv4Outside([entry], knownCover);
        if (extra.length === 0) return;
        const count = addressCount(extra);
        evidence.push({
          path,
          actual: entry.text,
          expected: 'only the gateway\'s addresses (and those of connectors for known senders)',
          message: `${entry.text} lets through ${count.toLocaleString('en-US')} address${count === 1 ? '' : 'es'} that are neither the gateway's nor a connector's: ${listed(extra.flatMap(ipv4Blocks))}`,
        });
      });
      return evidence.length > 0
        ? fail(`"${item.Name}" excepts addresses beyond the gateway's`, evidence)
        : pass(`"${item.Name}" excepts only the gateway's addresses and those of the tenant's connectors`);
    }),

  'EOPL-037': (context) =>
    withSafetyNet(context, ({ item, index }) => {
      const scope = senderScope(item);
      if (!scope) return pass(`"${item.Name}" has no sender-address condition: it applies to IPv4 and IPv6 senders alike`);
      const action = blockingAction(item as Record<string, unknown>);
      const path = at(index, 'SenderIpRanges');
      const expected = 'no SenderIpRanges condition (apply the rule to all messages)';
      const evidence: Evidence[] = [];
      if (scope.ipv6.length === 0) {
        evidence.push({ path, actual: scope.listed, expected, message: `IPv6 senders are not covered: the rule applies only to senders in ${scope.listed.join(', ')}, so mail that reaches EOP over IPv6 is never ${action}d` });
      } else if (!ipv6Covered(ALL_IPV6, scope.ipv6)) {
        evidence.push({ path, actual: scope.listed, expected, message: `IPv6 senders outside ${scope.ipv6.map((entry) => entry.text).join(', ')} are not covered: their mail is never ${action}d` });
      }
      const ipv4Gaps = subtractIntervals(ALL_IPV4, scope.ipv4);
      if (ipv4Gaps.length > 0) {
        evidence.push({ path, actual: scope.listed, expected, message: `IPv4 senders in ${listed(ipv4Gaps.flatMap(ipv4Blocks))} are not covered: their mail is never ${action}d` });
      }
      return evidence.length > 0
        ? fail(`"${item.Name}" does not apply to every sender`, evidence)
        : pass(`"${item.Name}" applies to every IPv4 and IPv6 sender`);
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
