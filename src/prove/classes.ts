/**
 * The classes of an inbound SMTP transaction (issue 16 §2): for every input the decision reads, the points where the
 * configuration can change its answer, and one representative value per region. Pure: snapshot, gateway profile and
 * allowed sources in, regions out.
 *
 * - client IP: every boundary of every address list the decision or the origin reads (connector SenderIPAddresses
 *   and EFSkipIPs, rule SenderIpRanges/ExceptIfSenderIpRanges, the connection filter's allow and block lists, the
 *   profile, the allowed Direct Send sources), IPv4 and IPv6 split into intervals. Intervals that lie in exactly the
 *   same entries of the same lists are one region (the decision reads an address only through list membership).
 * - TLS: none; TLS without a certificate; a certificate for each configured certificate name (a wildcard: its apex,
 *   one label below, two labels below); a certificate in an accepted domain; an unrelated one. Names every configured
 *   name matches alike (under the assumptions in force) and whose origin is the same are one region.
 * - MAIL FROM and header From: null/absent; each accepted domain and a subdomain of each; each domain a connector, a
 *   rule or the Dns section names; each address a rule's From names; a foreign domain, and a foreign domain that
 *   publishes DMARC p=reject.
 * - recipients: each accepted domain and a subdomain, each domain a rule or policy names, one unknown domain; single
 *   recipients plus one mixed pair.
 * - headers: none; a forged `X-MS-Exchange-Organization-AuthAs: Internal`; for each header a rule tests, a value that
 *   satisfies the test and one that does not.
 * - authentication: not given (DMARC not emulated), SPF pass, SPF fail, and a DKIM pass for the From domain.
 */
import { findAcceptedDomain, isSameOrSubdomain, normaliseDomain } from '../eop/addresses.js';
import type { Assumptions } from '../eop/assumptions.js';
import { efcAppliesTo, enhancedFiltering, mxElsewhereTable, type AuthenticationInput } from '../eop/authentication.js';
import { matchCertificateName } from '../eop/certificate.js';
import { AcceptedIndex } from '../eop/compile.js';
import { CompiledRules, isInertRule } from '../eop/compiled-rules.js';
import { bytesToBigInt, parseIp, parseIpEntry, type IpEntry } from '../eop/ip.js';
import { policiesFor } from '../eop/policy-scope.js';
import { isSet } from '../eop/rule-predicates.js';
import type { Transaction } from '../eop/types.js';
import type { GatewayProfile } from '../profile/profile.js';
import type { Snapshot } from '../snapshot/parse.js';
import type { InboundConnector } from '../snapshot/schema.js';
import { gatewayStamps, satisfyingValue } from '../corpus/builtin.js';
import type { ClassSpace, Origin, Region } from './types.js';

export interface ClassSpaceOptions {
  profile: GatewayProfile;
  assumptions: Assumptions;
  allowDirectSend?: readonly string[] | undefined;
  /**
   * Merge the single-recipient regions that every reader of a recipient treats alike (see recipientSignature): the
   * search decides one of them for all. Off by default, so that every region stands alone.
   */
  mergeRecipients?: boolean | undefined;
}

/** A client-IP region, with what the origin of mail from it is. */
export interface IpRegion extends Region<string> {
  /** `gateway`: inside the profile's addresses; `allowed-source`: an allowed Direct Send source or a non-gateway connector's; null: neither. */
  origin: Exclude<Origin, 'other'> | null;
  /** Positions of the enabled non-gateway connectors whose SenderIPAddresses hold the region. */
  connectors: number[];
  /** The region is one of the allowed Direct Send sources. */
  allowDirectSend: boolean;
  /** The region is on a connection filter's IP Block List and not on its IP Allow List. */
  blocked: boolean;
}

/** A TLS region, with what the origin of mail presenting it is. */
export interface TlsRegion extends Region<Transaction['tls']> {
  origin: Exclude<Origin, 'other'> | null;
  /** Positions of the enabled non-gateway connectors whose certificate name covers the region's certificate. */
  connectors: number[];
}

/**
 * A recipients region. `members` are the recipient lists it stands for (one, unless single-recipient regions the
 * configuration treats alike were merged): the region's value is the first, and it counts for `members.length` classes.
 */
export interface RecipientRegion extends Region<string[]> {
  members: { value: string[]; label: string }[];
}

