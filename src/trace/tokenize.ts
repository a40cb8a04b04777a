/**
 * Mail-flow text to records, one at a time: the JSON document scanner, the CSV scanner for rows of the common shape
 * (csv-parse, in read.ts, reads the rest), and the record bound all readers share. The scanner takes the text in chunks of any
 * size, is linear in it, and holds at most one record: a record (a CSV record, a JSON Lines line, an element of a JSON
 * array) longer than {@link MAX_RECORD} characters is bad input, never buffered. Runs of blank lines between records
 * cost nothing. Pure: text in, records out.
 */
import { InputError } from '../errors.js';

/**
 * The longest record read, in characters (1 MiB). A message-trace row is well under 10 KB; a longer one is not a
 * mail-flow export (or a quote was never closed), and reading on would hold the rest of the file in memory.
 */
export const MAX_RECORD = 1 << 20;

const LF = 10;
const CR = 13;
const TAB = 9;
const SPACE = 32;
const QUOTE = 34;
const COMMA = 44;
const COLON = 58;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;
const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;

/** Line feeds in `text` from `from` to `to`. */
export function countLines(text: string, from = 0, to = text.length): number {
  let count = 0;
  for (let k = text.indexOf('\n', from); k >= 0 && k < to; k = text.indexOf('\n', k + 1)) count++;
  return count;
}

/** The first line feed at or after `from`, or the text's length. */
function nextLineFeed(text: string, from: number): number {
  const at = text.indexOf('\n', from);
  return at < 0 ? text.length : at;
}

/** The end of a run of blank space (space, tab, CR, LF) from `from`; `at.line` goes on by its line feeds. */
export function skipBlank(text: string, from: number, at: { line: number }): number {
  const n = text.length;
  let lines = 0;
  let i = from;
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === LF) lines++;
    else if (c !== SPACE && c !== CR && c !== TAB) break;
  }
  at.line += lines;
  return i;
}

/** The error for a record over {@link MAX_RECORD}, at the line it starts on. */
export function tooLong(file: string, line: number, hint = ''): InputError {
  return new InputError(`a record longer than 1 MiB (${MAX_RECORD} characters): not mail-flow data${hint}`, { file, where: `line ${line}` });
}

/** Calls `onRow` with the text of every row of a JSON document, its 1-based index and the line it starts on. */
export type JsonRowHandler = (text: string, index: number, line: number) => void;

/**
 * The keys under which a JSON document holds its rows: an API response's (`value`, `Results`), and an Event Hub
 * message's of the Defender Streaming API (`records`).
 */
export const WRAPPER_KEYS: ReadonlySet<string> = new Set(['value', 'Results', 'results', 'records']);
/** Enough of a key to tell a wrapper key. */
const KEY_KEPT = 16;

/**
 * The rows of a JSON document, read as a stream: the elements of a top-level array, or of the `value` / `Results` /
 * `results` / `records` array of a top-level object (an API response, an Event Hub message); a top-level object without one is a single row. Each row
 * is handed over as its own text (at most {@link MAX_RECORD} characters) for `JSON.parse`; the scanner checks the
 * structure around the rows (brackets, commas, strings) and stops with an {@link InputError} at the first fault.
 * Blank space between rows is not kept.
 */
