/**
 * Reading mail-flow data files as a stream of records, in constant memory: gzip, UTF-8/UTF-16 with or without BOM,
 * Windows PowerShell 5.1's `#TYPE` line, CSV (comma, semicolon, tab or bar; read by CsvRecordScanner, and by csv-parse
 * from a row of another shape on; a large file in parts on every processor, parts.ts), JSON arrays, API
 * responses and JSON Lines, and the Defender XDR Streaming API's records (one per line as a storage account holds them,
 * or `{ "records": [...] }` messages as an Event Hub delivers them, one per line or one per file). Memory is bounded
 * by the longest record, itself bounded by MAX_RECORD (tokenize.ts), whatever the file holds: runs of blank lines, one
 * endless line, a gzip bomb (read at the speed it inflates, never held).
 *
 * A malformed row is reported with file and row, counted and skipped — never fatal, never silently dropped. A file
 * with no mail-flow records in it (empty, binary, an unknown header, a JSON document with no rows) is bad input;
 * a known header row with no rows under it is an empty trace. A file that mixes Streaming API records with plain rows
 * is bad input, named with the record where the shape changes.
 */
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline as pipe, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TextDecoder } from 'node:util';
import { isAscii } from 'node:buffer';
import { createGunzip } from 'node:zlib';
import { CsvError, Parser } from 'csv-parse';
import { parse as parseCsv } from 'csv-parse/sync';
import { InputError } from '../errors.js';
import type { ImpactAnalysis } from './impact.js';
import { own } from '../util/strings.js';
import { csvColumns, csvRecords, detectFormat, isStreamingRecord, MalformedRow, objectGetter, STREAMING_CATEGORY, toRecord, type CsvRecordMaker, type Getter, type Row, type TraceFormat, type TraceRecord } from './records.js';
import type { SplitOptions } from './read-workers.js';
import { EventKind, INPUT_BYTES, RowKernel, ScanStatus, type KeyColumn } from './row-kernel.js';
import { countLines, CSV_FAST_RECORD, CsvRecordScanner, JsonDocumentScanner, MAX_RECORD, skipBlank, tooLong, WRAPPER_KEYS } from './tokenize.js';

export interface Malformed {
  file: string;
  row: number;
  /** Where the row is when its number alone does not find it: `line 3, records[1]` (a line holding many rows). */
  where?: string;
  reason: string;
}

export interface ReadSummary {
  file: string;
  format: TraceFormat;
  records: number;
  malformed: number;
  /** The first malformed rows (up to 50), with their reasons. */
  examples: Malformed[];
  /**
   * Streaming API records of other Advanced Hunting tables, skipped (an Event Hub can carry every table the export
   * streams): per category, the first {@link MAX_TABLES} seen. Only for `email-events-streaming`.
   */
  otherTables?: { category: string; records: number }[];
}

const MAX_EXAMPLES = 50;
/** Categories of other tables told apart; the rest are counted under one name. */
const MAX_TABLES = 20;
const MORE_TABLES = '(other categories)';

const GZIP = Buffer.from([0x1f, 0x8b]);
/** Bytes looked at to tell the encoding (a BOM, or the NULs of UTF-16 without one) and binary data. */
const SNIFF = 1024;
/** Decoded characters looked at for binary data. */
const CHECK = 8192;

async function firstBytes(file: string, count: number): Promise<Buffer> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw unreadable(file, error);
  }
  try {
    const buffer = Buffer.alloc(count);
    const { bytesRead } = await handle.read(buffer, 0, count, 0);
    return buffer.subarray(0, bytesRead);
  } catch (error) {
    throw unreadable(file, error);
  } finally {
    await handle.close();
  }
}

function unreadable(file: string, error: unknown): InputError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new InputError('no such file', { file });
  if (code === 'EISDIR') return new InputError('is a folder, not a file', { file });
  if (code?.startsWith('Z_')) return new InputError(`cannot be read: the gzip data is damaged (${(error as Error).message})`, { file });
  return new InputError(`cannot be read (${code ?? (error as Error).message})`, { file });
}

function notText(file: string): InputError {
  return new InputError(`${NOTHING}: binary data, not CSV or JSON text`, { file });
}

/**
 * The decoder for the first bytes of a file: by its BOM; UTF-16 without a BOM by its NULs (every other byte of
 * ASCII text); otherwise UTF-8. Any other NUL is binary data.
 */
function chooseDecoder(bytes: Buffer, file: string): { decoder: TextDecoder; skip: number } {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return { decoder: new TextDecoder('utf-8'), skip: 3 };
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return { decoder: new TextDecoder('utf-16le'), skip: 2 };
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return { decoder: new TextDecoder('utf-16be'), skip: 2 };
  const pairs = Math.floor(Math.min(bytes.length, SNIFF) / 2);
  let evenNul = 0;
  let oddNul = 0;
  for (let k = 0; k < pairs; k++) {
    if (bytes[2 * k] === 0) evenNul++;
    if (bytes[2 * k + 1] === 0) oddNul++;
  }
  if (pairs > 0 && oddNul >= pairs * 0.4 && evenNul <= pairs * 0.05) return { decoder: new TextDecoder('utf-16le'), skip: 0 };
  if (pairs > 0 && evenNul >= pairs * 0.4 && oddNul <= pairs * 0.05) return { decoder: new TextDecoder('utf-16be'), skip: 0 };
  if (evenNul + oddNul > 0 || bytes.subarray(0, SNIFF).includes(0)) throw notText(file);
  return { decoder: new TextDecoder('utf-8'), skip: 0 };
}

/** How many characters of decoded text are not text: NUL, replacement characters, C0 controls but the usual blanks. */
function nonText(text: string): number {
  let count = 0;
  for (let k = 0; k < text.length; k++) {
    const c = text.charCodeAt(k);
    if (c === 0xfffd || (c < 0x20 && c !== 9 && c !== 10 && c !== 12 && c !== 13)) count++;
  }
  return count;
}