/** An authentication region; `dkimFromDomain` puts a passing DKIM signature of the class's header From domain in it. */
export interface AuthenticationRegion extends Region<AuthenticationInput | undefined> {
  dkimFromDomain: boolean;
}

/** The class space with what the search needs beyond the shared shape. */
export interface DerivedClassSpace extends ClassSpace {
  clientIp: IpRegion[];
  tls: TlsRegion[];
  recipients: RecipientRegion[];
  authentication: AuthenticationRegion[];
  /** Foreign domains of the space that publish a DMARC record (given with the authentication input). */
  dmarcRecords: ReadonlyMap<string, string>;
  /** What the space leaves out, in words. */
  limits: string[];
  /**
   * The headers region the gateway's own mail carries: the headers it stamps when a safety net excepts mail by one
   * (`X-Gateway-Scanned: yes`, gatewayStamps() of the corpus), else 0 (no headers beyond From).
   */
  gatewayHeaders: number;
}

/** Documentation addresses (RFC 5737, RFC 3849) preferred as representatives, as the corpus uses them. */
const PREFERRED_IPV4 = ['198.51.100.77', '203.0.113.77', '192.0.2.77', '198.51.100.177', '203.0.113.177'];
const PREFERRED_IPV6 = ['2001:db8:bad::25'];
export const FOREIGN_DOMAIN = 'mailer.attacker.example';
export const FOREIGN_DMARC_DOMAIN = 'dmarc-reject.example';
const FOREIGN_DMARC_RECORD = 'v=DMARC1; p=reject';
const UNRELATED_CERTIFICATE = 'mail.attacker.example';
const UNKNOWN_RECIPIENT_DOMAIN = 'unknown-recipient.example';
const UNMATCHED_HEADER_VALUE = 'eoplock-no-match';
const ORGANIZATION_AUTHAS = 'X-MS-Exchange-Organization-AuthAs';

const asList = (value: unknown): string[] =>
  Array.isArray(value) ? value.map((item) => String(item)) : value == null || value === '' ? [] : [String(value)];

/** A Partner connector for every sender (`SenderDomains *`): the shape of a gateway's connector. */
export function isGatewayShaped(connector: InboundConnector): boolean {
  return connector.ConnectorType === 'Partner' && connector.SenderDomains.some((domain) => domain.trim() === '*');
}

// ─────────────────────────────────────────────────────────────────────────────────────────────────
// Client IP
// ─────────────────────────────────────────────────────────────────────────────────────────────────

export interface NamedList {
  name: string;
  entries: IpEntry[];
  origin?: Exclude<Origin, 'other'>;
  /** The connector position, for a non-gateway connector's SenderIPAddresses. */
  connector?: number;
  /** A connection filter list: the policy's position and which list. */
  filter?: { policy: number; list: 'allow' | 'block' };
}

function namedList(name: string, texts: readonly string[], origin?: Exclude<Origin, 'other'>, connector?: number): NamedList {
  const entries: IpEntry[] = [];
  for (const text of texts) {
    const parsed = parseIpEntry(text);
    if (!('error' in parsed)) entries.push(parsed);
  }
  return { name, entries, ...(origin ? { origin } : {}), ...(connector !== undefined ? { connector } : {}) };
}

/** Every address list the decision or the origin reads. */
export function addressLists(snapshot: Snapshot, options: ClassSpaceOptions): NamedList[] {
  const lists: NamedList[] = [namedList('the gateway profile', options.profile.ips, 'gateway')];
  if (options.allowDirectSend?.length) lists.push(namedList(ALLOWED_LIST, options.allowDirectSend, 'allowed-source'));
  snapshot.InboundConnector.forEach((connector, position) => {
    if (!connector.Enabled) return;
    const gateway = isGatewayShaped(connector);
    lists.push(namedList(`"${connector.Name}".SenderIPAddresses`, connector.SenderIPAddresses, gateway ? undefined : 'allowed-source', gateway ? undefined : position));
    lists.push(namedList(`"${connector.Name}".EFSkipIPs`, connector.EFSkipIPs));
  });
  for (const rule of snapshot.TransportRule) {
    if (rule.State !== 'Enabled') continue;
    const raw = rule as Record<string, unknown>;
    for (const property of ['SenderIpRanges', 'ExceptIfSenderIpRanges']) {
      if (isSet(raw[property])) lists.push(namedList(`rule "${rule.Name}".${property}`, asList(raw[property])));
    }
  }
  snapshot.HostedConnectionFilterPolicy.forEach((policy, position) => {
    lists.push({ ...namedList(`"${policy.Name ?? 'connection filter policy'}".IPAllowList`, policy.IPAllowList), filter: { policy: position, list: 'allow' } });
    lists.push({ ...namedList(`"${policy.Name ?? 'connection filter policy'}".IPBlockList`, policy.IPBlockList), filter: { policy: position, list: 'block' } });
  });
  return lists.filter((list) => list.entries.length > 0);
}

