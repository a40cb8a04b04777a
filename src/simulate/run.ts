/**
 * Running scenarios or the corpus through the emulator into one result model. Pure.
 *
 * The entries come one at a time (`scenarioEntries`, `corpusEntries`), so a report can be written as they come and
 * memory stays proportional to the input, not to every verdict with its trace; `runScenarios` and `runCorpus`
 * collect them for callers that want the whole result.
 */
import { corpusOutcome, type CorpusEntry } from '../corpus/builtin.js';
import { decide } from '../eop/decide.js';
import type { Assumptions } from '../eop/assumptions.js';
import { InputError } from '../errors.js';
import type { SimulationEntry, SimulationResult } from '../report/simulate.js';
import { checkExpectation } from '../scenarios/expect.js';
import type { Scenario } from '../scenarios/load.js';
import type { Snapshot } from '../snapshot/parse.js';

export interface RunContext {
  snapshot: Snapshot;
  file: string;
  assumptions: Assumptions;
  assumptionOverrides: Record<string, string>;
}

export function runScenarios(context: RunContext, scenarios: readonly Scenario[], source?: string): SimulationResult {
  return assemble(context, 'scenarios', [...scenarioEntries(context, scenarios, source)]);
}

export function runCorpus(context: RunContext, corpus: readonly CorpusEntry[]): SimulationResult {
  return assemble(context, 'corpus', [...corpusEntries(context, corpus)]);
}

/** Each scenario's result, in order. */
export function* scenarioEntries(context: RunContext, scenarios: readonly Scenario[], source?: string): Generator<SimulationEntry> {
  for (const [index, scenario] of scenarios.entries()) {
    const verdict = decideOrExplain(context, scenario.transaction, `scenarios[${index}]`, source);
    yield {
      name: scenario.name,
      description: scenario.description,
      transaction: scenario.transaction,
      verdict,
      expectation: checkExpectation(verdict, scenario.expect),
    };
  }
}

/** Each corpus entry's result, in order. */
export function* corpusEntries(context: RunContext, corpus: readonly CorpusEntry[]): Generator<SimulationEntry> {
  for (const entry of corpus) {
    const verdict = decideOrExplain(context, entry.transaction, entry.id);
    yield {
      name: entry.name,
      description: entry.description,
      kind: entry.kind,
      outcome: corpusOutcome(entry, verdict),
      transaction: entry.transaction,
      verdict,
      expectation: null,
    };
  }
}

function decideOrExplain(context: RunContext, transaction: Scenario['transaction'], where: string, file?: string) {
  try {
    return decide(context.snapshot, transaction, { assumptions: context.assumptions });
  } catch (error) {
    if (error instanceof InputError) {
      throw new InputError(error.message, { file, where: `${where}.${error.where ?? ''}`.replace(/\.$/, '') });
    }
    throw error;
  }
}

export type SimulationSummary = SimulationResult['summary'];

export function emptySummary(): SimulationSummary {
  return {
    total: 0,
    expectationsMet: 0,
    expectationsFailed: 0,
    attacksIn: 0,
    attacksStopped: 0,
    legitimateBroken: 0,
    legitimateDelivered: 0,
    incomplete: 0,
  };
}

/** Counts one entry into the summary. */
export function tally(summary: SimulationSummary, entry: SimulationEntry): void {
  summary.total += 1;
  if (entry.expectation?.met === true) summary.expectationsMet += 1;
  if (entry.expectation?.met === false) summary.expectationsFailed += 1;
  if (entry.outcome === 'got-in') summary.attacksIn += 1;
  if (entry.outcome === 'blocked' || entry.outcome === 'contained') summary.attacksStopped += 1;
  if (entry.outcome === 'broken') summary.legitimateBroken += 1;
  if (entry.outcome === 'delivered') summary.legitimateDelivered += 1;
  if (entry.verdict.incomplete) summary.incomplete += 1;
}

/** The result without its entries: what the report shows before and after them. */
export function resultHeader(context: RunContext, mode: SimulationResult['mode'], summary: SimulationSummary): Omit<SimulationResult, 'results'> {
  return {
    snapshot: { file: context.file, tenant: context.snapshot.Meta.tenant ?? context.snapshot.Meta.initialDomain ?? null },
    mode,
    assumptionOverrides: context.assumptionOverrides,
    summary,
  };
}

function assemble(context: RunContext, mode: SimulationResult['mode'], results: SimulationEntry[]): SimulationResult {
  const summary = emptySummary();
  for (const entry of results) tally(summary, entry);
  const { snapshot, assumptionOverrides } = resultHeader(context, mode, summary);
  return { snapshot, mode, assumptionOverrides, results, summary };
}
