/**
 * The row-key kernel: a WebAssembly module (AssemblyScript source in wasm/row-keys.ts, built into
 * dist/trace/row-keys.wasm by `npm run build`) that reads CSV records of the common shape from bytes, finds their fields
 * with SIMD, hashes the bytes of the columns that decide a row's evaluation (the key) and looks the key up in a table
 * it keeps. Rows whose key the caller said to count are counted inside it, and so are the rows of a key that breaks
 * which the caller said change nothing but a count and a time range (a tally: {@link RowKernel.setTally}); every other
 * row comes back as an event for the caller (read.ts), in the order of the rows. This module owns the memory layout
 * and reads the kernel's answers.
 *
 * The record grammar is CsvRecordScanner's (tokenize.ts): a record of another shape is handed over, and the text
 * reading goes on from it. Keys are compared byte for byte, never merged by hash. Pure but for loading the module.
 */
import { readFileSync } from 'node:fs';
import { CSV_FAST_RECORD } from './tokenize.js';

/**
 * How a column's value takes part in a key: `whole`; `recipients`, a list of addresses (split at `;` or `,`) of which,
 * when it holds one address, only the domain (after the last `@`) decides, and otherwise the whole value; `sender`, an
 * address of which the domain decides (the whole value when it has no `@`), every domain that is plain ASCII (no space,
 * control character, quote or `>`, no final dot) and neither one of the kernel's named domains nor below one being one
 * class (the same key part), as ImpactAnalysis.senderClass puts them.
 */
export type KeyPart = 'whole' | 'recipients' | 'sender';

export interface KeyColumn {
  /** The column's position in the header. */
  position: number;
  part: KeyPart;
}

/** What {@link RowKernel.scan} stopped at. */
export const ScanStatus = { done: 0, handedOver: 1, eventsFull: 2, tableFull: 3 } as const;

/** A row for the caller: its key was new, its key's value is not a count, or it has another length than the header. */
export const EventKind = { new: 1, found: 2, odd: 3 } as const;

/** The value of a key the caller has not said anything of yet. */
const PENDING = 0x7fffffff;

const PAGE = 1 << 16;
/** Bytes read in at a time (the input region; a record that does not fit is handed over). */
export const INPUT_BYTES = 1 << 18;
/** Bytes after each region that the kernel's 16-byte loads may read. */
const SLACK = 64;
/**
 * The kernel's bounds: events per scan, slots of its table (a power of two; it holds half as many keys), slots a
 * lookup looks at before the table is emptied (so that no choice of keys makes lookups long), and slots of the table of
 * numbered values (a power of two; half as many values; emptied with the key table when full). Changed by tests only,
 * to reach the paths where each is reached.
 */
export const kernelLimits = { events: 4096, slots: 1 << 17, probes: 64, values: 1 << 17, tallies: 4096 };
const ARENA_BYTES = 1 << 22;
/** Bytes of the values the kernel numbers (at least two records' worth: a record's values always fit after emptying). */
const VALUE_BYTES = 1 << 20;
// The kernel's part numbers (wasm/row-keys.ts; its 1, a domain alone, is not used).
const PART_NUMBER: Record<KeyPart, number> = { whole: 0, recipients: 2, sender: 3 };
/** The tag of a `sender` key part that is the class of the domains not named (wasm/row-keys.ts). */
const OTHER_CLASS_TAG = 3;
/** The kernel's remembered sender-class answers: CLASS_SLOTS × CLASS_ENTRY bytes in wasm/row-keys.ts. */
const CLASS_CACHE_BYTES = 4096 * 80;
/** The longest domain the kernel looks up among the named ones (MOST_DOMAIN in wasm/row-keys.ts). */
const MOST_DOMAIN = 255;
/**
 * A tally's words (ABSORB_BYTES / 4 in wasm/row-keys.ts), the values and the subjects it holds (ABSORB_VALUES,
 * ABSORB_SUBJECTS), and where its words are: rows, values, first and last time, values, entry, whether it takes every
 * subject, subjects.
 */
