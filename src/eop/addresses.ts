/**
 * Email addresses and domains as the emulator compares them: case-insensitive, without a trailing dot.
 */
import type { AcceptedDomain } from '../snapshot/schema.js';
import type { Assumptions } from './assumptions.js';

export function normaliseDomain(domain: string): string {
  const value = domain.trim().toLowerCase();
  return value.endsWith('.') ? value.slice(0, -1) : value;
}

/** A domain part that normaliseDomain() leaves as it is: no upper case, space, `>`, non-ASCII or trailing dot. */
function plainDomainPart(address: string, from: number): boolean {
  for (let index = from; index < address.length; index++) {
    const code = address.charCodeAt(index);
    if ((code >= 65 && code <= 90) || code <= 32 || code === 62 || code > 126) return false;
  }
  return address.charCodeAt(address.length - 1) !== 46;
}

/** The domain of an address (`user@Contoso.COM` → `contoso.com`); null for the null sender or no `@`. */
export function domainOf(address: string): string | null {
  let at = address.length - 1;
  while (at >= 0 && address.charCodeAt(at) !== 64) at--;
  if (at < 0 || at === address.length - 1) return null;
  if (plainDomainPart(address, at + 1)) return address.slice(at + 1);
  const part = address.slice(at + 1);
  return normaliseDomain(part.endsWith('>') ? part.slice(0, -1) : part);
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

interface AcceptedIndex {
  exact: Map<string, AcceptedDomain>;
  parents: { name: string; domain: AcceptedDomain; wildcard: boolean }[];
}

const indexCache = new WeakMap<readonly AcceptedDomain[], AcceptedIndex>();

function acceptedIndex(accepted: readonly AcceptedDomain[]): AcceptedIndex {
  let index = indexCache.get(accepted);
  if (!index) {
    index = { exact: new Map(), parents: [] };
    for (const entry of accepted) {
      const wildcard = entry.DomainName.trim().startsWith('*.');
      const name = normaliseDomain(entry.DomainName.replace(/^\s*\*\./, ''));
      if (!wildcard && !index.exact.has(name)) index.exact.set(name, entry);
      index.parents.push({ name, domain: entry, wildcard });
    }
    indexCache.set(accepted, index);
  }
  return index;
}

/** The accepted domain that covers `domain`, honouring the `accepted-subdomains` assumption. */
export function findAcceptedDomain(
  domain: string | null,
  accepted: readonly AcceptedDomain[],
  assumptions: Pick<Assumptions, 'accepted-subdomains'>,
): { domain: AcceptedDomain; viaSubdomain: boolean } | null {
  if (!domain) return null;
  const index = acceptedIndex(accepted);
  const exact = index.exact.get(domain);
  if (exact) return { domain: exact, viaSubdomain: false };
  const mode = assumptions['accepted-subdomains'];
  let best: { domain: AcceptedDomain; length: number } | null = null;
  for (const parent of index.parents) {
    if (!domain.endsWith(`.${parent.name}`)) continue;
    const allowed = parent.wildcard || mode === 'always' || (mode === 'match-subdomains-flag' && parent.domain.MatchSubDomains);
    if (allowed && (!best || parent.name.length > best.length)) best = { domain: parent.domain, length: parent.name.length };
  }
  return best ? { domain: best.domain, viaSubdomain: true } : null;
}

/** True when a `SenderDomains`-style pattern (`*`, `contoso.com`, `*.contoso.com`) covers the domain. */
export function senderDomainPatternCovers(pattern: string, domain: string | null): boolean {
  const value = normaliseDomain(pattern);
  if (value === '*') return true;
  if (!domain) return false;
  if (value.startsWith('*.')) return isSameOrSubdomain(domain, value.slice(2));
  return domain === value;
}
