/**
 * MAIL FROM and header From regions the configuration treats alike in one cell (client IP and TLS region): the
 * search's fifth pruning, exact. The regions of each dimension fall into groups by what reads them alone; a MAIL FROM
 * group and a header From group then fall into pairs by what reads the two together, and one class per pair kind is
 * decided: its verdict counts for every such pair.
 *
 * What reads the MAIL FROM of a class (src/eop/stages.ts, compile.ts senderFacts, rule-predicates.ts,
 * authentication.ts, and the search's legitimateShape):
 * - the accepted domain that holds its domain (its type, and whether as a subdomain), in the emulator's index and in
 *   findAcceptedDomain(); whether the domain is internal (FromScope, rules);
 * - the SenderDomains of a connector it may be matched against (one whose SenderIPAddresses hold the cell's address,
 *   or any with a certificate name) and of every restricting connector (the Partner restriction);
 * - the sender conditions of the rules (From, SenderDomainIs, FromScope): always when they look at the envelope
 *   (SenderAddressLocation Envelope or HeaderOrEnvelope), and when they look at the header but the class has no From
 *   header (the envelope then stands in);
 * - DMARC's and compauth's SPF alignment with the header From domain (relaxed and strict), which the authentication
 *   stage reads for every header From domain;
 * - nothing else: the SPF result itself is an input of the class (its authentication region), and the trace's texts,
 *   which name the address, are not part of a finding.
 * What reads the header From: the DATA stage (whether there is one), the accepted domain that holds its domain and
 * whether it is internal (the rules, compauth's reason), the rules' sender conditions that look at the header (Header,
 * HeaderOrEnvelope), the DMARC record that applies to its domain (given with the class, or from the Dns section with
 * the organisational fallback), the SenderDomains the search's legitimateShape reads, and SPF alignment with the MAIL
 * FROM. The DKIM signature of an authentication region is the header From domain's own, always aligned.
 * The alignment, the same address on both sides, and (without a From header) the header rules answered on the
 * envelope are what reads both: `pairs`. The null sender and the missing From header are always alone. An inert rule
 * (isInertRule) takes no part.
 */
import { domainOf, findAcceptedDomain, senderDomainPatternCovers } from '../eop/addresses.js';
import type { Assumptions } from '../eop/assumptions.js';
import { AcceptedIndex, DomainPatterns } from '../eop/compile.js';
import { CompiledRules, isInertRule } from '../eop/compiled-rules.js';
import { compiledIpList, findInList, parseIp } from '../eop/ip.js';
import { dmarcRecordFor } from '../eop/authentication.js';
import { configuredPredicates, evaluatePredicate, type ConfiguredPredicate, type RuleContext } from '../eop/rule-predicates.js';
import { aligned } from '../mail/dmarc.js';
import type { Snapshot } from '../snapshot/parse.js';
import type { DerivedClassSpace } from './classes.js';
import { groupPositions } from './grouping.js';

const SENDER_PARAMETERS = new Set(['From', 'SenderDomainIs', 'FromScope']);


/** Pairs of a MAIL FROM and a header From region that every reader answers alike: the first pair and how many. */
export interface SenderPair {
  mailFrom: number;
  headerFrom: number;
  count: number;
}

export interface SenderGroups {
  /** The MAIL FROM groups of a cell, in the order of their first region (each a list of positions, first lowest). */
  groupsOf(clientIp: number, tls: number): readonly (readonly number[])[];
  /** The header From groups of a cell, likewise. */
  fromGroupsOf(clientIp: number, tls: number): readonly (readonly number[])[];
  /** The pairs of a MAIL FROM group and a header From group, each kind with its first pair (lowest MAIL FROM, then header From). */
  pairs(senders: readonly number[], froms: readonly number[]): readonly SenderPair[];
}