const TALLY_WORDS = 24;
export const TALLY_VALUES = 8;
export const TALLY_SUBJECTS = 4;
const TALLY = { rows: 0, values: 1, first: 2, last: 4, value: 6, entry: 14, everySubject: 15, subjects: 16, subject: 17 } as const;
/** An entry's header words before its parts (ENTRY_HEADER / 4 in wasm/row-keys.ts), and its tally's word. */
const ENTRY_WORDS = 5;
const ENTRY_TALLY = 4;

/** The span of the low word of a time number (eventTime): minutes, seconds and milliseconds in 22 bits. */
const TIME_LOW = 2 ** 22;

/**
 * The text of a time number of {@link RowKernel.eventTime}: the ISO time it was read from. Made in one piece (groups
 * keep it: a text joined from parts would be a tree of them, several times its size).
 */
export function timeText(time: number): string {
  const high = Math.floor(time / TIME_LOW);
  const low = time - high * TIME_LOW;
  const year = high >> 14;
  const month = (high >> 10) & 15;
  const day = (high >> 5) & 31;
  const hour = high & 31;
  const minute = low >> 16;
  const second = (low >> 10) & 63;
  const ms = low & 1023;
  const digit = (value: number): number => 48 + (Math.floor(value) % 10);
  return String.fromCharCode(
    digit(year / 1000), digit(year / 100), digit(year / 10), digit(year), 45, digit(month / 10), digit(month), 45, digit(day / 10), digit(day), 84,
    digit(hour / 10), digit(hour), 58, digit(minute / 10), digit(minute), 58, digit(second / 10), digit(second), 46,
    digit(ms / 100), digit(ms / 10), digit(ms), 90,
  );
}

/** The WebAssembly API as used here (TypeScript's lib for Node does not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: unknown };
}
type WasmModule = { readonly wasmModule: unique symbol };
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/**
 * A random hash seed below 2^31 (keys cannot be chosen to collide). From Web Crypto: loading node:crypto for it would
 * cost every command's start several milliseconds, on every thread that reads.
 */
function randomSeed(): number {
  return (crypto.getRandomValues(new Uint32Array(1))[0] as number) >>> 1;
}

interface Exports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  configure(...args: number[]): void;
  clear(): void;
  scan(from: number, end: number, last: number): number;
}

let compiled: WasmModule | null | undefined;

/**
 * The compiled kernel, or null when it cannot be had (the sources run without a build): the path is the same from
 * src/trace, dist/trace and dist/cli-bundle, two levels below the package root.
 */
