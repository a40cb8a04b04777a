/**
 * A snapshot `Dns` section from DNS lookups: what `audit --live-dns` audits instead of the exported section. Pure
 * over an injected resolver (live, a chosen server, or a loopback test server).
 */
import { normaliseDomain } from '../eop/addresses.js';
import { InputError } from '../errors.js';
import { isMissing, txtRecords, type DnsResolver } from './resolver.js';

import type { DnsDomain } from '../snapshot/schema.js';

/** One domain's entry, in the shape the snapshot schema produces. */
export type DnsSectionEntry = DnsDomain;

const SELECTORS = ['selector1', 'selector2'] as const;

async function lookup<T>(resolver: DnsResolver, name: string, rrtype: 'MX' | 'CNAME', fallback: T, map: (answer: unknown) => T): Promise<T> {
  try {
    return map(await resolver(name, rrtype));
  } catch (error) {
    if (isMissing(error)) return fallback;
    throw new InputError(`DNS lookup of ${name} ${rrtype} failed: ${(error as { code?: string }).code ?? (error as Error).message}`, { where: '--live-dns' });
  }
}

async function txt(resolver: DnsResolver, name: string): Promise<string[]> {
  try {
    return (await txtRecords(resolver, name)) ?? [];
  } catch (error) {
    throw new InputError(`DNS lookup of ${name} TXT failed: ${(error as { code?: string }).code ?? (error as Error).message}`, { where: '--live-dns' });
  }
}

/** Looks up MX, apex TXT, `_dmarc` TXT and the two Microsoft DKIM selectors of each domain. */
export async function dnsSection(domains: readonly string[], resolver: DnsResolver): Promise<Record<string, DnsSectionEntry>> {
  const section: Record<string, DnsSectionEntry> = {};
  for (const raw of domains) {
    const domain = normaliseDomain(raw);
    const mx = await lookup(resolver, domain, 'MX', [] as string[], (answer) => (answer as { priority: number; exchange: string }[]).map((record) => `${record.priority} ${normaliseDomain(record.exchange)}`));
    const dkim: Record<string, string[]> = {};
    for (const selector of SELECTORS) {
      const targets = await lookup(resolver, `${selector}._domainkey.${domain}`, 'CNAME', [] as string[], (answer) => (answer as string[]).map(normaliseDomain));
      if (targets.length > 0) dkim[selector] = targets;
    }
    section[domain] = { MX: mx, TXT: await txt(resolver, domain), DMARC: (await txt(resolver, `_dmarc.${domain}`)).filter((record) => /^v=DMARC1/i.test(record.trim())), DKIM: dkim };
  }
  return section;
}

/** The accepted domains worth looking up: not the tenant's `*.onmicrosoft.com` domains (Microsoft runs their DNS). */
export function domainsToLookUp(acceptedDomains: readonly string[]): string[] {
  return acceptedDomains.map(normaliseDomain).filter((domain) => !domain.endsWith('.onmicrosoft.com'));
}

/** The snapshot with its Dns section replaced by lookups of its accepted domains (`audit --live-dns`). */
export async function withLiveDns<T extends { AcceptedDomain: readonly { DomainName: string }[] }>(snapshot: T, resolver: DnsResolver): Promise<T & { Dns: Record<string, DnsSectionEntry> }> {
  return { ...snapshot, Dns: await dnsSection(domainsToLookUp(snapshot.AcceptedDomain.map((domain) => domain.DomainName)), resolver) };
}
