/**
 * Running scenarios or the corpus through the emulator into one result model. Pure.
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
  const results: SimulationEntry[] = scenarios.map((scenario, index) => {
    const verdict = decideOrExplain(context, scenario.transaction, `scenarios[${index}]`, source);
    return {
      name: scenario.name,
      description: scenario.description,
      transaction: scenario.transaction,
      verdict,
      expectation: checkExpectation(verdict, scenario.expect),
    };
  });
  return assemble(context, 'scenarios', results);
}

export function runCorpus(context: RunContext, corpus: readonly CorpusEntry[]): SimulationResult {
  const results: SimulationEntry[] = corpus.map((entry) => {
    const verdict = decideOrExplain(context, entry.transaction, entry.id);
    return {
      name: entry.name,
      description: entry.description,
      kind: entry.kind,
      outcome: corpusOutcome(entry, verdict),
      transaction: entry.transaction,
      verdict,
      expectation: null,
    };
  });
  return assemble(context, 'corpus', results);
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

function assemble(context: RunContext, mode: SimulationResult['mode'], results: SimulationEntry[]): SimulationResult {
  const count = (predicate: (entry: SimulationEntry) => boolean) => results.filter(predicate).length;
  return {
    snapshot: { file: context.file, tenant: context.snapshot.Meta.tenant ?? context.snapshot.Meta.initialDomain ?? null },
    mode,
    assumptionOverrides: context.assumptionOverrides,
    results,
    summary: {
      total: results.length,
      expectationsMet: count((entry) => entry.expectation?.met === true),
      expectationsFailed: count((entry) => entry.expectation?.met === false),
      attacksIn: count((entry) => entry.outcome === 'got-in'),
      attacksStopped: count((entry) => entry.outcome === 'blocked' || entry.outcome === 'contained'),
      legitimateBroken: count((entry) => entry.outcome === 'broken'),
      legitimateDelivered: count((entry) => entry.outcome === 'delivered'),
      incomplete: count((entry) => entry.verdict.incomplete),
    },
  };
}