/**
 * The file as decoded text chunks: gunzipped when it starts with the gzip magic, decoded by its BOM or its NULs.
 * Binary data (a NUL, or more than a tenth of the first characters not text) is refused.
 */
async function* textChunks(file: string, onBytes?: (bytes: number) => void): AsyncGenerator<string> {
  const gzip = (await firstBytes(file, 2)).equals(GZIP);
  const raw = createReadStream(file);
  if (onBytes) raw.on('data', (chunk) => onBytes(chunk.length));
  // pipeline: a read error reaches the gunzip stream, and ending the gunzip stream closes the file.
  const stream: AsyncIterable<Buffer> = gzip ? pipe(raw, createGunzip(), () => undefined) : raw;
  let decoder: TextDecoder | null = null;
  let sniffed: Buffer[] = [];
  let sniffedBytes = 0;
  let checked = 0;
  let bad = 0;
  const decode = (bytes: Buffer, last: boolean): string => {
    if (!decoder) {
      const chosen = chooseDecoder(bytes, file);
      decoder = chosen.decoder;
      bytes = bytes.subarray(chosen.skip);
    }
    const text = decoder.decode(bytes, { stream: !last });
    if (checked < CHECK && text) {
      const sample = text.slice(0, CHECK - checked);
      bad += nonText(sample);
      checked += sample.length;
      if (text.includes('\0') || bad > Math.max(checked, 64) / 10) throw notText(file);
    }
    return text;
  };
  try {
    for await (const chunk of stream) {
      if (!decoder) {
        sniffed.push(chunk);
        sniffedBytes += chunk.length;
        if (sniffedBytes < SNIFF) continue;
        const bytes = Buffer.concat(sniffed);
        sniffed = [];
        const text = decode(bytes, false);
        if (text) yield text;
        continue;
      }
      const text = decode(chunk, false);
      if (text) yield text;
    }
    const rest = decode(Buffer.concat(sniffed), true);
    if (rest) yield rest;
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw unreadable(file, error);
  }
}

/** `splitAbove` and `parts` (SplitOptions) apply when `impact` is given. */
export interface ReadOptions extends SplitOptions {
  onRecord: (record: TraceRecord) => void;
  onBytes?: (bytes: number) => void;
  /**
   * The impact analysis that `onRecord` adds every record to, when it does nothing else: a large CSV file is then read
   * in parts by worker threads, each evaluating its rows, and their results are merged into this analysis (in the order
   * of the file, as reading it in one piece would give); `onRecord` is not called for those records.
   */
  impact?: ImpactAnalysis;
}

/** Where a record goes: the caller, or the malformed count. Knows the format once the header row or first object told it. */
class Sink {
  format: TraceFormat | null = null;
  /** Rows seen (usable or not), to tell an empty file from one whose rows are all malformed. */
  rows = 0;
  /** The text ended inside a quoted field (a byte range that ends there was cut inside a row). */
  quoteOpenAtEnd = false;
  readonly summary: ReadSummary;

  constructor(
    readonly file: string,
    private readonly onRecord: (record: TraceRecord) => void,
  ) {
    this.summary = { file, format: 'message-trace', records: 0, malformed: 0, examples: [] };
  }

  setFormat(format: TraceFormat): void {
    this.format = format;
    this.summary.format = format;
  }

  malformed(row: number, reason: string, where?: string): void {
    this.summary.malformed++;
    if (this.summary.examples.length < MAX_EXAMPLES) this.summary.examples.push({ file: this.file, row, ...(where ? { where } : {}), reason });
  }

  accept(get: Getter, index: number, raw?: Row, where?: string): void {
    try {
      this.onRecord(toRecord(get, this.format as TraceFormat, this.file, index, raw));
      this.summary.records++;
    } catch (error) {
      if (error instanceof MalformedRow) this.malformed(index, error.message, where);
      else throw error;
    }
  }

  /** A CSV row of the header's length. */
  acceptValues(make: CsvRecordMaker, values: readonly string[], index: number): void {
    let record: TraceRecord;
    try {
      record = make(values, this.file, index);
    } catch (error) {
      if (error instanceof MalformedRow) return this.malformed(index, error.message);
      throw error;
    }
    this.onRecord(record);
    this.summary.records++;
  }

  /**
   * A JSON row: an object's keys decide the format, the first time (a Streaming API record by its `category` and
   * `properties`); after that every row must have the same shape. `locate` says where the row is in malformed-row
   * reports when its index alone does not.
   */
  object(row: unknown, index: number, where: string, locate?: string): void {
    this.rows++;
    if (!row || typeof row !== 'object' || Array.isArray(row)) return this.malformed(index, 'not a JSON object', locate);
    const streamed = isStreamingRecord(row as Row);
    if (!this.format) {
      const format = streamed ? 'email-events-streaming' : detectFormat(Object.keys(row));
      if (!format) throw new InputError(`${NOTHING}: the rows (${preview(Object.keys(row))}) are not ${KNOWN}`, { file: this.file, where });
      this.setFormat(format);
      if (streamed) this.summary.otherTables = [];
    } else if (streamed !== (this.format === 'email-events-streaming')) {
      throw new InputError(
        streamed
          ? `mixed shapes: a Defender Streaming API record ("category", "properties") among ${this.format} rows`
          : `mixed shapes: a row that is no Defender Streaming API record (no "category" and "properties": ${preview(Object.keys(row))}) among Streaming API records`,
        { file: this.file, where },
      );
    }
    if (streamed) return this.streamed(row as Row, index, locate);
    this.accept(objectGetter(row as Row), index, row as Row, locate);
  }

  private readonly tables = new Map<string, { category: string; records: number }>();

