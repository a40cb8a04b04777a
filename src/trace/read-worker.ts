/**
 * Parts of a large CSV file (parts.ts), in a worker thread: claims parts until none is left, reads each byte range and
 * evaluates its rows with the worker's own ImpactAnalysis, and answers per part with the breaking messages by group, in
 * batches, then how the part went; at the end, the counts. The calling thread merges them in the file's order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { readClaimedParts, type PartsTask } from './parts.js';

for await (const message of readClaimedParts(workerData as PartsTask)) parentPort?.postMessage(message);
