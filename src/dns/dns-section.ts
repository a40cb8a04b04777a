/**
 * A snapshot `Dns` section from DNS lookups: what `audit --live-dns` audits instead of the exported section, and what
 * `eoplock pull` writes. A lookup that failed leaves its records empty and says why in the entry's `Failed` map, so
 * no reader takes "could not look up" for "no record". Pure over an injected resolver (live, a chosen server, or a
 * loopback test server).
 */
import { normaliseDomain } from '../eop/addresses.js';
import { lookup, lookupTxt, recordedFailures, recordsOf, type DnsResolver } from './resolver.js';

import type { DnsDomain } from '../snapshot/schema.js';

/** One domain's entry, in the shape the snapshot schema produces, plus the lookups that failed and why. */
export type DnsSectionEntry = DnsDomain & { Failed?: Record<string, string> };

/** A lookup that failed while building the section. */
export interface DnsSectionFailure {
  domain: string;
  /** `MX`, `TXT`, `DMARC` or a DKIM selector. */
  record: string;
  reason: string;
}

const SELECTORS = ['selector1', 'selector2'] as const;

/** Looks up MX, apex TXT, `_dmarc` TXT and the two Microsoft DKIM selectors of each domain. */
export async function dnsSection(domains: readonly string[], resolver: DnsResolver): Promise<Record<string, DnsSectionEntry>> {
  const section: Record<string, DnsSectionEntry> = {};
  for (const raw of domains) {
    const domain = normaliseDomain(raw);
    const failed: Record<string, string> = {};
    const mx = await lookup<{ priority: number; exchange: string }>(resolver, domain, 'MX');
    if (mx.kind === 'failed') failed.MX = mx.reason;
    const txt = await lookupTxt(resolver, domain);
    if (txt.kind === 'failed') failed.TXT = txt.reason;
    const dmarc = await lookupTxt(resolver, `_dmarc.${domain}`);
    if (dmarc.kind === 'failed') failed.DMARC = dmarc.reason;
    const dkim: Record<string, string[]> = {};
    for (const selector of SELECTORS) {
      const targets = await lookup<string>(resolver, `${selector}._domainkey.${domain}`, 'CNAME');
      if (targets.kind === 'failed') failed[selector] = targets.reason;
      else if (targets.kind === 'answer') dkim[selector] = targets.records.map(normaliseDomain);
    }
    section[domain] = {
      MX: recordsOf(mx).map((record) => `${record.priority} ${normaliseDomain(record.exchange)}`),
      TXT: recordsOf(txt),
      DMARC: recordsOf(dmarc).filter((record) => /^v=DMARC1/i.test(record.trim())),
      DKIM: dkim,
      ...(Object.keys(failed).length > 0 ? { Failed: failed } : {}),
    };
  }
  return section;
}

/** Every lookup a `Dns` section records as failed, domain by domain. */
export function dnsSectionFailures(section: Readonly<Record<string, unknown>>): DnsSectionFailure[] {
  return Object.entries(section).flatMap(([domain, entry]) =>
    Object.entries(recordedFailures(entry)).map(([record, reason]) => ({ domain: normaliseDomain(domain), record, reason })),
  );
}

/** The accepted domains worth looking up: not the tenant's `*.onmicrosoft.com` domains (Microsoft runs their DNS). */
export function domainsToLookUp(acceptedDomains: readonly string[]): string[] {
  return acceptedDomains.map(normaliseDomain).filter((domain) => !domain.endsWith('.onmicrosoft.com'));
}

/**
 * The snapshot with its Dns section replaced by lookups of its accepted domains (`audit --live-dns`). Failed lookups
 * are in the entries' `Failed` maps (and listed by {@link dnsSectionFailures}); the audit reports what depends on
 * them as not evaluated.
 */
export async function withLiveDns<T extends { AcceptedDomain: readonly { DomainName: string }[] }>(snapshot: T, resolver: DnsResolver): Promise<T & { Dns: Record<string, DnsSectionEntry> }> {
  const names = [...new Set(domainsToLookUp(snapshot.AcceptedDomain.map((domain) => domain.DomainName.replace(/^\*\./, ''))))];
  return { ...snapshot, Dns: await dnsSection(names, resolver) };
}
