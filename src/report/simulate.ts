/**
 * Renderers for `eoplock simulate`: one result model, two formats. Renderers compute nothing.
 */
import { styleText } from 'node:util';
import type { CorpusKind, CorpusOutcome } from '../corpus/builtin.js';
import type { Transaction, Verdict } from '../eop/types.js';
import type { ExpectationResult } from '../scenarios/expect.js';

export interface SimulationEntry {
  name: string;
  description?: string | undefined;
  kind?: CorpusKind | undefined;
  outcome?: CorpusOutcome | undefined;
  transaction: Transaction;
  verdict: Verdict;
  expectation: ExpectationResult | null;
}

export interface SimulationResult {
  snapshot: { file: string; tenant: string | null };
  mode: 'scenarios' | 'corpus';
  /** Assumptions that differ from the defaults. */
  assumptionOverrides: Record<string, string>;
  results: SimulationEntry[];
  summary: {
    total: number;
    expectationsMet: number;
    expectationsFailed: number;
    attacksIn: number;
    attacksStopped: number;
    legitimateBroken: number;
    legitimateDelivered: number;
    incomplete: number;
  };
}

export interface TextOptions {
  color: boolean;
  trace: boolean;
}

type Style = Parameters<typeof styleText>[0];

/** One line for a verdict: `reject 550 5.7.68 at RCPT` / `accept → quarantine`. */
export function verdictLine(verdict: Verdict): string {
  if (verdict.action === 'reject') {
    const when = verdict.disposition === 'ndr' ? 'as an NDR after DATA' : `at ${verdict.stage.toUpperCase()}`;
    return `reject ${verdict.code} ${verdict.enhanced} ${when}`;
  }
  return `accept → ${verdict.disposition}`;
}

function connectorText(verdict: Verdict): string {
  return verdict.connector ? `via "${verdict.connector.name}" (${verdict.connector.type}, by ${verdict.connector.matchedBy})` : 'no connector';
}

export function renderSimulationText(result: SimulationResult, options: TextOptions): string {
  const paint = (style: Style, text: string) => (options.color ? styleText(style, text, { validateStream: false }) : text);
  const lines: string[] = [];
  lines.push(paint('bold', `eoplock simulate — ${result.snapshot.tenant ?? 'tenant'} (${result.snapshot.file})`));
  const overrides = Object.entries(result.assumptionOverrides);
  if (overrides.length > 0) lines.push(`assumptions changed: ${overrides.map(([id, value]) => `${id}=${value}`).join(', ')}`);
  lines.push('');

  const renderEntry = (entry: SimulationEntry) => {
    let mark: string;
    if (entry.expectation) mark = entry.expectation.met ? paint('green', '✓') : paint('red', '✗');
    else if (entry.outcome === 'got-in' || entry.outcome === 'broken') mark = paint('red', '✗');
    else if (entry.outcome) mark = paint('green', '✓');
    else mark = '•';
    const outcome = entry.outcome ? `${paint(entry.outcome === 'got-in' || entry.outcome === 'broken' ? 'red' : 'green', outcomeLabel(entry.outcome))}: ` : '';
    lines.push(`${mark} ${entry.name}`);
    lines.push(`    ${outcome}${verdictLine(entry.verdict)}, ${connectorText(entry.verdict)}${entry.verdict.incomplete ? paint('yellow', ' (incomplete: a rule could not be evaluated)') : ''}`);
    if (entry.verdict.action === 'reject') lines.push(paint('dim', `    "${entry.verdict.code} ${entry.verdict.enhanced} ${entry.verdict.text}"`));
    for (const recipient of entry.verdict.recipients ?? []) {
      lines.push(`    ${recipient.recipient}: ${recipient.action} ${recipient.code} ${recipient.enhanced}`);
    }
    for (const diff of entry.expectation?.diffs ?? []) {
      lines.push(paint('red', `    expected ${diff.field} ${JSON.stringify(diff.expected)}, got ${JSON.stringify(diff.actual)}`));
    }
    if (options.trace) {
      for (const step of entry.verdict.trace) {
        const cited = [...step.sources, ...(step.assumptions ?? []).map((id) => `assume:${id}`)].join(' ');
        lines.push(paint('dim', `      [${step.step}] ${step.detail}  (${cited})`));
      }
      for (const rule of entry.verdict.rules) {
        const state = rule.matched === null ? 'not evaluated' : rule.matched ? 'matched' : 'no match';
        lines.push(paint('dim', `      rule "${rule.name}" (priority ${rule.priority}, ${rule.mode}): ${state}; action: ${rule.actionTaken}`));
        for (const reason of rule.reasons) lines.push(paint('dim', `          ${reason}`));
      }
    }
  };

  if (result.mode === 'corpus') {
    for (const kind of ['attack', 'legitimate'] as const) {
      const entries = result.results.filter((entry) => entry.kind === kind);
      if (entries.length === 0) continue;
      lines.push(paint('bold', kind === 'attack' ? 'Attacks (each should be stopped)' : 'Legitimate paths (each should still be delivered)'));
      entries.forEach(renderEntry);
      lines.push('');
    }
  } else {
    result.results.forEach(renderEntry);
    lines.push('');
  }

  const s = result.summary;
  if (result.mode === 'corpus') {
    lines.push(
      `${s.attacksIn === 0 ? paint('green', `0 of ${s.attacksIn + s.attacksStopped} attacks get in`) : paint('red', `${s.attacksIn} of ${s.attacksIn + s.attacksStopped} attacks get in`)}; ` +
        `${s.legitimateBroken === 0 ? paint('green', `0 of ${s.legitimateBroken + s.legitimateDelivered} legitimate paths break`) : paint('red', `${s.legitimateBroken} of ${s.legitimateBroken + s.legitimateDelivered} legitimate paths break`)}`,
    );
  } else {
    lines.push(`${s.expectationsMet} met, ${s.expectationsFailed} not met, ${s.total - s.expectationsMet - s.expectationsFailed} without expectation`);
  }
  if (s.incomplete > 0) lines.push(paint('yellow', `${s.incomplete} verdict(s) incomplete: a transport rule uses a predicate eoplock does not evaluate (see --trace)`));
  if (!options.trace) lines.push(paint('dim', 'Run with --trace to see every decision step and its source.'));
  return `${lines.join('\n')}\n`;
}

export function outcomeLabel(outcome: CorpusOutcome): string {
  switch (outcome) {
    case 'blocked':
      return 'blocked';
    case 'contained':
      return 'accepted but kept from the inbox';
    case 'got-in':
      return 'GETS IN';
    case 'delivered':
      return 'delivered';
    case 'broken':
      return 'WOULD BREAK';
  }
}

export function renderSimulationJson(result: SimulationResult): string {
  return `${JSON.stringify(
    {
      snapshot: result.snapshot,
      mode: result.mode,
      assumptionOverrides: result.assumptionOverrides,
      summary: result.summary,
      results: result.results.map((entry) => ({
        name: entry.name,
        ...(entry.kind ? { kind: entry.kind, outcome: entry.outcome } : {}),
        transaction: entry.transaction,
        verdict: entry.verdict,
        expectation: entry.expectation,
      })),
    },
    null,
    2,
  )}\n`;
}