  /** A Streaming API record: an EmailEvents row under `properties`, or another table's record (counted, skipped). */
  private streamed(record: Row, index: number, locate?: string): void {
    const { category, properties } = record;
    if (typeof category !== 'string') return this.malformed(index, '"category" is not text', locate);
    if (category.trim().toLowerCase() !== STREAMING_CATEGORY.toLowerCase()) {
      const named = own(category.slice(0, 100));
      const name = this.tables.has(named) || this.tables.size < MAX_TABLES ? named : MORE_TABLES;
      let table = this.tables.get(name);
      if (!table) {
        table = { category: name, records: 0 };
        this.tables.set(name, table);
        this.summary.otherTables?.push(table);
      }
      table.records++;
      return;
    }
    if (!properties || typeof properties !== 'object' || Array.isArray(properties)) return this.malformed(index, '"properties" is not a JSON object', locate);
    this.accept(objectGetter(properties as Row), index, record, locate);
  }
}

/** A few values of a header row or an object's keys, for an error message. */
function preview(values: readonly string[]): string {
  const shown = values.slice(0, 6).map((value) => (value.length > 40 ? `${value.slice(0, 40)}…` : value));
  return `${shown.join(', ')}${values.length > 6 ? ', …' : ''}`;
}

/** A text reader for one JSON format: fed chunks in order, then ended. */
interface Reader {
  feed(text: string): void;
  end(): void;
}

/**
 * Reads one file, calling `onRecord` for every usable record. A file in which no format is recognised (empty, binary,
 * an unknown header, no rows) is an {@link InputError}; a recognised header with no rows is an empty trace.
 */
export async function readTrace(file: string, options: ReadOptions): Promise<ReadSummary> {
  if (options.impact) {
    const { readInParts } = await import('./parts.js');
    const summary = await readInParts(file, options.impact, options);
    if (summary) return summary;
  }
  return readTraceText(file, textChunks(file, options.onBytes), options.onRecord);
}

/**
 * Reads mail-flow text given in chunks (cut anywhere) as {@link readTrace} reads a file's; `file` names it in messages
 * and records.
 */
export async function readTraceText(file: string, text: AsyncIterable<string>, onRecord: (record: TraceRecord) => void): Promise<ReadSummary> {
  const sink = new Sink(file, onRecord);
  const chunks = text[Symbol.asyncIterator]();
  const at = { line: 1 };
  let blank = false;
  let first = '';
  // Blank space before the first character decides nothing and is not kept.
  while (!first) {
    const next = await chunks.next();
    if (next.done) break;
    blank = true;
    const start = skipBlank(next.value, 0, at);
    if (start < next.value.length) first = next.value.slice(start);
  }
  if (!first) throw new InputError(`${NOTHING}: the file is empty${blank ? ' (blank space only)' : ''}`, { file });
  const rest = prepend(first, chunks);
  if (first[0] === '[' || first[0] === '{') {
    const reader: Reader = first[0] === '[' ? jsonDocumentReader(sink, at.line) : new JsonReader(sink, at.line);
    for await (const chunk of rest) reader.feed(chunk);
    reader.end();
  } else await readCsv(sink, rest, at.line);
  if (!sink.format) throw new InputError(`${NOTHING}: ${sink.rows > 0 ? 'no row is a JSON object' : 'the JSON holds no rows'}`, { file });
  const { otherTables, records, malformed } = sink.summary;
  if (otherTables?.length && records === 0 && malformed === 0) {
    const tables = otherTables.map((table) => `${table.category} (${table.records})`).join(', ');
    throw new InputError(`${NOTHING}: the Defender Streaming API records are of ${tables}, none of ${STREAMING_CATEGORY}`, { file });
  }
  return sink.summary;
}

/** `first`, then the rest of `chunks` (closing `chunks` when it is closed). */
async function* prepend(first: string, chunks: AsyncIterator<string>): AsyncGenerator<string> {
  if (first) yield first;
  yield* { [Symbol.asyncIterator]: () => chunks };
}

/** The candidate CSV delimiters, in order: the header row decides (Export-Csv -UseCulture writes `;` in many locales). */
const DELIMITERS = [',', ';', '\t', '|'];

/**
 * Line breaks: CRLF or LF, mixed in one file as they come (a CRLF header over LF rows must not turn the rest of the
 * file into one record). A lone CR is text.
 */
const RECORD_DELIMITERS = ['\r\n', '\n'];

/**
 * Fields a row may have beyond the header's before the rest of the row is kept in its last field (where it counts
 * towards {@link MAX_RECORD}): a row of delimiters alone is as bounded as any other.
 */
const EXTRA_FIELDS = 100;

/**
 * CSV: the header row (after Windows PowerShell 5.1's `#TYPE` line) decides the format and the delimiter; csv-parse
 * reads the rows under it as a stream.
 */
async function readCsv(sink: Sink, text: AsyncIterable<string>, line: number): Promise<void> {
  const chunks = text[Symbol.asyncIterator]();
  const head = new HeaderRow(sink.file, line);
  let found: Found | null = null;
  try {
    while (!found) {
      const next = await chunks.next();
      found = next.done ? head.end() : head.feed(next.value);
      if (next.done) break;
    }
  } catch (error) {
    await chunks.return?.();
    throw error;
  }
  if (!found) throw new InputError(`${NOTHING}: no header row`, { file: sink.file });
  const { delimiter, values } = csvHeader(sink, found.row, found.line);
  await readRows(sink, delimiter, values, found.next, prepend(found.rest, chunks));
}

/** The header row's text, the line it is on, the line after it, and the text after it. */
interface Found {
  row: string;
  line: number;
  next: number;
  rest: string;
}

/**
 * Finds the header row: the first line that is neither blank nor Windows PowerShell 5.1's `#TYPE` line, up to a line
 * break outside quotes. The text before it is held (bounded: a header row is a record).
 */
class HeaderRow {
  private head = '';
  /** Where the search for the row's end goes on, and the quotes before it. */
  private scanned = 0;
  private quotes = 0;
  private firstRow = true;

