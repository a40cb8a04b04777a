/**
 * What every check needs, computed once per audit: the gateway connector, the safety-net rule candidates, where the
 * MX points, and the proof corpus run through the emulator. Pure.
 */
import type { Prove } from '../prove/types.js';
import { blockingAction, builtinCorpus, corpusOutcome, headerExceptionMet, headerExceptions, type HeaderException } from '../corpus/builtin.js';
import { normaliseDomain } from '../eop/addresses.js';
import type { Assumptions } from '../eop/assumptions.js';
import { matchCertificateName } from '../eop/certificate.js';
import { decide } from '../eop/decide.js';
import { bytesToBigInt, compileIpList, formatIpv4Interval, ipv4Interval, mergeIntervals, subtractIntervals, type IpEntry } from '../eop/ip.js';
import { configuredPredicates, isSet } from '../eop/rule-predicates.js';
import { domainDnsFacts, mxFact, type DomainDnsFacts } from '../dns/facts.js';
import { gatewayConnector, hasGateway, type GatewayProfile } from '../profile/profile.js';
import type { Snapshot } from '../snapshot/parse.js';
import type { InboundConnector, TransportRule } from '../snapshot/schema.js';
import type { CheckOutcome, Evidence, ProofEntry } from './model.js';

export interface Indexed<T> {
  item: T;
  index: number;
}

export interface AuditContext {
  snapshot: Snapshot;
  profile: GatewayProfile;
  assumptions: Assumptions;
  /** The profile describes a gateway in front of EOP. */
  hasGateway: boolean;
  /** The gateway's addresses, parsed. */
  gatewayEntries: IpEntry[];
  /** Every enabled or disabled connector that identifies the gateway by one of its addresses or its certificate. */
  gatewayCandidates: Indexed<InboundConnector>[];
  /** The connector that serves the gateway: an enabled Partner candidate, restricted ones first. */
  gateway: Indexed<InboundConnector> | null;
  /** What the snapshot's Dns section says (and cannot say) about each custom accepted domain. */
  dns: DomainDnsFacts[];
  /**
   * false: some custom domain's MX points away from Exchange Online; true: every custom domain's MX is known and those
   * with MX records point at Exchange Online; null: no MX records, or some MX unknown.
   */
  mxAtExchange: boolean | null;
  /** Why where the MX points is unknown (no domain is known to point away, and some domain's MX is unknown); else null. */
  mxUnknown: string | null;
  /**
   * Rules shaped like a safety net: a blocking action that applies to all mail (or to mail selected only by sender
   * address, sender scope or recipient), with an exception that can let the gateway through — by sender address
   * (ExceptIfSenderIpRanges), by EOP's AuthAs stamp (Microsoft's form, §4.3), or by a header the gateway stamps. Best
   * first.
   */
  safetyNets: Indexed<TransportRule>[];
  /** How each safety net lets mail through, by the rule's position in TransportRule. */
  safetyNetExceptions: ReadonlyMap<number, NetException[]>;
  proof: ProofEntry[];
  /**
   * The class search (src/prove's `prove`), given by the caller for `audit --prove`: EOPL-090/091 then search every
   * class of transaction; null: they judge the corpus. Injected, so that an audit without it loads none of its code.
   */
  classSearch: Prove | null;
}

export function pass(summary: string, evidence: Evidence[] = []): CheckOutcome {
  return { status: 'pass', summary, evidence };
}
export function fail(summary: string, evidence: Evidence[]): CheckOutcome {
  return { status: 'fail', summary, evidence };
}
export function notApplicable(summary: string): CheckOutcome {
  return { status: 'not-applicable', summary, evidence: [] };
}

/** Merged IPv4 intervals of a list of entries. */
export function ipv4Cover(entries: readonly IpEntry[]): [number, number][] {
  return mergeIntervals(entries.map(ipv4Interval).filter((interval): interval is [number, number] => interval !== null));
}

function overlaps(a: readonly [number, number][], b: readonly [number, number][]): boolean {
  return a.some(([low, high]) => b.some(([l, h]) => low <= h && l <= high));
}

export { blockingAction };

/**
 * One way a safety net lets mail through. `sender-ip`: the last hop is in ExceptIfSenderIpRanges. `authas`: EOP's own
 * AuthAs stamp (the sender cannot set it). `organization-header`: another X-MS-Exchange-Organization-* header, which
 * EOP removes from all mail not authenticated as internal. `sender-header`: any other header — the sender writes it.
 */
