/**
 * `eoplock simulate <snapshot> (--scenarios <file> | --corpus builtin)`: wiring only.
 */
import { builtinCorpus } from '../corpus/builtin.js';
import { parseAssumeFlags, resolveAssumptions } from '../eop/assumptions.js';
import { InputError } from '../errors.js';
import { renderSimulationJson, renderSimulationText, type SimulationResult } from '../report/simulate.js';
import { loadScenarioFile } from '../scenarios/load.js';
import { runCorpus, runScenarios } from '../simulate/run.js';
import { loadSnapshotFile } from '../snapshot/load.js';
import { emit, type Io } from './io.js';

export interface SimulateOptions {
  scenarios?: string;
  corpus?: string;
  format: 'text' | 'json';
  assume: string[];
  trace: boolean;
  color: boolean;
  output?: string;
}

export async function simulateCommand(io: Io, snapshotFile: string, options: SimulateOptions): Promise<number> {
  if (!options.scenarios === !options.corpus) {
    throw new InputError('give either --scenarios <file> or --corpus builtin (one of them)', { where: 'arguments' });
  }
  if (options.corpus !== undefined && options.corpus !== 'builtin') {
    throw new InputError(`unknown corpus "${options.corpus}"; the only corpus so far is "builtin"`, { where: '--corpus' });
  }
  const overrides = parseAssumeFlags(options.assume);
  const assumptions = resolveAssumptions(overrides);
  const { snapshot } = await loadSnapshotFile(snapshotFile);
  const context = { snapshot, file: snapshotFile, assumptions, assumptionOverrides: overrides };

  let result: SimulationResult;
  if (options.scenarios) {
    const scenarios = await loadScenarioFile(options.scenarios);
    result = runScenarios(context, scenarios, options.scenarios);
  } else {
    result = runCorpus(context, builtinCorpus(snapshot));
  }

  const text =
    options.format === 'json'
      ? renderSimulationJson(result)
      : renderSimulationText(result, { color: options.color && !options.output, trace: options.trace });
  await emit(io, text, options.output);
  return simulationExitCode(result);
}

/** 0: every expectation met (scenarios) or no attack in and nothing broken (corpus); 1 otherwise. */
export function simulationExitCode(result: SimulationResult): number {
  if (result.mode === 'scenarios') return result.summary.expectationsFailed > 0 ? 1 : 0;
  return result.summary.attacksIn > 0 || result.summary.legitimateBroken > 0 ? 1 : 0;
}