  constructor(
    private readonly file: string,
    private line: number,
  ) {}

  feed(text: string): Found | null {
    this.head += text;
    return this.find(false);
  }

  end(): Found | null {
    return this.find(true);
  }

  private find(last: boolean): Found | null {
    for (;;) {
      let end = -1;
      for (let k = this.scanned; k < this.head.length; k++) {
        const c = this.head.charCodeAt(k);
        if (c === 34) this.quotes++;
        else if (c === 10 && this.quotes % 2 === 0) {
          end = k;
          break;
        }
      }
      if (end < 0) {
        this.scanned = this.head.length;
        if (this.head.length > MAX_RECORD) throw tooLong(this.file, this.line);
        if (!last || this.head.trim() === '') return null;
        end = this.head.length;
      }
      const row = this.head.slice(0, end).replace(/\r$/, '');
      const rest = this.head.slice(end + 1);
      const line = this.line;
      this.line += 1 + countLines(row);
      this.head = rest;
      this.scanned = 0;
      this.quotes = 0;
      const first = this.firstRow;
      this.firstRow = false;
      // Windows PowerShell 5.1's Export-Csv writes a "#TYPE …" line before the header unless -NoTypeInformation.
      if (row.trim() === '' || (first && row.startsWith('#TYPE'))) continue;
      this.head = '';
      return { row, line, next: this.line, rest };
    }
  }
}

/** The header row's fields with a delimiter (none when csv-parse finds it is no CSV row). */
function splitHeader(row: string, delimiter: string): string[] {
  try {
    return parseCsv(row, { delimiter, record_delimiter: RECORD_DELIMITERS, relax_quotes: true, relax_column_count: true, max_record_size: MAX_RECORD, to: 1 })[0] ?? [];
  } catch (error) {
    if (error instanceof CsvError) return [];
    throw error;
  }
}

/** The header row: the first delimiter that makes it a known header wins. */
function csvHeader(sink: Sink, row: string, line: number): { delimiter: string; values: string[] } {
  let best: string[] = [];
  for (const delimiter of DELIMITERS) {
    const values = splitHeader(row, delimiter);
    const format = detectFormat(values);
    if (format) {
      sink.setFormat(format);
      return { delimiter, values };
    }
    if (values.length > best.length) best = values;
  }
  throw new InputError(`${NOTHING}: the header row (${preview(best)}) is not ${KNOWN}`, { file: sink.file, where: `line ${line}` });
}

/** Line feeds in a record's fields (those of quoted fields: a line feed outside quotes ends the record). */
function lineFeeds(values: readonly string[]): number {
  let count = 0;
  for (const value of values) if (value.includes('\n')) count += countLines(value);
  return count;
}

/**
 * Takes the values of one CSV row: a line of blanks is no row; a row of the header's length is made a record, any
 * other is malformed. Rows are numbered by {@link Sink.rows}.
 */
function rowTaker(sink: Sink, make: CsvRecordMaker, fields: number): (values: string[]) => void {
  const most = fields + EXTRA_FIELDS;
  return (values) => {
    // A line of blanks is no row.
    if (values.length === 1 && (values[0] as string).trim() === '') return;
    const index = ++sink.rows;
    if (values.length === fields) sink.acceptValues(make, values, index);
    else sink.malformed(index, `${values.length === most ? `${most} or more` : values.length} fields where the header has ${fields}`);
  };
}

/**
 * The rows under the header, read as a stream: every row is handed over as it is read and none is kept. The
 * {@link CsvRecordScanner} reads rows of the common shape (every row PowerShell writes); from the first record it does
 * not read, csv-parse reads the rest with its relaxed rules. Blank and whitespace-only lines are skipped; a row whose
 * field count is not the header's is malformed, and so is an unclosed quote at the end of the file; a row longer than
 * {@link MAX_RECORD} is bad input, at the line it starts on.
 */
async function readRows(sink: Sink, delimiter: string, header: string[], firstLine: number, text: AsyncIterable<string>, transient = false): Promise<void> {
  const fields = header.length;
  const most = fields + EXTRA_FIELDS;
  const take = rowTaker(sink, csvRecords(header, sink.format as TraceFormat, transient), fields);
  const scanner = new CsvRecordScanner(delimiter, most, take, firstLine, csvColumns(header, sink.format as TraceFormat));
  const chunks = text[Symbol.asyncIterator]();
  let rest: string | null = null;
  try {
    for (;;) {
      const next = await chunks.next();
      rest = next.done ? scanner.end() : scanner.feed(next.value);
      if (next.done || rest !== null) break;
    }
  } catch (error) {
    await chunks.return?.();
    throw error;
  }
  if (rest === null) return;
  // Where the next row starts, but for the blank lines csv-parse skips after the last one: by line feeds (as editors
  // count them), and by csv-parse's count (which also counts a CR), to tell whether a row spans lines.
  let next = scanner.line;
  let nextCsvLine = 1;
  let blankLines = 0;
  const parser = new Parser({
    delimiter,
    record_delimiter: RECORD_DELIMITERS,
    relax_quotes: true,
    relax_column_count: true,
    skip_empty_lines: true,
    // csv-parse stops before adding to a record whose fields hold more than this (the field being read counted in
    // UTF-8 bytes): no record is longer than MAX_RECORD.
    max_record_size: MAX_RECORD - 1,
    ignore_last_delimiters: most,
    on_record: (values: string[], info) => {
      next += info.empty_lines - blankLines + 1 + lineFeeds(values);
      nextCsvLine = info.lines + 1;
      blankLines = info.empty_lines;
      take(values);
      return null;
    },
  });
  try {
    await pipeline(Readable.from(prepend(rest, chunks)), parser, new Writable({ objectMode: true, write: (_record, _encoding, done) => done() }));
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    const skipped = typeof error.empty_lines === 'number' ? error.empty_lines - blankLines : 0;
    const line = next + skipped;
    if (error.code === 'CSV_QUOTE_NOT_CLOSED') {
      // The last row: the rows before it are read.
      sink.quoteOpenAtEnd = true;
      return sink.malformed(++sink.rows, 'a quoted field is not closed');
    }
    // A row spanning lines has a quoted field with line breaks: likely one never closed.
    if (error.code === 'CSV_MAX_RECORD_SIZE') throw tooLong(sink.file, line, typeof error.lines === 'number' && error.lines > nextCsvLine + skipped ? ', or a quoted field is never closed' : '');
    throw new InputError(`not valid CSV: ${error.message}`, { file: sink.file, where: `line ${line}` });
  }
}