function kernelModule(): WasmModule | null {
  if (compiled === undefined) {
    try {
      compiled = new wasm.Module(readFileSync(new URL('../../dist/trace/row-keys.wasm', import.meta.url)));
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/** Whether the kernel is there to use. */
export function rowKernelAvailable(): boolean {
  return kernelModule() !== null;
}

export class RowKernel {
  /** The whole memory, as bytes (its size is set once: no view is ever detached). */
  readonly memory: Buffer;
  private readonly words: Int32Array;
  /** Where the input region starts (bytes). */
  readonly input: number;
  private readonly events: number;
  private readonly eventWords: number;
  private readonly arena: number;
  private readonly result: number;
  private readonly tallies: number;
  /** How many tallies there are ({@link setTally}). */
  readonly tallyCapacity: number;
  private readonly exports: Exports;

  /**
   * A kernel for rows of `fields` fields (`most`: the field count from which a record is handed over), or null. `named`:
   * the domains that a `sender` key part keeps apart (lower-case; those that no plain domain can be are left out).
   * `numbered`: the position of a column whose values the events of keys with a negative or pending value number
   * ({@link eventValue}), or -1. `timed`: the position of a column of times that events carry as numbers
   * ({@link eventTime}), or -1. `subjects`: the position of the column whose values a tally that does not take every
   * subject tells apart ({@link addTallySubject}), or -1.
   */
  static create(delimiter: string, fields: number, most: number, columns: readonly KeyColumn[], named: readonly string[] = [], numbered = -1, timed = -1, subjects = -1): RowKernel | null {
    const module = kernelModule();
    if (!module || delimiter.length !== 1 || delimiter.charCodeAt(0) > 0x7f) return null;
    return new RowKernel(new wasm.Instance(module, {}).exports as unknown as Exports, delimiter.charCodeAt(0), fields, most, columns, named, numbered, timed, subjects);
  }

  private constructor(exports: Exports, delimiter: number, fields: number, most: number, columns: readonly KeyColumn[], named: readonly string[], numbered: number, timed: number, subjects: number) {
    this.exports = exports;
    // The layout: regions one after the other from the second page (the first holds the module's own data), each
    // followed by SLACK bytes and 8-aligned.
    let at = PAGE;
    const region = (bytes: number): number => {
      const start = at;
      at += (bytes + SLACK + 7) & ~7;
      return start;
    };
    const keyColumns = region(8 * columns.length);
    const keySpans = region(12 * columns.length);
    const result = region(32);
    const spans = region(8 * (most + 1));
    this.eventWords = 11 + 2 * fields;
    const { events: eventCount, slots: slotCount } = kernelLimits;
    const events = region(4 * this.eventWords * eventCount);
    const slots = region(8 * slotCount);
    const arena = region(ARENA_BYTES);
    const input = region(INPUT_BYTES);
    // The named domains a plain domain can be (lower-case ASCII without space, quote or `>`), as lengths and bytes, and
    // a table of twice as many slots (a power of two).
    const plain = [...new Set(named)].filter((domain) => domain.length > 0 && domain.length <= MOST_DOMAIN && /^[!#-=?-~]+$/.test(domain) && !/[A-Z]/.test(domain));
    const namedBytes = plain.reduce((sum, domain) => sum + ((4 + domain.length + 3) & ~3), 0);
    const namedSlotCount = 2 ** Math.ceil(Math.log2(2 * plain.length + 2));
    const namedSlots = region(8 * namedSlotCount);
    const namedAt = region(namedBytes);
    const scratch = region(MOST_DOMAIN);
    // The values numbered: slots (a power of two, at least 4: a record numbers two values at most), ids, bytes.
    const valueSlotCount = Math.max(4, kernelLimits.values);
    const valueSlots = region(8 * valueSlotCount);
    const valueIds = region(4 * (valueSlotCount >> 1));
    const valueBytes = region(VALUE_BYTES);
    const classCache = region(CLASS_CACHE_BYTES);
    this.tallyCapacity = kernelLimits.tallies;
    const tallies = region(4 * TALLY_WORDS * this.tallyCapacity);
    exports.memory.grow(Math.ceil(at / PAGE) - exports.memory.buffer.byteLength / PAGE);
    this.memory = Buffer.from(exports.memory.buffer);
    this.words = new Int32Array(exports.memory.buffer);
    let offset = namedAt;
    for (const domain of plain) {
      this.words[offset / 4] = domain.length;
      this.memory.write(domain, offset + 4, 'latin1');
      offset += (4 + domain.length + 3) & ~3;
    }
    columns.forEach((column, k) => {
      this.words[keyColumns / 4 + 2 * k] = column.position;
      this.words[keyColumns / 4 + 2 * k + 1] = PART_NUMBER[column.part];
    });
    this.input = input;
    this.events = events;
    this.arena = arena;
    this.result = result;
    this.tallies = tallies;
    // The longest record it reads is the text scanner's (CSV_FAST_RECORD): a longer one is handed over.
    exports.configure(
      delimiter, fields, most, CSV_FAST_RECORD, kernelLimits.probes, randomSeed(), columns.length, keyColumns, input, spans, events, eventCount, slots, slotCount, arena, ARENA_BYTES, keySpans, result,
      namedSlots, namedSlotCount, namedAt, plain.length, scratch,
      valueSlots, valueSlotCount, valueIds, valueBytes, VALUE_BYTES, numbered, classCache, timed, tallies, subjects,
    );
  }

  /**
   * Reads the records from `from` in the first `end` bytes of the input region (offsets relative to it; `last`: no more
   * bytes will come): a {@link ScanStatus}. Then {@link position}, {@link eventCount}, {@link lines} and {@link rows}
   * say what it did.
   */
  scan(from: number, end: number, last: boolean): number {
    return this.exports.scan(from, end, last ? 1 : 0);
  }

  /** Where the scan stopped: the start of the record to go on from (or of one not complete yet), or the end. */
  get position(): number {
    return this.words[this.result / 4] as number;
  }

  get eventCount(): number {
    return this.words[this.result / 4 + 1] as number;
  }

  /** Line feeds passed (empty lines and those in quoted fields included). */
  get lines(): number {
    return this.words[this.result / 4 + 2] as number;
  }

  /** Records passed (not empty lines), counted or not. */
  get rows(): number {
    return this.words[this.result / 4 + 5] as number;
  }

  private event(k: number): number {
    return this.events / 4 + k * this.eventWords;
  }

  eventKind(k: number): number {
    return this.words[this.event(k)] as number;
  }

  /** Where the event's record starts and ends in the input region. */
  eventStart(k: number): number {
    return this.words[this.event(k) + 1] as number;
  }

  eventEnd(k: number): number {
    return this.words[this.event(k) + 2] as number;
  }

  eventEntry(k: number): number {
    return this.words[this.event(k) + 3] as number;
  }

  /** How many records the scan passed before this one. */
  eventRow(k: number): number {
    return this.words[this.event(k) + 4] as number;
  }

  /**
   * For a found row of a key whose value is negative or pending and whose `sender` part is the class of the domains not
   * named: a number for its sender domain's bytes, the same for every such row with those bytes while the table is kept
   * (until {@link takeHits}); else -1.
   */
  eventDomain(k: number): number {
    return this.words[this.event(k) + 5] as number;
  }

  /** For a found row of a key whose value is negative or pending: a number for the bytes of its `numbered` column, as eventDomain. */
  eventValue(k: number): number {
    return this.words[this.event(k) + 6] as number;
  }

  /** Whether the event's record is all ASCII. */
  eventAscii(k: number): boolean {
    return this.words[this.event(k) + 7] === 1;
  }

  /**
   * The time in the `timed` column of the event's record (of the header's length) as a number ({@link timeText} gives
   * it back), when it is an ISO time that parseTime keeps as it is (`2026-11-01T00:00:00.000Z`); else -1. Numbers
   * order as the texts do.
   */
  eventTime(k: number): number {
    const at = this.event(k) + 8;
    const high = this.words[at] as number;
    return high < 0 ? -1 : high * TIME_LOW + (this.words[at + 1] as number);
  }

  /**
   * For a found row of a key whose tally does not take every subject: a number for the bytes of its `subjects` column,
   * as eventValue numbers its values; else -1.
   */
  eventSubject(k: number): number {
    return this.words[this.event(k) + 10] as number;
  }

  /** Where field `field` of the event's record starts and ends in the input region (records of the header's length). */
  fieldStart(k: number, field: number): number {
    return this.words[this.event(k) + 11 + 2 * field] as number;
  }

  fieldEnd(k: number, field: number): number {
    return this.words[this.event(k) + 12 + 2 * field] as number;
  }

  /** An entry's value: PENDING until {@link setValue}; positive, its rows are counted; else handed over as events. */
  value(entry: number): number {
    return this.words[(this.arena + entry) / 4 + 1] as number;
  }

  setValue(entry: number, value: number): void {
    if (value === PENDING) throw new Error('a value the kernel reserves');
    this.words[(this.arena + entry) / 4 + 1] = value;
  }

  /** Whether the key part `part` of an entry is the class of the sender domains not named (a `sender` part). */
  inOtherClass(entry: number, part: number): boolean {
    return this.words[(this.arena + entry) / 4 + ENTRY_WORDS + 2 * part + 1] === OTHER_CLASS_TAG;
  }

  /**
   * Lets the kernel count rows of an entry whose value is negative itself, in tally `tally` (below
   * {@link tallyCapacity}, emptied here): from now on, a row of the entry whose {@link eventValue} is one of the
   * tally's values ({@link addTallyValue}), whose subject is one of its subjects ({@link addTallySubject}: by
   * {@link eventSubject}) unless it takes every subject ({@link takeEverySubject}), and whose time is one
   * {@link eventTime} reads (not -1) is no event, but counted in the tally, with the first and last of those times.
   * Only for rows without an {@link eventDomain} (keys whose sender part is not the class). Until {@link takeHits},
   * which empties the table and forgets the tallies.
   */
  setTally(entry: number, tally: number): void {
    if (!(tally >= 0 && tally < this.tallyCapacity)) throw new Error(`no tally ${tally}`);
    this.words[(this.arena + entry) / 4 + ENTRY_TALLY] = tally + 1;
    const at = this.tally(tally);
    this.words[at + TALLY.rows] = 0;
    this.words[at + TALLY.values] = 0;
    this.words[at + TALLY.entry] = entry;
    this.words[at + TALLY.everySubject] = 0;
    this.words[at + TALLY.subjects] = 0;
  }

  /** A tally takes rows whatever their subject (from now on). */
  takeEverySubject(tally: number): void {
    this.words[this.tally(tally) + TALLY.everySubject] = 1;
  }

  /** Adds a subject (an {@link eventSubject} number) to a tally's (up to {@link TALLY_SUBJECTS}). */
  addTallySubject(tally: number, subject: number): void {
    this.addTo(this.tally(tally), TALLY.subjects, TALLY.subject, TALLY_SUBJECTS, subject);
  }

  /** The tally of an entry, or -1. */
  tallyOf(entry: number): number {
    return (this.words[(this.arena + entry) / 4 + ENTRY_TALLY] as number) - 1;
  }

  /** Adds a value to a tally's (up to {@link TALLY_VALUES}: past them, rows of other values stay events). */
  addTallyValue(tally: number, value: number): void {
    this.addTo(this.tally(tally), TALLY.values, TALLY.value, TALLY_VALUES, value);
  }

  /** Adds `id` to the list of a tally's words at `at` (its count at `counted`, its ids from `first`, at most `most`). */
  private addTo(at: number, counted: number, first: number, most: number, id: number): void {
    const count = this.words[at + counted] as number;
    for (let k = 0; k < count; k++) if (this.words[at + first + k] === id) return;
    if (count >= most) return;
    this.words[at + first + count] = id;
    this.words[at + counted] = count + 1;
  }

  /** The rows a tally counted, and the entry it is of. */
  tallyRows(tally: number): number {
    return this.words[this.tally(tally) + TALLY.rows] as number;
  }

  tallyEntry(tally: number): number {
    return this.words[this.tally(tally) + TALLY.entry] as number;
  }

  /** The first and last time of the rows a tally counted (as {@link eventTime} gives them), when it counted any. */
  tallyFirst(tally: number): number {
    const at = this.tally(tally) + TALLY.first;
    return (this.words[at + 1] as number) * TIME_LOW + (this.words[at] as number);
  }

  tallyLast(tally: number): number {
    const at = this.tally(tally) + TALLY.last;
    return (this.words[at + 1] as number) * TIME_LOW + (this.words[at] as number);
  }

  private tally(tally: number): number {
    return this.tallies / 4 + TALLY_WORDS * tally;
  }

  /** Counts one more row of an entry whose value is positive. */
  hit(entry: number): void {
    const at = (this.arena + entry) / 4;
    this.words[at] = (this.words[at] as number) + 1;
  }

  /** Calls `take` with the value and the count of every entry that counted rows, then empties the table (and the numbered values). */
  takeHits(take: (value: number, hits: number) => void): void {
    const used = this.words[this.result / 4 + 3] as number;
    for (let at = 0; at < used; ) {
      const word = (this.arena + at) / 4;
      const hits = this.words[word] as number;
      if (hits > 0) take(this.words[word + 1] as number, hits);
      at += this.words[word + 2] as number;
    }
    this.exports.clear();
    this.words[this.result / 4 + 3] = 0;
  }
}