const ALLOWED_LIST = 'the allowed Direct Send sources';
const WIDTH = { ipv4: 32, ipv6: 128 } as const;

function formatAddress(value: bigint, family: 'ipv4' | 'ipv6'): string {
  if (family === 'ipv4') return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 255n)).join('.');
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(((value >> shift) & 0xffffn).toString(16));
  return parseIp(groups.join(':'))?.toString() ?? groups.join(':');
}

export function ipRegions(lists: readonly NamedList[]): IpRegion[] {
  const regions: IpRegion[] = [];
  for (const family of ['ipv4', 'ipv6'] as const) {
    const entries: { list: number; entry: number; low: bigint; high: bigint }[] = [];
    lists.forEach((list, listIndex) =>
      list.entries.forEach((entry, entryIndex) => {
        if (entry.family === family) entries.push({ list: listIndex, entry: entryIndex, low: bytesToBigInt(entry.low), high: bytesToBigInt(entry.high) });
      }),
    );
    const max = (1n << BigInt(WIDTH[family])) - 1n;
    const points = new Set<bigint>([0n]);
    for (const entry of entries) {
      points.add(entry.low);
      if (entry.high < max) points.add(entry.high + 1n);
    }
    const sorted = [...points].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    // The entries that start at each point, and those that end just before it (the points are every entry's first
    // address and the one after its last, so between two points the entries an address is in do not change).
    const starting = new Map<bigint, number[]>();
    const ending = new Map<bigint, number[]>();
    const at = (map: Map<bigint, number[]>, point: bigint): number[] => {
      let list = map.get(point);
      if (!list) map.set(point, (list = []));
      return list;
    };
    entries.forEach((entry, position) => {
      at(starting, entry.low).push(position);
      if (entry.high < max) at(ending, entry.high + 1n).push(position);
    });
    // One sweep over the points, the entries an interval is in kept in the lists' order (linear in the points and the
    // entries, not their product: a snapshot with tens of thousands of addresses is read in a moment).
    const active: number[] = [];
    const place = (position: number) => {
      let low = 0;
      let high = active.length;
      while (low < high) {
        const middle = (low + high) >> 1;
        if ((active[middle] as number) < position) low = middle + 1;
        else high = middle;
      }
      return low;
    };
    // Intervals in the same entries of the same lists are one region: signature → intervals.
    const bySignature = new Map<string, { intervals: [bigint, bigint][]; inside: typeof entries }>();
    sorted.forEach((low, index) => {
      for (const position of ending.get(low) ?? []) active.splice(place(position), 1);
      for (const position of starting.get(low) ?? []) active.splice(place(position), 0, position);
      const high = index + 1 < sorted.length ? (sorted[index + 1] as bigint) - 1n : max;
      const signature = active.map((position) => `${entries[position]?.list}.${entries[position]?.entry}`).join(',');
      const region = bySignature.get(signature);
      if (region) region.intervals.push([low, high]);
      else bySignature.set(signature, { intervals: [[low, high]], inside: active.map((position) => entries[position] as (typeof entries)[number]) });
    });
    for (const { intervals, inside } of bySignature.values()) {
      const preferred = (family === 'ipv4' ? PREFERRED_IPV4 : PREFERRED_IPV6)
        .map((text) => bytesToBigInt(parseIp(text)?.toByteArray() ?? []))
        .find((value) => intervals.some(([low, high]) => low <= value && value <= high));
      const [firstLow, firstHigh] = intervals[0] as [bigint, bigint];
      const value = preferred ?? (firstHigh - firstLow >= 2n && (firstLow & 255n) === 0n ? firstLow + 1n : firstLow);
      const span = ([low, high]: [bigint, bigint]) => (low === high ? formatAddress(low, family) : `${formatAddress(low, family)}–${formatAddress(high, family)}`);
      const where = intervals.length === 1 ? span(intervals[0] as [bigint, bigint]) : `${span(intervals[0] as [bigint, bigint])} and ${intervals.length - 1} more interval(s)`;
      const names = [...new Set(inside.map((entry) => lists[entry.list]?.name ?? '?'))];
      const texts = [...new Set(inside.map((entry) => lists[entry.list]?.entries[entry.entry]?.text ?? '?'))];
      const origins = new Set(inside.map((entry) => lists[entry.list]?.origin).filter((origin) => origin !== undefined));
      const connectors = [...new Set(inside.map((entry) => lists[entry.list]?.connector).filter((position): position is number => position !== undefined))].sort((a, b) => a - b);
      const filters = inside.map((entry) => lists[entry.list]?.filter).filter((filter) => filter !== undefined);
      const blocked = filters.some((filter) => filter.list === 'block' && !filters.some((other) => other.policy === filter.policy && other.list === 'allow'));
      regions.push({
        blocked,
        connectors,
        allowDirectSend: inside.some((entry) => lists[entry.list]?.name === ALLOWED_LIST),
        value: formatAddress(value, family),
        label:
          `${family === 'ipv4' ? 'IPv4' : 'IPv6'} ${where}` +
          (names.length > 0 ? `, inside ${names.join(', ')} (${texts.join(', ')})` : ', outside every address list'),
        origin: origins.has('gateway') ? 'gateway' : origins.has('allowed-source') ? 'allowed-source' : null,
      });
    }
  }
  return regions;
}

