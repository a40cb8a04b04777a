/**
 * Generated mail-flow samples and the impact summary computed from them the way `eoplock queries --for impact`
 * computes it in Defender (KQL over EmailEvents) and in PowerShell (Get-MessageTraceV2), for round-trip tests.
 */
import { SUMMARY_COLUMNS } from '../../src/trace/summary.js';

export type ColumnType = 'datetime' | 'string' | 'long' | 'int';

/**
 * The EmailEvents columns and types, from Microsoft Learn: "EmailEvents table in the advanced hunting schema"
 * (learn.microsoft.com/defender-xdr/advanced-hunting-emailevents-table; MicrosoftDocs/defender-docs,
 * defender-xdr/advanced-hunting-emailevents-table.md).
 */
export const EMAIL_EVENTS_SCHEMA: readonly (readonly [string, ColumnType])[] = [
  ['Timestamp', 'datetime'],
  ['NetworkMessageId', 'string'],
  ['InternetMessageId', 'string'],
  ['SenderMailFromAddress', 'string'],
  ['SenderFromAddress', 'string'],
  ['SenderDisplayName', 'string'],
  ['SenderObjectId', 'string'],
  ['SenderMailFromDomain', 'string'],
  ['SenderFromDomain', 'string'],
  ['SenderIPv4', 'string'],
  ['SenderIPv6', 'string'],
  ['RecipientEmailAddress', 'string'],
  ['RecipientObjectId', 'string'],
  ['Subject', 'string'],
  ['EmailClusterId', 'long'],
  ['EmailDirection', 'string'],
  ['DeliveryAction', 'string'],
  ['DeliveryLocation', 'string'],
  ['ThreatTypes', 'string'],
  ['ThreatNames', 'string'],
  ['DetectionMethods', 'string'],
  ['ConfidenceLevel', 'string'],
  ['BulkComplaintLevel', 'int'],
  ['EmailAction', 'string'],
  ['EmailActionPolicy', 'string'],
  ['EmailActionPolicyGuid', 'string'],
  ['AuthenticationDetails', 'string'],
  ['AttachmentCount', 'int'],
  ['UrlCount', 'int'],
  ['EmailLanguage', 'string'],
  ['Connectors', 'string'],
  ['OrgLevelAction', 'string'],
  ['OrgLevelPolicy', 'string'],
  ['UserLevelAction', 'string'],
  ['UserLevelPolicy', 'string'],
  ['ReportId', 'string'],
  ['AdditionalFields', 'string'],
  ['LatestDeliveryLocation', 'string'],
  ['LatestDeliveryAction', 'string'],
];

export type Row = Record<string, string>;

/** A small deterministic generator (mulberry32): the same seed gives the same sample. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A value, the first ones more often (mail is skewed: a few sources carry most of it). */
const pick = <T>(next: () => number, values: readonly T[]): T => values[Math.floor(next() ** 2 * values.length)] as T;
const domainPart = (address: string) => (address.includes('@') ? address.slice(address.lastIndexOf('@') + 1) : '');

/**
 * Sources around the contoso examples' gateway (203.0.113.10, .11, 198.51.100.0/28): the gateway itself, a Direct
 * Send scanner, SaaS senders, an attacker, an IPv6 source, and rows with no source address.
 */
const SOURCES: readonly (readonly [string, string])[] = [
  ['203.0.113.10', ''],
  ['203.0.113.11', ''],
  ['198.51.100.5', ''],
  ['192.0.2.25', ''],
  ['198.51.100.150', ''],
  ['198.51.100.160', ''],
  ['198.51.100.77', ''],
  ['', '2001:db8:bad::25'],
  ['', ''],
];
const SENDERS = [
  'scanner@contoso.com',
  'ceo@contoso.com',
  'billing@Contoso.com',
  'orders@fabrikam.example',
  'noreply@crm.saas.example',
  'bounce@mailer.attacker.example',
  'news@contoso.co.uk',
  '',
  '<>',
];
const HEADER_FROM = ['', 'ceo@contoso.com', 'orders@fabrikam.example', 'alerts@contosolabs.com'];
const RECIPIENTS = ['finance@contoso.com', 'bob@contoso.com', 'ann@contoso.co.uk', 'team@CONTOSO.com', 'x@elsewhere.example'];
const CONNECTORS = ['', '', 'From Secure Email Gateway', 'Inbound from 0f3c6a2e-5b1d-4c8e-9a7f-2d4b8e1c3f60'];
const DIRECTIONS = ['Inbound', 'Inbound', 'Inbound', 'Inbound', 'Outbound', 'Intra-org'];
const SUBJECTS = ['Invoice 42', 'Scan, page 1', 'He said "hi"', 'two\nlines', 'Grüße ✓', ''];

/** EmailEvents rows with every documented column; the sender domains are those of the addresses, as Defender fills them. */
export function emailEventsSample(seed: number, count: number): Row[] {
  const next = random(seed);
  const start = Date.UTC(2026, 10, 20);
  const rows: Row[] = [];
  for (let k = 0; k < count; k++) {
    const [ipv4, ipv6] = pick(next, SOURCES);
    const mailFrom = pick(next, SENDERS);
    const headerFrom = pick(next, HEADER_FROM);
    const row: Row = Object.fromEntries(EMAIL_EVENTS_SCHEMA.map(([name]) => [name, '']));
    Object.assign(row, {
      Timestamp: new Date(start + Math.floor(next() * 10 * 86_400_000)).toISOString(),
      NetworkMessageId: `m${seed}-${k}`,
      SenderMailFromAddress: mailFrom,
      SenderFromAddress: headerFrom,
      SenderMailFromDomain: domainPart(mailFrom),
      SenderFromDomain: domainPart(headerFrom),
      SenderIPv4: ipv4,
      SenderIPv6: ipv6,
      RecipientEmailAddress: pick(next, RECIPIENTS),
      Subject: pick(next, SUBJECTS),
      EmailDirection: pick(next, DIRECTIONS),
      DeliveryAction: 'Delivered',
      Connectors: pick(next, CONNECTORS),
      EmailClusterId: String(Math.floor(next() * 1000)),
      BulkComplaintLevel: '0',
      AttachmentCount: '0',
      UrlCount: '1',
    });
    rows.push(row);
  }
  return rows;
}

