/**
 * What a snapshot's `Dns` section says about each custom accepted domain, and what it cannot say: a domain with no
 * entry (the whole section is missing where the export script had no Resolve-DnsName, or with -SkipDns) or a lookup
 * the entry records as failed is unknown — never "no MX", which would read as "MX at Exchange Online" or "no SPF".
 * Pure.
 */
import { normaliseDomain } from '../eop/addresses.js';
import { EXCHANGE_ONLINE_MX } from '../profile/vendors.js';
import type { Snapshot } from '../snapshot/parse.js';
import type { DnsDomain } from '../snapshot/schema.js';
import { recordedFailures } from './resolver.js';

/** The record lists of a `Dns` entry the audit reads. */
export type DnsRecordList = 'MX' | 'TXT' | 'DMARC';

export interface DomainDnsFacts {
  /** The accepted domain, normalised, without a leading `*.`. */
  domain: string;
  /** Its index in `AcceptedDomain`. */
  index: number;
  /** The `Dns` key that holds it (as written in the snapshot), or null. */
  key: string | null;
  data: DnsDomain | null;
  /** Why a record list is unknown, in words: set for each list the snapshot cannot answer for. */
  unknown: Partial<Record<DnsRecordList, string>>;
  /** Why the snapshot holds nothing for the domain, or null when it has an entry. */
  absent: string | null;
  /** The lookups the entry records as failed: list → reason. */
  failed: Partial<Record<DnsRecordList, string>>;
}

const LISTS: readonly DnsRecordList[] = ['MX', 'TXT', 'DMARC'];
/** How each list is looked up, for messages. */
const LOOKUP_NAME: Record<DnsRecordList, string> = { MX: 'MX', TXT: 'TXT', DMARC: '_dmarc TXT' };

/** Custom accepted domains (not `*.onmicrosoft.com`/`.us`), normalised, first occurrence of each, with their index. */
export function customDomains(snapshot: Snapshot): { name: string; index: number }[] {
  const seen = new Set<string>();
  const domains: { name: string; index: number }[] = [];
  snapshot.AcceptedDomain.forEach((accepted, index) => {
    const name = normaliseDomain(accepted.DomainName.replace(/^\*\./, ''));
    if (/\.onmicrosoft\.(com|us)$/.test(name) || seen.has(name)) return;
    seen.add(name);
    domains.push({ name, index });
  });
  return domains;
}

/** What the snapshot's `Dns` section says about one domain (`index`: its place in `AcceptedDomain`, or -1). */
function factsFor(snapshot: Snapshot, domain: string, index: number): DomainDnsFacts {
  const key = Object.keys(snapshot.Dns).find((name) => normaliseDomain(name) === domain) ?? null;
  const data = key === null ? null : (snapshot.Dns[key] ?? null);
  const unknown: DomainDnsFacts['unknown'] = {};
  const failed: DomainDnsFacts['failed'] = {};
  let absent: string | null = null;
  if (!data) {
    absent = Object.keys(snapshot.Dns).length === 0 ? 'the snapshot has no Dns section' : `the snapshot's Dns section holds nothing for ${domain}`;
    for (const list of LISTS) unknown[list] = absent;
  } else {
    const recorded = recordedFailures(data);
    for (const list of LISTS) {
      const reason = recorded[list];
      if (reason === undefined) continue;
      failed[list] = reason;
      unknown[list] = `the ${LOOKUP_NAME[list]} lookup failed: ${reason}`;
    }
  }
  return { domain, index, key, data, unknown, absent, failed };
}

/** The DNS facts of every custom accepted domain. */
export function domainDnsFacts(snapshot: Snapshot): DomainDnsFacts[] {
  return customDomains(snapshot).map(({ name, index }) => factsFor(snapshot, name, index));
}

/** Where one domain's MX points, as far as the snapshot knows. */
export type MxFact =
  | { kind: 'exchange-online' | 'elsewhere' | 'mixed'; hosts: string[] }
  | { kind: 'none' }
  | { kind: 'unknown'; why: string };

/** The hosts of `"<preference> <host>"` MX strings. */
export function mxHosts(values: readonly string[]): string[] {
  return values.map((value) => normaliseDomain(/^\s*\d+\s+(\S+)\s*$/.exec(value)?.[1] ?? value)).filter((host) => host !== '');
}

export function mxFact(facts: DomainDnsFacts): MxFact {
  if (facts.unknown.MX !== undefined) return { kind: 'unknown', why: facts.unknown.MX };
  const hosts = mxHosts(facts.data?.MX ?? []);
  if (hosts.length === 0) return { kind: 'none' };
  const atExchange = hosts.filter((host) => EXCHANGE_ONLINE_MX.test(host)).length;
  return { kind: atExchange === hosts.length ? 'exchange-online' : atExchange === 0 ? 'elsewhere' : 'mixed', hosts };
}

/** One domain's MX as the snapshot knows it (for the emulator's Honor DMARC step, say). */
export function mxFactFor(snapshot: Snapshot, domain: string): MxFact {
  return mxFact(factsFor(snapshot, normaliseDomain(domain), -1));
}

/** The checks that read DNS data, for the note below. */
const DNS_CHECKS = 'EOPL-022 and EOPL-031–033';

/** `a`, `a and b`, `a, b and c`. */
function list(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/**
 * One note for the whole snapshot when DNS data is missing or a lookup failed, naming the domains and why, or null
 * when every custom domain's MX, SPF and DMARC data is there. Said once (stderr), not per check.
 */
export function dnsGapNote(snapshot: Snapshot): string | null {
  const facts = domainDnsFacts(snapshot);
  const absent = facts.filter((entry) => entry.absent !== null).map((entry) => entry.domain);
  const failing = facts.filter((entry) => Object.keys(entry.failed).length > 0);
  if (absent.length === 0 && failing.length === 0) return null;
  if (Object.keys(snapshot.Dns).length === 0) {
    return (
      `the snapshot has no Dns section (the export script leaves it out where Resolve-DnsName is missing, or with ` +
      `-SkipDns): where the MX of ${list(absent)} points, and their SPF and DMARC, are unknown, so ${DNS_CHECKS} are ` +
      `not evaluated. Add --live-dns, or export on Windows.`
    );
  }
  // Failures grouped by reason and by which lookups failed: one clause per group.
  const groups = new Map<string, { lookups: string; reason: string; domains: string[] }>();
  for (const entry of failing) {
    const lists = LISTS.filter((name) => entry.failed[name] !== undefined);
    for (const reason of new Set(lists.map((name) => entry.failed[name] as string))) {
      const lookups = list(lists.filter((name) => entry.failed[name] === reason).map((name) => LOOKUP_NAME[name]));
      const key = `${lookups}\u0000${reason}`;
      const group = groups.get(key) ?? { lookups, reason, domains: [] };
      group.domains.push(entry.domain);
      groups.set(key, group);
    }
  }
  const clauses = [
    ...(absent.length > 0 ? [`the Dns section holds nothing for ${list(absent)}`] : []),
    ...[...groups.values()].map((group) => `the ${group.lookups} lookup(s) of ${list(group.domains)} failed: ${group.reason}`),
  ];
  return `DNS data is missing (${clauses.join('; ')}): what it would say is unknown, so the checks that read it (${DNS_CHECKS}) are not evaluated for those domains.`;
}