// ─────────────────────────────────────────────────────────────────────────────────────────────────
// TLS
// ─────────────────────────────────────────────────────────────────────────────────────────────────

/** True when the name lies within a configured name: equal, or at or below a wildcard's base (ownership, not EOP's match). */
function withinName(name: string, configured: string): boolean {
  const wanted = normaliseDomain(configured);
  if (!wanted.startsWith('*.')) return name === wanted;
  const base = wanted.slice(2);
  return name === base || name.endsWith(`.${base}`);
}

function tlsRegions(snapshot: Snapshot, options: ClassSpaceOptions, acceptedNames: readonly string[]): TlsRegion[] {
  const configured = new Set<string>();
  const allowedNames: { name: string; position: number }[] = [];
  snapshot.InboundConnector.forEach((connector, position) => {
    if (!connector.TlsSenderCertificateName) return;
    configured.add(normaliseDomain(connector.TlsSenderCertificateName));
    if (connector.Enabled && !isGatewayShaped(connector)) allowedNames.push({ name: normaliseDomain(connector.TlsSenderCertificateName), position });
  });
  if (options.profile.certificateName) configured.add(normaliseDomain(options.profile.certificateName));
  const candidates: { name: string; why: string }[] = [];
  for (const name of [...configured].sort()) {
    if (name.startsWith('*.')) {
      const base = name.slice(2);
      candidates.push({ name: `mx1.${base}`, why: `one label below ${name}` }, { name: `a.b.${base}`, why: `two labels below ${name}` }, { name: base, why: `the apex of ${name}` });
    } else candidates.push({ name, why: `the configured name ${name}` });
  }
  const primary = acceptedNames[0];
  if (primary) {
    candidates.push({ name: `mail.${primary}`, why: `a name below the accepted domain ${primary}` }, { name: primary, why: `the accepted domain ${primary} itself` });
  }
  candidates.push({ name: UNRELATED_CERTIFICATE, why: 'an unrelated name' });

  const regions: TlsRegion[] = [
    { value: undefined, label: 'no TLS', origin: null, connectors: [] },
    { value: {}, label: 'TLS without a client certificate', origin: null, connectors: [] },
  ];
  const bySignature = new Map<string, { names: string[]; whys: string[]; origin: TlsRegion['origin']; connectors: number[] }>();
  for (const { name, why } of candidates) {
    const connectors = allowedNames.filter((allowed) => withinName(name, allowed.name)).map((allowed) => allowed.position);
    const origin: TlsRegion['origin'] =
      options.profile.certificateName && withinName(name, options.profile.certificateName)
        ? 'gateway'
        : connectors.length > 0
          ? 'allowed-source'
          : null;
    const matches = [...configured].map((entry) => (matchCertificateName(entry, [name], options.assumptions) ? '1' : '0')).join('');
    const accepted = findAcceptedDomain(name, snapshot.AcceptedDomain, options.assumptions) !== null ? 'a' : '-';
    const signature = `${matches}|${accepted}|${origin ?? '-'}|${connectors.join(',')}`;
    const entry = bySignature.get(signature);
    if (entry) {
      if (!entry.names.includes(name)) {
        entry.names.push(name);
        entry.whys.push(why);
      }
    } else bySignature.set(signature, { names: [name], whys: [why], origin, connectors });
  }
  for (const { names, whys, origin, connectors } of bySignature.values()) {
    const name = names[0] as string;
    regions.push({
      value: { certificate: { subject: `CN=${name}`, san: [name] } },
      label: `TLS with a certificate for ${name} (${whys[0]})${names.length > 1 ? `; the same for ${names.slice(1).join(', ')}` : ''}`,
      origin,
      connectors,
    });
  }
  return regions;
}

