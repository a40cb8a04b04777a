/**
 * The impact summary: inbound mail counted per decision key, as `eoplock queries --for impact` has Defender Advanced
 * Hunting / Sentinel (KQL over EmailEvents) or a Get-MessageTraceV2 loop (PowerShell) compute it where the data live.
 * One row stands for `Messages` messages that share everything the emulator's verdict depends on, so a tenant's month
 * of mail is a download of thousands of rows. Pure: rows in, records out.
 *
 * Columns (the names the queries write; the KQL query's keys are EmailEvents' own columns):
 * - the key: SenderIPv4, SenderIPv6, SenderMailFromDomain, SenderFromDomain, RecipientDomain, Connectors (absent in
 *   the PowerShell summary: message trace does not name the connector), EmailDirection (absent in the PowerShell one)
 * - per row: Messages, FirstSeen, LastSeen, and one sample of each address and the subject (SampleMailFrom, SampleFrom,
 *   SampleRecipient, SampleSubject): the emulator decides on addresses, and the samples are those of the group.
 */
import type { Getter, TraceRecord } from './records.js';

/** The summary's columns, in the order the queries write them. */
export const SUMMARY_COLUMNS = [
  'SenderIPv4',
  'SenderIPv6',
  'SenderMailFromDomain',
  'SenderFromDomain',
  'RecipientDomain',
  'Connectors',
  'EmailDirection',
  'Messages',
  'FirstSeen',
  'LastSeen',
  'SampleSubject',
  'SampleMailFrom',
  'SampleFrom',
  'SampleRecipient',
] as const;

export type SummaryColumn = (typeof SUMMARY_COLUMNS)[number];

/** Whether a header row (or a JSON row's keys, already normalised by the caller's `has`) is an impact summary. */
export function isSummaryHeader(has: (...names: string[]) => boolean): boolean {
  return has('Messages') && has('RecipientDomain') && has('SenderMailFromDomain') && has('SenderIPv4', 'SenderIPv6') && has('SampleRecipient');
}

/** The largest count taken as is: beyond it sums stop being exact in a double. */
const MAX_COUNT = Number.MAX_SAFE_INTEGER;

/** Why a row cannot be used (the caller turns it into its malformed-row error). */
export class SummaryRowError extends Error {}

function parseDirection(text: string | null): TraceRecord['direction'] {
  if (!text) return null;
  const value = text.toLowerCase();
  if (value === 'inbound') return 'inbound';
  if (value === 'outbound') return 'outbound';
  if (value === 'intra-org' || value === 'intraorg') return 'intra-org';
  return null;
}

/**
 * The count a row stands for: a whole number of at least 1. Defender writes it as a number (JSON) or digits (CSV);
 * a thousands separator some spreadsheets add is accepted.
 */
function parseCount(text: string | null): number {
  if (text === null || text === '') throw new SummaryRowError('no "Messages" count');
  const digits = text.replace(/[,\s]/g, '');
  if (!/^\d{1,16}$/.test(digits)) throw new SummaryRowError(`"Messages" is not a whole number: "${text.slice(0, 40)}"`);
  const count = Number(digits);
  if (count < 1 || count > MAX_COUNT) throw new SummaryRowError(`"Messages" is out of range: ${digits}`);
  return count;
}

/**
 * One summary row as a record standing for `count` messages: `time` is the first seen, `lastTime` the last. The
 * caller validates what every record needs (a recipient, a readable IP).
 */
export function summaryRecord(field: Getter, parseTime: (text: string | null) => string | null, file: string, index: number): TraceRecord {
  const count = parseCount(field('Messages'));
  // The samples are what the emulator decides on, as the raw rows' addresses are: every message of the row shares
  // their domains (the key), and only domains decide unless a transport rule looks at whole addresses.
  const sampledFrom = field('SampleMailFrom') ?? '';
  const recipient = field('SampleRecipient') ?? '';
  return {
    file,
    row: index,
    format: 'impact-summary',
    time: parseTime(field('FirstSeen')),
    lastTime: parseTime(field('LastSeen')),
    count,
    mailFrom: sampledFrom === '<>' ? '' : sampledFrom,
    headerFrom: field('SampleFrom') || null,
    recipients: recipient.includes('@') ? [recipient] : [],
    clientIp: field('SenderIPv4') || field('SenderIPv6') || null,
    subject: field('SampleSubject') || null,
    status: null,
    direction: parseDirection(field('EmailDirection')),
    // No Connectors column (the PowerShell summary): the data do not say, as in message trace.
    connector: field('Connectors'),
  };
}