/** A JSON document (an array of rows, or an API response holding one), read as a stream of rows. */
function jsonDocumentReader(sink: Sink, line: number): Reader {
  return new JsonDocumentScanner(
    sink.file,
    (text, index, rowLine) => {
      let row: unknown;
      try {
        row = JSON.parse(text);
      } catch (error) {
        throw new InputError(`not valid JSON: ${jsonMessage(error)}`, { file: sink.file, where: `line ${rowLine}` });
      }
      sink.object(row, index, `[${index - 1}]`);
    },
    line,
  );
}

/** V8's JSON.parse message without the input it quotes. */
function jsonMessage(error: unknown): string {
  return (error as Error).message.replace(/, ".*$/s, '').replace(/^Unexpected token '(.)', .*$/s, 'unexpected "$1"');
}

/**
 * Text starting with `{`: JSON Lines when its first line is a whole JSON object (one row, or a whole API response on
 * one line), read line by line; otherwise one JSON document (a pretty-printed response), read as a stream of rows.
 */
class JsonReader implements Reader {
  private mode: 'first' | 'lines' | 'document' = 'first';
  private pending = '';
  /** The line being read (1-based). */
  line: number;
  private document: Reader | null = null;

  constructor(
    private readonly sink: Sink,
    private readonly firstLine: number,
  ) {
    this.line = firstLine;
  }

  feed(text: string): void {
    if (this.mode === 'document') return (this.document as Reader).feed(text);
    const n = text.length;
    let from = 0;
    while (from < n) {
      if (this.pending === '') {
        // Blank lines between rows: skipped, not kept.
        from = skipBlank(text, from, this);
        if (from === n) return;
      }
      const end = text.indexOf('\n', from);
      if (end < 0) {
        this.pending += text.slice(from);
        if (this.pending.length > MAX_RECORD) {
          if (this.mode === 'first') return this.toDocument('');
          throw tooLong(this.sink.file, this.line);
        }
        return;
      }
      const lineText = this.pending + text.slice(from, end);
      this.pending = '';
      from = end + 1;
      if (lineText.length > MAX_RECORD) {
        if (this.mode === 'first') return this.toDocument(`${lineText}\n${text.slice(from)}`);
        throw tooLong(this.sink.file, this.line);
      }
      if (this.mode === 'first' && !this.firstIsRow(lineText)) return this.toDocument(`${lineText}\n${text.slice(from)}`);
      this.handleLine(lineText.trim(), this.line);
      this.line++;
    }
  }

  end(): void {
    if (this.mode === 'document') return (this.document as Reader).end();
    const rest = this.pending.trim();
    this.pending = '';
    if (!rest) return;
    if (this.mode === 'first' && !this.firstIsRow(rest)) {
      this.toDocument(rest);
      return (this.document as Reader).end();
    }
    this.handleLine(rest, this.line);
  }

  /** Whether the first line is a whole JSON object (then the text is JSON Lines). */
  private firstIsRow(text: string): boolean {
    try {
      const value = JSON.parse(text) as unknown;
      if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
    } catch {
      return false;
    }
    this.mode = 'lines';
    return true;
  }

  /** The text read so far (`pending` and `text`) is the start of one JSON document. */
  private toDocument(text: string): void {
    this.mode = 'document';
    this.document = jsonDocumentReader(this.sink, this.firstLine);
    const start = this.pending;
    this.pending = '';
    if (start) this.document.feed(start);
    if (text) this.document.feed(text);
  }

  private handleLine(text: string, at: number): void {
    const { sink } = this;
    let row: unknown;
    try {
      row = JSON.parse(text);
    } catch {
      sink.rows++;
      return sink.malformed(at, 'not valid JSON');
    }
    const wrapped = row && typeof row === 'object' && !Array.isArray(row) ? wrappedRows(row as Row) : null;
    if (wrapped) {
      // A line holding many rows: a whole response ({ "Results": [...] }, { "value": [...] }), or an Event Hub message
      // ({ "records": [...] }), one per line. Rows are numbered in the file; the report says where they are.
      wrapped.rows.forEach((inner, index) => {
        const where = `line ${at}, ${wrapped.key}[${index}]`;
        sink.object(inner, sink.rows + 1, where, where);
      });
      return;
    }
    sink.object(row, at, `line ${at}`);
  }
}

const KNOWN = 'a message trace, historical search, EmailEvents or lab log format';
const NOTHING = 'no message-trace records found';

/** The rows of an API response or Event Hub message, if the object is one (and not itself a row). */
function wrappedRows(row: Row): { key: string; rows: unknown[] } | null {
  for (const key of WRAPPER_KEYS) {
    if (!Object.hasOwn(row, key) || !Array.isArray(row[key])) continue;
    return isStreamingRecord(row) || detectFormat(Object.keys(row)) ? null : { key, rows: row[key] as unknown[] };
  }
  return null;
}

/**
 * Where the rows of a CSV file start and how they are read, for reading it in byte ranges: found for plain UTF-8 files
 * (with or without a BOM) only; null for any other (gzip, UTF-16, JSON, no known header), which is read in one piece.
 */
export interface CsvLayout {
  /** The byte where the first row after the header starts, and its line. */
  dataStart: number;
  line: number;
  delimiter: string;
  header: string[];
  format: TraceFormat;
}

/** The header of a plain UTF-8 CSV file, within its first {@link MAX_RECORD} bytes and more; null when it is no such file. */
export async function csvLayout(file: string): Promise<CsvLayout | null> {
  let bytes: Buffer;
  try {
    bytes = await firstBytes(file, MAX_RECORD + SNIFF);
  } catch {
    return null;
  }
  if (bytes.subarray(0, 2).equals(GZIP)) return null;
  let skip: number;
  try {
    const chosen = chooseDecoder(bytes, file);
    if (chosen.decoder.encoding !== 'utf-8') return null;
    skip = chosen.skip;
  } catch {
    return null;
  }
  // Whole lines only: no character cut in two.
  const end = bytes.lastIndexOf(10);
  if (end < skip) return null;
  const body = bytes.subarray(skip, end + 1);
  const text = body.toString('utf8');
  if (text.includes('\0') || nonText(text.slice(0, CHECK)) > Math.max(Math.min(text.length, CHECK), 64) / 10) return null;
  const at = { line: 1 };
  const start = skipBlank(text, 0, at);
  if (start >= text.length || text[start] === '[' || text[start] === '{') return null;
  let found: Found | null;
  try {
    found = new HeaderRow(file, at.line).feed(text.slice(start));
  } catch {
    return null;
  }
  if (!found) return null;
  const consumed = text.slice(0, text.length - found.rest.length);
  const dataStart = skip + Buffer.byteLength(consumed);
  // Bytes that are not valid UTF-8 decode to more bytes than they were: such a file is read in one piece.
  if (!body.subarray(0, dataStart - skip).equals(Buffer.from(consumed))) return null;
  const sink = new Sink(file, () => undefined);
  try {
    const { delimiter, values } = csvHeader(sink, found.row, found.line);
    return { dataStart, line: found.next, delimiter, header: values, format: sink.format as TraceFormat };
  } catch {
    return null;
  }
}

/** What reading one byte range of a CSV file gave: its summary (rows numbered from 1 in the range) and its rows. */
export interface RangeSummary {
  summary: ReadSummary;
  rows: number;
  /** The range ended inside a quoted field: it was not cut where a row ends. */
  quoteOpenAtEnd: boolean;
}

/**
 * Reads the rows of the bytes from `start` to `end` of a file laid out as `layout` says (a range that starts where a
 * row does), as {@link readTrace} reads them: rows are numbered from 1 in the range; an error stops the reading.
 * `transient`: the caller looks at each record only until the next, and parses the time of a message trace's records
 * itself (csvRecords).
 */
export async function readCsvRange(
  file: string,
  layout: CsvLayout,
  start: number,
  end: number,
  onRecord: (record: TraceRecord) => void,
  transient = false,
  repeats?: RowRepeats,
): Promise<RangeSummary> {
  const sink = new Sink(file, onRecord);
  sink.setFormat(layout.format);
  if (repeats) await readKeyedRows(sink, layout, start, end, transient, repeats);
  else await readRows(sink, layout.delimiter, layout.header, layout.line, rangeText(file, start, end), transient);
  return { summary: sink.summary, rows: sink.rows, quoteOpenAtEnd: sink.quoteOpenAtEnd };
}

/**
 * How a reader goes through rows without evaluating each, for a caller whose work on a record depends on a few of its
 * columns only (the impact analysis): those columns, as parts of a key (row-kernel.ts); what the caller did with the
 * record it was just handed, for the rows with the same key after it (`effect`: positive, count them with `repeat`,
 * without making records of them; negative, hand each to `again`, which does for it what the caller did without
 * deciding again; 0, hand them to onRecord as any row). `again` reads the row's columns with `value` (by position, as
 * the record would hold them: trimmed; fresh strings, no slices of a larger text), gets the same `memo` object for every
 * row of one key and one sender domain (the key's, or the row's own when the key's sender part is the class of the
 * domains not named) while the reader remembers them (a bounded number: past it, a new object), `derived`, what
 * `derive.make` made of the value of the column `derive.position` (made once per distinct bytes while the reader
 * remembers them: it must depend on the text alone), and `time`, the value of the column `timed` as a number when it is
 * an ISO time that parseTime keeps as it is (RowKernel.eventTime: numbers order as the texts do, timeText gives the
 * text back), else -1 (the caller reads it with `value`). `forget` is called with each memo when the reader lets go of
 * it (before it empties the kernel's table, at the end, and right after `again` for a memo of a row's own).
 *
 * `again` returning a boolean says that another row of the same memo and the same derived value would change nothing
 * for the caller but a count and its time range: whatever its `subjects` column (true: what the caller keeps of it is
 * complete), or (false) when that column's bytes are this row's too. The kernel then counts such rows itself
 * (RowKernel.setTally), for a key (not a key and domain) whose rows have an ISO time, and `absorbed` is given how many
 * it counted and their first and last time (numbers, as `time`), with the memo, before `forget`. Without `absorbed`,
 * or when `again` returns nothing, every row goes to `again`.
 */
export interface RowRepeats {
  columns: readonly KeyColumn[];
  /** The domains a `sender` key part keeps apart (the others are one class, as the caller evaluates them). */
  named?: readonly string[];
  derive: { position: number; make(value: string): unknown };
  timed?: number;
  subjects?: number;
  effect(): number;
  repeat(effect: number, times: number): void;
  again(effect: number, value: (position: number) => string, memo: Record<string, unknown>, derived: unknown, time: number): boolean | void;
  absorbed?(effect: number, memo: Record<string, unknown>, rows: number, first: number, last: number): void;
  forget?(memo: Record<string, unknown>): void;
}

/**
 * The rows of a byte range as {@link readRows} reads them, but from the bytes, through the row-key kernel
 * (row-kernel.ts): a row whose key columns' bytes are those of a row before it is counted or made a record of as
 * `repeats` says, without the caller evaluating it again; any other row is decoded and taken as readRows takes it, in
 * the order of the rows. From the first record of a shape the kernel does not read, the rest of the range is read as
 * text by readRows; so is the whole range when the kernel is not there (the sources run without a build).
 */
async function readKeyedRows(sink: Sink, layout: CsvLayout, start: number, end: number, transient: boolean, repeats: RowRepeats): Promise<void> {
  const { file } = sink;
  const format = sink.format as TraceFormat;
  const fields = layout.header.length;
  const most = fields + EXTRA_FIELDS;
  const timed = repeats.timed ?? -1;
  const kernel = RowKernel.create(layout.delimiter, fields, most, repeats.columns, repeats.named, repeats.derive.position, timed, repeats.subjects ?? -1);
  if (!kernel) return readRows(sink, layout.delimiter, layout.header, layout.line, rangeText(file, start, end), transient);
  const make = csvRecords(layout.header, format, transient);
  const take = rowTaker(sink, make, fields);
  const wanted = csvColumns(layout.header, format);
  // The rows handed to onRecord are read by the text scanner, one at a time.
  const rows = new CsvRecordScanner(layout.delimiter, most, take, layout.line, wanted);
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  const { memory } = kernel;
  const text = (from: number, to: number): string => (isAscii(memory.subarray(from, to)) ? memory.toString('latin1', from, to) : decoder.decode(memory.subarray(from, to)));
  /** The event being handed to `again`, and whether its record is ASCII. */
  let current = 0;
  let ascii = true;
  /** A field of the current event's record, as the text scanner gives it. */
  const field = (position: number): string => {
    const from = kernel.input + kernel.fieldStart(current, position);
    const to = kernel.input + kernel.fieldEnd(current, position);
    const text = ascii ? memory.toString('latin1', from, to) : decoder.decode(memory.subarray(from, to));
    // Only a quoted field holds quotes, each doubled.
    return text.includes('"') ? text.replaceAll('""', '"') : text;
  };
  /** A value of the current event's record, as the record maker gives it (trimmed). */
  const value = (position: number): string => field(position).trim();
  /** The current event's values as the text scanner gives them to `take` (the columns `make` does not read: empty). */
  const values: string[] = new Array<string>(fields).fill('');
  const valuesOf = (): string[] => {
    for (let position = 0; position < fields; position++) if (!wanted || wanted[position]) values[position] = field(position);
    return values;
  };
  /**
   * Per key (entry) handed to `again`, and per key and sender domain (by number) for a key of the class: the caller's
   * memo, as long as the kernel keeps the key. Per number of the derived column's value: what it made of it.
   */
  const memos = new Map<number, Record<string, unknown>>();
  const domainMemos = new Map<number, Map<number, Record<string, unknown>>>();
  /** Memos kept: past readLimits.memos, a row gets a memo of its own (the caller works out again what it would keep). */
  const mostMemos = readLimits.memos;
  let memoCount = 0;
  const newMemo = (): Record<string, unknown> | undefined => (memoCount < mostMemos ? (memoCount++, {}) : undefined);
  const derived: unknown[] = [];
  const forget = repeats.forget?.bind(repeats);
  /** Tallies given to keys (the rows the kernel counts for `absorbed`): the first `tallies` of the kernel's. */
  const absorbed = repeats.absorbed?.bind(repeats);
  let tallies = 0;
  const takeHits = (): void => {
    // The rows the kernel counted for memos first: their counts and times, before the memos are let go.
    for (let tally = 0; tally < tallies; tally++) {
      const rows = kernel.tallyRows(tally);
      if (rows === 0) continue;
      const entry = kernel.tallyEntry(tally);
      (absorbed as NonNullable<typeof absorbed>)(kernel.value(entry), memos.get(entry) as Record<string, unknown>, rows, kernel.tallyFirst(tally), kernel.tallyLast(tally));
    }
    tallies = 0;
    kernel.takeHits((effect, times) => repeats.repeat(effect, times));
    if (forget) {
      for (const memo of memos.values()) forget(memo);
      for (const byDomain of domainMemos.values()) for (const memo of byDomain.values()) forget(memo);
    }
    memos.clear();
    domainMemos.clear();
    memoCount = 0;
    derived.length = 0;
  };
  /** A row the caller takes as any other (through the text scanner): true, or false when the scanner does not read it. */
  const handOn = (from: number, to: number, last: boolean): boolean => {
    let rest = rows.feed(text(kernel.input + from, kernel.input + to));
    if (rest === null && last) rest = rows.end();
    return rest === null;
  };
  let line = layout.line;
  /** Where the text reading takes over (a record's first byte in the file), or -1. */
  let handOver = -1;
  let handle: number;
  try {
    handle = openSync(file, 'r');
  } catch (error) {
    throw unreadable(file, error);
  }
  try {
    let filled = 0;
    // The file offset of the input's first byte, and of the next byte to read.
    let offset = start;
    let at = start;
    reading: for (;;) {
      let count = 0;
      if (at < end) {
        try {
          count = readSync(handle, memory, kernel.input + filled, Math.min(INPUT_BYTES - filled, end - at), at);
        } catch (error) {
          throw unreadable(file, error);
        }
        at += count;
      }
      const last = at >= end || count === 0;
      const length = filled + count;
      let i = 0;
      for (;;) {
        const status = kernel.scan(i, length, last);
        const base = sink.rows;
        const events = kernel.eventCount;
        // Records the kernel passed that are no rows (a line of blanks: the text scanner reads one field, take skips it).
        let blank = 0;
        for (let k = 0; k < events; k++) {
          const kind = kernel.eventKind(k);
          const from = kernel.eventStart(k);
          const to = kernel.eventEnd(k);
          // The rows before this one, counted by the kernel or not.
          const before = base + kernel.eventRow(k) - blank;
          sink.rows = before;
          if (kind === EventKind.found) {
            const entry = kernel.eventEntry(k);
            const effect = kernel.value(entry);
            if (effect > 0) {
              kernel.hit(entry);
              sink.rows++;
              sink.summary.records++;
              continue;
            }
            if (effect < 0) {
              // Valid (its key's first row was) and decided: read from its bytes, without the text scanner.
              sink.rows++;
              sink.summary.records++;
              current = k;
              ascii = kernel.eventAscii(k);
              const domain = kernel.eventDomain(k);
              let memo: Record<string, unknown> | undefined;
              if (domain < 0) {
                memo = memos.get(entry);
                if (!memo && (memo = newMemo())) memos.set(entry, memo);
              } else {
                let byDomain = domainMemos.get(entry);
                if (!byDomain) domainMemos.set(entry, (byDomain = new Map()));
                memo = byDomain.get(domain);
                if (!memo && (memo = newMemo())) byDomain.set(domain, memo);
              }
              // Past the bound, a memo of the row's own, let go at once.
              const single = memo === undefined;
              memo ??= {};
              const number = kernel.eventValue(k);
              let made = number >= 0 ? derived[number] : undefined;
              if (made === undefined) {
                made = repeats.derive.make(value(repeats.derive.position));
                if (number >= 0) derived[number] = made;
              }
              const settled = repeats.again(effect, value, memo, made, timed < 0 ? -1 : kernel.eventTime(k));
              if (single) forget?.(memo);
              else if (settled !== undefined && absorbed && domain < 0 && number >= 0 && timed >= 0) {
                // The key's next rows of this value (and of this subject, or any), the kernel counts (while tallies
                // last). A subject is numbered once the key has a tally: the row after the first of each.
                let tally = kernel.tallyOf(entry);
                if (tally < 0 && tallies < kernel.tallyCapacity) kernel.setTally(entry, (tally = tallies++));
                if (tally >= 0) {
                  kernel.addTallyValue(tally, number);
                  if (settled) kernel.takeEverySubject(tally);
                  else if (kernel.eventSubject(k) >= 0) kernel.addTallySubject(tally, kernel.eventSubject(k));
                }
              }
              continue;
            }
          }
          const records = sink.summary.records;
          if (kind !== EventKind.odd) {
            // A record of the header's length: its values from the bytes.
            current = k;
            ascii = kernel.eventAscii(k);
            take(valuesOf());
          } else {
            if (!handOn(from, to, last && to === length)) {
              // Not expected (the text scanner reads every record the kernel does), but the text reading decides.
              handOver = offset + from;
              break reading;
            }
            if (sink.rows === before) blank++;
          }
          if (kind === EventKind.new) kernel.setValue(kernel.eventEntry(k), sink.summary.records === records + 1 ? repeats.effect() : 0);
        }
        // The rows the kernel counted itself (each event's row was taken above).
        const passed = kernel.rows;
        sink.summary.records += passed - events;
        sink.rows = base + passed - blank;
        line += kernel.lines;
        i = kernel.position;
        if (status === ScanStatus.handedOver) {
          handOver = offset + i;
          break reading;
        }
        if (status === ScanStatus.tableFull) takeHits();
        else if (status === ScanStatus.done) break;
      }
      if (last) break;
      // A record longer than the kernel reads: the text reading takes it.
      if (length - i > CSV_FAST_RECORD) {
        handOver = offset + i;
        break;
      }
      memory.copyWithin(kernel.input, kernel.input + i, kernel.input + length);
      filled = length - i;
      offset += i;
    }
  } finally {
    closeSync(handle);
  }
  takeHits();
  if (handOver >= 0) await readRows(sink, layout.delimiter, layout.header, line, rangeText(file, handOver, end), transient);
}

/**
 * Memos readKeyedRows keeps for `again` between two emptyings of the kernel's table (one per key, or per key and sender
 * domain): bounded whatever the data, as the table is.
 */
export const readLimits = { memos: 1 << 18 };

/** Bytes read at a time from a byte range: few reads (each a system call). */
const RANGE_READ = 1 << 18;
/**
 * Bytes decoded at a time into a chunk of text. Small: the chunk being read is alive at every young-generation
 * collection (copied each time), and the smaller it is, the less the young generation grows (peak memory is the sum of
 * every thread's heap). The bytes read are outside the heap.
 */
const RANGE_CHUNK = 1 << 14;

/**
 * The text of a byte range of a UTF-8 file, as chunks (the range starts and ends between characters). Read with
 * synchronous reads (a range is read by a thread that does nothing else while it waits); a chunk of ASCII bytes after
 * one that ended between characters is copied as it is, others go through the UTF-8 decoder.
 */
async function* rangeText(file: string, start: number, end: number): AsyncGenerator<string> {
  if (end <= start) return;
  // A BOM inside the file is text (only the file's first bytes can be one): as reading the file in one piece keeps it.
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  let handle: number;
  try {
    handle = openSync(file, 'r');
  } catch (error) {
    throw unreadable(file, error);
  }
  try {
    const buffer = Buffer.allocUnsafe(RANGE_READ);
    // The decoder holds no part of a character: the last byte given to it was ASCII (or none was given).
    let between = true;
    for (let at = start; at < end; ) {
      let count: number;
      try {
        count = readSync(handle, buffer, 0, Math.min(RANGE_READ, end - at), at);
      } catch (error) {
        throw unreadable(file, error);
      }
      if (count === 0) break;
      at += count;
      for (let from = 0; from < count; from += RANGE_CHUNK) {
        const bytes = buffer.subarray(from, Math.min(from + RANGE_CHUNK, count));
        let text: string;
        if (between && isAscii(bytes)) text = bytes.toString('latin1');
        else {
          text = decoder.decode(bytes, { stream: true });
          between = (bytes[bytes.length - 1] as number) < 0x80;
        }
        if (text) yield text;
      }
    }
    const rest = decoder.decode();
    if (rest) yield rest;
  } finally {
    closeSync(handle);
  }
}
