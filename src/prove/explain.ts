/**
 * Why a transport rule did not act, for a cause, without a traced decision: the first condition that does not match,
 * or the first exception that matches (what rules.ts's reasons say), read from the fast path of a shadow policy.
 *
 * The shadow snapshot is the snapshot with, right after each rule to explain, one rule per predicate of it (each
 * condition and each exception, as a condition of its own), in Audit mode and without actions. A rule that does not
 * match takes no action, and Audit-mode rules without StopRuleProcessing change nothing, so every rule sees what it
 * sees in the real snapshot, and each shadow rule sees what the rule it explains saw: its answer is that predicate's
 * answer for this transaction. Predicates are evaluated independently of each other (rule-predicates.ts), so:
 * - the first condition that does not match is the first condition whose shadow is not matched (false);
 * - with no condition false and the rule not matched, an exception matched: the first whose shadow matched.
 * A predicate not evaluated (null) is skipped, as rules.ts's first "✗" skips it. Anything else (the rule was not
 * evaluated, a shadow missing) returns null, and the caller decides with the trace instead.
 */
import { compile, type CompiledPolicy } from '../eop/compile.js';
import { configuredPredicates } from '../eop/rule-predicates.js';
import type { Assumptions } from '../eop/assumptions.js';
import type { Transaction, Verdict } from '../eop/types.js';
import type { Snapshot } from '../snapshot/parse.js';
import type { TransportRule } from '../snapshot/schema.js';

/** Why a rule that did not match did not: its first failing condition or first matching exception, as a cause names it. */
export type RuleReason = { kind: 'condition' | 'exception'; predicate: string };

interface Shadowed {
  conditions: { name: string; predicate: string }[];
  exceptions: { name: string; predicate: string }[];
}

/** The predicate a rules.ts reason names (`header X-Foo`, `SenderIpRanges`, `FromScope`…): the cause's wording. */
export function predicateOf(reason: string): string {
  const text = reason.replace(/^[✓✗?] (condition|exception) /, '');
  return /^(header \S+|[A-Za-z]+)/.exec(text)?.[1] ?? text.slice(0, 40);
}

const HEADER_PREDICATES = new Set(['HeaderContainsMessageHeader', 'HeaderMatchesMessageHeader']);

export class RuleExplainer {
  private readonly policy: CompiledPolicy;
  private readonly shadows = new Map<string, Shadowed>();
  /** Where each rule was last found in a verdict's rule list. */
  private readonly positions = new Map<string, number>();
  /** The reasons, per shared rule list and list of names asked for (null: the shadow cannot tell). */
  private readonly results = new WeakMap<object, WeakMap<readonly string[], Map<string, RuleReason> | null>>();

  /** `explained`: the names of the rules whose reasons may be asked for. */
  constructor(snapshot: Snapshot, assumptions: Assumptions, explained: ReadonlySet<string>) {
    const ordered = [...snapshot.TransportRule].sort((a, b) => a.Priority - b.Priority);
    const rules: TransportRule[] = [];
    let serial = 0;
    for (const rule of ordered) {
      rules.push({ ...rule, Priority: rules.length });
      if (!explained.has(rule.Name) || this.shadows.has(rule.Name) || rule.State !== 'Enabled') continue;
      const raw = rule as Record<string, unknown>;
      const shadowed: Shadowed = { conditions: [], exceptions: [] };
      const { conditions, exceptions } = configuredPredicates(raw);
      for (const [prefix, list, into] of [
        ['', conditions, shadowed.conditions],
        ['ExceptIf', exceptions, shadowed.exceptions],
      ] as const) {
        for (const predicate of list) {
          const base = predicate.parameter.slice(prefix.length);
          // The predicate and its companions (HeaderContainsWords beside HeaderContainsMessageHeader…), as a condition.
          const fields: Record<string, unknown> = {};
          for (const parameter of predicate.definition?.parameters ?? [base]) {
            const source = parameter === 'SenderAddressLocation' ? parameter : `${prefix}${parameter}`;
            if (raw[source] !== undefined) fields[parameter] = raw[source];
          }
          const name = `eoplock explains ${serial++}`;
          rules.push({ Name: name, Priority: rules.length, State: 'Enabled', Mode: 'Audit', ...fields } as unknown as TransportRule);
          const label = predicateOf(HEADER_PREDICATES.has(base) ? `header ${String(raw[predicate.parameter])} ` : `${base} `);
          into.push({ name, predicate: label });
        }
      }
      this.shadows.set(rule.Name, shadowed);
    }
    this.policy = compile({ ...snapshot, TransportRule: rules }, assumptions);
  }

  /** Why each of `names` did not match for this transaction; null when the shadow cannot tell (decide with the trace). */
  reasons(transaction: Transaction, names: readonly string[]): Map<string, RuleReason> | null {
    const verdict = this.policy.decide(transaction, { trace: false });
    // The fast path shares one frozen rule list among the verdicts whose rules changed alike: the reasons are
    // remembered per list and list of names (the caller keeps its lists of names).
    const shared = Object.isFrozen(verdict.rules);
    let known = shared ? this.results.get(verdict.rules) : undefined;
    if (known?.has(names)) return known.get(names) ?? null;
    const result = this.read(verdict.rules, names);
    if (shared) {
      if (!known) this.results.set(verdict.rules, (known = new WeakMap()));
      known.set(names, result);
    }
    return result;
  }

  /**
   * A rule's answer in a verdict's rule list (undefined: not in it). The list holds the rules in their order, so a
   * rule is found where it was last seen, checked by name.
   */
  private answer(rules: Verdict['rules'], name: string): Verdict['rules'][number]['matched'] | undefined {
    const at = this.positions.get(name);
    if (at !== undefined && rules[at]?.name === name) return (rules[at] as Verdict['rules'][number]).matched;
    for (let index = 0; index < rules.length; index++) {
      const evaluation = rules[index] as Verdict['rules'][number];
      if (evaluation.name === name) {
        this.positions.set(name, index);
        return evaluation.matched;
      }
    }
    return undefined;
  }

  private read(rules: Verdict['rules'], names: readonly string[]): Map<string, RuleReason> | null {
    const answer = (name: string) => this.answer(rules, name);
    const result = new Map<string, RuleReason>();
    for (const name of names) {
      const shadowed = this.shadows.get(name);
      if (!shadowed || answer(name) !== false) return null;
      const failed = shadowed.conditions.find((entry) => answer(entry.name) === false);
      if (failed) {
        result.set(name, { kind: 'condition', predicate: failed.predicate });
        continue;
      }
      if (shadowed.conditions.some((entry) => answer(entry.name) === undefined)) return null;
      const matched = shadowed.exceptions.find((entry) => answer(entry.name) === true);
      if (!matched) return null;
      result.set(name, { kind: 'exception', predicate: matched.predicate });
    }
    return result;
  }
}
