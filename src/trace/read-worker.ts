/**
 * One part of a large CSV file (parts.ts), in a worker thread: reads its byte range, evaluates every row with its own
 * ImpactAnalysis, and answers with the counts and the breaking messages by group, for the calling thread to merge in
 * the file's order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { readPart, type PartTask } from './parts.js';

parentPort?.postMessage(await readPart(workerData as PartTask));