/** Where the classes of a cell (a client IP region with a TLS region) come from: the gateway first, then an allowed source. */
export function originOfCell(space: Pick<DerivedClassSpace, 'clientIp' | 'tls'>, clientIp: number, tls: number): Origin {
  const ip = space.clientIp[clientIp];
  const region = space.tls[tls];
  if (ip?.origin === 'gateway' || region?.origin === 'gateway') return 'gateway';
  if (ip?.origin === 'allowed-source' || region?.origin === 'allowed-source') return 'allowed-source';
  return 'other';
}

/**
 * Where any transaction comes from, by the same rules as the regions: the gateway (inside the profile's addresses, or
 * a certificate within its certificate name), an allowed source (an allowed Direct Send source, a non-gateway
 * connector's address or certificate name), or other. Used to place a transaction from elsewhere (the corpus) in the
 * class space.
 */
export function originOfTransaction(snapshot: Snapshot, options: ClassSpaceOptions, transaction: Transaction): Origin {
  const address = parseIp(transaction.clientIp);
  const value = address ? bytesToBigInt(address.toByteArray()) : null;
  const inside = (list: NamedList) =>
    address !== null && value !== null && list.entries.some((entry) => entry.family === address.kind() && bytesToBigInt(entry.low) <= value && value <= bytesToBigInt(entry.high));
  const lists = addressLists(snapshot, options);
  const names = transaction.tls?.certificate ? [transaction.tls.certificate.subject.replace(/^.*CN\s*=\s*([^,]+).*$/i, '$1'), ...(transaction.tls.certificate.san ?? [])].map(normaliseDomain) : [];
  const profileName = options.profile.certificateName;
  if (lists.some((list) => list.origin === 'gateway' && inside(list)) || (profileName && names.some((name) => withinName(name, profileName)))) return 'gateway';
  if (lists.some((list) => list.origin === 'allowed-source' && inside(list))) return 'allowed-source';
  const allowedNames = snapshot.InboundConnector.filter((connector) => connector.Enabled && !isGatewayShaped(connector) && connector.TlsSenderCertificateName).map((connector) =>
    normaliseDomain(connector.TlsSenderCertificateName as string),
  );
  if (names.some((name) => allowedNames.some((allowed) => withinName(name, allowed)))) return 'allowed-source';
  return 'other';
}

// ─────────────────────────────────────────────────────────────────────────────────────────────────
// Domains and addresses
// ─────────────────────────────────────────────────────────────────────────────────────────────────

/** Accepted domain names as plain domains (`*.contoso.com` → `contoso.com`), in snapshot order. */
function acceptedNames(snapshot: Snapshot): string[] {
  return [...new Set(snapshot.AcceptedDomain.map((domain) => normaliseDomain(domain.DomainName.replace(/^\s*\*\./, ''))))];
}

/** Where a domain lies relative to the tenant, for labels and causes (`accepted contoso.com (Authoritative)`). */
export function domainRegion(snapshot: Snapshot, domain: string | null): string {
  if (domain === null) return 'no domain';
  const name = normaliseDomain(domain);
  const exact = snapshot.AcceptedDomain.find((entry) => normaliseDomain(entry.DomainName) === name);
  if (exact) return `accepted domain ${name} (${exact.DomainType})`;
  const parent = snapshot.AcceptedDomain.map((entry) => normaliseDomain(entry.DomainName.replace(/^\s*\*\./, '')))
    .filter((parentName) => name.endsWith(`.${parentName}`))
    .sort((a, b) => b.length - a.length)[0];
  if (parent) return `a subdomain of the accepted domain ${parent}`;
  return `the domain ${name}, not accepted`;
}