export type NetException = SenderIpException | HeaderNetException;
export interface SenderIpException {
  kind: 'sender-ip';
  property: 'ExceptIfSenderIpRanges';
  entries: string[];
}
export interface HeaderNetException extends HeaderException {
  kind: 'authas' | 'organization-header' | 'sender-header';
}

/** The AuthAs values EOP stamps (§1.4, S33). */
export const AUTH_AS_VALUES = ['Anonymous', 'External', 'Partner', 'Internal'] as const;

/** The exceptions of a rule that can let the gateway (or on-premises) through, in the order the rule lists them. */
export function netExceptions(rule: TransportRule): NetException[] {
  const raw = rule as Record<string, unknown>;
  const found: NetException[] = [];
  if (isSet(raw.ExceptIfSenderIpRanges)) {
    found.push({ kind: 'sender-ip', property: 'ExceptIfSenderIpRanges', entries: Array.isArray(raw.ExceptIfSenderIpRanges) ? raw.ExceptIfSenderIpRanges.map(String) : [String(raw.ExceptIfSenderIpRanges)] });
  }
  for (const exception of headerExceptions(rule)) {
    const kind = exception.writer === 'eop-stamp' ? 'authas' : exception.writer === 'internal-only' ? 'organization-header' : 'sender-header';
    found.push({ kind, ...exception });
  }
  return found;
}

/** The AuthAs values a header exception on X-MS-Exchange-Organization-AuthAs lets through. */
export function authAsValuesLetThrough(exception: HeaderException): string[] {
  return AUTH_AS_VALUES.filter((value) => headerExceptionMet(exception, value));
}

/**
 * Conditions a safety net may have: they choose mail by where it comes from or whom it is for, never by content. A
 * rule with any other condition (an attachment, a subject) blocks some content, not mail that bypassed the gateway.
 */
const NET_CONDITIONS = new Set(['SenderIpRanges', 'FromScope', 'SentToScope', 'RecipientDomainIs']);

function isSafetyNet(rule: TransportRule, exceptions: readonly NetException[]): boolean {
  if (blockingAction(rule as Record<string, unknown>) === null || exceptions.length === 0) return false;
  return configuredPredicates(rule as Record<string, unknown>).conditions.every(({ parameter }) => NET_CONDITIONS.has(parameter));
}

/** An IPv4 interval as the CIDR blocks that make it up (`203.0.113.16-203.0.113.255` → /28, /27, /26, /25). */
export function ipv4Blocks([low, high]: readonly [number, number]): string[] {
  const blocks: string[] = [];
  let start = low;
  while (start <= high) {
    let size = 1;
    while (start % (size * 2) === 0 && start + size * 2 - 1 <= high) size *= 2;
    blocks.push(formatIpv4Interval([start, start + size - 1]));
    start += size;
  }
  return blocks;
}

/** The parts of the merged `cover` that lie inside `interval`. */
export function intersectIntervals(interval: readonly [number, number], cover: readonly (readonly [number, number])[]): [number, number][] {
  return cover.flatMap(([low, high]): [number, number][] => {
    const from = Math.max(low, interval[0]);
    const to = Math.min(high, interval[1]);
    return from <= to ? [[from, to]] : [];
  });
}

/** True when every address of the IPv6 entry lies in one of the IPv6 `entries`. */
export function ipv6Covered(entry: IpEntry, entries: readonly IpEntry[]): boolean {
  const low = bytesToBigInt(entry.low);
  const high = bytesToBigInt(entry.high);
  return entries.some((candidate) => candidate.family === 'ipv6' && bytesToBigInt(candidate.low) <= low && high <= bytesToBigInt(candidate.high));
}

/** IPv4 intervals of `entries` that lie outside the merged `known` cover. */
export function ipv4Outside(entries: readonly IpEntry[], known: readonly (readonly [number, number])[]): [number, number][] {
  return mergeIntervals(ipv4Cover(entries).flatMap((interval) => subtractIntervals(interval, known)));
}

/**
 * The connector that serves the gateway and the connectors that could (AuditContext's `gatewayEntries`,
 * `gatewayCandidates` and `gateway`): what the plan needs of the context, without the proof.
 */
