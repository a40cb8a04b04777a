/**
 * Inbound connector matching (S7, S9, S11) and the Partner-connector restriction (S3, S9, S10).
 */
import type { InboundConnector } from '../snapshot/schema.js';
import { senderDomainPatternCovers, normaliseDomain } from './addresses.js';
import type { Assumptions } from './assumptions.js';
import { matchCertificateName } from './certificate.js';
import { compiledIpList, findInList, type IpAddress } from './ip.js';
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
  assumptions: string[];
}

export interface ConnectionFacts {
  clientIp: IpAddress;
  tls: boolean;
  certificateNames: string[];
  senderDomain: string | null;
}

/** Finds every enabled connector that matches the connection by IP or certificate, and picks one. */
export function matchConnectors(
  connectors: readonly InboundConnector[],
  facts: ConnectionFacts,
  assumptions: Assumptions,
): ConnectorMatchResult {
  const result: ConnectorMatchResult = { candidates: [], chosen: null, trace: [], assumptions: [] };
  connectors.forEach((connector, index) => {
    if (!connector.Enabled) {
      result.trace.push({ step: 'connector', detail: `"${connector.Name}" is disabled: ignored`, sources: ['S7', 'S8'] });
      return;
    }
    const ipList = compiledIpList(connector.SenderIPAddresses);
    const ipEntry = findInList(ipList, facts.clientIp);
    const ip = ipEntry ? ipEntry.text : null;
    const certificate =
      facts.tls && connector.TlsSenderCertificateName
        ? matchCertificateName(connector.TlsSenderCertificateName, facts.certificateNames, assumptions)
        : null;
    if (connector.TlsSenderCertificateName?.startsWith('*.') && facts.certificateNames.length > 0) {
      result.assumptions.push('certificate-wildcard');
    }
    if (!ip && !certificate) return;

    if (connector.ConnectorType === 'Partner') {
      if (!connector.SenderDomains.some((pattern) => senderDomainPatternCovers(pattern, facts.senderDomain))) {
        result.trace.push({
          step: 'connector',
          detail: `"${connector.Name}" matched by ${ip ? `IP ${ip}` : `certificate ${certificate}`} but its SenderDomains (${connector.SenderDomains.join(', ') || 'none'}) do not cover the sender domain ${facts.senderDomain ?? '<> (null sender)'}`,
          sources: ['S7', '§3.1'],
        });
        return;
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
          return;
        }
      }
    }
    result.candidates.push({ connector, index, ip, certificate });
  });

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

/** Enabled Partner connectors with RestrictDomainsToIPAddresses or RestrictDomainsToCertificate. */
export function restrictingConnectors(connectors: readonly InboundConnector[]): InboundConnector[] {
  return withRestriction(connectors, 'Partner');
}

/** OnPremises connectors never enforce RestrictDomainsTo* (S9); named so the trace can say so. */
export function ineffectiveRestrictions(connectors: readonly InboundConnector[]): InboundConnector[] {
  return withRestriction(connectors, 'OnPremises');
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
  return restricting.filter(
    (connector) =>
      connector.SenderDomains.some((pattern) => senderDomainPatternCovers(pattern, senderDomain)) &&
      (connector.AssociatedAcceptedDomains.length === 0 ||
        connector.AssociatedAcceptedDomains.some((domain) => normaliseDomain(domain) === recipientDomain)),
  );
}

/** True when the message satisfies a restricting connector by the method it restricts to. */
export function satisfiesRestriction(connector: InboundConnector, candidates: readonly ConnectorCandidate[]): boolean {
  const own = candidates.find((candidate) => candidate.connector === connector);
  if (!own) return false;
  return (connector.RestrictDomainsToIPAddresses && own.ip !== null) || (connector.RestrictDomainsToCertificate && own.certificate !== null);
}