/** Domains the configuration names as senders (connectors, rules, Dns), not accepted ones. */
function namedSenderDomains(snapshot: Snapshot): string[] {
  const names: string[] = [];
  const add = (value: string) => {
    const name = normaliseDomain(value);
    if (name === '*' || name === '') return;
    if (name.startsWith('*.')) names.push(name.slice(2), `sub.${name.slice(2)}`);
    else names.push(name);
  };
  for (const connector of snapshot.InboundConnector) for (const pattern of connector.SenderDomains) add(pattern);
  for (const rule of snapshot.TransportRule) {
    if (rule.State !== 'Enabled') continue;
    const raw = rule as Record<string, unknown>;
    for (const property of ['SenderDomainIs', 'ExceptIfSenderDomainIs']) for (const value of asList(raw[property])) add(value);
  }
  for (const domain of Object.keys(snapshot.Dns)) add(domain);
  return names;
}

/** Addresses a rule's From / ExceptIfFrom names. */
function namedSenderAddresses(snapshot: Snapshot): string[] {
  const addresses: string[] = [];
  for (const rule of snapshot.TransportRule) {
    if (rule.State !== 'Enabled') continue;
    const raw = rule as Record<string, unknown>;
    for (const property of ['From', 'ExceptIfFrom']) {
      for (const value of asList(raw[property])) {
        const match = /([^\s<>"]+@[^\s<>"]+)/.exec(value);
        if (match?.[1]) addresses.push(match[1].toLowerCase());
      }
    }
  }
  return addresses;
}

/** Recipient domains rules and policies name. */
function namedRecipientDomains(snapshot: Snapshot): string[] {
  const names: string[] = [];
  const fromRows = (rows: unknown) => {
    if (!Array.isArray(rows)) return;
    for (const row of rows as Record<string, unknown>[]) {
      if (row.State === 'Disabled') continue;
      for (const property of ['RecipientDomainIs', 'ExceptIfRecipientDomainIs']) for (const value of asList(row[property])) names.push(normaliseDomain(value));
    }
  };
  fromRows(snapshot.TransportRule);
  fromRows(snapshot.AntiPhishRule);
  fromRows(snapshot.EOPProtectionPolicyRule);
  fromRows(snapshot.HostedContentFilterRule);
  return names.filter((name) => name !== '' && !name.startsWith('*'));
}

function senderRegions(snapshot: Snapshot, accepted: readonly string[], nullLabel: string, nullValue: string | null): Region<string | null>[] {
  const regions: Region<string | null>[] = [];
  const seen = new Set<string>();
  const add = (address: string, label: string) => {
    if (seen.has(address)) return;
    seen.add(address);
    regions.push({ value: address, label });
  };
  for (const name of accepted) add(`sender@${name}`, domainRegion(snapshot, name));
  for (const name of accepted) add(`sender@sub.${name}`, domainRegion(snapshot, `sub.${name}`));
  for (const name of namedSenderDomains(snapshot)) add(`sender@${name}`, `${domainRegion(snapshot, name)}, named by the configuration`);
  for (const address of namedSenderAddresses(snapshot)) add(address, `the address ${address}, named by a rule's From`);
  add(`sender@${FOREIGN_DOMAIN}`, `a foreign domain (${FOREIGN_DOMAIN}) without DMARC`);
  add(`sender@${FOREIGN_DMARC_DOMAIN}`, `a foreign domain (${FOREIGN_DMARC_DOMAIN}) that publishes DMARC p=reject`);
  regions.push({ value: nullValue, label: nullLabel });
  return regions;
}

function recipientRegions(snapshot: Snapshot, accepted: readonly string[], options: ClassSpaceOptions): RecipientRegion[] {
  const regions: RecipientRegion[] = [];
  const seen = new Set<string>();
  const signature = options.mergeRecipients ? recipientSignature(snapshot, options.assumptions) : null;
  const bySignature = new Map<string, RecipientRegion>();
  const add = (domain: string) => {
    if (seen.has(domain)) return;
    seen.add(domain);
    const member = { value: [`user@${domain}`], label: domainRegion(snapshot, domain) };
    const key = signature?.(domain);
    const same = key === undefined ? undefined : bySignature.get(key);
    if (same) {
      same.members.push(member);
      same.label = `${same.members[0]?.label}; the same for ${same.members.slice(1).map((entry) => entry.label).join('; ')}`;
      return;
    }
    const region: RecipientRegion = { ...member, members: [member] };
    if (key !== undefined) bySignature.set(key, region);
    regions.push(region);
  };
  for (const name of accepted) add(name);
  for (const name of accepted) add(`sub.${name}`);
  for (const name of namedRecipientDomains(snapshot)) add(name);
  add(UNKNOWN_RECIPIENT_DOMAIN);
  const primary = accepted[0];
  if (primary) {
    const value = [`user@${primary}`, `user@${UNKNOWN_RECIPIENT_DOMAIN}`];
    const label = `a mixed pair: ${domainRegion(snapshot, primary)} and ${domainRegion(snapshot, UNKNOWN_RECIPIENT_DOMAIN)}`;
    regions.push({ value, label, members: [{ value, label }] });
  }
  return regions;
}

