/**
 * IP addresses and address lists (single address, `a-b` range, CIDR), IPv4 and IPv6, on top of ipaddr.js.
 */
import ipaddr from 'ipaddr.js';

export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;
export type IpFamily = 'ipv4' | 'ipv6';

/** Parses an address strictly (four-part decimal IPv4, or IPv6); IPv4-mapped IPv6 becomes IPv4. Null if invalid. */
export function parseIp(text: string): IpAddress | null {
  const value = text.trim().replace(/^\[(.*)\]$/, '$1');
  // ipaddr.js tells a four-part IPv4 address by trying to parse it and catching the error: an IPv6 text (it has a
  // colon) skips that costly throw.
  if (!value.includes(':') && ipaddr.IPv4.isValidFourPartDecimal(value)) return ipaddr.IPv4.parse(value);
  if (ipaddr.IPv6.isValid(value)) {
    const v6 = ipaddr.IPv6.parse(value);
    return v6.isIPv4MappedAddress() ? v6.toIPv4Address() : v6;
  }
  return null;
}

export type IpEntryForm = 'single' | 'range' | 'cidr';

export interface IpEntry {
  /** The text as configured. */
  text: string;
  form: IpEntryForm;
  family: IpFamily;
  /** Inclusive bounds as big-endian byte arrays. */
  low: number[];
  high: number[];
  /** For CIDR entries. */
  prefix?: number;
}

/** Parses one list entry: `203.0.113.10`, `198.51.100.0/28`, `192.0.2.1-192.0.2.40`, or the IPv6 forms. */
export function parseIpEntry(text: string): IpEntry | { text: string; error: string } {
  const value = text.trim();
  const dash = value.indexOf('-');
  if (dash > 0) {
    const low = parseIp(value.slice(0, dash));
    const high = parseIp(value.slice(dash + 1));
    if (!low || !high) return { text, error: 'not a valid address range (expected a-b)' };
    if (low.kind() !== high.kind()) return { text, error: 'the two ends of the range are of different IP versions' };
    const lowBytes = low.toByteArray();
    const highBytes = high.toByteArray();
    if (compareBytes(lowBytes, highBytes) > 0) return { text, error: 'the range starts after it ends' };
    return { text, form: 'range', family: low.kind(), low: lowBytes, high: highBytes };
  }
  const slash = value.indexOf('/');
  if (slash > 0) {
    const base = parseIp(value.slice(0, slash));
    const bitsText = value.slice(slash + 1);
    if (!base || !/^\d{1,3}$/.test(bitsText)) return { text, error: 'not a valid CIDR block' };
    const bits = Number(bitsText);
    const width = base.kind() === 'ipv4' ? 32 : 128;
    if (bits > width) return { text, error: `prefix /${bits} is longer than ${width} bits` };
    const bytes = base.toByteArray();
    const low = bytes.map((byte, index) => byte & maskByte(bits, index));
    const high = bytes.map((byte, index) => (byte & maskByte(bits, index)) | (~maskByte(bits, index) & 0xff));
    return { text, form: 'cidr', family: base.kind(), low, high, prefix: bits };
  }
  const single = parseIp(value);
  if (!single) return { text, error: 'not a valid IP address' };
  const bytes = single.toByteArray();
  return { text, form: 'single', family: single.kind(), low: bytes, high: bytes };
}

function maskByte(bits: number, index: number): number {
  const remaining = bits - index * 8;
  if (remaining >= 8) return 0xff;
  if (remaining <= 0) return 0;
  return (0xff << (8 - remaining)) & 0xff;
}

function compareBytes(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) {
    const diff = (a[i] ?? 0) - (b[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

/** True when the address lies inside the entry (same family, within the bounds). */
export function entryContains(entry: IpEntry, address: IpAddress): boolean {
  if (address.kind() !== entry.family) return false;
  const bytes = address.toByteArray();
  return compareBytes(bytes, entry.low) >= 0 && compareBytes(bytes, entry.high) <= 0;
}

/** A compiled list of entries; invalid entries are kept aside with their reason. */
export interface IpList {
  entries: IpEntry[];
  invalid: { text: string; error: string }[];
}

export function compileIpList(texts: readonly string[]): IpList {
  const list: IpList = { entries: [], invalid: [] };
  for (const text of texts) {
    const parsed = parseIpEntry(text);
    if ('error' in parsed) list.invalid.push(parsed);
    else list.entries.push(parsed);
  }
  return list;
}

/** The first entry containing the address, or null. */
export function findInList(list: IpList, address: IpAddress): IpEntry | null {
  for (const entry of list.entries) if (entryContains(entry, address)) return entry;
  return null;
}

const compiledLists = new WeakMap<readonly string[], IpList>();

/** {@link compileIpList}, remembered per list object (snapshot lists are compiled once, not per message). */
export function compiledIpList(texts: readonly string[]): IpList {
  let list = compiledLists.get(texts);
  if (!list) {
    list = compileIpList(texts);
    compiledLists.set(texts, list);
  }
  return list;
}

/** An IPv4 entry as an inclusive interval of 32-bit numbers; null for IPv6. */
export function ipv4Interval(entry: IpEntry): [number, number] | null {
  if (entry.family !== 'ipv4') return null;
  const toNumber = (bytes: readonly number[]) => (((bytes[0] ?? 0) << 24) | ((bytes[1] ?? 0) << 16) | ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0)) >>> 0;
  return [toNumber(entry.low), toNumber(entry.high)];
}

/** Formats an IPv4 interval as an address, a CIDR block when it is one, or `a-b`. */
export function formatIpv4Interval([low, high]: readonly [number, number]): string {
  const text = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
  if (low === high) return text(low);
  const size = high - low + 1;
  const bits = Math.log2(size);
  if (Number.isInteger(bits) && low % size === 0) return `${text(low)}/${32 - bits}`;
  return `${text(low)}-${text(high)}`;
}

/** Merges intervals into a sorted list of disjoint ones. */
export function mergeIntervals(intervals: readonly (readonly [number, number])[]): [number, number][] {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [low, high] of sorted) {
    const last = merged.at(-1);
    if (last && low <= last[1] + 1) last[1] = Math.max(last[1], high);
    else merged.push([low, high]);
  }
  return merged;
}

/** The parts of `interval` not covered by the (merged) `cover`. */
export function subtractIntervals(interval: readonly [number, number], cover: readonly (readonly [number, number])[]): [number, number][] {
  const left: [number, number][] = [];
  let start = interval[0];
  for (const [low, high] of cover) {
    if (high < start) continue;
    if (low > interval[1]) break;
    if (low > start) left.push([start, low - 1]);
    start = Math.max(start, high + 1);
    if (start > interval[1]) return left;
  }
  if (start <= interval[1]) left.push([start, interval[1]]);
  return left;
}

/** An address's bytes (network order) as one number, for interval arithmetic across IPv4 and IPv6. */
export function bytesToBigInt(bytes: readonly number[]): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}
