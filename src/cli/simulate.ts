/**
 * `eoplock simulate <snapshot> (--scenarios <file> | --corpus builtin)`: wiring only.
 */
import { builtinCorpus, type CorpusEntry } from '../corpus/builtin.js';
import { parseAssumeFlags, resolveAssumptions } from '../eop/assumptions.js';
import { InputError } from '../errors.js';
import {
  simulationJsonEnd,
  simulationJsonEntry,
  simulationJsonStart,
  simulationTextEntry,
  simulationTextGroup,
  simulationTextHeader,
  simulationTextSummary,
  type SimulationEntry,
  type SimulationResult,
  type TextOptions,
} from '../report/simulate.js';
import { corpusEntries, emptySummary, resultHeader, scenarioEntries, tally, type RunContext } from '../simulate/run.js';
import { loadSnapshotFile } from '../snapshot/load.js';
import { terminalSafe } from '../util/display.js';
import { writeFileAtomic } from '../util/files.js';
import type { Io } from './io.js';

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
    pieces = jsonReport(resultHeader(context, mode, summary), entries());
  } else {
    pieces = textReport(resultHeader(context, mode, summary), entries(), { color: options.color && !options.output, trace: options.trace });
  }
  const human = options.format !== 'json';
  if (options.output) await writeFileAtomic(options.output, batched(pieces, human ? terminalSafe : undefined));
  else for (const piece of batched(pieces)) (human ? io.stdout : (io.data ?? io.stdout))(piece);
  return simulationExitCode({ mode, summary });
}

function* jsonReport(header: Omit<SimulationResult, 'results'>, entries: Iterable<SimulationEntry>): Generator<string> {
  yield simulationJsonStart(header);
  let count = 0;
  for (const entry of entries) yield simulationJsonEntry(entry, count++);
  yield simulationJsonEnd(count);
}

/** The text report; it counts the entries into `header.summary` as they pass, and prints it last. */
function* textReport(header: Omit<SimulationResult, 'results'>, entries: Iterable<SimulationEntry>, options: TextOptions): Generator<string> {
  yield simulationTextHeader(header, options);
  let group: SimulationEntry['kind'] | null = null;
  let any = false;
  for (const entry of entries) {
    tally(header.summary, entry);
    if (header.mode === 'corpus' && entry.kind !== group) {
      if (group !== null) yield '\n';
      group = entry.kind;
      if (entry.kind) yield simulationTextGroup(entry.kind, options);
    }
    any = true;
    yield simulationTextEntry(entry, options);
  }
  if (header.mode !== 'corpus' || any) yield '\n';
  yield simulationTextSummary(header.mode, header.summary, options);
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
