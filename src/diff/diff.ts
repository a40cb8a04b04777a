/**
 * Property-level differences between two snapshots: objects matched by their name in each section. Pure.
 *
 * Two exports of an unchanged tenant can still spell values differently: Windows PowerShell 5.1 writes enums as
 * numbers and dates as `/Date(ms)/` (the loader makes those ISO text with milliseconds), PowerShell 7 writes enum
 * names and ISO dates with up to seven fractional digits, hand-made files write whole seconds. Values are compared
 * after undoing those encodings, so that a diff between "before" and "after" of a change shows the change and
 * nothing else. Lists compare as collections of values: Exchange's multi-valued properties and DNS answers (TXT
 * records come back in any order) carry no order.
 */
import type { Snapshot } from '../snapshot/parse.js';
import { ENUM_NUMBERS } from '../snapshot/quirks.js';

export interface Change {
  section: string;
  /** The object's name (`From SEG`), or the domain for Dns; `OrganizationConfig` for the organisation. */
  object: string;
  kind: 'added' | 'removed' | 'changed';
  /** For `changed`: the property, with `.` into nested objects (`DKIM.selector1`). */
  property?: string;
  /** For `changed`: the values as each export holds them (null when the property is missing). */
  before?: unknown;
  after?: unknown;
  /** For `added` and `removed`: the object's properties (those that change on every export left out). */
  properties?: Record<string, unknown>;
}

/** Properties that change on every export without a configuration change. */
const VOLATILE = /^(When(Changed|Created)(UTC)?|LastChecked|RunspaceId|PSComputerName|PSShowComputerName|ExchangeObjectId|ObjectState|OriginatingServer)$/;

/**
 * Enums that the loader leaves as numbers (it maps only what the checks read, src/snapshot/quirks.ts) but that
 * Windows PowerShell 5.1 exports carry as numbers, by section and property. AuthenticationType is
 * Microsoft.Exchange.Data.Directory.AuthenticationType (Managed = 0, Federated = 1); examples/contoso-exposed.json
 * (a 5.1 export) writes 0 where the PowerShell 7 exports of the same domains write "Managed".
 */
const MORE_ENUM_NUMBERS: Readonly<Record<string, Readonly<Record<string, Readonly<Record<number, string>>>>>> = {
  AcceptedDomain: { AuthenticationType: { 0: 'Managed', 1: 'Federated' } },
};

/** The name of an enum number for this property, or undefined when the property is no known enum or the number unknown. */
export function enumName(section: string, property: string, value: unknown): string | undefined {
  if (typeof value !== 'number') return undefined;
  const names = (Object.hasOwn(MORE_ENUM_NUMBERS, section) && Object.hasOwn(MORE_ENUM_NUMBERS[section] as object, property)
    ? MORE_ENUM_NUMBERS[section]?.[property]
    : Object.hasOwn(ENUM_NUMBERS, property)
      ? ENUM_NUMBERS[property]
      : undefined);
  return names && Object.hasOwn(names, value) ? names[value] : undefined;
}

const SECTIONS: readonly { section: keyof Snapshot; key: (item: Record<string, unknown>) => string }[] = [
  { section: 'OrganizationConfig', key: () => 'OrganizationConfig' },
  { section: 'AcceptedDomain', key: (item) => String(item.DomainName) },
  { section: 'InboundConnector', key: (item) => String(item.Name) },
  { section: 'TransportRule', key: (item) => String(item.Name) },
  { section: 'AntiPhishPolicy', key: (item) => String(item.Name ?? item.Identity) },
  { section: 'AntiPhishRule', key: (item) => String(item.Name ?? item.Identity) },
  { section: 'HostedContentFilterPolicy', key: (item) => String(item.Name ?? item.Identity) },
  { section: 'HostedContentFilterRule', key: (item) => String(item.Name ?? item.Identity) },
  { section: 'EOPProtectionPolicyRule', key: (item) => String(item.Name ?? item.Identity) },
  { section: 'ATPProtectionPolicyRule', key: (item) => String(item.Name ?? item.Identity) },
  { section: 'HostedConnectionFilterPolicy', key: (item) => String(item.Name ?? item.Identity) },
  { section: 'DkimSigningConfig', key: (item) => String(item.Domain ?? item.Name) },
];

/** The name an object of a section is matched by (the section's key property), or undefined for sections without one. */
export function objectName(section: string, item: Record<string, unknown>): string | undefined {
  return SECTIONS.find((entry) => entry.section === section)?.key(item);
}

/**
 * An ISO-8601 date and time as the exports write it: `2021-02-15T10:06:31Z`, `…31.000Z` (from `/Date(…)/`),
 * `…31.1234567+01:00` (PowerShell 7). Without an offset it is read as UTC, as `/Date(…)/` is.
 */
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/;

interface Instant {
  /** Nanoseconds since 1970 (exact for every precision an export writes). */
  nanoseconds: bigint;
  /** Fractional digits written: 0 for whole seconds, 3 for milliseconds, 7 for .NET ticks. */
  digits: number;
}

export function parseInstant(text: string): Instant | undefined {
  const match = ISO_DATE.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const fraction = match[7] ?? '';
  const zone = match[8] ?? 'Z';
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second));
  date.setUTCFullYear(year);
  // Reject what Date.UTC would roll over (month 13, 30 February, hour 24): that text is no date.
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || date.getUTCHours() !== hour || date.getUTCMinutes() !== minute) return undefined;
  const offsetMinutes = zone === 'Z' ? 0 : (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(-2)));
  const milliseconds = date.getTime() - offsetMinutes * 60_000;
  return { nanoseconds: BigInt(milliseconds) * 1_000_000n + BigInt(fraction.padEnd(9, '0')), digits: fraction.length };
}

