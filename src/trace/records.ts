/**
 * Mail-flow data as one record type, from each format Microsoft (and the lab) writes. Pure: rows in, records out.
 * Formats (eop-behaviour.md §8): Get-MessageTraceV2 and legacy Get-MessageTrace (JSON, or CSV from Export-Csv),
 * historical search CSVs (message trace / enhanced summary), Defender Advanced Hunting EmailEvents (CSV/JSON), the
 * same EmailEvents rows as the Defender XDR Streaming API writes them (to a storage account or an Event Hub), and the
 * lab's transactions.jsonl.
 */
import { parseIp } from '../eop/ip.js';
import { own } from '../util/strings.js';
import type { KeyColumn } from './row-kernel.js';
import { isSummaryHeader, summaryRecord, SummaryRowError } from './summary.js';

export type TraceFormat = 'message-trace' | 'historical-search' | 'email-events' | 'email-events-streaming' | 'lab' | 'impact-summary';

export interface TraceRecord {
  file: string;
  /** 1-based data row (the header is not counted), or line for JSON Lines. */
  row: number;
  format: TraceFormat;
  /** ISO-8601, or null when the value is missing or unreadable. */
  time: string | null;
  /** The envelope (P1) sender; `""` for the null sender. */
  mailFrom: string;
  /** The header From, where the data has it (EmailEvents). */
  headerFrom: string | null;
  recipients: string[];
  /** The connecting IP (the last hop before EOP), or null when the data has none. */
  clientIp: string | null;
  subject: string | null;
  status: string | null;
  /** null when the data does not say. */
  direction: 'inbound' | 'outbound' | 'intra-org' | null;
  /** The inbound connector: a name, `""` for none, null when the data does not say. */
  connector: string | null;
  /** How many messages the record stands for (an impact summary's row, summary.ts); absent: one. */
  count?: number;
  /** The last time of those messages (an impact summary's row); `time` is the first. */
  lastTime?: string | null;
}

export type Row = Record<string, unknown>;

/**
 * The Streaming API's record: `{ time, tenantId, category, properties }` (and `operationName`), the Advanced Hunting
 * row under `properties` and its table in `category` as `AdvancedHunting-<table>`. Storage accounts get one record per
 * line; Event Hubs get `{ "records": [...] }` messages. (Microsoft Learn: "Stream Microsoft Defender XDR events to your
 * storage account" and "… to Azure Event Hubs", eop-behaviour.md §8.3.)
 */
export const STREAMING_CATEGORY = 'AdvancedHunting-EmailEvents';

/** Whether a JSON object is a Streaming API record (its shape; the category may be any table's). */
export function isStreamingRecord(row: Row): boolean {
  return Object.hasOwn(row, 'category') && Object.hasOwn(row, 'properties');
}

const key = (name: string) => name.toLowerCase().replace(/[^a-z0-9]/g, '');

/** Which format a header row (or the keys of a JSON object) is. */
export function detectFormat(columns: readonly string[]): TraceFormat | null {
  const names = new Set(columns.map(key));
  const has = (...candidates: string[]) => candidates.some((candidate) => names.has(key(candidate)));
  if (has('clientIp') && has('mailFrom') && has('rcptTo') && has('verdict')) return 'lab';
  if (isSummaryHeader(has)) return 'impact-summary';
  if (has('RecipientEmailAddress') && has('SenderMailFromAddress', 'SenderFromAddress') && has('SenderIPv4', 'SenderIPv6')) return 'email-events';
  if (has('sender_address') && has('origin_timestamp_utc', 'origin_timestamp', 'date_time_utc') && has('original_client_ip', 'client_ip')) return 'historical-search';
  if (has('Received') && has('SenderAddress') && has('RecipientAddress') && has('FromIP')) return 'message-trace';
  return null;
}

/** Reads a field by any of its names (case- and punctuation-insensitive); null when absent or empty-null. */
export type Getter = (...names: string[]) => string | null;

function text(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value.trim();
  if (typeof value !== 'object') return String(value).trim();
  try {
    return JSON.stringify(value).trim();
  } catch {
    // Only a value nested deeper than the stack allows gets here (JSON.parse built it without recursion).
    throw new MalformedRow('a value is nested too deeply');
  }
}

/** A getter over a JSON object. */
export function objectGetter(row: Row): Getter {
  const columns = new Map(Object.keys(row).map((column) => [key(column), column]));
  return (...names) => {
    for (const name of names) {
      const column = columns.get(key(name));
      const value = column === undefined ? null : text(row[column]);
      if (value !== null) return value;
    }
    return null;
  };
}