export class JsonDocumentScanner {
  /** Open brackets, innermost last. */
  private readonly stack: number[] = [];
  private inString = false;
  /** A backslash ended the last chunk inside a string. */
  private escaped = false;
  /** The line being read (1-based). */
  line: number;
  /** The depth at which rows are the elements: 1 (a top-level array), 2 (a wrapper's array), 0 not yet, -1 done. */
  private rowsDepth = 0;
  /** At the rows' depth: before a row, inside one, after one. */
  private state: 'before' | 'in' | 'after' = 'before';
  /** The row under way is a number, a literal or stray text: it ends at a comma, a bracket or a blank. */
  private primitive = false;
  /** A comma was read after the last row (so the array cannot close yet). */
  private comma = false;
  private index = 0;
  /** The text kept so far of the current row (or of the top-level object, until it turns out to be a wrapper). */
  private parts: string[] | null = null;
  private captured = 0;
  private captureFrom = 0;
  private captureLine = 0;
  /** The top-level value is an object. */
  private topObject = false;
  /** In the top-level object: a key comes next; the key being read (its start in this chunk); the current value's key. */
  private expectKey = false;
  private key = '';
  private keyFrom = -1;
  private valueKey: string | null = null;
  /** The top-level value is complete. */
  private ended = false;
  /** The next quote or backslash. */
  private readonly stringSpecial = /["\\]/g;

  constructor(
    private readonly file: string,
    private readonly onRow: JsonRowHandler,
    firstLine = 1,
  ) {
    this.line = firstLine;
  }

  feed(text: string): void {
    const n = text.length;
    this.captureFrom = 0;
    for (let i = 0; i < n; i++) {
      if (this.inString) {
        i = this.skipString(text, i);
        if (i >= n) break;
        this.stringEnded(text, i);
        continue;
      }
      const c = text.charCodeAt(i);
      if (c === SPACE || c === LF || c === CR || c === TAB) {
        if (this.primitive && this.stack.length === this.rowsDepth) this.endRow(text, i);
        // A run of blank space at once.
        i = skipBlank(text, i, this) - 1;
        continue;
      }
      if (this.ended) throw this.fault('text after the end of the document');
      const depth = this.stack.length;
      if (depth === 0) {
        this.stack.push(c);
        if (c === OPEN_ARRAY) this.rowsDepth = 1;
        else if (c === OPEN_OBJECT) {
          this.topObject = true;
          this.expectKey = true;
          this.startCapture(i);
        } else throw this.fault('a JSON document holding an array of rows was expected');
        continue;
      }
      if (depth === this.rowsDepth) {
        this.atRowsDepth(text, i, c);
        continue;
      }
      if (c === QUOTE) {
        this.inString = true;
        if (depth === 1 && this.topObject && this.expectKey) {
          this.key = '';
          this.keyFrom = i + 1;
          this.expectKey = false;
        }
        continue;
      }
      if (depth === 1 && this.topObject) {
        if (c === COLON) {
          this.valueKey = this.key;
          continue;
        }
        if (c === COMMA) {
          this.expectKey = true;
          this.valueKey = null;
          continue;
        }
        if (c === OPEN_ARRAY && this.rowsDepth === 0 && this.valueKey !== null && WRAPPER_KEYS.has(this.valueKey)) {
          // An API response: the rows are this array's elements; the rest of the object is not kept.
          this.parts = null;
          this.captured = 0;
          this.stack.push(c);
          this.rowsDepth = 2;
          continue;
        }
      }
      if (c === OPEN_ARRAY || c === OPEN_OBJECT) this.stack.push(c);
      else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
        if (this.stack.pop() !== (c === CLOSE_ARRAY ? OPEN_ARRAY : OPEN_OBJECT)) throw this.fault(`"${String.fromCharCode(c)}" does not close the bracket that is open`);
        if (this.stack.length === 0) {
          this.ended = true;
          // A top-level object that is no API response: itself the one row.
          if (this.parts) {
            this.index = 1;
            this.endRow(text, i + 1);
          }
        } else if (this.stack.length === this.rowsDepth && this.state === 'in') this.endRow(text, i + 1);
      }
    }
    if (this.inString && this.keyFrom >= 0) {
      this.key += text.slice(this.keyFrom, Math.min(n, this.keyFrom + KEY_KEPT - this.key.length));
      this.keyFrom = 0;
    }
    if (this.parts) this.keep(text, this.captureFrom, n);
  }

  /** The end of the text: the document must be complete. */
  end(): void {
    if (this.inString || this.stack.length > 0) throw this.fault('the document ends early (a bracket or a string is not closed)');
  }

  /** Inside a string from `i`: the index of its closing quote, or the text's length when it goes on. */
  private skipString(text: string, i: number): number {
    const n = text.length;
    if (this.escaped) {
      this.escaped = false;
      i++;
    }
    const special = this.stringSpecial;
    while (i < n) {
      special.lastIndex = i;
      const match = special.exec(text);
      if (!match) return n;
      const at = match.index;
      if (text.charCodeAt(at) === QUOTE) {
        this.inString = false;
        return at;
      }
      if (at + 1 >= n) {
        this.escaped = true;
        return n;
      }
      i = at + 2;
    }
    return n;
  }

  private stringEnded(text: string, at: number): void {
    if (this.keyFrom >= 0) {
      this.key += text.slice(this.keyFrom, Math.min(at, this.keyFrom + KEY_KEPT - this.key.length));
      this.keyFrom = -1;
    }
    if (this.stack.length === this.rowsDepth && this.state === 'in') this.endRow(text, at + 1);
  }