export function gatewayOf(snapshot: Snapshot, profile: GatewayProfile, assumptions: Assumptions): Pick<AuditContext, 'gatewayEntries' | 'gatewayCandidates' | 'gateway'> {
  const gatewayEntries = compileIpList(profile.ips).entries;
  const gatewayCover = ipv4Cover(gatewayEntries);
  const gatewayCandidates: Indexed<InboundConnector>[] = [];
  snapshot.InboundConnector.forEach((connector, index) => {
    const byIp = overlaps(ipv4Cover(compileIpList(connector.SenderIPAddresses).entries), gatewayCover);
    const byCertificate =
      profile.certificateName !== null &&
      connector.TlsSenderCertificateName !== null &&
      (normaliseDomain(connector.TlsSenderCertificateName) === profile.certificateName ||
        matchCertificateName(connector.TlsSenderCertificateName, [profile.certificateName.replace(/^\*\./, 'host.')], assumptions) !== null);
    if (byIp || byCertificate) gatewayCandidates.push({ item: connector, index });
  });
  const rank = ({ item }: Indexed<InboundConnector>) =>
    (item.RestrictDomainsToIPAddresses || item.RestrictDomainsToCertificate ? 2 : 0) + (item.SenderDomains.includes('*') ? 1 : 0);
  let gateway =
    [...gatewayCandidates]
      .filter(({ item }) => item.Enabled && item.ConnectorType === 'Partner')
      .sort((a, b) => rank(b) - rank(a) || a.index - b.index)[0] ?? null;
  if (!gateway && profile.origin.kind === 'inferred') {
    const inferred = gatewayConnector(snapshot);
    gateway = inferred ? { item: inferred.connector, index: inferred.index } : null;
  }
  return { gatewayEntries, gatewayCandidates, gateway };
}

/** The rules shaped like a safety net, best first, and how each lets mail through (AuditContext's). */
export function safetyNetsOf(snapshot: Snapshot): Pick<AuditContext, 'safetyNets' | 'safetyNetExceptions'> {
  const safetyNetExceptions = new Map<number, NetException[]>();
  snapshot.TransportRule.forEach((rule, index) => {
    const exceptions = netExceptions(rule);
    if (isSafetyNet(rule, exceptions)) safetyNetExceptions.set(index, exceptions);
  });
  const safetyNets = snapshot.TransportRule.map((item, index) => ({ item, index }))
    .filter(({ index }) => safetyNetExceptions.has(index))
    .sort((a, b) => netRank(b.item) - netRank(a.item) || a.item.Priority - b.item.Priority);
  return { safetyNets, safetyNetExceptions };
}

export function buildContext(snapshot: Snapshot, profile: GatewayProfile, assumptions: Assumptions): AuditContext {
  const { gatewayEntries, gatewayCandidates, gateway } = gatewayOf(snapshot, profile, assumptions);
  const dns = domainDnsFacts(snapshot);
  const { mxAtExchange, mxUnknown } = mxSummary(dns);
  const { safetyNets, safetyNetExceptions } = safetyNetsOf(snapshot);

  const corpus = builtinCorpus(snapshot, profile);
  const proof: ProofEntry[] = corpus.map((entry) => {
    const verdict = decide(snapshot, entry.transaction, { assumptions });
    return {
      id: entry.id,
      kind: entry.kind,
      name: entry.name,
      description: entry.description,
      outcome: corpusOutcome(entry, verdict),
      transaction: entry.transaction,
      verdict,
    };
  });

  return {
    snapshot,
    profile,
    assumptions,
    hasGateway: hasGateway(profile),
    gatewayEntries,
    gatewayCandidates,
    gateway,
    dns,
    mxAtExchange,
    mxUnknown,
    safetyNets,
    safetyNetExceptions,
    proof,
    classSearch: null,
  };
}

/** Where the custom domains' MX points, taken together: a domain known to point away settles it; an unknown MX is said. */
export function mxSummary(dns: readonly DomainDnsFacts[]): { mxAtExchange: boolean | null; mxUnknown: string | null } {
  const facts = dns.map((entry) => ({ domain: entry.domain, mx: mxFact(entry) }));
  if (facts.some(({ mx }) => mx.kind === 'elsewhere' || mx.kind === 'mixed')) return { mxAtExchange: false, mxUnknown: null };
  const unknown = facts.flatMap(({ domain, mx }) => (mx.kind === 'unknown' ? [{ domain, why: mx.why }] : []));
  if (unknown.length > 0) {
    const reasons = [...new Set(unknown.map((entry) => entry.why))];
    const names = unknown.map((entry) => entry.domain).join(', ');
    return {
      mxAtExchange: null,
      mxUnknown: reasons.length === 1 ? `where the MX of ${names} points is unknown (${reasons[0]})` : `where the MX of ${unknown.map((entry) => `${entry.domain} (${entry.why})`).join(', ')} points is unknown`,
    };
  }
  return { mxAtExchange: facts.some(({ mx }) => mx.kind === 'exchange-online') ? true : null, mxUnknown: null };
}

function netRank(rule: TransportRule): number {
  return (rule.State === 'Enabled' ? 2 : 0) + (rule.Mode === 'Enforce' ? 1 : 0);
}
