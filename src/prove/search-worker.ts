/**
 * One worker thread of the class search (parallel.ts): a searcher of its own over the same space, given pieces of
 * cells one at a time; answers each with its result, and with the classes covered now and then while it searches.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { makeDecider } from './decider.js';
import { makeSearcher } from './prove.js';
import type { SearchMessage, SearchTask } from './parallel.js';

const task = workerData as SearchTask;
const port = parentPort;
const post = (message: SearchMessage) => port?.postMessage(message);
let piece = -1;
let told = 0;
try {
  const searcher = makeSearcher(
    task.snapshot,
    {
      ...task.options,
      stop: () => Atomics.load(task.stop, 0) === 1,
      progress: (covered) => {
        const now = performance.now();
        if (now - told < 200) return;
        told = now;
        post({ piece, covered });
      },
    },
    makeDecider(task.snapshot, task.options.assumptions),
    task.mode,
  );
  port?.on('message', (message: { piece: number; from: number; to: number } | null) => {
    if (message === null) {
      port.close();
      return;
    }
    piece = message.piece;
    try {
      const { space: _space, next: _next, ...result } = searcher.run(message.from, message.to);
      post({ piece, result });
    } catch (error) {
      post({ failed: error instanceof Error ? error.message : String(error) });
    }
  });
  post({ ready: true });
} catch (error) {
  post({ failed: error instanceof Error ? error.message : String(error) });
}