/** A factory of getters over CSV rows (arrays) with the given header; column positions are resolved once. */
export function columnGetter(header: readonly string[]): (values: readonly string[]) => Getter {
  const positions = new Map<string, number>();
  header.forEach((column, index) => {
    if (!positions.has(key(column))) positions.set(key(column), index);
  });
  const resolved = new Map<string, number | undefined>();
  const position = (name: string) => {
    if (!resolved.has(name)) resolved.set(name, positions.get(key(name)));
    return resolved.get(name);
  };
  return (values) => (...names) => {
    for (const name of names) {
      const index = position(name);
      if (index === undefined) continue;
      const value = values[index];
      if (value !== undefined) return value.trim();
    }
    return null;
  };
}

/** The date and hour (`2026-11-24T09`) of the last canonical time that Date.parse took, the hour below 24. */
let validHour = '';

const digit = (text: string, at: number): number => text.charCodeAt(at) - 48;
const isDigit = (text: string, at: number): boolean => (text.charCodeAt(at) - 48) >>> 0 < 10;

/**
 * Whether `2026-11-24T09:14:03.123Z` (24 characters, checked by the caller to have `-` and `T` where they go and a
 * final `Z`) is a time Date.parse takes, without calling it for every row: the date and hour as Date.parse says (once
 * per hour of the trace, the hour below 24), then minutes and seconds below 60 and digits for the milliseconds, as
 * Date.parse checks them. False leaves it to Date.parse.
 */
function canonicalTime(text: string): boolean {
  if (text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58 || text.charCodeAt(19) !== 46) return false;
  if (!isDigit(text, 14) || !isDigit(text, 15) || !isDigit(text, 17) || !isDigit(text, 18) || !isDigit(text, 20) || !isDigit(text, 21) || !isDigit(text, 22)) return false;
  if (digit(text, 14) > 5 || digit(text, 17) > 5) return false;
  if (validHour === '' || !text.startsWith(validHour)) {
    const hour = text.slice(0, 13);
    if (!isDigit(hour, 11) || !isDigit(hour, 12) || digit(hour, 11) * 10 + digit(hour, 12) >= 24) return false;
    if (Number.isNaN(Date.parse(`${hour}:00:00.000Z`))) return false;
    validHour = own(hour);
  }
  return true;
}

/** Dates as written by the cmdlets: ISO, `/Date(ms)/` (PowerShell 5.1 JSON), or en-US `11/20/2026 9:14:03 AM`. */
export function parseTime(text: string | null): string | null {
  if (!text) return null;
  if (text.length >= 20 && text[4] === '-' && text[10] === 'T' && text.endsWith('Z')) {
    if (text.length === 24 && canonicalTime(text)) return text;
    const iso = Date.parse(text);
    if (!Number.isNaN(iso)) return text.length === 24 ? text : new Date(iso).toISOString();
  }
  const ms = /^\/?Date\((-?\d+)[^)]*\)\/?$/.exec(text.replace(/\\/g, ''));
  if (ms) return new Date(Number(ms[1])).toISOString();
  const us = /^(\d{1,2})\/(\d{1,2})\/(\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(AM|PM)?$/i.exec(text);
  if (us) {
    let hour = Number(us[4]);
    if (us[7]) hour = (hour % 12) + (us[7].toUpperCase() === 'PM' ? 12 : 0);
    return new Date(Date.UTC(Number(us[3]), Number(us[1]) - 1, Number(us[2]), hour, Number(us[5]), Number(us[6] ?? 0))).toISOString();
  }
  const parsed = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text}Z`);
  return Number.isNaN(parsed) ? null : new Date(parsed).toISOString();
}

/** `a@x.com##Receive, Deliver;b@x.com##Receive, Fail` → the addresses. */
function recipientStatus(text: string): string[] {
  return text
    .split(';')
    .map((part) => part.split('##')[0]?.trim() ?? '')
    .filter((address) => address.includes('@'));
}

function direction(text: string | null): TraceRecord['direction'] {
  if (!text) return null;
  const value = text.toLowerCase();
  if (value === '1' || value === 'inbound' || value === 'incoming') return 'inbound';
  if (value === '2' || value === 'outbound' || value === 'originating') return 'outbound';
  if (value === 'intra-org' || value === 'intraorg') return 'intra-org';
  return null;
}