/**
 * What the decision and the search can tell about a single recipient `user@domain`, as a key: two domains with the
 * same key are treated alike by every reader of a recipient, so one decides for both. The readers (src/eop/stages.ts,
 * compile.ts, and the search's classification): the type of the accepted-domain entry that holds the domain and
 * whether as a subdomain (attribution, relay, SentToScope, the legitimate shape); each connector's
 * AssociatedAcceptedDomains (the Partner restriction); each enabled rule's RecipientDomainIs and its exception, but an
 * inert rule's (isInertRule); the
 * anti-phishing policies that apply to the recipient; the MX table (Honor DMARC); each connector's EFUsers (Enhanced
 * Filtering). The recipient's address also appears in reply and trace texts, which no finding's key reads; the
 * finding lists the domains of every member (RecipientRegion.members).
 */
function recipientSignature(snapshot: Snapshot, assumptions: Assumptions): (domain: string) => string {
  const index = new AcceptedIndex(snapshot.AcceptedDomain, assumptions['accepted-subdomains']);
  const associated = snapshot.InboundConnector.map((connector) => new Set(connector.AssociatedAcceptedDomains.map(normaliseDomain)));
  const ruleDomains: string[][] = [];
  // Only a rule that can change a verdict reads a recipient for the search: a disabled rule reads nothing, and an
  // inert one (isInertRule: a disclaimer by recipient domain, say) changes no finding's kind or cause.
  const readers = new Set<object>(new CompiledRules(snapshot.TransportRule, assumptions).rules.filter((rule) => !isInertRule(rule)).map((rule) => rule.rule));
  for (const rule of snapshot.TransportRule) {
    if (!readers.has(rule)) continue;
    const raw = rule as Record<string, unknown>;
    for (const property of ['RecipientDomainIs', 'ExceptIfRecipientDomainIs']) {
      if (isSet(raw[property])) ruleDomains.push(asList(raw[property]).map(normaliseDomain));
    }
  }
  const mx = mxElsewhereTable(snapshot);
  const filtering = snapshot.InboundConnector.map((connector) => enhancedFiltering(connector));
  return (domain) => {
    const name = normaliseDomain(domain);
    const recipient = `user@${name}`;
    const found = index.find(name);
    const legacy = findAcceptedDomain(name, snapshot.AcceptedDomain, assumptions);
    const parts = [
      // Of the entry, the decision reads only its type (ExternalRelay or not) and whether it holds the domain as a subdomain.
      found ? `${found.domain.DomainType}${found.viaSubdomain ? ' (subdomain)' : ''}` : '-',
      legacy ? 'accepted' : '-',
      associated.map((set) => (set.has(name) ? '1' : '0')).join(''),
      ruleDomains.map((list) => (list.some((entry) => isSameOrSubdomain(name, entry)) ? '1' : '0')).join(''),
      JSON.stringify(policiesFor(snapshot, 'antiPhish', recipient, { assumptions }).map((policy) => [policy.name, policy.source, policy.certainty, policy.index, policy.assumptions ?? []])),
      String(mx.get(name) ?? '-'),
      filtering.map((efc) => (efcAppliesTo(efc, [recipient]) ? '1' : '0')).join(''),
    ];
    return parts.join('|');
  };
}

// ─────────────────────────────────────────────────────────────────────────────────────────────────
// Headers
// ─────────────────────────────────────────────────────────────────────────────────────────────────

