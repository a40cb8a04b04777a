/**
 * Inbound connector matching (S7, S9, S11) and the Partner-connector restriction (S3, S9, S10).
 */
import type { InboundConnector } from '../snapshot/schema.js';
import { senderDomainPatternCovers, normaliseDomain } from './addresses.js';
import type { Assumptions } from './assumptions.js';
import { matchCertificateName } from './certificate.js';
import { bytesToBigInt, compiledIpList, findInList, type IpAddress } from './ip.js';
import type { TraceStep } from './types.js';

export interface ConnectorCandidate {
  connector: InboundConnector;
  /** Index in the snapshot's list (ties are broken by it). */
  index: number;
  ip: string | null;
  certificate: string | null;
}

export interface ConnectorMatchResult {
  candidates: ConnectorCandidate[];
  chosen: { candidate: ConnectorCandidate; matchedBy: 'ip' | 'certificate' } | null;
  trace: TraceStep[];
  /** The assumptions the match relied on (an id may appear more than once). */
  assumptions: string[];
}

export interface ConnectionFacts {
  clientIp: IpAddress;
  tls: boolean;
  certificateNames: string[];
  senderDomain: string | null;
}

/**
 * What matching needs from a connector list, computed once per list (cached like the compiled IP lists): a
 * decision then looks up the few connectors its address or certificate can match instead of testing every one,
 * so a corpus or scenario run is linear in connectors, not connectors × messages. Lookups may return connectors
 * that do not match (a range is filed under the prefix its two ends share); each is confirmed by the same tests as
 * before, so the results are those of a scan. The snapshot is not changed after it is loaded, as elsewhere.
 */
interface ConnectorIndex {
  size: number;
  /** Positions of disabled connectors (each verdict's trace names them). */
  disabled: number[];
  ip: { ipv4: PrefixTable; ipv6: PrefixTable };
  /** Enabled connectors with a certificate name: by the name, and wildcard ones (`*.base`) also by the base. */
  certificates: NameTable;
  /** An enabled connector's certificate name is a wildcard (the `certificate-wildcard` assumption is in play). */
  wildcard: boolean;
  restricting: InboundConnector[];
  ineffective: InboundConnector[];
}

/** Connector positions by the leading bits their address entries share: prefix length → those bits → positions. */
interface PrefixTable {
  width: number;
  byPrefix: Map<number, { shift: bigint; keys: Map<bigint, number[]> }>;
}

/** Positions by exact name, and by the base of a wildcard name (with the lengths of those bases). */
interface NameTable {
  exact: Map<string, number[]>;
  base: Map<string, number[]>;
  baseLengths: Set<number>;
}

const connectorIndexes = new WeakMap<readonly InboundConnector[], ConnectorIndex>();

function connectorIndex(connectors: readonly InboundConnector[]): ConnectorIndex {
  const cached = connectorIndexes.get(connectors);
  if (cached && cached.size === connectors.length) return cached;
  const index: ConnectorIndex = {
    size: connectors.length,
    disabled: [],
    ip: { ipv4: { width: 32, byPrefix: new Map() }, ipv6: { width: 128, byPrefix: new Map() } },
    certificates: { exact: new Map(), base: new Map(), baseLengths: new Set() },
    wildcard: false,
    restricting: withRestriction(connectors, 'Partner'),
    ineffective: withRestriction(connectors, 'OnPremises'),
  };
  connectors.forEach((connector, position) => {
    if (!connector.Enabled) {
      index.disabled.push(position);
      return;
    }
    for (const entry of compiledIpList(connector.SenderIPAddresses).entries) {
      const table = index.ip[entry.family];
      let prefix = 0;
      while (prefix < table.width && bit(entry.low, prefix) === bit(entry.high, prefix)) prefix++;
      let level = table.byPrefix.get(prefix);
      if (!level) {
        level = { shift: BigInt(table.width - prefix), keys: new Map() };
        table.byPrefix.set(prefix, level);
      }
      addTo(level.keys, bytesToBigInt(entry.low) >> level.shift, position);
    }
    if (connector.TlsSenderCertificateName) {
      const wanted = normaliseDomain(connector.TlsSenderCertificateName);
      addTo(index.certificates.exact, wanted, position);
      if (wanted.startsWith('*.')) {
        addTo(index.certificates.base, wanted.slice(2), position);
        index.certificates.baseLengths.add(wanted.length - 2);
      }
    }
    if (connector.TlsSenderCertificateName?.startsWith('*.')) index.wildcard = true;
  });
  connectorIndexes.set(connectors, index);
  return index;
}

