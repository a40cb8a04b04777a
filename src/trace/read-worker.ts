/**
 * One part of a large CSV file (parts.ts), in a worker thread: reads its byte range, evaluates every row with its own
 * ImpactAnalysis, and answers with the breaking messages by group, in batches, then the counts, for the calling thread
 * to merge in the file's order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { partMessages, readPart, type PartTask } from './parts.js';

for (const message of partMessages(await readPart(workerData as PartTask))) parentPort?.postMessage(message);
