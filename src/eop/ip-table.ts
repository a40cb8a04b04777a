/**
 * Address tables for the compiled emulator: an address as a plain value (IPv4 a 32-bit number, IPv6 32 lower-case hex
 * digits, which compare as strings in numeric order), sets of address intervals and interval indexes answered by
 * binary search. Built once per compiled snapshot from the lists ip.ts parses; a lookup allocates nothing.
 */
import { parseIp, type IpAddress, type IpEntry } from './ip.js';

/** A client address as the compiled tables read it (a plain object: one is made per decision). */
export interface ClientAddress {
  family: 'ipv4' | 'ipv6';
  /** IPv4: the address as an unsigned 32-bit number; -1 for IPv6. */
  v4: number;
  /** IPv6: 32 lower-case hex digits; '' for IPv4. */
  v6: string;
  /** The text it was read from. */
  input: string;
  /** The address as decide() writes it, once {@link addressText} made it. */
  written: string | null;
}

/** The address as decide() writes it (IPv4 dotted decimal; IPv6 in ipaddr.js's RFC 5952 form), made when asked. */
export function addressText(address: ClientAddress): string {
  if (address.written !== null) return address.written;
  let written = WRITTEN.get(address.input);
  if (written === undefined) {
    written = (parseIp(address.input) as IpAddress).toString();
    // Bounded: the same few thousand addresses recur in a bench, a proof or a trace; past the bound, start again.
    if (WRITTEN.size >= 4096) WRITTEN.clear();
    WRITTEN.set(address.input, written);
  }
  return (address.written = written);
}
/** Address texts as written, by input text (see addressText). */
const WRITTEN = new Map<string, string>();

const clientAddress = (family: 'ipv4' | 'ipv6', v4: number, v6: string, input: string, written: string | null): ClientAddress => ({ family, v4, v6, input, written });

/**
 * The strict four-part decimal IPv4 form (no leading zeros, each part ≤ 255) as a number, or -1. The same forms
 * ipaddr.js's `isValidFourPartDecimal` accepts, without building an object.
 */
export function strictIpv4(text: string): number {
  const length = text.length;
  if (length < 7 || length > 15) return -1;
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  let leadingZero = false;
  for (let index = 0; index < length; index++) {
    const code = text.charCodeAt(index);
    if (code === 46) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
      continue;
    }
    if (code < 48 || code > 57) return -1;
    if (digits === 0) leadingZero = code === 48;
    else if (leadingZero) return -1;
    part = part * 10 + (code - 48);
    digits++;
    if (part > 255) return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

function bytesToHex(bytes: readonly number[]): string {
  let text = '';
  for (const byte of bytes) text += HEX[byte] as string;
  return text;
}

function bytesToV4(bytes: readonly number[]): number {
  return ((bytes[0] ?? 0) * 16777216 + (bytes[1] ?? 0) * 65536 + (bytes[2] ?? 0) * 256 + (bytes[3] ?? 0));
}

/** An ipaddr.js address as a {@link ClientAddress}. */
export function clientAddressOf(address: IpAddress): ClientAddress {
  const bytes = address.toByteArray();
  const text = address.toString();
  return address.kind() === 'ipv4' ? clientAddress('ipv4', bytesToV4(bytes), '', text, text) : clientAddress('ipv6', -1, bytesToHex(bytes), text, text);
}

const hexValue = (code: number): number =>
  code >= 48 && code <= 57 ? code - 48 : code >= 97 && code <= 102 ? code - 87 : code >= 65 && code <= 70 ? code - 55 : -1;

/** Hex groups separated by colons (`2001:db8:0:1`), each 1–4 digits, as numbers; null for anything else. */
function hexGroups(text: string, into: number[]): boolean {
  if (text === '') return true;
  let value = 0;
  let digits = 0;
  for (let index = 0; index <= text.length; index++) {
    if (index === text.length || text.charCodeAt(index) === 58) {
      if (digits === 0) return false;
      into.push(value);
      value = 0;
      digits = 0;
      continue;
    }
    const digit = hexValue(text.charCodeAt(index));
    if (digit < 0 || ++digits > 4) return false;
    value = value * 16 + digit;
  }
  return true;
}

/**
 * The plain IPv6 forms (eight hex groups, or fewer with one `::` standing for at least one zero group) as 32 hex
 * digits; null for anything else — an embedded IPv4 part, a zone, an IPv4-mapped address — which ipaddr.js reads.
 */
export function plainIpv6(text: string): string | null {
  if (text.length < 2 || text.length > 39) return null;
  const gap = text.indexOf('::');
  const head: number[] = [];
  const tail: number[] = [];
  if (gap < 0) {
    if (!hexGroups(text, head) || head.length !== 8) return null;
  } else {
    if (text.indexOf('::', gap + 1) >= 0) return null;
    if (!hexGroups(text.slice(0, gap), head) || !hexGroups(text.slice(gap + 2), tail) || head.length + tail.length > 7) return null;
  }
  const groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff) return null;
  let hex = '';
  for (const group of groups) hex += group.toString(16).padStart(4, '0');
  return hex;
}

