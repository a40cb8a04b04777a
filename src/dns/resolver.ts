/**
 * DNS lookups behind one function with the contract of node:dns/promises `resolve(name, rrtype)` (the one mailauth
 * takes): offline from a snapshot's `Dns` section here, or live through node:dns in ./live-resolver.ts (kept apart so
 * that commands which never look anything up do not load node:dns and node:net).
 *
 * A lookup has four outcomes, kept apart by {@link lookup}: records, no record of that type (NODATA), no such domain
 * (NXDOMAIN), or a failure (timeout, SERVFAIL, REFUSED, no server, not in the snapshot) that says nothing about the
 * domain. Only the first three are facts.
 */
import { normaliseDomain } from '../eop/addresses.js';
import type { Snapshot } from '../snapshot/parse.js';

export type RecordType = 'TXT' | 'MX' | 'A' | 'AAAA' | 'CNAME';
export type DnsResolver = (name: string, rrtype: RecordType) => Promise<unknown>;

/** What one lookup found. `failed` is not an answer: the records are unknown, not absent. */
export type Lookup<T> =
  | { kind: 'answer'; records: T[] }
  | { kind: 'nodata' }
  | { kind: 'nxdomain' }
  | { kind: 'failed'; reason: string };

/** The error code a snapshot resolver throws for a lookup the snapshot records as failed. */
const UNKNOWN_IN_SNAPSHOT = 'EOPLOCK_UNKNOWN_IN_SNAPSHOT';

/** An error with node:dns's code for "no such name" or "no such record". */
function notFound(name: string, code: 'ENOTFOUND' | 'ENODATA'): Error {
  return Object.assign(new Error(`${code} ${name}`), { code, hostname: name });
}

/** What node:dns's (c-ares') error codes mean, for "lookup failed: …"; the DNS response code where there is one. */
const FAILURES: Record<string, string> = {
  ETIMEOUT: 'timed out (ETIMEOUT)',
  ESERVFAIL: 'server failure (SERVFAIL)',
  EREFUSED: 'refused by the server (REFUSED)',
  ECONNREFUSED: 'connection refused: no DNS server listens there (ECONNREFUSED)',
  EFORMERR: 'the server could not read the query (FORMERR)',
  ENOTIMP: 'the server does not support the query (NOTIMP)',
  EBADRESP: 'an answer that could not be read (EBADRESP)',
  EBADNAME: 'not a name that can be looked up (EBADNAME)',
  EBADQUERY: 'the query could not be built (EBADQUERY)',
  ECANCELLED: 'cancelled (ECANCELLED)',
  EDESTRUCTION: 'cancelled (EDESTRUCTION)',
  EEOF: 'the server closed the connection (EEOF)',
  EFILE: 'the system resolver configuration could not be read (EFILE)',
  ENOMEM: 'out of memory (ENOMEM)',
};

/** Why a lookup failed, in words, with the code: `timed out (ETIMEOUT)`. */
export function failureReason(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === UNKNOWN_IN_SNAPSHOT) return message;
  if (typeof code === 'string') return FAILURES[code] ?? `${message} (${code})`;
  return message;
}

/** One lookup as a tagged value: an empty answer is NODATA; every error but NXDOMAIN and NODATA is a failure. */
export async function lookup<T = unknown>(resolver: DnsResolver, name: string, rrtype: RecordType): Promise<Lookup<T>> {
  try {
    const answer = await resolver(name, rrtype);
    const records = Array.isArray(answer) ? (answer as T[]) : [];
    return records.length > 0 ? { kind: 'answer', records } : { kind: 'nodata' };
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'ENOTFOUND') return { kind: 'nxdomain' };
    if (code === 'ENODATA') return { kind: 'nodata' };
    return { kind: 'failed', reason: failureReason(error) };
  }
}

/** TXT records, each joined into one string (a record over 255 bytes arrives as several strings). */
export async function lookupTxt(resolver: DnsResolver, name: string): Promise<Lookup<string>> {
  const result = await lookup<unknown>(resolver, name, 'TXT');
  if (result.kind !== 'answer') return result;
  return { kind: 'answer', records: result.records.map((parts) => (Array.isArray(parts) ? parts.join('') : String(parts))) };
}

/** The records of an answer; none for NODATA and NXDOMAIN. Callers handle `failed` before asking. */
export function recordsOf<T>(result: Lookup<T>): T[] {
  return result.kind === 'answer' ? result.records : [];
}

/** A lookup's outcome in words, for reports: the records are described by the caller. */
export function describeLookup(result: Lookup<unknown>): string {
  switch (result.kind) {
    case 'answer':
      return `${result.records.length} record(s)`;
    case 'nodata':
      return 'no record';
    case 'nxdomain':
      return 'the domain does not exist (NXDOMAIN)';
    case 'failed':
      return `lookup failed: ${result.reason}`;
  }
}

/** A record type (`MX`, `TXT`, `DMARC`) or a DKIM selector. */
type FailedKey = string;

/**
 * The lookups a snapshot's `Dns` entry records as failed (`"Failed": { "MX": "timed out (ETIMEOUT)" }`, written by
 * `eoplock pull` and `audit --live-dns`): record type, or DKIM selector, → why. Values that are not text are ignored.
 */