  private atRowsDepth(text: string, i: number, c: number): void {
    if (this.primitive) {
      if (c !== COMMA && c !== CLOSE_ARRAY) return;
      this.endRow(text, i);
    }
    if (c === COMMA) {
      if (this.state !== 'after') throw this.fault('a comma where a row was expected');
      this.state = 'before';
      this.comma = true;
      return;
    }
    if (c === CLOSE_ARRAY) {
      if (this.comma) throw this.fault('a comma before "]"');
      this.stack.pop();
      this.rowsDepth = -1;
      this.state = 'before';
      this.valueKey = null;
      if (this.stack.length === 0) this.ended = true;
      return;
    }
    if (this.state === 'after') throw this.fault('a comma or "]" was expected after a row');
    if (c === CLOSE_OBJECT || c === COLON) throw this.fault(`"${String.fromCharCode(c)}" where a row was expected`);
    this.state = 'in';
    this.comma = false;
    this.index++;
    this.captureLine = this.line;
    this.startCapture(i);
    if (c === OPEN_ARRAY || c === OPEN_OBJECT) this.stack.push(c);
    else if (c === QUOTE) this.inString = true;
    else this.primitive = true;
  }

  private startCapture(i: number): void {
    this.parts = [];
    this.captured = 0;
    this.captureFrom = i;
    this.captureLine = this.line;
  }

  private keep(text: string, from: number, to: number): void {
    if (!this.parts || to <= from) return;
    this.captured += to - from;
    if (this.captured > MAX_RECORD) throw tooLong(this.file, this.captureLine);
    this.parts.push(from === 0 && to === text.length ? text : text.slice(from, to));
  }

  /** The row ends before `to`. */
  private endRow(text: string, to: number): void {
    this.keep(text, this.captureFrom, to);
    const row = (this.parts ?? []).join('');
    this.parts = null;
    this.captured = 0;
    this.state = 'after';
    this.primitive = false;
    this.onRow(row, this.index, this.captureLine);
  }

  private fault(message: string): InputError {
    return new InputError(`not valid JSON: ${message}`, { file: this.file, where: `line ${this.line}` });
  }
}

/**
 * The longest record the CSV scanner reads itself, in characters. Longer ones (rare: a message-trace row is well under
 * 10 KB) go to csv-parse with the rest of the text, which applies {@link MAX_RECORD} exactly as it counts it.
 */
export const CSV_FAST_RECORD = 1 << 16;

/** A record the scanner leaves to csv-parse, or one not complete in the text so far. */
const NEEDS_MORE = -1;
const HANDED_OVER = -2;

/**
 * CSV records of the common shape, read fast: fields either unquoted (no quote in them) or quoted from their first
 * character to a closing quote followed by the delimiter or a line break (`""` for a quote, line breaks inside), records
 * ended by LF or CR LF (a lone CR is text), empty lines skipped. This is every row PowerShell's Export-Csv and
 * Export-Csv -UseCulture write, and what the Defender portal exports.
 *
 * Anything else (a quote inside an unquoted field, text after a closing quote, a quote never closed, a record longer
 * than {@link CSV_FAST_RECORD}, at least `mostFields` fields) is not guessed at: {@link feed} returns the text from the
 * start of that record on, and the caller hands it and the rest of the input to csv-parse, whose relaxed rules decide.
 * Until then both read the same records, so where the hand-over happens does not change what is read.
 */
export class CsvRecordScanner {
  /** The line the next record starts on (1-based, by line feeds). */
  line: number;
  /** The text of a record not yet complete (shorter than {@link CSV_FAST_RECORD}). */
  private pending = '';
  private readonly delimiter: number;

  /**
   * `wanted`: the columns the caller reads (by position; null: all). The others are still read past, quotes and line
   * breaks included, but their values are left empty.
   */
  constructor(
    delimiter: string,
    private readonly mostFields: number,
    private readonly onRecord: (values: string[], line: number) => void,
    firstLine: number,
    private readonly wanted: readonly boolean[] | null = null,
  ) {
    this.delimiter = delimiter.charCodeAt(0);
    this.line = firstLine;
  }

  /** Reads the complete records of the text; null, or the text from a record the scanner does not read on. */
  feed(text: string): string | null {
    return this.scan(this.pending ? this.pending + text : text, false);
  }

