/**
 * Email addresses and domains as the emulator compares them: case-insensitive, without a trailing dot.
 */
import type { AcceptedDomain } from '../snapshot/schema.js';
import type { Assumptions } from './assumptions.js';

export function normaliseDomain(domain: string): string {
  return domain.trim().toLowerCase().replace(/\.$/, '');
}

/** The domain of an address (`user@Contoso.COM` → `contoso.com`); null for the null sender or no `@`. */
export function domainOf(address: string): string | null {
  const at = address.lastIndexOf('@');
  if (at < 0 || at === address.length - 1) return null;
  return normaliseDomain(address.slice(at + 1).replace(/>$/, ''));
}

/** The address in an address header value: `CEO <ceo@contoso.com>` → `ceo@contoso.com`. Null if none. */
export function addressInHeader(value: string): string | null {
  const angle = /<([^<>]*)>\s*$/.exec(value) ?? /<([^<>]*@[^<>]*)>/.exec(value);
  if (angle?.[1]) return angle[1].trim().toLowerCase();
  const bare = /([^\s<>"(),;:]+@[^\s<>"(),;:]+)/.exec(value);
  return bare?.[1] ? bare[1].toLowerCase() : null;
}

/** True when `domain` equals `parent` or lies below it. */
export function isSameOrSubdomain(domain: string, parent: string): boolean {
  return domain === parent || domain.endsWith(`.${parent}`);
}

/** The accepted domain that covers `domain`, honouring the `accepted-subdomains` assumption. */
export function findAcceptedDomain(
  domain: string | null,
  accepted: readonly AcceptedDomain[],
  assumptions: Pick<Assumptions, 'accepted-subdomains'>,
): { domain: AcceptedDomain; viaSubdomain: boolean } | null {
  if (!domain) return null;
  let best: { domain: AcceptedDomain; viaSubdomain: boolean; length: number } | null = null;
  for (const entry of accepted) {
    const name = normaliseDomain(entry.DomainName.replace(/^\*\./, ''));
    const wildcard = entry.DomainName.trim().startsWith('*.');
    if (domain === name && !wildcard) return { domain: entry, viaSubdomain: false };
    if (domain.endsWith(`.${name}`)) {
      const mode = assumptions['accepted-subdomains'];
      const allowed = wildcard || mode === 'always' || (mode === 'match-subdomains-flag' && entry.MatchSubDomains);
      if (allowed && (!best || name.length > best.length)) best = { domain: entry, viaSubdomain: true, length: name.length };
    }
  }
  return best ? { domain: best.domain, viaSubdomain: best.viaSubdomain } : null;
}

/** True when a `SenderDomains`-style pattern (`*`, `contoso.com`, `*.contoso.com`) covers the domain. */
export function senderDomainPatternCovers(pattern: string, domain: string | null): boolean {
  const value = normaliseDomain(pattern);
  if (value === '*') return true;
  if (!domain) return false;
  if (value.startsWith('*.')) return isSameOrSubdomain(domain, value.slice(2));
  return domain === value;
}
