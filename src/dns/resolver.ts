/**
 * DNS lookups behind one function with the contract of node:dns/promises `resolve(name, rrtype)` (the one mailauth
 * takes): live through node:dns (a chosen server supported), or offline from a snapshot's `Dns` section.
 */
import { Resolver } from 'node:dns/promises';
import { normaliseDomain } from '../eop/addresses.js';
import { InputError } from '../errors.js';
import type { Snapshot } from '../snapshot/parse.js';

export type RecordType = 'TXT' | 'MX' | 'A' | 'AAAA' | 'CNAME';
export type DnsResolver = (name: string, rrtype: RecordType) => Promise<unknown>;

/** An error with node:dns's code for "no such name" or "no such record". */
function notFound(name: string, code: 'ENOTFOUND' | 'ENODATA'): Error {
  return Object.assign(new Error(`${code} ${name}`), { code, hostname: name });
}

/** `IP` or `IP:PORT` or `[IPv6]:PORT` → a server string node:dns accepts. */
export function parseServer(text: string): string {
  const value = text.trim();
  if (/^\[[0-9a-f:.]+\](:\d{1,5})?$/i.test(value) || /^[\d.]+(:\d{1,5})?$/.test(value) || /^[0-9a-f:]+$/i.test(value)) return value;
  throw new InputError(`"${text}" is not IP[:PORT]`, { where: '--resolver' });
}

export function liveResolver(server?: string, timeoutMs = 5_000): DnsResolver {
  const resolver = new Resolver({ timeout: timeoutMs, tries: 2 });
  if (server) resolver.setServers([parseServer(server)]);
  return (name, rrtype) => resolver.resolve(name, rrtype);
}

/** The snapshot's `Dns` data as a resolver: apex TXT, `_dmarc` TXT, MX, and the DKIM selectors (TXT or CNAME). */
export function snapshotResolver(snapshot: Snapshot): DnsResolver {
  const zones = new Map(Object.entries(snapshot.Dns).map(([domain, data]) => [normaliseDomain(domain), data]));
  return async (rawName, rrtype) => {
    const name = normaliseDomain(rawName);
    const dmarc = /^_dmarc\.(.+)$/.exec(name);
    const dkim = /^([^.]+)\._domainkey\.(.+)$/.exec(name);
    if (dmarc) {
      const data = zones.get(dmarc[1] as string);
      if (!data || data.DMARC.length === 0) throw notFound(name, data ? 'ENODATA' : 'ENOTFOUND');
      if (rrtype !== 'TXT') throw notFound(name, 'ENODATA');
      return data.DMARC.map((record) => [record]);
    }
    if (dkim) {
      const data = zones.get(dkim[2] as string);
      const values = data?.DKIM[dkim[1] as string] ?? [];
      if (values.length === 0) throw notFound(name, data ? 'ENODATA' : 'ENOTFOUND');
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
    if (!data) throw notFound(name, 'ENOTFOUND');
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

/** TXT answers joined per record (a record over 255 bytes arrives as several strings). */
export async function txtRecords(resolver: DnsResolver, name: string): Promise<string[] | null> {
  try {
    const answer = (await resolver(name, 'TXT')) as string[][];
    return answer.map((parts) => (Array.isArray(parts) ? parts.join('') : String(parts)));
  } catch (error) {
    if (isMissing(error)) return null;
    throw error;
  }
}

export function isMissing(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === 'ENOTFOUND' || code === 'ENODATA';
}