export class MalformedRow extends Error {}

/** Source addresses repeat across millions of rows: their validity is remembered (bounded). */
const validity = new Map<string, boolean>();
function validIp(text: string): boolean {
  let valid = validity.get(text);
  if (valid === undefined) {
    valid = parseIp(text) !== null;
    if (validity.size > 100_000) validity.clear();
    validity.set(own(text), valid);
  }
  return valid;
}

/** One row as a record. Throws {@link MalformedRow} with the reason when the row cannot be used. */
export function toRecord(field: Getter, format: TraceFormat, file: string, index: number, raw?: Row): TraceRecord {
  let record: TraceRecord;
  switch (format) {
    case 'message-trace':
      record = {
        file,
        row: index,
        format,
        time: parseTime(field('Received')),
        mailFrom: field('SenderAddress') ?? '',
        headerFrom: null,
        recipients: recipientList(field('RecipientAddress') ?? ''),
        clientIp: field('FromIP') || null,
        subject: field('Subject'),
        status: field('Status'),
        direction: null,
        connector: null,
      };
      break;
    case 'historical-search': {
      const recipients = field('recipient_status');
      record = {
        file,
        row: index,
        format,
        time: parseTime(field('origin_timestamp_utc', 'origin_timestamp', 'date_time_utc')),
        mailFrom: field('sender_address', 'return_path') ?? '',
        headerFrom: null,
        recipients: recipients ? recipientStatus(recipients) : (field('recipient_address') ?? '').split(/[;,]/).filter((a) => a.includes('@')),
        clientIp: field('original_client_ip', 'client_ip') || null,
        subject: field('message_subject'),
        status: null,
        direction: direction(field('directionality')),
        connector: field('connector_id'),
      };
      break;
    }
    case 'email-events':
    case 'email-events-streaming':
      record = {
        file,
        row: index,
        format,
        // A streamed row without its Timestamp: the record's `time` (when Defender received it) is the nearest.
        time: parseTime(field('Timestamp')) ?? (format === 'email-events-streaming' && typeof raw?.time === 'string' ? parseTime(raw.time.trim()) : null),
        mailFrom: field('SenderMailFromAddress') ?? '',
        headerFrom: field('SenderFromAddress') || null,
        recipients: [field('RecipientEmailAddress') ?? ''].filter((address) => address.includes('@')),
        clientIp: field('SenderIPv4') || field('SenderIPv6') || null,
        subject: field('Subject'),
        status: field('DeliveryAction'),
        direction: direction(field('EmailDirection')),
        connector: field('Connectors') ?? null,
      };
      break;
    case 'impact-summary':
      try {
        record = summaryRecord(field, parseTime, file, index);
      } catch (error) {
        if (error instanceof SummaryRowError) throw new MalformedRow(error.message);
        throw error;
      }
      break;
    case 'lab': {
      const verdict = (raw?.verdict && typeof raw.verdict === 'object' ? raw.verdict : {}) as Record<string, unknown>;
      const textOf = (value: unknown): string | null => (typeof value === 'string' ? value : null);
      if (verdict.connector !== undefined && verdict.connector !== null && typeof verdict.connector !== 'string') throw new MalformedRow('"verdict.connector" is not text');
      record = {
        file,
        row: index,
        format,
        time: parseTime(field('time')),
        mailFrom: field('mailFrom') ?? '',
        headerFrom: null,
        recipients: Array.isArray(raw?.rcptTo) ? (raw.rcptTo as unknown[]).filter((address): address is string => typeof address === 'string') : [],
        clientIp: field('clientIp') || null,
        subject: null,
        status: verdict.action === 'reject' ? 'Refused' : textOf(verdict.disposition),
        direction: 'inbound',
        connector: textOf(verdict.connector) ?? '',
      };
      break;
    }
  }
  return checked(record);
}

/** The checks every record passes: a recipient, a source IP that is one (or none). */
function checked(record: TraceRecord): TraceRecord {
  if (record.recipients.length === 0) throw new MalformedRow('no recipient address');
  if (record.clientIp && !validIp(record.clientIp)) throw new MalformedRow(`"${record.clientIp}" is not an IP address`);
  if (record.mailFrom === '<>') record.mailFrom = '';
  return record;
}

/** Makes a record of one CSV row (as many values as the header has fields); throws {@link MalformedRow}. */
export type CsvRecordMaker = (values: readonly string[], file: string, index: number) => TraceRecord;

