/**
 * `eoplock simulate <snapshot> (--scenarios <file> | --corpus builtin)`: wiring only.
 */
import { builtinCorpus, type CorpusEntry } from '../corpus/builtin.js';
import { parseAssumeFlags, resolveAssumptions } from '../eop/assumptions.js';
import { InputError } from '../errors.js';
import { simulationJson, simulationText, type SimulationEntry, type SimulationResult } from '../report/simulate.js';
import { corpusEntries, emptySummary, resultHeader, scenarioEntries, tally, type RunContext, type SimulationSummary } from '../simulate/run.js';
import { loadSnapshotFile } from '../snapshot/load.js';
import { terminalSafe } from '../util/display.js';
import { writeFileAtomic } from '../util/files.js';
import { writeData, type Io } from './io.js';

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
  const context: RunContext = { snapshot, file: snapshotFile, assumptions, assumptionOverrides: overrides };

  // The report is written entry by entry as the verdicts come, and no verdict is kept: memory stays proportional to
  // the snapshot and the scenarios, however many there are and however long their traces.
  let entries: () => Iterable<SimulationEntry>;
  let mode: SimulationResult['mode'];
  if (options.scenarios) {
    const file = options.scenarios;
    const { loadScenarioFile } = await import('../scenarios/load.js'); // YAML and the scenario schema: only here
    const scenarios = await loadScenarioFile(file);
    entries = () => scenarioEntries(context, scenarios, file);
    mode = 'scenarios';
  } else {
    // Attacks first, then legitimate paths: the order the text report groups them in.
    const corpus = builtinCorpus(snapshot);
    const grouped: CorpusEntry[] = [...corpus.filter((entry) => entry.kind === 'attack'), ...corpus.filter((entry) => entry.kind !== 'attack')];
    entries = () => corpusEntries(context, grouped);
    mode = 'corpus';
  }

  const summary = emptySummary();
  let pieces: Iterable<string>;
  if (options.format === 'json') {
    // The summary comes before the results in JSON: a first pass counts (and meets any bad input before a byte is
    // written), the second writes. Text ends with the summary, so it is counted as the entries are written.
    for (const entry of entries()) tally(summary, entry);
    pieces = simulationJson(resultHeader(context, mode, summary), entries());
  } else {
    pieces = simulationText(resultHeader(context, mode, summary), counted(entries(), summary), { color: options.color && !options.output, trace: options.trace });
  }
  const human = options.format !== 'json';
  if (options.output) await writeFileAtomic(options.output, batched(pieces, human ? terminalSafe : undefined));
  else {
    const write = human ? io.stdout : (text: string) => writeData(io, text);
    for (const piece of batched(pieces)) write(piece);
  }
  return simulationExitCode({ mode, summary });
}

/** The entries as they pass, each counted into `summary` (which the text report prints after the last one). */
function* counted(entries: Iterable<SimulationEntry>, summary: SimulationSummary): Generator<SimulationEntry> {
  for (const entry of entries) {
    tally(summary, entry);
    yield entry;
  }
}

/** Joins small pieces into pieces of about `size` characters (fewer writes); each piece stays whole. */
function* batched(pieces: Iterable<string>, transform: (text: string) => string = (text) => text, size = 1 << 16): Generator<string> {
  let buffer: string[] = [];
  let length = 0;
  for (const piece of pieces) {
    buffer.push(piece);
    length += piece.length;
    if (length >= size) {
      yield transform(buffer.join(''));
      buffer = [];
      length = 0;
    }
  }
  if (length > 0) yield transform(buffer.join(''));
}

/** 0: every expectation met (scenarios) or no attack in and nothing broken (corpus); 1 otherwise. */
export function simulationExitCode(result: Pick<SimulationResult, 'mode' | 'summary'>): number {
  if (result.mode === 'scenarios') return result.summary.expectationsFailed > 0 ? 1 : 0;
  return result.summary.attacksIn > 0 || result.summary.legitimateBroken > 0 ? 1 : 0;
}
