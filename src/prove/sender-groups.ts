/**
 * MAIL FROM regions the configuration treats alike in one cell (client IP and TLS region): the search's fifth
 * pruning, exact. One of each group is decided with each header From region, and its verdict counts for the group.
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
 * The first three do not depend on the header From: the groups of a cell (`groupsOf`). The last two do: a group is
 * split per header From region (`split`), and the same address as the header From stays apart too. The null sender
 * is always alone. An inert rule (isInertRule) takes no part.
 */
import { domainOf, findAcceptedDomain, senderDomainPatternCovers } from '../eop/addresses.js';
import type { Assumptions } from '../eop/assumptions.js';
import { AcceptedIndex, DomainPatterns } from '../eop/compile.js';
import { CompiledRules, isInertRule } from '../eop/compiled-rules.js';
import { compiledIpList, findInList, parseIp } from '../eop/ip.js';
import { configuredPredicates, type ConfiguredPredicate, type RuleContext } from '../eop/rule-predicates.js';
import { aligned } from '../mail/dmarc.js';
import type { Snapshot } from '../snapshot/parse.js';
import type { DerivedClassSpace } from './classes.js';

const SENDER_PARAMETERS = new Set(['From', 'SenderDomainIs', 'FromScope']);

/** Whether a sender predicate looks at the envelope even when the message has a From header. */
function readsEnvelope(predicate: ConfiguredPredicate): boolean {
  const location = String(predicate.values[1] ?? 'Header');
  return location === 'Envelope' || location === 'HeaderOrEnvelope';
}

export interface SenderGroups {
  /** The MAIL FROM groups of a cell, in the order of their first region (each a list of positions, first lowest). */
  groupsOf(clientIp: number, tls: number): readonly (readonly number[])[];
  /** A group of {@link groupsOf} split for one header From region, in the order of first positions. */
  split(group: readonly number[], headerFrom: number): readonly (readonly number[])[];
}

export function senderGroups(snapshot: Snapshot, assumptions: Assumptions, space: DerivedClassSpace): SenderGroups {
  const index = new AcceptedIndex(snapshot.AcceptedDomain, assumptions['accepted-subdomains']);
  const senders = space.mailFrom.map((region) => region.value);
  const domains = senders.map((address) => (address === '' ? null : domainOf(address)));
  // What no cell changes: the accepted domain, and the rules' sender predicates on the envelope.
  const predicates: { predicate: ConfiguredPredicate; always: boolean }[] = [];
  for (const rule of new CompiledRules(snapshot.TransportRule, assumptions).rules) {
    if (isInertRule(rule)) continue;
    const { conditions, exceptions } = configuredPredicates(rule.rule as Record<string, unknown>);
    for (const predicate of [...conditions, ...exceptions]) {
      const base = predicate.definition?.parameters[0] ?? '';
      if (SENDER_PARAMETERS.has(base)) predicates.push({ predicate, always: readsEnvelope(predicate) });
    }
  }
  const answerOn = (predicate: ConfiguredPredicate, address: string): string => {
    // The envelope alone (no From header): every location reads it. AuthAs Internal lets FromScope InOrganization
    // answer by the domain, which is all it reads of the address.
    const context = { clientIp: parseIp('192.0.2.1'), clientIpText: '192.0.2.1', mailFrom: address, headerFrom: null, recipients: [], headers: [], authAs: 'Internal', acceptedDomains: snapshot.AcceptedDomain, assumptions } as unknown as RuleContext;
    try {
      return String(predicate.definition?.evaluate(predicate.values, context).matched ?? null);
    } catch {
      return 'error';
    }
  };
  const fixed = senders.map((address, position) => {
    if (address === '') return null;
    const domain = domains[position] ?? null;
    const found = index.find(domain);
    const legacy = domain !== null && findAcceptedDomain(domain, snapshot.AcceptedDomain, assumptions) !== null;
    return [
      found ? `${found.domain.DomainType}${found.viaSubdomain ? '.sub' : ''}` : '-',
      legacy ? 'accepted' : '-',
      index.internal(domain) ? 'internal' : '-',
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

  const byReaders = new Map<string, readonly (readonly number[])[]>();
  const byCell = new Map<number, readonly (readonly number[])[]>();
  const groupsOf = (clientIp: number, tls: number): readonly (readonly number[])[] => {
    const cell = clientIp * space.tls.length + tls;
    let groups = byCell.get(cell);
    if (groups) return groups;
    const address = parseIp(space.clientIp[clientIp]?.value ?? '');
    const readers = connectors.map((entry, position) => (entry.always || (address !== null && findInList(entry.addresses, address) !== null) ? position : -1)).filter((position) => position >= 0);
    const readersKey = readers.join(',');
    groups = byReaders.get(readersKey);
    if (!groups) {
      const byKey = new Map<string, number[]>();
      const list: number[][] = [];
      senders.forEach((_, position) => {
        const sig = fixed[position];
        const key = sig === null ? `alone ${position}` : `${sig}|${readers.map((reader) => coverage[reader]?.[position]).join('')}`;
        const group = byKey.get(key);
        if (group) group.push(position);
        else {
          const made = [position];
          byKey.set(key, made);
          list.push(made);
        }
      });
      groups = list;
      byReaders.set(readersKey, groups);
    }
    byCell.set(cell, groups);
    return groups;
  };

  const fromDomains = space.headerFrom.map((region) => (region.value === null ? null : domainOf(region.value)));
  const splits = new WeakMap<readonly number[], Map<number, readonly (readonly number[])[]>>();
  const split = (group: readonly number[], headerFrom: number): readonly (readonly number[])[] => {
    if (group.length === 1) return [group];
    let known = splits.get(group);
    if (!known) splits.set(group, (known = new Map()));
    let parts = known.get(headerFrom);
    if (parts) return parts;
    const from = space.headerFrom[headerFrom]?.value ?? null;
    const fromDomain = fromDomains[headerFrom] ?? null;
    const byKey = new Map<string, number[]>();
    const list: number[][] = [];
    for (const position of group) {
      const domain = domains[position] ?? null;
      const alignment = fromDomain !== null && domain !== null ? `${aligned(fromDomain, domain, 'r') ? 1 : 0}${aligned(fromDomain, domain, 's') ? 1 : 0}` : '-';
      const key = `${alignment}|${from === senders[position] ? 'same' : '-'}|${from === null ? headerOnly[position] : ''}`;
      const part = byKey.get(key);
      if (part) part.push(position);
      else {
        const made = [position];
        byKey.set(key, made);
        list.push(made);
      }
    }
    parts = list;
    known.set(headerFrom, parts);
    return parts;
  };
  return { groupsOf, split };
}