/**
 * Parses a client address exactly as {@link parseIp} does (IPv4-mapped IPv6 becomes IPv4); null when invalid. The
 * common forms — strict dotted-decimal IPv4 and plain IPv6 — are read without ipaddr.js.
 */
export function parseClientAddress(text: string): ClientAddress | null {
  const v4 = strictIpv4(text);
  if (v4 >= 0) return clientAddress('ipv4', v4, '', text, text);
  const v6 = plainIpv6(text);
  if (v6 !== null) return clientAddress('ipv6', -1, v6, text, null);
  const parsed = parseIp(text);
  return parsed ? clientAddressOf(parsed) : null;
}

/** The ipaddr.js object for a parsed client address (for the traced path and the functions that take one). */
export function ipObject(address: ClientAddress): IpAddress {
  return parseIp(addressText(address)) as IpAddress;
}

// ── Interval sets ────────────────────────────────────────────────────────────────────────────────

/** The last index whose point is ≤ value, or -1. */
function floorIndex<T extends number | string>(points: ArrayLike<T>, value: T): number {
  let low = 0;
  let high = points.length - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    if ((points[middle] as T) <= value) {
      found = middle;
      low = middle + 1;
    } else high = middle - 1;
  }
  return found;
}

const MAX_V6 = (1n << 128n) - 1n;
const v6Text = (value: bigint): string => value.toString(16).padStart(32, '0');
const entryV6 = (bytes: readonly number[]): bigint => BigInt(`0x${bytesToHex(bytes)}`);

/** Labelled intervals of one family, as numbers (IPv4) or bigints (IPv6) while building. */
interface Labelled<T> {
  low: T;
  high: T;
  id: number;
}

/**
 * For every address, the ids (ascending, each once) of the entries that contain it: the address line is cut at every
 * entry's start and end into segments, each with its list, found by binary search. Equal neighbouring lists are merged.
 */
export class IntervalIndex {
  private readonly v4Points: Float64Array;
  private readonly v4Ids: (readonly number[] | null)[];
  private readonly v6Points: string[];
  private readonly v6Ids: (readonly number[] | null)[];
  /** True when no entry was added. */
  readonly empty: boolean;

  constructor(entries: readonly { entry: IpEntry; id: number }[]) {
    const v4: Labelled<number>[] = [];
    const v6: Labelled<bigint>[] = [];
    for (const { entry, id } of entries) {
      if (entry.family === 'ipv4') v4.push({ low: bytesToV4(entry.low), high: bytesToV4(entry.high), id });
      else v6.push({ low: entryV6(entry.low), high: entryV6(entry.high), id });
    }
    this.empty = entries.length === 0;
    const four = sweep(v4, 0xffffffff, (value) => value + 1);
    this.v4Points = Float64Array.from(four.points);
    this.v4Ids = four.ids;
    const six = sweep(v6, MAX_V6, (value) => value + 1n);
    this.v6Points = six.points.map(v6Text);
    this.v6Ids = six.ids;
  }

  /** The ids of the entries containing the address (ascending), or null for none. */
  lookup(address: ClientAddress): readonly number[] | null {
    if (address.family === 'ipv4') {
      const index = floorIndex(this.v4Points, address.v4);
      return index < 0 ? null : (this.v4Ids[index] ?? null);
    }
    const index = floorIndex(this.v6Points, address.v6);
    return index < 0 ? null : (this.v6Ids[index] ?? null);
  }
}

function sweep<T extends number | bigint>(intervals: Labelled<T>[], max: T, next: (value: T) => T): { points: T[]; ids: (readonly number[] | null)[] } {
  const events: { at: T; id: number; delta: 1 | -1 }[] = [];
  for (const interval of intervals) {
    events.push({ at: interval.low, id: interval.id, delta: 1 });
    if (interval.high < max) events.push({ at: next(interval.high), id: interval.id, delta: -1 });
  }
  events.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  const active = new Map<number, number>();
  const points: T[] = [];
  const ids: (readonly number[] | null)[] = [];
  let previous: readonly number[] | null = null;
  for (let index = 0; index < events.length; ) {
    const at = (events[index] as (typeof events)[number]).at;
    while (index < events.length && (events[index] as (typeof events)[number]).at === at) {
      const event = events[index] as (typeof events)[number];
      const count = (active.get(event.id) ?? 0) + event.delta;
      if (count === 0) active.delete(event.id);
      else active.set(event.id, count);
      index++;
    }
    const list = active.size === 0 ? null : [...active.keys()].sort((a, b) => a - b);
    if (sameList(list, previous) && points.length > 0) continue;
    points.push(at);
    ids.push(list);
    previous = list;
  }
  return { points, ids };
}

function sameList(a: readonly number[] | null, b: readonly number[] | null): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false;
  return true;
}

/** A set of addresses (the union of a list's entries): does it contain this address? */
export class IpSet {
  private readonly index: IntervalIndex;

  constructor(entries: readonly IpEntry[]) {
    this.index = new IntervalIndex(entries.map((entry) => ({ entry, id: 0 })));
  }

  has(address: ClientAddress): boolean {
    return this.index.lookup(address) !== null;
  }
}