function addTo<Key>(map: Map<Key, number[]>, key: Key, position: number): void {
  const list = map.get(key);
  if (!list) map.set(key, [position]);
  else if (list[list.length - 1] !== position) list.push(position);
}

function bit(bytes: readonly number[], position: number): number {
  return ((bytes[position >> 3] ?? 0) >> (7 - (position & 7))) & 1;
}

/** Positions of connectors with an address entry that may contain the address. */
function ipCandidates(table: PrefixTable, address: IpAddress, into: Set<number>): void {
  if (table.byPrefix.size === 0) return;
  const value = bytesToBigInt(address.toByteArray());
  for (const level of table.byPrefix.values()) {
    for (const position of level.keys.get(value >> level.shift) ?? []) into.add(position);
  }
}

/**
 * Positions filed under `name` itself, or under a base `name` lies at or below: the name and every suffix that
 * follows a dot. Only suffixes as long as some base are looked up, so a name with many labels costs one pass.
 */
function nameCandidates(table: NameTable, name: string, into: Set<number>, withBases: boolean): void {
  for (const position of table.exact.get(name) ?? []) into.add(position);
  if (!withBases || table.base.size === 0) return;
  for (const position of table.base.get(name) ?? []) into.add(position);
  for (let dot = name.indexOf('.'); dot >= 0; dot = name.indexOf('.', dot + 1)) {
    if (!table.baseLengths.has(name.length - dot - 1)) continue;
    for (const position of table.base.get(name.slice(dot + 1)) ?? []) into.add(position);
  }
}

/** Finds every enabled connector that matches the connection by IP or certificate, and picks one. */
export function matchConnectors(
  connectors: readonly InboundConnector[],
  facts: ConnectionFacts,
  assumptions: Assumptions,
): ConnectorMatchResult {
  const result: ConnectorMatchResult = { candidates: [], chosen: null, trace: [], assumptions: [] };
  const index = connectorIndex(connectors);
  if (index.wildcard && facts.certificateNames.length > 0) result.assumptions.push('certificate-wildcard');
  const positions = new Set<number>(index.disabled);
  ipCandidates(index.ip[facts.clientIp.kind()], facts.clientIp, positions);
  if (facts.tls) {
    for (const name of facts.certificateNames) nameCandidates(index.certificates, name, positions, !name.startsWith('*.'));
  }
  for (const position of [...positions].sort((a, b) => a - b)) {
    const connector = connectors[position];
    if (!connector) continue;
    if (!connector.Enabled) {
      result.trace.push({ step: 'connector', detail: `"${connector.Name}" is disabled: ignored`, sources: ['S7', 'S8'] });
      continue;
    }
    const ipList = compiledIpList(connector.SenderIPAddresses);
    const ipEntry = findInList(ipList, facts.clientIp);
    const ip = ipEntry ? ipEntry.text : null;
    const certificate =
      facts.tls && connector.TlsSenderCertificateName
        ? matchCertificateName(connector.TlsSenderCertificateName, facts.certificateNames, assumptions)
        : null;
    if (!ip && !certificate) continue;

    if (connector.ConnectorType === 'Partner') {
      if (!connector.SenderDomains.some((pattern) => senderDomainPatternCovers(pattern, facts.senderDomain))) {
        result.trace.push({
          step: 'connector',
          detail: `"${connector.Name}" matched by ${ip ? `IP ${ip}` : `certificate ${certificate}`} but its SenderDomains (${connector.SenderDomains.join(', ') || 'none'}) do not cover the sender domain ${facts.senderDomain ?? '<> (null sender)'}`,
          sources: ['S7', '§3.1'],
        });
        continue;
      }
      if (connector.RequireTls && !facts.tls) {
        result.assumptions.push('require-tls-without-tls');
        if (assumptions['require-tls-without-tls'] === 'connector-not-matched') {
          result.trace.push({
            step: 'connector',
            detail: `"${connector.Name}" requires TLS and the connection has none: not matched`,
            sources: ['S7', '§3.1'],
            assumptions: ['require-tls-without-tls'],
          });
          continue;
        }
      }
    }
    result.candidates.push({ connector, index: position, ip, certificate });
  }

  if (result.candidates.length === 0) {
    result.trace.push({
      step: 'connector',
      detail: 'no inbound connector matches by sender IP or certificate: the message is anonymous',
      sources: ['S1', 'S2', '§1.4'],
    });
    return result;
  }

  const mode = assumptions['connector-precedence'];
  if (result.candidates.length > 1) result.assumptions.push('connector-precedence');
  const rank = (candidate: ConnectorCandidate): number => {
    if (mode === 'config-order') return 0;
    const byCertificate = candidate.certificate !== null;
    return mode === 'certificate-first' ? (byCertificate ? 0 : 1) : candidate.ip !== null ? 0 : 1;
  };
  const [best] = [...result.candidates].sort((a, b) => rank(a) - rank(b) || a.index - b.index);
  if (best) {
    const matchedBy: 'ip' | 'certificate' =
      mode === 'ip-first' ? (best.ip ? 'ip' : 'certificate') : best.certificate ? 'certificate' : 'ip';
    result.chosen = { candidate: best, matchedBy };
    result.trace.push({
      step: 'connector',
      detail:
        `matched ${best.connector.ConnectorType} connector "${best.connector.Name}" by ` +
        (matchedBy === 'ip' ? `IP (${best.ip})` : `certificate (${best.certificate})`) +
        (result.candidates.length > 1
          ? `; ${result.candidates.length - 1} other connector(s) also matched: ${result.candidates
              .filter((candidate) => candidate !== best)
              .map((candidate) => `"${candidate.connector.Name}"`)
              .join(', ')}`
          : ''),
      sources: ['S7', 'S9', 'S11', '§3.2'],
      ...(result.candidates.length > 1 ? { assumptions: ['connector-precedence'] } : {}),
    });
  }
  return result;
}