/** Get-MessageTraceV2 rows (one per recipient, no direction, no connector). */
export function messageTraceSample(seed: number, count: number): Row[] {
  return emailEventsSample(seed, count).map((row) => ({
    Received: row.Timestamp as string,
    SenderAddress: row.SenderMailFromAddress as string,
    RecipientAddress: row.RecipientEmailAddress as string,
    Subject: row.Subject as string,
    FromIP: (row.SenderIPv4 || row.SenderIPv6) as string,
    Status: 'Delivered',
    MessageTraceId: row.NetworkMessageId as string,
  }));
}

interface Group {
  row: Row;
  messages: number;
}

/** Groups rows by a key, keeping the first row's samples, a count, and the earliest and latest time. */
function summarise(rows: readonly Row[], key: (row: Row) => string[], time: (row: Row) => string, build: (row: Row) => Row): Row[] {
  const groups = new Map<string, Group>();
  for (const row of rows) {
    const id = JSON.stringify(key(row));
    let group = groups.get(id);
    if (!group) {
      group = { row: { ...build(row), FirstSeen: time(row), LastSeen: time(row) }, messages: 0 };
      groups.set(id, group);
    }
    group.messages++;
    if (time(row) < (group.row.FirstSeen as string)) group.row.FirstSeen = time(row);
    if (time(row) > (group.row.LastSeen as string)) group.row.LastSeen = time(row);
  }
  return [...groups.values()].map((group) => ({ ...group.row, Messages: String(group.messages) })).sort((a, b) => Number(b.Messages) - Number(a.Messages));
}

/**
 * What the KQL impact query returns: `where EmailDirection == 'Inbound'` (case-sensitive), RecipientDomain extracted
 * after the last `@`, `summarize … by` the key columns (case-sensitive), take_any samples, min/max Timestamp.
 */
export function summariseLikeKql(rows: readonly Row[]): Row[] {
  const recipientDomain = (row: Row) => /@([^@]*)$/.exec(row.RecipientEmailAddress ?? '')?.[1] ?? '';
  return summarise(
    rows.filter((row) => row.EmailDirection === 'Inbound'),
    (row) => [row.SenderIPv4, row.SenderIPv6, row.SenderMailFromDomain, row.SenderFromDomain, recipientDomain(row), row.Connectors, row.EmailDirection].map(String),
    (row) => row.Timestamp as string,
    (row) => ({
      SenderIPv4: row.SenderIPv4 as string,
      SenderIPv6: row.SenderIPv6 as string,
      SenderMailFromDomain: row.SenderMailFromDomain as string,
      SenderFromDomain: row.SenderFromDomain as string,
      RecipientDomain: recipientDomain(row),
      Connectors: row.Connectors as string,
      EmailDirection: row.EmailDirection as string,
      SampleSubject: row.Subject as string,
      SampleMailFrom: row.SenderMailFromAddress as string,
      SampleFrom: row.SenderFromAddress as string,
      SampleRecipient: row.RecipientEmailAddress as string,
    }),
  );
}

/** What the PowerShell impact script writes: keyed (ordinally) by FromIP, sender domain and recipient domain. */
export function summariseLikePowerShell(rows: readonly Row[]): Row[] {
  return summarise(
    rows,
    (row) => [row.FromIP, domainPart(row.SenderAddress ?? ''), domainPart(row.RecipientAddress ?? '')].map(String),
    (row) => row.Received as string,
    (row) => {
      const ip = row.FromIP ?? '';
      return {
        SenderIPv4: ip.includes(':') ? '' : ip,
        SenderIPv6: ip.includes(':') ? ip : '',
        SenderMailFromDomain: domainPart(row.SenderAddress ?? ''),
        SenderFromDomain: '',
        RecipientDomain: domainPart(row.RecipientAddress ?? ''),
        SampleSubject: row.Subject as string,
        SampleMailFrom: row.SenderAddress as string,
        SampleFrom: '',
        SampleRecipient: row.RecipientAddress as string,
      };
    },
  );
}

/** CSV as Export-Csv and the Defender portal write it: every field quoted, `"` doubled, CRLF line ends. */
export function toCsv(rows: readonly Row[], columns: readonly string[]): string {
  const quote = (value: string) => `"${value.replace(/"/g, '""')}"`;
  return `${[columns.map(quote).join(','), ...rows.map((row) => columns.map((column) => quote(row[column] ?? '')).join(','))].join('\r\n')}\r\n`;
}

/**
 * The Advanced Hunting API's response: `{ "Schema": [...], "Results": [...] }`, Messages as a JSON number (the
 * query's `long`).
 */
export function toApiJson(rows: readonly Row[]): string {
  return JSON.stringify({
    Schema: SUMMARY_COLUMNS.map((name) => ({ Name: name, Type: name === 'Messages' ? 'Int64' : name.endsWith('Seen') ? 'DateTime' : 'String' })),
    Results: rows.map((row) => Object.fromEntries(SUMMARY_COLUMNS.map((name) => [name, name === 'Messages' ? Number(row[name]) : (row[name] ?? '')]))),
  });
}