export function recordedFailures(entry: unknown): Record<FailedKey, string> {
  const failed = (entry as { Failed?: unknown } | null | undefined)?.Failed;
  if (failed === null || typeof failed !== 'object' || Array.isArray(failed)) return {};
  const reasons: Record<FailedKey, string> = Object.create(null) as Record<FailedKey, string>;
  for (const [key, value] of Object.entries(failed as Record<string, unknown>)) if (typeof value === 'string') reasons[key] = value;
  return reasons;
}

function failedInSnapshot(name: string, rrtype: string, why: string): Error {
  return Object.assign(new Error(`the snapshot's ${rrtype} lookup of ${name} failed: ${why}`), { code: UNKNOWN_IN_SNAPSHOT });
}

export interface SnapshotResolverOptions {
  /**
   * A name outside the snapshot's domains: `nxdomain` (the default; the lab's offline world holds only the tenant's
   * domains) or `unknown` (a failed lookup: the snapshot cannot say, as `eoplock dns --snapshot` reports it).
   */
  outside?: 'nxdomain' | 'unknown';
}

/**
 * The snapshot's `Dns` data as a resolver: apex TXT, `_dmarc` TXT, MX, and the DKIM selectors (TXT or CNAME). A
 * lookup the entry records as failed fails again here, as it did when the snapshot was taken.
 */
export function snapshotResolver(snapshot: Snapshot, options: SnapshotResolverOptions = {}): DnsResolver {
  const zones = new Map(Object.entries(snapshot.Dns).map(([domain, data]) => [normaliseDomain(domain), data]));
  const absent = (name: string, domain: string): Error =>
    options.outside === 'unknown'
      ? Object.assign(new Error(`not in the snapshot: its Dns section holds no data for ${domain}`), { code: UNKNOWN_IN_SNAPSHOT })
      : notFound(name, 'ENOTFOUND');
  return async (rawName, rrtype) => {
    const name = normaliseDomain(rawName);
    const dmarc = /^_dmarc\.(.+)$/.exec(name);
    const dkim = /^([^.]+)\._domainkey\.(.+)$/.exec(name);
    if (dmarc) {
      const data = zones.get(dmarc[1] as string);
      if (!data) throw absent(name, dmarc[1] as string);
      const failed = recordedFailures(data).DMARC;
      if (failed !== undefined) throw failedInSnapshot(name, 'TXT', failed);
      if (data.DMARC.length === 0 || rrtype !== 'TXT') throw notFound(name, 'ENODATA');
      return data.DMARC.map((record) => [record]);
    }
    if (dkim) {
      const data = zones.get(dkim[2] as string);
      if (!data) throw absent(name, dkim[2] as string);
      const failed = recordedFailures(data)[dkim[1] as string];
      if (failed !== undefined) throw failedInSnapshot(name, rrtype, failed);
      const values = data.DKIM[dkim[1] as string] ?? [];
      if (values.length === 0) throw notFound(name, 'ENODATA');
      const isKey = (value: string) => /(^|;)\s*(v=DKIM1|p=)/i.test(value);
      if (rrtype === 'CNAME') {
        const targets = values.filter((value) => !isKey(value));
        if (targets.length === 0) throw notFound(name, 'ENODATA');
        return targets;
      }
      if (rrtype === 'TXT') {
        const keys = values.filter(isKey);
        if (keys.length === 0) throw notFound(name, 'ENODATA');
        return keys.map((value) => [value]);
      }
      throw notFound(name, 'ENODATA');
    }
    const data = zones.get(name);
    if (!data) throw absent(name, name);
    if (rrtype === 'TXT' || rrtype === 'MX') {
      const failed = recordedFailures(data)[rrtype];
      if (failed !== undefined) throw failedInSnapshot(name, rrtype, failed);
    }
    if (rrtype === 'TXT') {
      if (data.TXT.length === 0) throw notFound(name, 'ENODATA');
      return data.TXT.map((record) => [record]);
    }
    if (rrtype === 'MX') {
      if (data.MX.length === 0) throw notFound(name, 'ENODATA');
      return data.MX.map((value) => {
        const match = /^\s*(\d+)\s+(\S+)\s*$/.exec(value);
        return { priority: Number(match?.[1] ?? 0), exchange: normaliseDomain(match?.[2] ?? value) };
      });
    }
    throw notFound(name, 'ENODATA');
  };
}

/**
 * TXT answers joined per record; null for NXDOMAIN and NODATA. A failed lookup throws node:dns's error (callers that
 * must tell the cases apart without a try use {@link lookupTxt}).
 */
export async function txtRecords(resolver: DnsResolver, name: string): Promise<string[] | null> {
  try {
    const answer = (await resolver(name, 'TXT')) as string[][];
    return answer.map((parts) => (Array.isArray(parts) ? parts.join('') : String(parts)));
  } catch (error) {
    if (isMissing(error)) return null;
    throw error;
  }
}

/** NXDOMAIN or NODATA: an answer saying there is no record (as opposed to a failed lookup). */
export function isMissing(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return code === 'ENOTFOUND' || code === 'ENODATA';
}
