/**
 * Renderers for `eoplock simulate`: one result model, two formats. Renderers compute nothing. In text, values from
 * the snapshot or the scenarios go through `visible()`; JSON keeps them exact.
 */
import { styleText } from 'node:util';
import { acceptedClaim, ATTACK_ACCEPTED, type CorpusKind, type CorpusOutcome } from '../corpus/builtin.js';
import { citedSourceIds, sourceFooter } from '../eop/sources.js';
import type { Transaction, Verdict } from '../eop/types.js';
import type { ExpectationResult } from '../scenarios/expect.js';
import { visible } from '../util/display.js';

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
    return `reject ${verdict.code} ${visible(verdict.enhanced)} ${when}`;
  }
  return `accept → ${verdict.disposition}`;
}

function connectorText(verdict: Verdict): string {
  return verdict.connector ? `via "${visible(verdict.connector.name)}" (${verdict.connector.type}, by ${verdict.connector.matchedBy})` : 'no connector';
}

export function renderSimulationText(result: SimulationResult, options: TextOptions): string {
  // The corpus is shown in groups: attacks first, then the legitimate paths.
  const entries =
    result.mode === 'corpus'
      ? [...result.results.filter((entry) => entry.kind === 'attack'), ...result.results.filter((entry) => entry.kind === 'legitimate')]
      : result.results;
  return [...simulationText(result, entries, options)].join('');
}

/**
 * The text report in pieces, each a run of whole lines, so that a long report can be written as it is produced:
 * the header, then (for the corpus, whose entries come grouped, attacks first) a heading before each group and an
 * empty line after it (as after the scenarios), then the summary. `header.summary` is read only after the last
 * entry, so a caller may count the entries into it as they come.
 */
export function* simulationText(header: Omit<SimulationResult, 'results'>, entries: Iterable<SimulationEntry>, options: TextOptions): Generator<string> {
  yield simulationTextHeader(header, options);
  let group: SimulationEntry['kind'] | null = null;
  let any = false;
  /** The source ids the entries printed cite, resolved in a footer after the summary. */
  const cited = new Set<string>();
  for (const entry of entries) {
    if (header.mode === 'corpus' && entry.kind !== group) {
      if (group !== null) yield '\n';
      group = entry.kind;
      if (entry.kind) yield simulationTextGroup(entry.kind, options);
    }
    any = true;
    const text = simulationTextEntry(entry, options);
    for (const id of citedSourceIds(text)) cited.add(id);
    yield text;
  }
  if (header.mode !== 'corpus' || any) yield '\n';
  yield simulationTextSummary(header.mode, header.summary, options, cited);
}

function painter(options: TextOptions): (style: Style, text: string) => string {
  return (style, text) => (options.color ? styleText(style, text, { validateStream: false }) : text);
}

function simulationTextHeader(result: Pick<SimulationResult, 'snapshot' | 'assumptionOverrides'>, options: TextOptions): string {
  const paint = painter(options);
  const lines: string[] = [];
  lines.push(paint('bold', `eoplock simulate — ${visible(result.snapshot.tenant ?? 'tenant')} (${visible(result.snapshot.file)})`));
  const overrides = Object.entries(result.assumptionOverrides);
  if (overrides.length > 0) lines.push(`assumptions changed: ${visible(overrides.map(([id, value]) => `${id}=${value}`).join(', '))}`);
  lines.push('');
  return `${lines.join('\n')}\n`;
}

function simulationTextGroup(kind: CorpusKind, options: TextOptions): string {
  return `${painter(options)('bold', kind === 'attack' ? 'Attacks sent straight to EOP (each should be refused or contained)' : 'Legitimate paths (each should still be accepted for delivery)')}\n`;
}

function simulationTextEntry(entry: SimulationEntry, options: TextOptions): string {
  const paint = painter(options);
  const lines: string[] = [];
  let mark: string;
  if (entry.expectation) mark = entry.expectation.met ? paint('green', '✓') : paint('red', '✗');
  else if (entry.outcome === 'got-in' || entry.outcome === 'broken') mark = paint('red', '✗');
  else if (entry.outcome) mark = paint('green', '✓');
  else mark = '•';
  const outcome = entry.outcome ? `${paint(entry.outcome === 'got-in' || entry.outcome === 'broken' ? 'red' : 'green', outcomeLabel(entry.outcome))}: ` : '';
  lines.push(`${mark} ${visible(entry.name)}`);
  lines.push(`    ${outcome}${verdictLine(entry.verdict)}, ${connectorText(entry.verdict)}${entry.verdict.incomplete ? paint('yellow', ' — not final:') : ''}`);
  for (const reason of entry.verdict.incomplete ? (entry.verdict.incompleteReasons ?? ['part of the decision was not evaluated']) : []) {
    lines.push(paint('yellow', `      ${visible(reason)}`));
  }
  if (entry.outcome === 'got-in' && entry.verdict.scl === -1) lines.push(paint('yellow', `    ${acceptedClaim(entry.verdict)}`));
  if (entry.verdict.action === 'reject') lines.push(paint('dim', `    "${entry.verdict.code} ${visible(`${entry.verdict.enhanced} ${entry.verdict.text}`)}"`));
  for (const recipient of entry.verdict.recipients ?? []) {
    lines.push(`    ${visible(recipient.recipient)}: ${recipient.action} ${recipient.code} ${visible(recipient.enhanced)}`);
  }
  for (const diff of entry.expectation?.diffs ?? []) {
    lines.push(paint('red', `    expected ${diff.field} ${visible(JSON.stringify(diff.expected) ?? 'undefined')}, got ${visible(JSON.stringify(diff.actual) ?? 'undefined')}`));
  }
  if (options.trace) {
    for (const step of entry.verdict.trace) {
      const cited = [...step.sources, ...(step.assumptions ?? []).map((id) => `assume:${id}`)].join(' ');
      lines.push(paint('dim', `      [${step.step}] ${visible(step.detail)}  (${cited})`));
    }
    for (const rule of entry.verdict.rules) {
      const state = rule.matched === null ? 'not evaluated' : rule.matched ? 'matched' : 'no match';
      lines.push(paint('dim', `      rule "${visible(rule.name)}" (priority ${rule.priority}, ${visible(String(rule.mode))}): ${state}; action: ${visible(String(rule.actionTaken))}`));
      for (const reason of rule.reasons) lines.push(paint('dim', `          ${visible(reason)}`));
    }
  }
  return `${lines.join('\n')}\n`;
}