/** `compiled`: the snapshot's rules compiled under `assumptions`, when the caller has them. */
export function senderGroups(snapshot: Snapshot, assumptions: Assumptions, space: DerivedClassSpace, compiled = new CompiledRules(snapshot.TransportRule, assumptions)): SenderGroups {
  const index = new AcceptedIndex(snapshot.AcceptedDomain, assumptions['accepted-subdomains']);
  const senders = space.mailFrom.map((region) => region.value);
  const domains = senders.map((address) => (address === '' ? null : domainOf(address)));
  // What no cell changes: the accepted domain, and the rules' sender predicates on the envelope.
  const predicates: { predicate: ConfiguredPredicate; always: boolean; header: boolean }[] = [];
  for (const rule of compiled.rules) {
    if (isInertRule(rule)) continue;
    const { conditions, exceptions } = configuredPredicates(rule.rule as Record<string, unknown>);
    for (const predicate of [...conditions, ...exceptions]) {
      const base = predicate.definition?.parameters[0] ?? '';
      if (!SENDER_PARAMETERS.has(base)) continue;
      // SenderAddressLocation: Envelope and HeaderOrEnvelope look at the envelope even with a From header; Header and
      // HeaderOrEnvelope look at the header From.
      const location = String(predicate.values[1] ?? 'Header');
      predicates.push({ predicate, always: location === 'Envelope' || location === 'HeaderOrEnvelope', header: location !== 'Envelope' });
    }
  }
  const answerOn = (predicate: ConfiguredPredicate, address: string): string => {
    // The envelope alone (no From header): every location reads it. AuthAs Internal lets FromScope InOrganization
    // answer by the domain, which is all it reads of the address.
    const context = { clientIp: parseIp('192.0.2.1'), clientIpText: '192.0.2.1', mailFrom: address, headerFrom: null, recipients: [], headers: [], authAs: 'Internal', acceptedDomains: snapshot.AcceptedDomain, assumptions } as unknown as RuleContext;
    return String(evaluatePredicate(predicate, context).matched);
  };
  /** What the emulator reads of the accepted domain that holds a domain (its index, findAcceptedDomain, internal). */
  const acceptedKey = (domain: string | null): string => {
    const found = index.find(domain);
    return [
      found ? `${found.domain.DomainType}${found.viaSubdomain ? '.sub' : ''}` : '-',
      domain !== null && findAcceptedDomain(domain, snapshot.AcceptedDomain, assumptions) !== null ? 'accepted' : '-',
      index.internal(domain) ? 'internal' : '-',
    ].join('|');
  };
  const fixed = senders.map((address, position) => {
    if (address === '') return null;
    return [
      acceptedKey(domains[position] ?? null),
      predicates.filter((entry) => entry.always).map((entry) => answerOn(entry.predicate, address)).join(''),
    ].join('|');
  });
  // Read only without a From header.
  const headerOnly = senders.map((address) => (address === '' ? '' : predicates.filter((entry) => !entry.always).map((entry) => answerOn(entry.predicate, address)).join('')));

  const connectors = snapshot.InboundConnector.map((connector) => ({
    connector,
    patterns: new DomainPatterns(connector.SenderDomains),
    addresses: compiledIpList(connector.SenderIPAddresses),
    always: (connector.TlsSenderCertificateName ?? '').trim() !== '' || connector.RestrictDomainsToIPAddresses || connector.RestrictDomainsToCertificate,
  }));
  const coverage = connectors.map(({ connector, patterns }) =>
    domains.map((domain) => `${patterns.covers(domain) ? 1 : 0}${connector.SenderDomains.some((pattern) => senderDomainPatternCovers(pattern, domain)) ? 1 : 0}`),
  );

  const fromAddresses = space.headerFrom.map((region) => region.value);
  const fromDomains = fromAddresses.map((address) => (address === null ? null : domainOf(address)));
  const fromFixed = fromAddresses.map((address, position) => {
    if (address === null) return null;
    const domain = fromDomains[position] ?? null;
    return [
      acceptedKey(domain),
      // The record that applies (the Dns section with the organisational fallback, or the one the class gives).
      domain === null ? 'no domain' : JSON.stringify(dmarcRecordFor(snapshot, domain, space.dmarcRecords.get(domain))),
      // Header and HeaderOrEnvelope conditions, answered on the header From (HeaderOrEnvelope: either address).
      predicates.filter((entry) => entry.header).map((entry) => answerOn(entry.predicate, address)).join(''),
    ].join('|');
  });
  const fromCoverage = connectors.map(({ connector }) =>
    fromDomains.map((domain) => (connector.SenderDomains.some((pattern) => senderDomainPatternCovers(pattern, domain)) ? 1 : 0)),
  );

  /** The connectors whose SenderDomains can be read in a cell. */
  const readersOf = (clientIp: number): number[] => {
    const address = parseIp(space.clientIp[clientIp]?.value ?? '');
    return connectors.map((entry, position) => (entry.always || (address !== null && findInList(entry.addresses, address) !== null) ? position : -1)).filter((position) => position >= 0);
  };
  const byReaders = new Map<string, { senders: readonly (readonly number[])[]; froms: readonly (readonly number[])[] }>();
  const byCell = new Map<number, { senders: readonly (readonly number[])[]; froms: readonly (readonly number[])[] }>();
  const cellGroups = (clientIp: number, tls: number) => {
    const cell = clientIp * space.tls.length + tls;
    let groups = byCell.get(cell);
    if (groups) return groups;
    const readers = readersOf(clientIp);
    const readersKey = readers.join(',');
    groups = byReaders.get(readersKey);
    if (!groups) {
      groups = {
        senders: groupPositions(senders.length, (position) => {
          const sig = fixed[position];
          return sig === null ? `alone ${position}` : `${sig}|${readers.map((reader) => coverage[reader]?.[position]).join('')}`;
        }),
        froms: groupPositions(fromAddresses.length, (position) => {
          const sig = fromFixed[position];
          return sig === null ? `alone ${position}` : `${sig}|${readers.map((reader) => fromCoverage[reader]?.[position]).join('')}`;
        }),
      };
      byReaders.set(readersKey, groups);
    }
    byCell.set(cell, groups);
    return groups;
  };

  const pairsOf = new WeakMap<readonly number[], WeakMap<readonly number[], readonly SenderPair[]>>();
  const pairs = (group: readonly number[], froms: readonly number[]): readonly SenderPair[] => {
    let known = pairsOf.get(group);
    if (!known) pairsOf.set(group, (known = new WeakMap()));
    let list = known.get(froms);
    if (list) return list;
    const byKey = new Map<string, SenderPair>();
    const made: SenderPair[] = [];
    // Met MAIL FROM first, then header From: the first pair of a kind is its lowest.
    for (const position of group) {
      const domain = domains[position] ?? null;
      for (const from of froms) {
        const fromDomain = fromDomains[from] ?? null;
        const address = fromAddresses[from] ?? null;
        const alignment = fromDomain !== null && domain !== null ? `${aligned(fromDomain, domain, 'r') ? 1 : 0}${aligned(fromDomain, domain, 's') ? 1 : 0}` : '-';
        const key = `${alignment}|${address === senders[position] ? 'same' : '-'}|${address === null ? headerOnly[position] : ''}`;
        const pair = byKey.get(key);
        if (pair) pair.count++;
        else {
          const first = { mailFrom: position, headerFrom: from, count: 1 };
          byKey.set(key, first);
          made.push(first);
        }
      }
    }
    list = made;
    known.set(froms, list);
    return list;
  };
  return { groupsOf: (clientIp, tls) => cellGroups(clientIp, tls).senders, fromGroupsOf: (clientIp, tls) => cellGroups(clientIp, tls).froms, pairs };
}
