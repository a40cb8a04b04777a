/**
 * Headers regions the configuration treats alike for one client IP region (the search's fourth pruning, exact): one
 * of each group is decided, and its verdict counts for the whole group.
 *
 * What reads the headers region of a class (src/eop/stages.ts, compiled-rules.ts, rule-predicates.ts): the DATA stage
 * (a From header, and whether any header is given at all), the header firewall (X-MS-Exchange-Organization-* headers,
 * AuthAs), Enhanced Filtering (the Received chain), the transport rules' HeaderContains / HeaderMatches predicates
 * (no other predicate reads a header), and the search itself (a source's legitimate headers region). A region is
 * *plain* when it sets no header the first three read; the empty region and the legitimate ones stay alone. Two
 * plain regions are alike when every rule gives the same answer for both in every context, or differs only in rules
 * whose one effect is the same kind of SCL, in the same place among the rules that could change it:
 * - A rule that reads anything but plain headers (an address, a sender, a recipient, an organisation header; or a
 *   predicate eoplock does not evaluate) must give the same answer for its header predicates on both regions; so must
 *   a blocking rule that reads only plain headers, whose exception that matched a cause names.
 * - A rule that reads only plain headers matches or not by the region alone. Such rules that match one region and
 *   not the other may only set an SCL of 0 or more in Enforce mode, or do nothing in another mode: no reject, delete,
 *   quarantine, stop, or SCL -1, which a cause names or which changes what follows. Of those, the last that sets an SCL
 *   decides the SCL the rules leave, and what follows the rules reads only whether it is -1, 5 or more, or else (the
 *   spam verdict left incomplete, the tenant allow): the regions must agree on that, and no rule that could match in
 *   this address region and that would give another answer (another SCL, or a stop) may lie between their rules.
 * Rules an inert rule (isInertRule) or a rule that cannot match for the address region (its SenderIpRanges condition
 * or exception) take no part. A cause names no such SCL rule (prove.ts rulesPart), so the verdicts of two alike regions
 * give the same finding; the prune test compares with deciding every region.
 */
import type { Assumptions } from '../eop/assumptions.js';
import { CompiledRules, isInertRule, type CompiledRule } from '../eop/compiled-rules.js';
import { parseIp } from '../eop/ip.js';
import { configuredPredicates, evaluatePredicate, type ConfiguredPredicate, type RuleContext } from '../eop/rule-predicates.js';
import type { Snapshot } from '../snapshot/parse.js';
import type { DerivedClassSpace } from './classes.js';
import { groupPositions } from './grouping.js';

const HEADER_PARAMETERS = new Set(['HeaderContainsMessageHeader', 'HeaderMatchesMessageHeader']);
const ORGANIZATION_PREFIX = 'x-ms-exchange-organization-';

/** A header name only rules read: not From, Received or an organisation header. */
function plainName(name: string): boolean {
  const lower = name.trim().toLowerCase();
  return lower !== 'from' && lower !== 'received' && !lower.startsWith(ORGANIZATION_PREFIX);
}

const baseParameter = (predicate: ConfiguredPredicate): string => predicate.definition?.parameters[0] ?? '';

/** A header predicate on a plain header: its answer depends on the headers region alone. */
function plainHeaderPredicate(predicate: ConfiguredPredicate): boolean {
  return HEADER_PARAMETERS.has(baseParameter(predicate)) && plainName(String(predicate.values[0] ?? ''));
}

/** The answer of one predicate in a context with only `headers` and the client address set (true, false or null). */
const answer = (predicate: ConfiguredPredicate, context: RuleContext): boolean | null => evaluatePredicate(predicate, context).matched;

type SclClass = 'minus-one' | 'spam' | 'other';
const sclClass = (scl: number): SclClass => (scl === -1 ? 'minus-one' : scl >= 5 ? 'spam' : 'other');

interface RuleShape {
  rule: CompiledRule;
  conditions: ConfiguredPredicate[];
  exceptions: ConfiguredPredicate[];
  /** Every predicate is a header predicate on a plain header (and the fast path evaluates it as such). */
  headerOnly: boolean;
  /** Its header predicates (conditions then exceptions), for a rule that is not header-only. */
  headerPredicates: ConfiguredPredicate[];
  /** When it matches: it only sets an SCL of 0 or more (Enforce), or it does nothing (another mode). */
  quiet: boolean;
}

/** The groups of headers regions per client IP region: each a list of region positions, the first the lowest. */
export type HeaderGroupsOf = (clientIp: number) => readonly (readonly number[])[];