function headerRegions(snapshot: Snapshot, limits: string[]): Region<Record<string, string>>[] {
  const regions: Region<Record<string, string>>[] = [
    { value: {}, label: 'no headers beyond From' },
    { value: { [ORGANIZATION_AUTHAS]: 'Internal' }, label: `a forged ${ORGANIZATION_AUTHAS}: Internal` },
  ];
  const seen = new Set(regions.map((region) => JSON.stringify(region.value)));
  const add = (value: Record<string, string>, label: string) => {
    const key = JSON.stringify(value);
    if (seen.has(key)) return;
    seen.add(key);
    regions.push({ value, label });
  };
  for (const rule of snapshot.TransportRule) {
    if (rule.State !== 'Enabled') continue;
    const raw = rule as Record<string, unknown>;
    for (const prefix of ['', 'ExceptIf']) {
      for (const [headerProperty, testProperty, kind] of [
        ['HeaderContainsMessageHeader', 'HeaderContainsWords', 'words'],
        ['HeaderMatchesMessageHeader', 'HeaderMatchesPatterns', 'patterns'],
      ] as const) {
        const header = raw[`${prefix}${headerProperty}`];
        const tests = asList(raw[`${prefix}${testProperty}`]);
        if (!isSet(header) || tests.length === 0) continue;
        const name = String(header);
        if (/^from$/i.test(name)) {
          limits.push(`rule "${rule.Name}" tests the From header's text (${prefix}${testProperty}): the From header is a dimension of its own, so no separate values are generated for it`);
          continue;
        }
        const where = `rule "${rule.Name}" ${prefix}${testProperty}`;
        const first = tests[0] as string;
        const satisfying = kind === 'words' ? first : satisfyingValue(first);
        if (satisfying === null) limits.push(`no value satisfying the pattern "${first}" of ${where} was found: only a non-satisfying value is used`);
        else add({ [name]: satisfying }, `${name}: ${satisfying} (satisfies ${where})`);
        add({ [name]: UNMATCHED_HEADER_VALUE }, `${name}: ${UNMATCHED_HEADER_VALUE} (does not satisfy ${where})`);
      }
    }
  }
  return regions;
}

// ─────────────────────────────────────────────────────────────────────────────────────────────────
// The space
// ─────────────────────────────────────────────────────────────────────────────────────────────────

function authenticationRegions(): AuthenticationRegion[] {
  return [
    { value: undefined, label: 'no authentication results given (DMARC and Honor DMARC not emulated)', dkimFromDomain: false },
    { value: { spf: 'pass', dkim: [] }, label: 'SPF pass for the MAIL FROM domain, no DKIM signature', dkimFromDomain: false },
    { value: { spf: 'fail', dkim: [] }, label: 'SPF fail, no DKIM signature', dkimFromDomain: false },
    { value: { spf: 'fail', dkim: [] }, label: 'SPF fail, a passing DKIM signature of the header From domain', dkimFromDomain: true },
  ];
}

export function deriveClassSpace(snapshot: Snapshot, options: ClassSpaceOptions): DerivedClassSpace {
  const limits: string[] = [];
  const accepted = acceptedNames(snapshot);
  const clientIp = ipRegions(addressLists(snapshot, options));
  const tls = tlsRegions(snapshot, options, accepted);
  const mailFrom = senderRegions(snapshot, accepted, 'the null sender <>', '').map((region) => ({ value: region.value ?? '', label: region.label }));
  const headerFrom = senderRegions(snapshot, accepted, 'no From header', null);
  const recipients = recipientRegions(snapshot, accepted, options);
  const headers = headerRegions(snapshot, limits);
  // The gateway's mail carries the headers it stamps (one region with all of them; added when no region has it).
  const stamps = gatewayStamps(snapshot);
  let gatewayHeaders = 0;
  if (stamps.length > 0) {
    const value = Object.fromEntries(stamps.map((field) => [field.name, field.value]));
    const key = JSON.stringify(value);
    gatewayHeaders = headers.findIndex((region) => JSON.stringify(region.value) === key);
    if (gatewayHeaders < 0) {
      gatewayHeaders = headers.length;
      headers.push({ value, label: `the headers the gateway stamps (${stamps.map((field) => `${field.name}: ${field.value}`).join(', ')})` });
    }
  }
  const authentication = authenticationRegions();
  const recipientClasses = recipients.reduce((sum, region) => sum + region.members.length, 0);
  const size = clientIp.length * tls.length * mailFrom.length * headerFrom.length * recipientClasses * headers.length * authentication.length;
  return {
    clientIp,
    tls,
    mailFrom,
    headerFrom,
    recipients,
    headers,
    authentication,
    size,
    dmarcRecords: new Map([[FOREIGN_DMARC_DOMAIN, FOREIGN_DMARC_RECORD]]),
    limits,
    gatewayHeaders,
  };
}