/** The columns of a message trace a record is made of. */
const MESSAGE_TRACE_COLUMNS = ['Received', 'SenderAddress', 'RecipientAddress', 'FromIP', 'Subject', 'Status'];

/** Where a message trace's columns are under a header (the first of each name; -1: absent). */
export function messageTraceColumns(header: readonly string[]): Record<'received' | 'sender' | 'recipient' | 'fromIp' | 'subject' | 'status', number> {
  const [received, sender, recipient, fromIp, subject, status] = MESSAGE_TRACE_COLUMNS.map((name) => header.findIndex((value) => key(value) === key(name))) as number[];
  return { received: received as number, sender: sender as number, recipient: recipient as number, fromIp: fromIp as number, subject: subject as number, status: status as number };
}

/** A message trace's RecipientAddress as addresses: split at `;` and `,`, the parts with an `@` kept. */
export function recipientList(text: string): string[] {
  // One address (the common case) needs no split.
  if (!text.includes(';') && !text.includes(',')) return text.includes('@') ? [text] : [];
  return text.split(/[;,]\s*/).filter((address) => address.includes('@'));
}

/**
 * The columns {@link csvRecords} reads under a header, by position (null: all of them): a message trace's by name,
 * the first always (a row of one blank field is a blank line).
 */
export function csvColumns(header: readonly string[], format: TraceFormat): boolean[] | null {
  if (format !== 'message-trace') return null;
  const read = new Set(MESSAGE_TRACE_COLUMNS.map((name) => header.findIndex((value) => key(value) === key(name))));
  return header.map((_, index) => index === 0 || read.has(index));
}

/**
 * The records of CSV rows under a header, as {@link toRecord} makes them. A message trace's columns are found once and
 * read by position (the trace's common case, millions of rows); other formats go through a getter.
 *
 * `transient`, for a caller that looks at each record only until the next (and needs the time of a few): a message
 * trace's records are then one object, filled anew for each row (so are their recipients, when there is one), and
 * their `time` is the Received field's text as it is, for the caller to parse ({@link parseTime}) when it needs it.
 */
export function csvRecords(header: readonly string[], format: TraceFormat, transient = false): CsvRecordMaker {
  const getter = columnGetter(header);
  if (format !== 'message-trace') return (values, file, index) => toRecord(getter(values), format, file, index);
  const { received, sender, recipient, fromIp, subject, status } = messageTraceColumns(header);
  const value = (values: readonly string[], index: number): string | null => (index < 0 ? null : (values[index] as string).trim());
  const one = [''];
  const kept: TraceRecord = { file: '', row: 0, format, time: null, mailFrom: '', headerFrom: null, recipients: one, clientIp: null, subject: null, status: null, direction: null, connector: null };
  return (values, file, index) => {
    const time = value(values, received as number);
    const recipients = value(values, recipient as number) ?? '';
    const record = transient ? kept : { ...kept };
    record.file = file;
    record.row = index;
    record.time = transient ? time : parseTime(time);
    record.mailFrom = value(values, sender as number) ?? '';
    // One address (the common case) needs no split.
    if (recipients.includes(';') || recipients.includes(',') || !recipients.includes('@')) record.recipients = recipientList(recipients);
    else if (transient) {
      one[0] = recipients;
      record.recipients = one;
    } else record.recipients = [recipients];
    record.clientIp = value(values, fromIp as number) || null;
    record.subject = value(values, subject as number);
    record.status = value(values, status as number);
    return checked(record);
  };
}

/**
 * The columns of a CSV row that decide how the impact analysis evaluates its record (ImpactAnalysis.evaluate reads
 * nothing else of a record that stands for one message), as parts of a key (row-kernel.ts): a message trace's source IP,
 * and its sender's and recipients' domains, or whole addresses as `shape` says. Null for other formats (not keyed).
 */
export function keyColumns(header: readonly string[], format: TraceFormat, shape: { wholeSender: boolean; wholeRecipient: boolean }): KeyColumn[] | null {
  if (format !== 'message-trace') return null;
  const { fromIp: ip, sender, recipient } = messageTraceColumns(header);
  if (ip < 0 || sender < 0 || recipient < 0) return null;
  return [
    { position: ip, part: 'whole' },
    // The sender's domain as the analysis tells domains apart: named ones each, all others as one (senderClass).
    { position: sender, part: shape.wholeSender ? 'whole' : 'sender' },
    { position: recipient, part: shape.wholeRecipient ? 'whole' : 'recipients' },
  ];
}