  /** The end of the input: the last record needs no line break; null, or the text left to csv-parse. */
  end(): string | null {
    const rest = this.pending;
    this.pending = '';
    return rest ? this.scan(rest, true) : null;
  }

  private scan(text: string, last: boolean): string | null {
    const n = text.length;
    let i = 0;
    while (i < n) {
      const next = this.record(text, i, last);
      if (next === NEEDS_MORE) {
        this.pending = text.slice(i);
        if (this.pending.length > CSV_FAST_RECORD) return this.handOver();
        return null;
      }
      if (next === HANDED_OVER) {
        this.pending = text.slice(i);
        return this.handOver();
      }
      i = next;
    }
    this.pending = '';
    return null;
  }

  private handOver(): string {
    const rest = this.pending;
    this.pending = '';
    return rest;
  }

  /** One record from `start` (or an empty line): the index after it, {@link NEEDS_MORE} or {@link HANDED_OVER}. */
  private record(text: string, start: number, last: boolean): number {
    const n = text.length;
    const delimiter = this.delimiter;
    const first = text.charCodeAt(start);
    // Empty lines are no records (csv-parse's skip_empty_lines).
    if (first === LF) {
      this.line++;
      return start + 1;
    }
    if (first === CR) {
      if (start + 1 >= n) return last ? HANDED_OVER : NEEDS_MORE;
      if (text.charCodeAt(start + 1) === LF) {
        this.line++;
        return start + 2;
      }
    }
    // A new array for each record: the caller may keep it.
    const values: string[] = [];
    const wanted = this.wanted;
    // The first line feed at or after the field being read (found when needed).
    let lf = -1;
    let lines = 0;
    let i = start;
    for (;;) {
      if (i - start > CSV_FAST_RECORD || values.length >= this.mostFields) return HANDED_OVER;
      let value: string;
      // A column the caller does not read is skipped, not cut out of the text: its value is empty.
      const keep = wanted === null || wanted[values.length] !== false;
      if (i < n && text.charCodeAt(i) === QUOTE) {
        // A quoted field: to the quote not followed by another.
        value = '';
        const open = i;
        let from = i + 1;
        for (;;) {
          const quote = text.indexOf('"', from);
          if (quote < 0) return last ? HANDED_OVER : NEEDS_MORE;
          if (quote + 1 >= n) {
            if (!last) return NEEDS_MORE;
            if (keep) value += text.slice(from, quote);
            i = quote + 1;
            break;
          }
          if (text.charCodeAt(quote + 1) === QUOTE) {
            if (keep) value += text.slice(from, quote + 1);
            from = quote + 2;
            continue;
          }
          if (keep) value += text.slice(from, quote);
          i = quote + 1;
          break;
        }
        // Line feeds inside the field (rare): the next line feed is looked for once per record, and again only past it.
        if (lf < open) lf = nextLineFeed(text, open);
        if (lf < i) {
          lines += countLines(text, open, i);
          lf = nextLineFeed(text, i);
        }
        values.push(value);
        if (i >= n) break;
        const c = text.charCodeAt(i);
        if (c === delimiter) {
          i++;
          continue;
        }
        if (c === LF) {
          i++;
          break;
        }
        if (c === CR) {
          if (i + 1 >= n) return last ? HANDED_OVER : NEEDS_MORE;
          if (text.charCodeAt(i + 1) === LF) {
            i += 2;
            break;
          }
        }
        return HANDED_OVER;
      }
      // An unquoted field: to the delimiter or the line feed.
      let k = i;
      let c = 0;
      for (; k < n; k++) {
        c = text.charCodeAt(k);
        if (c === delimiter || c === LF) break;
        if (c === QUOTE) return HANDED_OVER;
      }
      if (k >= n) {
        if (!last) return NEEDS_MORE;
        values.push(keep ? text.slice(i, k) : '');
        i = k;
        break;
      }
      // The CR of a CR LF ends the record; a lone CR is text.
      values.push(keep ? text.slice(i, c === LF && k > i && text.charCodeAt(k - 1) === CR ? k - 1 : k) : '');
      i = k + 1;
      if (c === LF) break;
    }
    if (values.length >= this.mostFields || i - start > CSV_FAST_RECORD) return HANDED_OVER;
    const line = this.line;
    this.line += lines + 1;
    this.onRecord(values, line);
    return i;
  }
}