function simulationTextSummary(mode: SimulationResult['mode'], summary: SimulationResult['summary'], options: TextOptions, cited: ReadonlySet<string> = new Set()): string {
  const paint = painter(options);
  const lines: string[] = [];
  const s = summary;
  if (mode === 'corpus') {
    lines.push(
      `${paint(s.attacksIn === 0 ? 'green' : 'red', `${s.attacksIn} of ${s.attacksIn + s.attacksStopped} attacks ${ATTACK_ACCEPTED}`)}; ` +
        `${s.legitimateBroken === 0 ? paint('green', `0 of ${s.legitimateBroken + s.legitimateDelivered} legitimate paths break`) : paint('red', `${s.legitimateBroken} of ${s.legitimateBroken + s.legitimateDelivered} legitimate paths break`)}`,
    );
    if (s.attacksIn > 0) {
      lines.push(paint('dim', "Accepted is EOP's transport-layer decision; its content filtering (spam, phishing, malware) is not emulated and may still junk or quarantine an accepted message."));
    }
  } else {
    lines.push(`${s.expectationsMet} met, ${s.expectationsFailed} not met, ${s.total - s.expectationsMet - s.expectationsFailed} without expectation`);
  }
  if (s.incomplete > 0) {
    lines.push(paint('yellow', `${s.incomplete} verdict(s) not final: they depend on what eoplock does not evaluate or emulate (the reasons are under each; see --trace)`));
  }
  if (!options.trace) lines.push(paint('dim', 'Run with --trace to see every decision step and its source.'));
  const footer = sourceFooter(cited);
  if (footer.length > 0) lines.push('', ...footer.map((line) => paint('dim', line)));
  return `${lines.join('\n')}\n`;
}

export function outcomeLabel(outcome: CorpusOutcome): string {
  switch (outcome) {
    case 'blocked':
      return 'blocked';
    case 'contained':
      return 'accepted but kept from the inbox';
    case 'got-in':
      return 'ACCEPTED BY EOP';
    case 'delivered':
      return 'accepted for delivery';
    case 'broken':
      return 'WOULD BREAK';
  }
}

/**
 * The JSON report in pieces, for writing it as it is produced; together they are exactly
 * `JSON.stringify({ snapshot, mode, assumptionOverrides, summary, results }, null, 2)` and a newline.
 */
export function* simulationJson(header: Omit<SimulationResult, 'results'>, entries: Iterable<SimulationEntry>): Generator<string> {
  yield simulationJsonStart(header);
  let count = 0;
  for (const entry of entries) yield simulationJsonEntry(entry, count++);
  yield simulationJsonEnd(count);
}

/** Everything before the first result: the report's fields, and `"results": [`. */
function simulationJsonStart(result: Omit<SimulationResult, 'results'>): string {
  const head = JSON.stringify(
    { snapshot: result.snapshot, mode: result.mode, assumptionOverrides: result.assumptionOverrides, summary: result.summary },
    null,
    2,
  );
  return `${head.slice(0, -2)},\n  "results": [`;
}

/** The result at `index` in the list (a comma before all but the first). */
function simulationJsonEntry(entry: SimulationEntry, index: number): string {
  const json = JSON.stringify(
    {
      name: entry.name,
      ...(entry.kind ? { kind: entry.kind, outcome: entry.outcome } : {}),
      transaction: entry.transaction,
      verdict: entry.verdict,
      expectation: entry.expectation,
    },
    null,
    2,
  );
  return `${index === 0 ? '' : ','}\n    ${json.replaceAll('\n', '\n    ')}`;
}

/** The end of the report, after `count` results. */
function simulationJsonEnd(count: number): string {
  return count === 0 ? ']\n}\n' : '\n  ]\n}\n';
}
