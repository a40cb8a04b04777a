/**
 * DMARC records and identifier alignment (RFC 7489 §3.1, RFC 9989). Alignment is implemented here: the Node-20 line
 * of mailauth treats adkim=s/aspf=s as relaxed (libraries.md §1.5). The organisational domain comes from the public
 * suffix list (tldts). Pure: no IO, and no import of a `node:` module.
 */
/** The registrable-domain lookup of the public suffix list (tldts' `getDomain`). */
export type PublicSuffixLookup = (name: string, options: { allowPrivateDomains: boolean }) => string | null;

let lookup: PublicSuffixLookup | undefined;

/**
 * Supplies the public suffix list (`setPublicSuffixLookup(getDomain)` with tldts' `getDomain`). Under Node nothing needs
 * to be supplied: tldts (about 200 KB of CommonJS) is loaded with require() the first time an organisational domain is
 * asked for, so a command that never asks does not parse it. The require comes from `process.getBuiltinModule`, not
 * from an import of a `node:` module, so this file (and the emulator) also loads where Node's modules do not exist; there
 * the caller supplies the lookup.
 */
export function setPublicSuffixLookup(value: PublicSuffixLookup): void {
  lookup = value;
}

function publicSuffixLookup(): PublicSuffixLookup {
  if (lookup) return lookup;
  const host = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const moduleApi = host?.getBuiltinModule?.('module') as { createRequire(url: string): (id: string) => unknown } | undefined;
  if (!moduleApi) throw new Error('the organisational domain needs the public suffix list: call setPublicSuffixLookup() with tldts\' getDomain');
  const tldts = moduleApi.createRequire(import.meta.url)('tldts') as { getDomain: PublicSuffixLookup };
  lookup = (name, options) => tldts.getDomain(name, options);
  return lookup;
}

export interface DmarcRecord {
  raw: string;
  tags: Record<string, string>;
  policy: 'none' | 'quarantine' | 'reject' | null;
  subdomainPolicy: 'none' | 'quarantine' | 'reject' | null;
  rua: string[];
  ruf: string[];
  adkim: 'r' | 's';
  aspf: 'r' | 's';
  /** Problems: parse errors, obsolete tags. */
  issues: string[];
}

const POLICIES = new Set(['none', 'quarantine', 'reject']);

export function parseDmarc(raw: string): DmarcRecord {
  const issues: string[] = [];
  const tags: Record<string, string> = {};
  const parts = raw.split(';').map((part) => part.trim()).filter(Boolean);
  if (!/^v\s*=\s*DMARC1$/i.test(parts[0] ?? '')) issues.push('the record does not start with v=DMARC1');
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq <= 0) {
      issues.push(`"${part}" is not a tag=value pair`);
      continue;
    }
    const name = part.slice(0, eq).trim().toLowerCase();
    if (name in tags) issues.push(`the tag ${name} appears twice`);
    tags[name] = part.slice(eq + 1).trim();
  }
  const policy = tags.p?.toLowerCase();
  if (!policy) issues.push('no p= policy');
  else if (!POLICIES.has(policy)) issues.push(`p=${tags.p} is not none, quarantine or reject`);
  const sp = tags.sp?.toLowerCase();
  if (sp && !POLICIES.has(sp)) issues.push(`sp=${tags.sp} is not none, quarantine or reject`);
  for (const obsolete of ['pct', 'rf', 'ri']) {
    if (obsolete in tags) issues.push(`${obsolete}= is obsolete: RFC 9989 removed it${obsolete === 'pct' ? ' (a gradual rollout by percentage is no longer part of DMARC)' : ''}`);
  }
  for (const mode of ['adkim', 'aspf']) {
    const value = tags[mode]?.toLowerCase();
    if (value && value !== 'r' && value !== 's') issues.push(`${mode}=${tags[mode]} is not r or s`);
  }
  const addresses = (value: string | undefined) => (value ? value.split(',').map((entry) => entry.trim()).filter(Boolean) : []);
  return {
    raw,
    tags,
    policy: policy && POLICIES.has(policy) ? (policy as DmarcRecord['policy']) : null,
    subdomainPolicy: sp && POLICIES.has(sp) ? (sp as DmarcRecord['subdomainPolicy']) : null,
    rua: addresses(tags.rua),
    ruf: addresses(tags.ruf),
    adkim: tags.adkim?.toLowerCase() === 's' ? 's' : 'r',
    aspf: tags.aspf?.toLowerCase() === 's' ? 's' : 'r',
    issues,
  };
}

/** The organisational domain (`mail.example.co.uk` → `example.co.uk`), or the domain itself when the list has none. */
export function organisationalDomain(domain: string): string {
  const known = ORGANISATIONAL.get(domain);
  if (known !== undefined) return known;
  const lower = domain.toLowerCase().replace(/\.$/, '');
  const found = publicSuffixLookup()(lower, { allowPrivateDomains: false }) ?? lower;
  // Bounded memo: the emulator asks for the same few domains again and again (a proof, a trace, a bench).
  if (ORGANISATIONAL.size >= 4096) ORGANISATIONAL.clear();
  ORGANISATIONAL.set(domain, found);
  return found;
}
const ORGANISATIONAL = new Map<string, string>();

/** RFC 7489 §3.1: strict needs the same domain; relaxed the same organisational domain. */
export function aligned(fromDomain: string, authenticatedDomain: string, mode: 'r' | 's'): boolean {
  const a = fromDomain.toLowerCase().replace(/\.$/, '');
  const b = authenticatedDomain.toLowerCase().replace(/\.$/, '');
  if (mode === 's') return a === b;
  return organisationalDomain(a) === organisationalDomain(b);
}
