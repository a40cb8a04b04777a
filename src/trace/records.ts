/**
 * Mail-flow data as one record type, from each format Microsoft (and the lab) writes. Pure: rows in, records out.
 * Formats (eop-behaviour.md §8): Get-MessageTraceV2 and legacy Get-MessageTrace (JSON, or CSV from Export-Csv),
 * historical search CSVs (message trace / enhanced summary), Defender Advanced Hunting EmailEvents (CSV/JSON), and
 * the lab's transactions.jsonl.
 */
import { parseIp } from '../eop/ip.js';

export type TraceFormat = 'message-trace' | 'historical-search' | 'email-events' | 'lab';

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
}

export type Row = Record<string, unknown>;

const key = (name: string) => name.toLowerCase().replace(/[^a-z0-9]/g, '');

/** Which format a header row (or the keys of a JSON object) is. */
export function detectFormat(columns: readonly string[]): TraceFormat | null {
  const names = new Set(columns.map(key));
  const has = (...candidates: string[]) => candidates.some((candidate) => names.has(key(candidate)));
  if (has('clientIp') && has('mailFrom') && has('rcptTo') && has('verdict')) return 'lab';
  if (has('RecipientEmailAddress') && has('SenderMailFromAddress', 'SenderFromAddress') && has('SenderIPv4', 'SenderIPv6')) return 'email-events';
  if (has('sender_address') && has('origin_timestamp_utc', 'origin_timestamp', 'date_time_utc') && has('original_client_ip', 'client_ip')) return 'historical-search';
  if (has('Received') && has('SenderAddress') && has('RecipientAddress') && has('FromIP')) return 'message-trace';
  return null;
}

/** Case- and punctuation-insensitive field access. */
function field(row: Row, ...names: string[]): string | null {
  for (const name of names) {
    for (const [column, value] of Object.entries(row)) {
      if (key(column) === key(name) && value !== undefined && value !== null) {
        const text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
        return text.trim();
      }
    }
  }
  return null;
}

/** Dates as written by the cmdlets: ISO, `/Date(ms)/` (PowerShell 5.1 JSON), or en-US `11/20/2026 9:14:03 AM`. */
export function parseTime(text: string | null): string | null {
  if (!text) return null;
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

/** One row as a record. Throws {@link MalformedRow} with the reason when the row cannot be used. */
export function toRecord(row: Row, format: TraceFormat, file: string, index: number): TraceRecord {
  const base = { file, row: index, format };
  let record: TraceRecord;
  switch (format) {
    case 'message-trace':
      record = {
        ...base,
        time: parseTime(field(row, 'Received')),
        mailFrom: field(row, 'SenderAddress') ?? '',
        headerFrom: null,
        recipients: (field(row, 'RecipientAddress') ?? '').split(/[;,]\s*/).filter((address) => address.includes('@')),
        clientIp: field(row, 'FromIP') || null,
        subject: field(row, 'Subject'),
        status: field(row, 'Status'),
        direction: null,
        connector: null,
      };
      break;
    case 'historical-search': {
      const recipients = field(row, 'recipient_status');
      record = {
        ...base,
        time: parseTime(field(row, 'origin_timestamp_utc', 'origin_timestamp', 'date_time_utc')),
        mailFrom: field(row, 'sender_address', 'return_path') ?? '',
        headerFrom: null,
        recipients: recipients ? recipientStatus(recipients) : (field(row, 'recipient_address') ?? '').split(/[;,]/).filter((a) => a.includes('@')),
        clientIp: field(row, 'original_client_ip', 'client_ip') || null,
        subject: field(row, 'message_subject'),
        status: null,
        direction: direction(field(row, 'directionality')),
        connector: field(row, 'connector_id'),
      };
      break;
    }
    case 'email-events':
      record = {
        ...base,
        time: parseTime(field(row, 'Timestamp')),
        mailFrom: field(row, 'SenderMailFromAddress') ?? '',
        headerFrom: field(row, 'SenderFromAddress') || null,
        recipients: [field(row, 'RecipientEmailAddress') ?? ''].filter((address) => address.includes('@')),
        clientIp: field(row, 'SenderIPv4') || field(row, 'SenderIPv6') || null,
        subject: field(row, 'Subject'),
        status: field(row, 'DeliveryAction'),
        direction: direction(field(row, 'EmailDirection')),
        connector: field(row, 'Connectors') ?? null,
      };
      break;
    case 'lab': {
      const verdict = (row.verdict ?? {}) as { connector?: string | null; action?: string; disposition?: string };
      record = {
        ...base,
        time: parseTime(field(row, 'time')),
        mailFrom: field(row, 'mailFrom') ?? '',
        headerFrom: null,
        recipients: Array.isArray(row.rcptTo) ? (row.rcptTo as unknown[]).map(String) : [],
        clientIp: field(row, 'clientIp') || null,
        subject: null,
        status: verdict.action === 'reject' ? 'Refused' : (verdict.disposition ?? null),
        direction: 'inbound',
        connector: verdict.connector ?? '',
      };
      break;
    }
  }
  if (record.recipients.length === 0) throw new MalformedRow('no recipient address');
  if (record.clientIp && !parseIp(record.clientIp)) throw new MalformedRow(`"${record.clientIp}" is not an IP address`);
  if (record.mailFrom === '<>') record.mailFrom = '';
  return record;
}
