/**
 * The worker threads that read a large CSV file in parts (parts.ts, read-worker.ts), started ahead of time. A module of
 * its own, light to load: the CLI starts them as soon as it knows the command reads mail-flow data, before it loads the
 * code that reads and decides, so that they load theirs meanwhile.
 */
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startWorker, workerModule } from '../util/workers.js';

/** Below this size a file is read in one piece: starting the workers would cost more than they save. */
export const SPLIT_ABOVE = 32 << 20;

/**
 * A small young generation (V8's default for a worker is 16 MB): rows are short-lived, and peak memory is the sum of
 * every thread's heap. Measured on 5,000,000 rows (bench/README.md): 2 MB holds the peak under 200 MB.
 */
export const WORKER_LIMITS = { maxYoungGenerationSizeMb: 2 };

/** Workers that take their part later: heavy to start, they load their code while the caller prepares. */
const ready: { worker: Worker; gone: boolean }[] = [];

/** What decides whether, and in how many parts, a file is read (readInParts; ReadOptions, with an impact analysis). */
export interface SplitOptions {
  /** Files larger than this (bytes) are read in parts (default {@link SPLIT_ABOVE}). */
  splitAbove?: number;
  /** How many parts (default: the processors available). */
  parts?: number;
}

/**
 * Starts the workers that reading `files` in parts would start (one per processor but the calling thread's, for each
 * file large enough to be read in parts, at most one set), so that they load their code while the caller reads its
 * snapshot and plans; each waits for its part. Those not used by readInParts are let go by {@link stopReadWorkers},
 * and do not keep the process alive meanwhile. Returns how many wait.
 */
export async function startReadWorkers(files: readonly string[], options: SplitOptions = {}): Promise<number> {
  const sizes = await Promise.all(files.map((file) => stat(file).then((info) => (info.isFile() ? info.size : 0), () => 0)));
  const module = sizes.some((size) => size > (options.splitAbove ?? SPLIT_ABOVE)) ? workerModule('trace', 'read-worker') : null;
  if (!module) return ready.length;
  for (let k = ready.length; k < (options.parts ?? availableParallelism()) - 1; k++) {
    const waiting = { worker: startWorker(module, null, WORKER_LIMITS), gone: false };
    waiting.worker.unref();
    // A worker that fails before its part comes is not used (runPart starts another).
    waiting.worker.once('error', () => (waiting.gone = true)).once('exit', () => (waiting.gone = true));
    ready.push(waiting);
  }
  return ready.length;
}

/** Lets the workers started ahead of time and not used go. */
export function stopReadWorkers(): void {
  for (const { worker } of ready.splice(0)) void worker.terminate();
}

/** A worker started ahead of time and still alive, taken for a part (kept alive from now on); undefined: none. */
export function takeReadWorker(): Worker | undefined {
  for (let waiting = ready.shift(); waiting; waiting = ready.shift()) {
    if (waiting.gone) continue;
    waiting.worker.ref();
    return waiting.worker;
  }
  return undefined;
}