const floorDivide = (value: bigint, unit: bigint) => (value >= 0n ? value / unit : -((-value + unit - 1n) / unit));

/** The same moment at the coarser of the two precisions (`…31Z` equals `…31.000Z` and `…31.4567891Z`). */
function sameInstant(a: Instant, b: Instant): boolean {
  const unit = 10n ** BigInt(9 - Math.min(a.digits, b.digits));
  return floorDivide(a.nanoseconds, unit) === floorDivide(b.nanoseconds, unit);
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** Whether two values are the same configuration once export encodings are undone. `property` names enums. */
export function sameValue(section: string, property: string, a: unknown, b: unknown): boolean {
  const left = enumName(section, property, a) ?? a ?? null;
  const right = enumName(section, property, b) ?? b ?? null;
  if (typeof left === 'string' && typeof right === 'string') {
    if (left === right) return true;
    const x = parseInstant(left);
    const y = x && parseInstant(right);
    return x !== undefined && y !== undefined && sameInstant(x, y);
  }
  if (Array.isArray(left) && Array.isArray(right)) return unmatched(section, property, left, right).every((side) => side.length === 0);
  if (isPlainObject(left) && isPlainObject(right)) {
    const keys = new Set([...Object.keys(left), ...Object.keys(right)]);
    for (const key of keys) if (!sameValue(section, key, left[key], right[key])) return false;
    return true;
  }
  return Object.is(left, right) || (typeof left === 'number' && left === right);
}

/**
 * The entries of each list that have no equal entry in the other (as collections: order is ignored, repeats count).
 * Exact matches are paired first by their JSON text, the rest by {@link sameValue}.
 */
export function unmatched(section: string, property: string, before: readonly unknown[], after: readonly unknown[]): [unknown[], unknown[]] {
  const key = (value: unknown) => JSON.stringify(enumName(section, property, value) ?? value ?? null);
  const waiting = new Map<string, number[]>();
  after.forEach((value, index) => {
    const list = waiting.get(key(value));
    if (list) list.push(index);
    else waiting.set(key(value), [index]);
  });
  const used = new Set<number>();
  const leftOver: unknown[] = [];
  for (const value of before) {
    const index = waiting.get(key(value))?.shift();
    if (index === undefined) leftOver.push(value);
    else used.add(index);
  }
  const rightOver = after.filter((_, index) => !used.has(index));
  // Only dates and nested values can be equal with different text; other values matched above or differ. The pairwise
  // pass is quadratic, so a list beyond MAX_PAIRWISE pairs keeps the exact matches alone (its dates then count as
  // changed when their precision differs): no export comes near it.
  const loose = (value: unknown) => (typeof value === 'string' ? ISO_DATE.test(value) : value !== null && typeof value === 'object');
  if (!leftOver.some(loose) || leftOver.length * rightOver.length > MAX_PAIRWISE) return [leftOver, rightOver];
  const taken = new Set<number>();
  const removed: unknown[] = [];
  for (const value of leftOver) {
    const index = loose(value) ? rightOver.findIndex((other, position) => !taken.has(position) && loose(other) && sameValue(section, property, value, other)) : -1;
    if (index < 0) removed.push(value);
    else taken.add(index);
  }
  return [removed, rightOver.filter((_, position) => !taken.has(position))];
}

/** The most entry pairs {@link unmatched} compares one by one. */
const MAX_PAIRWISE = 1_000_000;

function compareValues(section: string, object: string, property: string, before: unknown, after: unknown, changes: Change[]): void {
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((key) => !VOLATILE.test(key)).sort();
    for (const key of keys) compareValues(section, object, property === '' ? key : `${property}.${key}`, before[key], after[key], changes);
    return;
  }
  // Enums are named by the last part of the path (a top-level property in every section but Dns).
  const name = property.slice(property.lastIndexOf('.') + 1);
  if (!sameValue(section, name, before, after)) changes.push({ section, object, kind: 'changed', property, before: before ?? null, after: after ?? null });
}

/** The object without the properties that change on every export. */
function stableProperties(item: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(item).filter(([key]) => !VOLATILE.test(key)));
}

export function diffSnapshots(before: Snapshot, after: Snapshot): Change[] {
  const changes: Change[] = [];
  for (const { section, key } of SECTIONS) {
    // Rule sections are null when the export could not read them.
    const left = new Map(((before[section] ?? []) as Record<string, unknown>[]).map((item) => [key(item).toLowerCase(), item]));
    const right = new Map(((after[section] ?? []) as Record<string, unknown>[]).map((item) => [key(item).toLowerCase(), item]));
    for (const [name, item] of left) {
      const other = right.get(name);
      if (!other) changes.push({ section, object: key(item), kind: 'removed', properties: stableProperties(item) });
      else compareValues(section, key(item), '', item, other, changes);
    }
    for (const [name, item] of right) if (!left.has(name)) changes.push({ section, object: key(item), kind: 'added', properties: stableProperties(item) });
  }
  const domains = [...new Set([...Object.keys(before.Dns), ...Object.keys(after.Dns)])].sort();
  for (const domain of domains) {
    const a = before.Dns[domain] as Record<string, unknown> | undefined;
    const b = after.Dns[domain] as Record<string, unknown> | undefined;
    if (!a && b) changes.push({ section: 'Dns', object: domain, kind: 'added', properties: stableProperties(b) });
    else if (a && !b) changes.push({ section: 'Dns', object: domain, kind: 'removed', properties: stableProperties(a) });
    else if (a && b) compareValues('Dns', domain, '', a, b, changes);
  }
  return changes;
}
