/**
 * Reading mail-flow data files as a stream of records, in constant memory: gzip, UTF-8/UTF-16 with or without BOM,
 * Windows PowerShell 5.1's `#TYPE` line, CSV (papaparse), JSON arrays and JSON Lines. A malformed row is reported with
 * file and row, counted and skipped — never fatal, never silently dropped.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { TextDecoder } from 'node:util';
import { createGunzip } from 'node:zlib';
import Papa from 'papaparse';
import { InputError } from '../errors.js';
import { columnGetter, detectFormat, MalformedRow, objectGetter, toRecord, type Getter, type Row, type TraceFormat, type TraceRecord } from './records.js';

export interface Malformed {
  file: string;
  row: number;
  reason: string;
}

export interface ReadSummary {
  file: string;
  format: TraceFormat;
  records: number;
  malformed: number;
  /** The first malformed rows (up to 50), with their reasons. */
  examples: Malformed[];
}

const MAX_EXAMPLES = 50;

async function firstBytes(file: string, count: number): Promise<Buffer> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? String(error)})`, { file });
  }
  try {
    const buffer = Buffer.alloc(count);
    const { bytesRead } = await handle.read(buffer, 0, count, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** The file as decoded text chunks: gunzipped when it starts with the gzip magic, decoded by its BOM. */
async function* textChunks(file: string, onBytes?: (bytes: number) => void): AsyncGenerator<string> {
  const gzip = (await firstBytes(file, 2)).equals(Buffer.from([0x1f, 0x8b]));
  const raw = createReadStream(file);
  if (onBytes) raw.on('data', (chunk) => onBytes(chunk.length));
  const stream: AsyncIterable<Buffer> = gzip ? raw.pipe(createGunzip()) : raw;
  let decoder: TextDecoder | null = null;
  try {
    for await (const chunk of stream) {
      let bytes = chunk;
      if (!decoder) {
        if (bytes[0] === 0xff && bytes[1] === 0xfe) {
          decoder = new TextDecoder('utf-16le');
          bytes = bytes.subarray(2);
        } else if (bytes[0] === 0xfe && bytes[1] === 0xff) {
          decoder = new TextDecoder('utf-16be');
          bytes = bytes.subarray(2);
        } else {
          decoder = new TextDecoder('utf-8');
          if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
        }
      }
      const text = decoder.decode(bytes, { stream: true });
      if (text) yield text;
    }
    const rest = decoder?.decode() ?? '';
    if (rest) yield rest;
  } catch (error) {
    throw new InputError(`cannot be read: ${(error as Error).message}`, { file });
  }
}

export interface ReadOptions {
  onRecord: (record: TraceRecord) => void;
  onBytes?: (bytes: number) => void;
}

/** Reads one file, calling `onRecord` for every usable record. */
export async function readTrace(file: string, options: ReadOptions): Promise<ReadSummary> {
  const chunks = textChunks(file, options.onBytes);
  const first = await chunks.next();
  if (first.done) throw new InputError('the file is empty', { file });
  let head = first.value;
  // Windows PowerShell 5.1's Export-Csv writes a "#TYPE …" line before the header unless -NoTypeInformation.
  let skippedLines = 0;
  if (head.startsWith('#TYPE')) {
    const end = head.indexOf('\n');
    head = end >= 0 ? head.slice(end + 1) : '';
    skippedLines = 1;
  }
  const rest = async function* () {
    if (head) yield head;
    for await (const chunk of { [Symbol.asyncIterator]: () => chunks }) yield chunk;
  };
  const opening = head.trimStart()[0];
  const summary: ReadSummary = { file, format: 'message-trace', records: 0, malformed: 0, examples: [] };
  const malformed = (row: number, reason: string) => {
    summary.malformed++;
    if (summary.examples.length < MAX_EXAMPLES) summary.examples.push({ file, row, reason });
  };
  const accept = (get: Getter, format: TraceFormat, index: number, raw?: Row) => {
    try {
      options.onRecord(toRecord(get, format, file, index, raw));
      summary.records++;
    } catch (error) {
      if (error instanceof MalformedRow) malformed(index, error.message);
      else throw error;
    }
  };

  if (opening === '[' || opening === '{') {
    await readJson(rest(), file, summary, accept, malformed);
    return summary;
  }

  await new Promise<void>((resolve, reject) => {
    let format: TraceFormat | null = null;
    let getter: ((values: readonly string[]) => Getter) | null = null;
    let index = 0;
    let fields = 0;
    Papa.parse<string[]>(Readable.from(rest()), {
      header: false,
      skipEmptyLines: true,
      step: (results, parser) => {
        const values = results.data;
        if (!format) {
          format = detectFormat(values);
          fields = values.length;
          if (!format) {
            parser.abort();
            reject(new InputError(`the header row (${values.slice(0, 6).join(', ')}…) is not ${KNOWN}`, { file, where: `line ${1 + skippedLines}` }));
            return;
          }
          summary.format = format;
          getter = columnGetter(values);
          return;
        }
        index++;
        if (values.length !== fields) return malformed(index, `${values.length} fields where the header has ${fields}`);
        const error = results.errors[0];
        if (error) return malformed(index, error.message);
        accept((getter as (values: readonly string[]) => Getter)(values), format, index);
      },
      complete: () => resolve(),
      error: (error: Error) => reject(new InputError(`cannot be parsed as CSV: ${error.message}`, { file })),
    });
  });
  return summary;
}

async function readJson(
  chunks: AsyncIterable<string>,
  file: string,
  summary: ReadSummary,
  accept: (get: Getter, format: TraceFormat, index: number, raw?: Row) => void,
  malformed: (row: number, reason: string) => void,
): Promise<void> {
  // JSON Lines are read line by line; a JSON document (array, or { "value" | "Results": [...] }) is read whole.
  let buffer = '';
  let line = 0;
  let format: TraceFormat | null = null;
  let document = '';
  let mode: 'lines' | 'document' | null = null;
  for await (const chunk of chunks) {
    if (mode === 'document') {
      document += chunk;
      continue;
    }
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf('\n')) >= 0) {
      const text = buffer.slice(0, end).trim();
      buffer = buffer.slice(end + 1);
      line++;
      if (!text) continue;
      if (mode === null) {
        if (text.startsWith('{') && isJson(text)) mode = 'lines';
        else {
          mode = 'document';
          document = `${text}\n${buffer}`;
          buffer = '';
          break;
        }
      }
      handleLine(text, line);
    }
  }
  if (mode !== 'document' && buffer.trim()) {
    line++;
    if (mode === null && !(buffer.trim().startsWith('{') && isJson(buffer.trim()))) {
      mode = 'document';
      document = buffer;
    } else handleLine(buffer.trim(), line);
  }
  if (mode === 'document') {
    let value: unknown;
    try {
      value = JSON.parse(document);
    } catch (error) {
      throw new InputError(`not valid JSON: ${(error as Error).message.replace(/, ".*$/s, '')}`, { file });
    }
    const rows = Array.isArray(value) ? value : (wrappedRows(value as Row) ?? [value]);
    if (!Array.isArray(rows)) throw new InputError('a JSON document holding an array of rows was expected', { file });
    (rows as unknown[]).forEach((row, index) => {
      if (!row || typeof row !== 'object') return malformed(index + 1, 'not an object');
      if (!format) {
        format = detectFormat(Object.keys(row));
        if (!format) throw new InputError(`the rows (${Object.keys(row).slice(0, 6).join(', ')}…) are not ${KNOWN}`, { file, where: '[0]' });
        summary.format = format;
      }
      accept(objectGetter(row as Row), format, index + 1, row as Row);
    });
  }

  function handleLine(text: string, at: number): void {
    let row: unknown;
    try {
      row = JSON.parse(text);
    } catch {
      return malformed(at, 'not valid JSON');
    }
    if (!row || typeof row !== 'object' || Array.isArray(row)) return malformed(at, 'not a JSON object');
    const wrapped = wrappedRows(row as Row);
    if (!format && wrapped) {
      // One line holding a whole response ({ "Results": [...] }, { "value": [...] }).
      wrapped.forEach((inner, index) => {
        if (!inner || typeof inner !== 'object') return malformed(index + 1, 'not an object');
        format ??= detectFormat(Object.keys(inner));
        if (!format) throw new InputError(`the rows (${Object.keys(inner).slice(0, 6).join(', ')}…) are not ${KNOWN}`, { file, where: `[${index}]` });
        summary.format = format;
        accept(objectGetter(inner as Row), format, index + 1, inner as Row);
      });
      return;
    }
    if (!format) {
      format = detectFormat(Object.keys(row));
      if (!format) throw new InputError(`line ${at} (${Object.keys(row).slice(0, 6).join(', ')}…) is not ${KNOWN}`, { file });
      summary.format = format;
    }
    accept(objectGetter(row as Row), format, at, row as Row);
  }
}

const KNOWN = 'a message trace, historical search, EmailEvents or lab log format';

/** The rows of an API response object, if it is one. */
function wrappedRows(row: Row): unknown[] | null {
  for (const key of ['value', 'Results', 'results']) if (Array.isArray(row[key])) return row[key] as unknown[];
  return null;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
