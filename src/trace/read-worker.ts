/**
 * One part of a large CSV file (parts.ts), in a worker thread: reads its byte range, evaluates every row with its own
 * ImpactAnalysis, and answers with the breaking messages by group, in batches, then the counts, for the calling thread
 * to merge in the file's order. Its part comes as its workerData, or in the first message when it was started before
 * the part was known.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { partMessages, readPart, type PartTask } from './parts.js';

// A worker started ahead of time (startReadWorkers) is given its part in a message.
const task = (workerData as PartTask | null) ?? (await new Promise<PartTask>((resolve) => parentPort?.once('message', resolve)));
// A batch's typed arrays are handed over, not copied.
for (const message of partMessages(await readPart(task))) parentPort?.postMessage(message, 'batch' in message ? [message.batch.messages.buffer, message.batch.fields.buffer] : []);
