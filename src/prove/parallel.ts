/**
 * The class search on every processor (an IO edge: worker threads). The calling thread searches the first cells of
 * the space (prove.ts, makeSearcher: a cell is a client IP region with a TLS region, the outermost loops of the search)
 * for a while — a small tenant's search ends there, with no thread started. When it has not ended, the rest of the
 * cells are cut into pieces that worker threads (search-worker.ts) search, each with a searcher of its own, a piece at
 * a time as they become free; the pieces' results are added in the order of the cells (mergeSearch), so the result is
 * the one the search on one thread gives: the same findings, counts and representatives (test/prove/parallel.test.ts).
 *
 * `stop` and `progress` work as for `prove`: the calling thread asks `stop` every 100 ms and tells the workers through
 * shared memory; a stopped search adds what every piece covered.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { Snapshot } from '../snapshot/parse.js';
import { startWorker, workerModule } from '../util/workers.js';
import { makeDecider } from './decider.js';
import { finish, makeSearcher, mergeSearch, type SearchMode, type SearchResult } from './prove.js';
import type { ProofOptions, ProofResult } from './types.js';

/** Worker threads by default: one per processor, at most 4 (each holds its own memos). */
export const DEFAULT_MAX_THREADS = 4;

export function defaultThreads(): number {
  return Math.min(availableParallelism(), DEFAULT_MAX_THREADS);
}

export interface ParallelOptions {
  /** Worker threads at most (default: {@link defaultThreads}); 0 or 1 searches on the calling thread alone. */
  threads?: number;
  /** How long the calling thread searches alone before it starts the workers, in milliseconds (default 1,000). */
  aloneFor?: number;
  /** Cells per piece (default: about 64 pieces per worker). */
  piece?: number;
  /** Called when the search goes on in worker threads, with how many. */
  onWorkers?: (count: number) => void;
}

/** What a worker is given (search-worker.ts). */
export interface SearchTask {
  snapshot: Snapshot;
  options: Pick<ProofOptions, 'profile' | 'assumptions' | 'allowDirectSend' | 'trace'>;
  mode: SearchMode;
  /** Set to 1 by the calling thread to stop the search. */
  stop: Int32Array;
}

/** What a worker answers: ready, a piece's progress (classes covered so far in it), or a piece's result. */
export type SearchMessage =
  | { ready: true }
  | { piece: number; covered: number }
  | { piece: number; result: Omit<SearchResult, 'space'> }
  | { failed: string };

/** {@link prove}, its search spread over worker threads when it does not end on the calling thread first. */
export async function proveInParallel(snapshot: Snapshot, options: ProofOptions, parallel: ParallelOptions = {}): Promise<ProofResult> {
  const started = performance.now();
  const mode: SearchMode = { prune: true };
  const decider = makeDecider(snapshot, options.assumptions);
  const searcher = makeSearcher(snapshot, options, decider, mode);
  const threads = Math.max(0, Math.min(parallel.threads ?? defaultThreads(), 64));
  const module = threads >= 2 ? workerModule('prove', 'search-worker') : null;
  const aloneFor = parallel.aloneFor ?? 1000;
  const total = searcher.run(0, searcher.cells, module ? () => performance.now() - started >= aloneFor : undefined);
  if (!module || total.stopped || total.next >= searcher.cells) return finish(snapshot, options, total, decider, started);

  const from = total.next;
  const remaining = searcher.cells - from;
  // Small pieces, about 64 per worker: a cell can take a second or many minutes (an accepted bypass region has every
  // class decided), and a worker left with one long piece at the end keeps the others idle.
  const size = Math.max(1, parallel.piece ?? Math.ceil(remaining / (threads * 64)));
  const pieces: [number, number][] = [];
  for (let at = from; at < searcher.cells; at += size) pieces.push([at, Math.min(at + size, searcher.cells)]);
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const task: SearchTask = {
    snapshot,
    options: { profile: options.profile, assumptions: options.assumptions, ...(options.allowDirectSend ? { allowDirectSend: options.allowDirectSend } : {}), ...(options.trace ? { trace: true } : {}) },
    mode,
    stop,
  };
  const results: (Omit<SearchResult, 'space'> | undefined)[] = pieces.map(() => undefined);
  const covered = new Map<number, number>();
  const before = total.classes;
  let merged = 0;
  /** Classes of the pieces answered, added or waiting for those before them. */
  let answered = 0;
  let handedOut = 0;
  const progress = () => {
    let sum = before + answered;
    for (const classes of covered.values()) sum += classes;
    options.progress?.(sum, searcher.space.size);
  };
  const workers: Worker[] = [];
  const stopping = options.stop
    ? setInterval(() => {
        if (options.stop?.()) Atomics.store(stop, 0, 1);
      }, 100)
    : null;
  let failed = false;
  try {
    // A young generation of 4 MB (V8's default for a worker is 16): the search's objects are short-lived; measured on the
  // bench tenant, 740 against 773 MB peak for two workers and the calling thread, at the same speed.
  for (let k = Math.min(threads, pieces.length); k > 0; k--) workers.push(startWorker(module, task, { maxYoungGenerationSizeMb: 4 }));
    parallel.onWorkers?.(workers.length);
    await new Promise<void>((resolve, reject) => {
      let busy = workers.length;
      const next = (worker: Worker) => {
        if (Atomics.load(stop, 0) === 1 || handedOut >= pieces.length) {
          worker.postMessage(null);
          if (--busy === 0) resolve();
          return;
        }
        const piece = handedOut++;
        const [start, end] = pieces[piece] as [number, number];
        worker.postMessage({ piece, from: start, to: end });
      };
      for (const worker of workers) {
        worker.on('message', (message: SearchMessage) => {
          if ('ready' in message) return next(worker);
          if ('failed' in message) return reject(new Error(`the class search failed in a worker thread: ${message.failed}`));
          if ('covered' in message) {
            covered.set(message.piece, message.covered);
            return progress();
          }
          covered.delete(message.piece);
          results[message.piece] = message.result;
          answered += message.result.classes;
          // The pieces are added in the order of the cells, as soon as those before them are in.
          while (merged < pieces.length && results[merged]) {
            const result = results[merged] as Omit<SearchResult, 'space'>;
            mergeSearch(total, result, options.profile);
            results[merged++] = undefined;
          }
          progress();
          if (message.result.stopped) Atomics.store(stop, 0, 1);
          next(worker);
        });
        worker.once('error', reject);
        worker.once('exit', (code) => {
          if (code !== 0) reject(new Error(`a worker thread of the class search stopped (${code})`));
        });
      }
    });
  } catch {
    // A worker that could not search (it could not start, ran out of memory, or the search threw): the calling thread
    // searches every cell not yet added itself, so the result, or the error for bad input, is the one thread's.
    failed = true;
  } finally {
    if (stopping) clearInterval(stopping);
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
  if (failed && merged < pieces.length) {
    const rest = searcher.run((pieces[merged] as [number, number])[0], searcher.cells);
    mergeSearch(total, rest, options.profile);
    return finish(snapshot, options, total, decider, started);
  }
  // A stopped search: the pieces searched after a gap are added too (each finding is real; the result says it is not a proof).
  for (let piece = merged; piece < pieces.length; piece++) {
    const result = results[piece];
    if (result) mergeSearch(total, result, options.profile);
  }
  if (Atomics.load(stop, 0) === 1 || merged < pieces.length) total.stopped = true;
  return finish(snapshot, options, total, decider, started);
}
