/**
 * Reading a large CSV file on every processor: the rows after the header are cut into byte ranges at line feeds; the
 * first range is read on the calling thread straight into the analysis, each other one by a worker thread
 * (read-worker.ts) with an ImpactAnalysis of its own, and their results are merged in the order of the file, so that
 * the result is the one reading the file in one piece gives.
 *
 * A cut must fall where a row ends, and a line feed may be inside a quoted field: the range before each cut proves it,
 * since it is read from a row's start (the first from the header's end) and must end outside quotes. When one does
 * not, or a worker fails (a record too long, text that is no CSV), the file is read again in one piece, which reports
 * what it finds with the right line. Only plain UTF-8 files are cut; gzip, UTF-16 and JSON are read as streams.
 */
import { open, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { domainOf } from '../eop/addresses.js';
import { own } from '../util/strings.js';
import { startWorker, workerModule } from '../util/workers.js';
import { appended, Effect, GroupKeys, ImpactAnalysis, listOf, MAX_RECIPIENTS, MAX_SAMPLES, SharedStrings, type BreakingMessage, type ImpactCounts } from './impact.js';
import { keyColumns, messageTraceColumns, parseTime, recipientList } from './records.js';
import { SPLIT_ABOVE, takeReadWorker, WORKER_LIMITS } from './read-workers.js';
import { rowKernelAvailable, timeText } from './row-kernel.js';
import { csvLayout, readCsvRange, type CsvLayout, type Malformed, type RangeSummary, type ReadOptions, type ReadSummary, type RowRepeats } from './read.js';

const MAX_EXAMPLES = 50;
/** How far past a planned cut a line feed between two quoted fields is looked for. */
const CUT_WINDOW = 1 << 20;

/** A group's share of one part of the file: what the ImpactAnalysis group needs to take it in, in the file's order. */
export interface PartGroup {
  clientIp: string;
  senderDomain: string;
  reason: string;
  messages: number;
  firstSeen: string | null;
  lastSeen: string | null;
  /** The first distinct subjects (as many as a group keeps). */
  subjects: string[];
  /** Distinct recipients (lower-cased, as indexes into {@link BreakingPart.addresses}) in the order first seen. */
  recipients: number[];
}

/** The breaking messages of one part, by group, in the order the groups were first seen. */
export interface BreakingPart {
  groups: PartGroup[];
  addresses: string[];
}

/**
 * Collects breaking messages as ImpactAnalysis.addBreaking would, keeping what merging needs: sums, first and last
 * times, the first subjects, and every distinct recipient in the order first seen (which recipients a group keeps, and
 * which it counts once, depends on the whole file, so a part cannot count them alone).
 */
export class BreakingCollector {
  private readonly groups = new Map<number | string, PartGroup>();
  /** Where each recipient is in the lists of the groups that have many. */
  private readonly many = new Map<PartGroup, Map<number, number>>();
  private readonly keys = new GroupKeys();
  private readonly addresses: string[] = [];
  private readonly ids = new Map<string, number>();
  private readonly strings = new SharedStrings();

  add(record: BreakingMessage, reason: string): void {
    this.addTo(this.group(record.clientIp, domainOf(record.mailFrom) ?? '<>', reason), record);
  }

  /** The group of a source, sender domain and reason, made on first use. */
  group(clientIp: string, senderDomain: string, reason: string): PartGroup {
    const key = this.keys.key(clientIp, senderDomain, reason);
    let group = this.groups.get(key);
    if (!group) {
      group = { clientIp: this.strings.own(clientIp), senderDomain: this.strings.own(senderDomain), reason, messages: 0, firstSeen: null, lastSeen: null, subjects: [], recipients: [] };
      this.groups.set(key, group);
    }
    return group;
  }

  /** A breaking message into its group; `owned`: its strings are copies of their own, kept as they are. */
  addTo(group: PartGroup, record: Omit<BreakingMessage, 'clientIp' | 'mailFrom'>, owned = false): void {
    group.messages += record.count ?? 1;
    // Kept strings are copied (own): a slice would keep the whole chunk of text it was cut from alive.
    if (record.time && (!group.firstSeen || record.time < group.firstSeen)) group.firstSeen = owned ? record.time : own(record.time);
    const last = record.lastTime ?? record.time;
    if (last && (!group.lastSeen || last > group.lastSeen)) group.lastSeen = owned ? last : own(last);
    if (record.subject && group.subjects.length < MAX_SAMPLES && !group.subjects.includes(record.subject)) group.subjects = appended(group.subjects, this.strings.own(record.subject));
    for (const address of record.recipients) {
      const lower = address.toLowerCase();
      let id = this.ids.get(lower);
      if (id === undefined) {
        id = this.addresses.length;
        this.addresses.push(own(lower));
        this.ids.set(this.addresses[id] as string, id);
      }
      // A group's recipients are few, as a rule: found in its list, and by a map once there are many.
      const seen = group.recipients.length > MANY_RECIPIENTS ? this.many.get(group) : undefined;
      const at = seen ? seen.get(id) : group.recipients.indexOf(id);
      if (at === undefined || at < 0) {
        seen?.set(id, group.recipients.length);
        // Lists of exact length while short (an array grown by push holds room for 16 more): groups are many.
        if (seen) group.recipients.push(id);
        else {
          group.recipients = group.recipients.concat(id);
          if (group.recipients.length > MANY_RECIPIENTS) this.many.set(group, new Map(group.recipients.map((recipient, k) => [recipient, k])));
        }
      }
    }
  }

  result(): BreakingPart {
    return { groups: [...this.groups.values()], addresses: this.addresses };
  }
}

/** Recipients of a group looked up in its list; past this many, by a map. */
const MANY_RECIPIENTS = 16;

/**
 * A batch of one part's breaking groups as columns: a few strings and two typed arrays, not an object and eight
 * strings per group, so that passing it between threads and merging it cost little. Strings are named by their index
 * in the part's table, to which each batch adds its `strings` (a source IP, domain, reason, subject or recipient once
 * per part; times as they come).
 */
export interface BreakingBatch {
  strings: string[];
  /**
   * Per group: its messages; as 32-bit integers when every count is below 2^30, so that the analysis keeps them as small
   * integers (a double added to a group's count would change how V8 lays out every group).
   */
  messages: Int32Array<ArrayBuffer> | Float64Array<ArrayBuffer>;
  /**
   * Per group, one after the other, as string indexes: its source IP, sender domain and reason, its first and last
   * time (-1: none), the count of its subjects then each, the count of its distinct recipients (lower-cased, in the
   * order first seen) then each.
   */
  fields: Int32Array<ArrayBuffer>;
}

/** Makes one part's batches, in order: each string of the part's table is sent once. */
export class BatchEncoder {
  private readonly index = new Map<string, number>();
  /** The table index of each of the part's addresses (BreakingPart.addresses), -1 until sent. */
  private readonly addressIndex: Int32Array;
  private size = 0;

  constructor(private readonly addresses: readonly string[]) {
    this.addressIndex = new Int32Array(addresses.length).fill(-1);
  }

  encode(groups: readonly PartGroup[]): BreakingBatch {
    const strings: string[] = [];
    const add = (text: string): number => {
      strings.push(text);
      return this.size++;
    };
    const shared = (text: string): number => {
      let at = this.index.get(text);
      if (at === undefined) this.index.set(text, (at = add(text)));
      return at;
    };
    let length = 0;
    for (const group of groups) length += 7 + group.subjects.length + group.recipients.length;
    const fields = new Int32Array(length);
    const messages = groups.every((group) => group.messages < 2 ** 30) ? new Int32Array(groups.length) : new Float64Array(groups.length);
    let at = 0;
    groups.forEach((group, k) => {
      messages[k] = group.messages;
      fields[at++] = shared(group.clientIp);
      fields[at++] = shared(group.senderDomain);
      fields[at++] = shared(group.reason);
      const first = group.firstSeen === null ? -1 : add(group.firstSeen);
      fields[at++] = first;
      fields[at++] = group.lastSeen === null ? -1 : group.lastSeen === group.firstSeen ? first : add(group.lastSeen);
      fields[at++] = group.subjects.length;
      for (const subject of group.subjects) fields[at++] = shared(subject);
      fields[at++] = group.recipients.length;
      for (const id of group.recipients) {
        let sent = this.addressIndex[id] as number;
        if (sent < 0) this.addressIndex[id] = sent = add(this.addresses[id] as string);
        fields[at++] = sent;
      }
    });
    return { strings, messages, fields };
  }
}

/**
 * Takes a batch of one part's breaking groups into the analysis, after those of the parts before it (`table`: the
 * part's strings so far, to which the batch's are added). Exact: a subject or recipient is kept when it would have
 * been, reading the rows one by one, and each distinct one is counted once (ImpactAnalysis.addRecipient).
 */
export function mergeBatch(analysis: ImpactAnalysis, batch: BreakingBatch, table: string[]): void {
  for (const text of batch.strings) table.push(text);
  const { fields, messages } = batch;
  const string = (at: number): string => table[fields[at] as number] as string;
  /** The `count` strings from `at`, in a list of that length (packed: listOf). */
  const strings = (at: number, count: number): string[] => listOf(count, (n) => string(at + n));
  let at = 0;
  for (let k = 0; k < messages.length; k++) {
    const group = analysis.group(string(at), string(at + 1), string(at + 2));
    // A group no part before had (most of them): its lists are made at their length at once, not grown one by one.
    const fresh = group.messages === 0 && group.subjects.length === 0 && group.recipients.length === 0;
    group.messages += messages[k] as number;
    if ((fields[at + 3] as number) >= 0) {
      const first = string(at + 3);
      if (!group.firstSeen || first < group.firstSeen) group.firstSeen = first;
    }
    if ((fields[at + 4] as number) >= 0) {
      const last = string(at + 4);
      if (!group.lastSeen || last > group.lastSeen) group.lastSeen = last;
    }
    at += 5;
    const subjects = fields[at++] as number;
    if (fresh && subjects <= MAX_SAMPLES) {
      // A part's subjects are distinct and as many as a group keeps.
      if (subjects > 0) group.subjects = strings(at, subjects);
      at += subjects;
    } else {
      for (let n = subjects; n > 0; n--) {
        const subject = string(at++);
        if (group.subjects.length < MAX_SAMPLES && !group.subjects.includes(subject)) group.subjects = appended(group.subjects, subject);
      }
    }
    // The strings came from another thread: copies of their own.
    const recipients = fields[at++] as number;
    if (fresh && recipients <= MAX_RECIPIENTS) {
      // A part's recipients are distinct: a group that had none keeps them all, each counted once.
      if (recipients > 0) {
        group.recipients = strings(at, recipients);
        group.recipientCount = recipients;
      }
      at += recipients;
    } else for (let n = recipients; n > 0; n--) analysis.addRecipient(group, string(at++), true);
  }
}

/** What a worker is given. */
export interface PartTask {
  file: string;
  layout: CsvLayout;
  start: number;
  end: number;
  now: ImpactAnalysis['now'];
  after: ImpactAnalysis['after'];
  gateway: ImpactAnalysis['gateway'];
  assumptions: ImpactAnalysis['assumptions'];
}

/** What reading a part gives. */
export type PartResult =
  | { ok: true; summary: ReadSummary; rows: number; quoteOpenAtEnd: boolean; counts: ImpactCounts; breaking: BreakingPart }
  | { ok: false; message: string };

/**
 * What a worker answers, in messages: its breaking groups in batches (BreakingBatch: each with the strings of the part's
 * table it is the first to name), then the rest of its answer. The calling thread merges each batch as it comes, when
 * the part's turn has come, and lets it go: never all of a part's groups at once in memory beside their serialized
 * copy.
 */
export type PartMessage = { batch: BreakingBatch } | { done: PartDone };

/** A part's answer but its breaking groups. */
export type PartDone = Exclude<PartResult, { ok: true }> | Omit<Extract<PartResult, { ok: true }>, 'breaking'>;

/** Groups in one message. */
const BATCH = 1000;

/** The messages a worker answers with (PartMessage). */
export function* partMessages(result: PartResult): Generator<PartMessage> {
  if (!result.ok) return yield { done: result };
  const { breaking, ...done } = result;
  const encoder = new BatchEncoder(breaking.addresses);
  for (let k = 0; k < breaking.groups.length; k += BATCH) yield { batch: encoder.encode(breaking.groups.slice(k, k + BATCH)) };
  yield { done };
}

/**
 * No recipients, in a list of the kind the lists of addresses are (strings: a slice of one), so that addTo, which goes
 * through every message's list, sees one kind of list (an empty literal is a list of small integers to V8, and the
 * second kind made it compile addTo again). Never changed.
 */
const NO_RECIPIENTS: string[] = [''].slice(1);

/** A memo's first and last time (kernel numbers), widened to take `first` and `last` in. */
function stretch(memo: Record<string, unknown>, first: number, last: number): void {
  if (!((memo.first as number) <= first)) memo.first = first;
  if (!((memo.last as number) >= last)) memo.last = last;
}

/** Where a part's breaking messages go, by group: the analysis itself (the first part) or a collector (the others). */
interface BreakingSink<G> {
  group(clientIp: string, senderDomain: string, reason: string): G;
  addTo(group: G, message: Omit<BreakingMessage, 'clientIp' | 'mailFrom'>, owned?: boolean): void;
}

/**
 * Reads one part into an analysis: its records evaluated, the breaking ones handed to `sink`, which keeps copies of
 * what it keeps (the records are transient: csvRecords). A message trace row's time is parsed only when it breaks
 * (evaluate does not look at it). Rows whose key columns are those of a row before them are not evaluated again
 * (RowRepeats): counted, or, when they break, read into their group from their bytes (an ISO time as the kernel's
 * number, kept per memo as first and last until `forget`).
 */
async function readPartInto<G extends { subjects: readonly string[] }>(task: PartTask, analysis: ImpactAnalysis, sink: BreakingSink<G>): Promise<RangeSummary> {
  const { header, format } = task.layout;
  const rawTime = format === 'message-trace';
  const shape = analysis.keyShape();
  const columns = keyColumns(header, format, shape);
  const at = messageTraceColumns(header);
  // One message object for the rows read from their bytes: the sinks copy what they keep. Its fields are those of the
  // messages `forget` and `absorbed` hand on, in the same order: one shape for addTo (V8 compiles it once).
  const message: Omit<BreakingMessage, 'clientIp' | 'mailFrom'> = { count: 1, time: null, lastTime: null, subject: null, recipients: NO_RECIPIENTS };
  /** The domain of a row's sender, as groups have it. */
  const senderDomain = (value: (position: number) => string): string => {
    const mailFrom = value(at.sender);
    return domainOf(mailFrom === '<>' ? '' : mailFrom) ?? '<>';
  };
  const repeats: RowRepeats | undefined = columns
    ? {
        columns,
        named: shape.named,
        // A key that breaks: each of its rows goes to its group (a negative effect).
        effect: () => ((analysis.lastEffect & 7) === Effect.breaking ? -analysis.lastEffect : analysis.lastEffect),
        repeat: (effect, times) => analysis.repeat(effect, times),
        // A row's recipients, lower-cased, worked out once per distinct RecipientAddress value.
        derive: { position: at.recipient, make: (text) => recipientList(text).map((address) => own(address.toLowerCase())) },
        // Times as numbers where the kernel reads them: a memo keeps the first and last of its rows (`forget` puts them
        // in its group), so that a row's time is not made a text.
        timed: at.received,
        subjects: at.subject,
        again: (effect, value, memo, recipients, time) => {
          analysis.repeat(-effect, 1);
          // The group, the same for every row of the key and sender domain (the memo's).
          let group = memo.group as G | undefined;
          if (group === undefined) memo.group = group = sink.group(value(at.fromIp), senderDomain(value), analysis.reasonOf(-effect));
          if (time >= 0) {
            message.time = null;
            stretch(memo, time, time);
          } else message.time = parseTime(value(at.received));
          // A group keeps its first few subjects: once it has them, the others are not read.
          message.subject = at.subject < 0 || group.subjects.length >= MAX_SAMPLES ? null : value(at.subject);
          message.recipients = recipients as string[];
          sink.addTo(group, message, true);
          // Another row of the memo with these recipients (now in the group, kept or counted) would only add a message
          // and a time: whatever its subject once the group has all the subjects it keeps (or there are none to read),
          // else with this row's subject (now in the group, or empty).
          return at.subject < 0 || group.subjects.length >= MAX_SAMPLES;
        },
        // Rows the kernel counted for a memo (`again` returned true): their messages and their time range.
        absorbed: (effect, memo, rows, first, last) => {
          analysis.repeat(-effect, rows);
          sink.addTo(memo.group as G, { count: rows, time: null, lastTime: null, subject: null, recipients: NO_RECIPIENTS }, true);
          stretch(memo, first, last);
        },
        forget: (memo) => {
          if (memo.first === undefined) return;
          sink.addTo(memo.group as G, { count: 0, time: timeText(memo.first as number), lastTime: timeText(memo.last as number), subject: null, recipients: NO_RECIPIENTS }, true);
        },
      }
    : undefined;
  return readCsvRange(
    task.file,
    task.layout,
    task.start,
    task.end,
    (record) => {
      const reason = analysis.evaluate(record);
      if (!reason) return;
      if (rawTime) record.time = parseTime(record.time);
      // A record that breaks has a source IP (evaluate skips the others).
      sink.addTo(sink.group(record.clientIp as string, domainOf(record.mailFrom) ?? '<>', reason), record);
    },
    true,
    repeats,
  );
}

/** Reads and evaluates one part with an analysis of its own (in a worker). */
export async function readPart(task: PartTask): Promise<PartResult> {
  const analysis = new ImpactAnalysis(task.now, task.after, task.gateway, task.assumptions);
  const breaking = new BreakingCollector();
  try {
    const read = await readPartInto(task, analysis, breaking);
    return { ok: true, ...read, counts: analysis.counts(), breaking: breaking.result() };
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
}

/** Where the ranges start: after line feeds near equal shares of the rows' bytes, best between two quoted fields. */
async function cuts(file: string, from: number, size: number, parts: number): Promise<number[]> {
  const handle = await open(file, 'r');
  const starts = [from];
  try {
    const window = Buffer.alloc(CUT_WINDOW);
    for (let k = 1; k < parts; k++) {
      const planned = from + Math.floor(((size - from) * k) / parts);
      if (planned <= (starts.at(-1) as number)) continue;
      const { bytesRead } = await handle.read(window, 0, CUT_WINDOW, planned);
      const bytes = window.subarray(0, bytesRead);
      let cut = -1;
      for (let at = bytes.indexOf(10); at >= 0 && at + 1 < bytes.length; at = bytes.indexOf(10, at + 1)) {
        if (cut < 0) cut = at;
        // A closing quote, the line break, then one opening quote before a value: `…"\r\n"2026…` (a line break in a
        // quoted field between doubled quotes, `""\n""`, does not look so; the part before the cut checks it anyway).
        const before = bytes[at - 1] === 13 ? bytes[at - 2] : bytes[at - 1];
        if (before === 34 && bytes[at + 1] === 34 && bytes[at + 2] !== 34 && bytes[at + 2] !== undefined) {
          cut = at;
          break;
        }
      }
      if (cut >= 0 && planned + cut + 1 < size) starts.push(planned + cut + 1);
    }
  } finally {
    await handle.close();
  }
  return starts;
}

/** Runs a worker on a part: its batches of breaking groups to `onBatch`, as they come; then the rest of its answer. */
function runPart(module: URL, task: PartTask, onBatch: (batch: BreakingBatch) => void): Promise<PartDone> {
  return new Promise((resolve) => {
    const started = takeReadWorker();
    started?.postMessage(task);
    const worker = started ?? startWorker(module, task, WORKER_LIMITS);
    let answered = false;
    worker.on('message', (message: PartMessage) => {
      if ('batch' in message) return onBatch(message.batch);
      answered = true;
      resolve(message.done);
    });
    worker.once('error', (error) => {
      answered = true;
      resolve({ ok: false, message: error.message });
    });
    worker.once('exit', (code) => {
      if (!answered) resolve({ ok: false, message: `the worker stopped (${code})` });
    });
  });
}

/**
 * Reads a large CSV file in parts into `analysis`; null when it is read in one piece instead (small, not plain UTF-8
 * CSV, a single processor, or a part that found something only the reading in one piece reports rightly).
 */
export async function readInParts(file: string, analysis: ImpactAnalysis, options: ReadOptions): Promise<ReadSummary | null> {
  const size = await stat(file).then((info) => (info.isFile() ? info.size : 0), () => 0);
  const wanted = size > (options.splitAbove ?? SPLIT_ABOVE) ? (options.parts ?? availableParallelism()) : 1;
  const layout = await csvLayout(file);
  if (!layout) return null;
  const module = wanted > 1 ? workerModule('trace', 'read-worker') : null;
  // In one part (a small file, one processor): only when its rows are read from their bytes by the row-key kernel,
  // else the reading in one piece does the same.
  if (!module && !(keyColumns(layout.header, layout.format, analysis.keyShape()) && rowKernelAvailable())) return null;
  const starts = module ? await cuts(file, layout.dataStart, size, wanted) : [layout.dataStart];
  const { now, after, gateway, assumptions } = analysis;
  options.onBytes?.(layout.dataStart);
  // The calling thread reads the first part itself, straight into the analysis (the first part is merged first):
  // one worker fewer to start and to hold in memory, and nothing of it to merge. Should the reading in parts fail,
  // the analysis goes back to where it was, for the reading in one piece.
  const checkpoint = analysis.checkpoint();
  // The parts' breaking groups are merged in the order of the file: a part's batches wait until the parts before it are
  // done (the first, read straight into the analysis, is done when read).
  let turn = 0;
  const waiting: BreakingBatch[][] = starts.map(() => []);
  const done = starts.map(() => false);
  const tables: string[][] = starts.map(() => []);
  const merge = (k: number, batch: BreakingBatch): void => mergeBatch(analysis, batch, tables[k] as string[]);
  const take = (k: number, batch: BreakingBatch): void => {
    if (k === turn) merge(k, batch);
    else waiting[k]?.push(batch);
  };
  const finished = (k: number): void => {
    done[k] = true;
    while (turn < starts.length && done[turn]) {
      turn++;
      for (const batch of waiting[turn] ?? []) merge(turn, batch);
      waiting[turn] = [];
    }
    // The tables of the parts merged are no longer needed.
    for (let j = 0; j < turn; j++) tables[j] = [];
  };
  type Read = PartDone | ({ ok: true; first: true } & RangeSummary);
  const read = async (k: number): Promise<Read> => {
    const start = starts[k] as number;
    const end = starts[k + 1] ?? size;
    const task: PartTask = { file, layout, start, end, now, after, gateway, assumptions };
    let result: Read;
    if (k > 0) result = await runPart(module as URL, task, (batch) => take(k, batch));
    else {
      try {
        result = { ok: true, first: true, ...(await readPartInto(task, analysis, analysis)) };
      } catch (error) {
        result = { ok: false, message: error instanceof Error ? error.message : String(error) };
      }
    }
    finished(k);
    options.onBytes?.(end - start);
    return result;
  };
  // The workers first: the calling thread's part is read without a pause (synchronous reads), and they run meanwhile.
  const others = starts.slice(1).map((_, k) => read(k + 1));
  const first = await read(0);
  // While a worker is still reading: what finish() would do after the merge (the suggestions of the groups so far).
  if (first.ok && done.includes(false)) analysis.finishAhead();
  const results = [first, ...(await Promise.all(others))];
  for (const [k, result] of results.entries()) {
    if (!result.ok || (result.quoteOpenAtEnd && k < results.length - 1)) {
      analysis.restore(checkpoint);
      return null;
    }
  }
  const summary: ReadSummary = { file, format: layout.format, records: 0, malformed: 0, examples: [] };
  let rowsBefore = 0;
  for (const result of results) {
    if (!result.ok) continue;
    summary.records += result.summary.records;
    summary.malformed += result.summary.malformed;
    for (const example of result.summary.examples) {
      if (summary.examples.length < MAX_EXAMPLES) summary.examples.push({ ...example, row: example.row + rowsBefore } satisfies Malformed);
    }
    rowsBefore += result.rows;
    if (!('first' in result)) analysis.addCounts(result.counts);
  }
  return summary;
}
