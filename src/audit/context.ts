/**
 * What every check needs, computed once per audit: the gateway connector, the safety-net rule candidates, where the
 * MX points, and the proof corpus run through the emulator. Pure.
 */
import type { Prove } from '../prove/types.js';
import { builtinCorpus, corpusOutcome } from '../corpus/builtin.js';
import { normaliseDomain } from '../eop/addresses.js';
import type { Assumptions } from '../eop/assumptions.js';
import { matchCertificateName } from '../eop/certificate.js';
import { decide } from '../eop/decide.js';
import { compileIpList, ipv4Interval, mergeIntervals, type IpEntry } from '../eop/ip.js';
import { isSet } from '../eop/rule-predicates.js';
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
  /** Rules shaped like a safety net: a blocking action with sender-IP exceptions. Best first. */
  safetyNets: Indexed<TransportRule>[];
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

/** A rule's blocking action, if any: reject, delete, quarantine or redirect. */
export function blockingAction(rule: Record<string, unknown>): string | null {
  if (isSet(rule.RejectMessageReasonText) || isSet(rule.RejectMessageEnhancedStatusCode)) return 'reject';
  if (rule.DeleteMessage === true) return 'delete';
  if (rule.Quarantine === true) return 'quarantine';
  if (isSet(rule.RedirectMessageTo)) return 'redirect';
  return null;
}

export function buildContext(snapshot: Snapshot, profile: GatewayProfile, assumptions: Assumptions): AuditContext {
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

  const dns = domainDnsFacts(snapshot);
  const { mxAtExchange, mxUnknown } = mxSummary(dns);

  const safetyNets = snapshot.TransportRule.map((item, index) => ({ item, index }))
    .filter(({ item }) => blockingAction(item as Record<string, unknown>) !== null && isSet((item as Record<string, unknown>).ExceptIfSenderIpRanges))
    .sort((a, b) => netRank(b.item) - netRank(a.item) || a.item.Priority - b.item.Priority);

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