/** `compiled`: the snapshot's rules compiled under `assumptions`, when the caller has them. */
export function headerGroups(snapshot: Snapshot, assumptions: Assumptions, space: DerivedClassSpace, compiled = new CompiledRules(snapshot.TransportRule, assumptions)): HeaderGroupsOf {
  const shapes: RuleShape[] = [];
  for (const rule of compiled.rules) {
    if (isInertRule(rule)) continue;
    const { conditions, exceptions } = configuredPredicates(rule.rule as Record<string, unknown>);
    const all = [...conditions, ...exceptions];
    const headerOnly = rule.generic === 'never' && !rule.staticNull && all.every(plainHeaderPredicate);
    const quiet =
      !rule.stop && rule.outcome === null && (rule.mode === 'Enforce' ? rule.scl !== null && rule.scl >= 0 : true) && rule.generic === 'never' && !rule.staticNull;
    shapes.push({ rule, conditions, exceptions, headerOnly, headerPredicates: all.filter((predicate) => HEADER_PARAMETERS.has(baseParameter(predicate))), quiet });
  }
  const regionHeaders = space.headers.map((region) => Object.entries(region.value).map(([name, value]) => ({ name, value })));
  const plain = space.headers.map((_, position) => position !== 0 && position !== space.gatewayHeaders && (regionHeaders[position] ?? []).every((field) => plainName(field.name)));
  const contextOf = (position: number, clientIp: string): RuleContext => {
    const address = parseIp(clientIp);
    return { headers: regionHeaders[position] ?? [], clientIp: address, clientIpText: clientIp } as unknown as RuleContext;
  };

  // What does not depend on the address region: each plain region's answers for the header predicates of the rules
  // that read more than headers, and which header-only rules it matches.
  const sameEverywhere: string[] = [];
  const matchedBy: number[][] = [];
  space.headers.forEach((_, position) => {
    if (!plain[position]) return;
    const context = contextOf(position, '0.0.0.0');
    const answers: string[] = [];
    const matched: number[] = [];
    let known = true;
    shapes.forEach((shape, index) => {
      if (shape.headerOnly) {
        const conditions = shape.conditions.map((predicate) => answer(predicate, context));
        const exceptions = shape.exceptions.map((predicate) => answer(predicate, context));
        // The fast path answers every such predicate; were one not answered here, the region stays alone.
        if (conditions.includes(null) || exceptions.includes(null)) known = false;
        else if (conditions.every((holds) => holds) && !exceptions.some((holds) => holds)) matched.push(index);
        // A cause names why a blocking rule did not act (its exception that matched): each answer counts.
        if (shape.rule.outcome !== null) answers.push([...conditions, ...exceptions].map(String).join(','));
      } else if (shape.headerPredicates.length > 0) {
        answers.push(shape.headerPredicates.map((predicate) => String(answer(predicate, context))).join(','));
      }
    });
    if (!known) plain[position] = false;
    sameEverywhere[position] = answers.join('|');
    matchedBy[position] = matched;
  });

  const byRegion = new Map<number, readonly (readonly number[])[]>();
  return (clientIp) => {
    let groups = byRegion.get(clientIp);
    if (groups) return groups;
    const address = space.clientIp[clientIp]?.value ?? '0.0.0.0';
    const context = contextOf(0, address);
    // The rules that could match in this address region and that would give the rules another ending or SCL class.
    const possible = shapes.map((shape) => {
      for (const predicate of shape.conditions) if (baseParameter(predicate) === 'SenderIpRanges' && answer(predicate, context) === false) return false;
      for (const predicate of shape.exceptions) if (baseParameter(predicate) === 'SenderIpRanges' && answer(predicate, context) === true) return false;
      return true;
    });
    const cutsFor = (kind: SclClass): number[] =>
      shapes
        .filter((shape, index) => possible[index] && !shape.headerOnly && (shape.rule.stop || (shape.rule.mode === 'Enforce' && shape.rule.scl !== null && sclClass(shape.rule.scl) !== kind)))
        .map((shape) => shape.rule.order);
    const cuts = new Map<SclClass, number[]>();
    const keyOf = (position: number): string => {
      if (!plain[position]) return `alone ${position}`;
      const matched = matchedBy[position] ?? [];
      const exact = `${sameEverywhere[position]}#${matched.join(',')}`;
      if (!matched.every((index) => shapes[index]?.quiet)) return exact;
      const setting = matched.map((index) => shapes[index] as RuleShape).filter((shape) => shape.rule.mode === 'Enforce' && shape.rule.scl !== null);
      if (setting.length === 0) return `${sameEverywhere[position]}#none`;
      const first = (setting[0] as RuleShape).rule.order;
      const last = (setting[setting.length - 1] as RuleShape).rule;
      const kind = sclClass(last.scl as number);
      let between = cuts.get(kind);
      if (!between) cuts.set(kind, (between = cutsFor(kind)));
      if (between.some((order) => order > first && order < last.order)) return exact;
      return `${sameEverywhere[position]}#${kind}@${between.filter((order) => order < first).length}`;
    };
    groups = groupPositions(space.headers.length, keyOf);
    byRegion.set(clientIp, groups);
    return groups;
  };
}