/** Enabled connectors of a type with RestrictDomainsToIPAddresses or RestrictDomainsToCertificate set. */
function withRestriction(connectors: readonly InboundConnector[], type: InboundConnector['ConnectorType']): InboundConnector[] {
  return connectors.filter(
    (connector) =>
      connector.Enabled &&
      connector.ConnectorType === type &&
      (connector.RestrictDomainsToIPAddresses || connector.RestrictDomainsToCertificate),
  );
}

/** Enabled Partner connectors with RestrictDomainsToIPAddresses or RestrictDomainsToCertificate (a shared list). */
export function restrictingConnectors(connectors: readonly InboundConnector[]): readonly InboundConnector[] {
  return connectorIndex(connectors).restricting;
}

/** OnPremises connectors never enforce RestrictDomainsTo* (S9); named so the trace can say so (a shared list). */
export function ineffectiveRestrictions(connectors: readonly InboundConnector[]): readonly InboundConnector[] {
  return connectorIndex(connectors).ineffective;
}

/** Restricting connectors by their SenderDomains patterns: `*`, exact domains, and the bases of `*.` patterns. */
interface RestrictionIndex {
  size: number;
  any: number[];
  domains: NameTable;
}

const restrictionIndexes = new WeakMap<readonly InboundConnector[], RestrictionIndex>();

function restrictionIndex(restricting: readonly InboundConnector[]): RestrictionIndex {
  const cached = restrictionIndexes.get(restricting);
  if (cached && cached.size === restricting.length) return cached;
  const index: RestrictionIndex = { size: restricting.length, any: [], domains: { exact: new Map(), base: new Map(), baseLengths: new Set() } };
  restricting.forEach((connector, position) => {
    for (const pattern of connector.SenderDomains) {
      const value = normaliseDomain(pattern);
      if (value === '*') {
        if (index.any.at(-1) !== position) index.any.push(position);
      } else if (value.startsWith('*.')) {
        addTo(index.domains.base, value.slice(2), position);
        index.domains.baseLengths.add(value.length - 2);
      } else addTo(index.domains.exact, value, position);
    }
  });
  restrictionIndexes.set(restricting, index);
  return index;
}

/**
 * The restricting Partner connectors that apply to a message from `senderDomain` to `recipientDomain`:
 * SenderDomains covers the sender, and AssociatedAcceptedDomains (when set) covers the recipient.
 */
export function applicableRestrictions(
  restricting: readonly InboundConnector[],
  senderDomain: string | null,
  recipientDomain: string,
): InboundConnector[] {
  if (restricting.length === 0) return [];
  const index = restrictionIndex(restricting);
  const positions = new Set<number>(index.any);
  if (senderDomain !== null) nameCandidates(index.domains, senderDomain, positions, true);
  const applicable: InboundConnector[] = [];
  for (const position of [...positions].sort((a, b) => a - b)) {
    const connector = restricting[position];
    if (
      connector &&
      connector.SenderDomains.some((pattern) => senderDomainPatternCovers(pattern, senderDomain)) &&
      (connector.AssociatedAcceptedDomains.length === 0 ||
        connector.AssociatedAcceptedDomains.some((domain) => normaliseDomain(domain) === recipientDomain))
    ) {
      applicable.push(connector);
    }
  }
  return applicable;
}
