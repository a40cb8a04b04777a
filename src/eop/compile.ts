/**
 * compile(snapshot, assumptions) builds once what every decision needs — address interval tables per list, the
 * connectors an address or certificate name can match, the accepted-domain index, the transport rules in priority
 * order as predicate closures with an index of the rules a transaction can match, the connection filter lists, the
 * Dns zones and MX facts, and the anti-phishing policies per recipient — and returns a policy that decides one
 * transaction at a time:
 *
 *   const policy = compile(snapshot, assumptions);
 *   policy.decide(transaction);                    // fast: trace [] and no per-rule reasons
 *   policy.decide(transaction, { trace: true });   // the verdict decide() returns, with its trace
 *
 * Both paths run the same stages (stages.ts); only the traced one writes the trace, and it evaluates transport rules
 * through rules.ts so that every rule carries its reasons. The fast path's verdict equals the traced one in every
 * field but `trace` (empty) and each rule's `reasons` (empty); test/eop/fast-path.test.ts checks it.
 *
 * A snapshot is not changed after it is compiled (as everywhere in eoplock: snapshots are values once loaded).
 */
import type { Snapshot } from '../snapshot/parse.js';
import type { AcceptedDomain, InboundConnector } from '../snapshot/schema.js';
import { domainOf, normaliseDomain } from './addresses.js';
import { resolveAssumptions, type Assumptions } from './assumptions.js';
import { CompiledRules, Memo, type RecipientHits, type SenderHits } from './compiled-rules.js';
import { compiledIpList, type IpList } from './ip.js';
import { IntervalIndex, IpSet, parseClientAddress, type ClientAddress } from './ip-table.js';
import { mxElsewhereTable, type DnsZones } from './authentication.js';
import { policiesFor, type ApplyingPolicy } from './policy-scope.js';
import { runStages, runStagesEach } from './stages.js';
import type { HeaderField, Transaction, Verdict } from './types.js';

export interface CompiledDecideOptions {
  /** Build the trace (and each rule's reasons). Default false: the fast path. */
  trace?: boolean;
}

/** A compiled snapshot under one set of assumptions. */
export interface CompiledPolicy {
  readonly snapshot: Snapshot;
  readonly assumptions: Assumptions;
  /** The verdict for one transaction; `trace: true` for the trace and rule reasons decide() returns. */
  decide(transaction: Transaction, options?: CompiledDecideOptions): Verdict;
  /**
   * The fast path's verdict for the transaction with each authentication input in turn (the stages before
   * authentication run once): `inputs.map((a) => decide({ ...transaction, authentication: a }))`.
   */
  decideEach(transaction: Transaction, inputs: readonly Transaction['authentication'][]): Verdict[];
}

/** `SenderDomains`-style patterns (`*`, `contoso.com`, `*.contoso.com`) of one connector, normalised once. */
export class DomainPatterns {
  private readonly any: boolean;
  private readonly exact: Set<string>;
  private readonly bases: string[];

  constructor(patterns: readonly string[]) {
    const values = patterns.map(normaliseDomain);
    this.any = values.includes('*');
    this.exact = new Set(values.filter((value) => value !== '*' && !value.startsWith('*.')));
    this.bases = values.filter((value) => value.startsWith('*.')).map((value) => value.slice(2));
  }

  /** senderDomainPatternCovers() for any of the patterns. */
  covers(domain: string | null): boolean {
    if (this.any) return true;
    if (domain === null || domain === '') return false;
    if (this.exact.has(domain)) return true;
    for (const base of this.bases) if (domain === base || domain.endsWith(`.${base}`)) return true;
    return false;
  }
}

export interface ConnectorInfo {
  connector: InboundConnector;
  position: number;
  senderDomains: DomainPatterns;
}

export interface RestrictingInfo {
  connector: InboundConnector;
  position: number;
  senderDomains: DomainPatterns;
  /** AssociatedAcceptedDomains, normalised; null when empty (every recipient domain). */
  associated: Set<string> | null;
}

/** The inbound connectors, indexed by the addresses and certificate names that can match them. */
export interface CompiledConnectors {
  list: ConnectorInfo[];
  /** Enabled connectors by the addresses of their SenderIPAddresses. */
  ip: IntervalIndex;
  /** Enabled connectors by certificate name, and wildcard ones (`*.base`) also by the base. */
  certificates: { exact: Map<string, number[]>; base: Map<string, number[]>; baseLengths: Set<number> };
  /** An enabled connector's certificate name is a wildcard (the `certificate-wildcard` assumption is in play). */
  wildcard: boolean;
  disabled: number[];
  restricting: RestrictingInfo[];
  /** OnPremises connectors with RestrictDomainsTo* (never enforced, S9). */
  ineffective: InboundConnector[];
}

export interface AcceptedMatch {
  domain: AcceptedDomain;
  viaSubdomain: boolean;
}

/** The accepted domains (findAcceptedDomain() under the compiled `accepted-subdomains` value), with answers remembered. */
export class AcceptedIndex {
  private readonly exact = new Map<string, AcceptedMatch>();
  private readonly parents = new Map<string, { domain: AcceptedDomain; wildcard: boolean }[]>();
  private readonly answers = new Map<string, AcceptedMatch | null>();
  private readonly internalAnswers = new Map<string, boolean>();

  constructor(
    accepted: readonly AcceptedDomain[],
    private readonly mode: Assumptions['accepted-subdomains'],
  ) {
    for (const entry of accepted) {
      const wildcard = entry.DomainName.trim().startsWith('*.');
      const name = normaliseDomain(entry.DomainName.replace(/^\s*\*\./, ''));
      if (!wildcard && !this.exact.has(name)) this.exact.set(name, { domain: entry, viaSubdomain: false });
      const list = this.parents.get(name) ?? [];
      list.push({ domain: entry, wildcard });
      this.parents.set(name, list);
    }
  }

  find(domain: string | null): AcceptedMatch | null {
    if (!domain) return null;
    const exact = this.exact.get(domain);
    if (exact) return exact;
    let answer = this.answers.get(domain);
    if (answer !== undefined) return answer;
    answer = null;
    // The longest accepted parent that allows subdomains; among entries of one name, the first listed.
    for (let dot = domain.indexOf('.'); dot >= 0 && answer === null; dot = domain.indexOf('.', dot + 1)) {
      for (const parent of this.parents.get(domain.slice(dot + 1)) ?? []) {
        if (parent.wildcard || this.mode === 'always' || (this.mode === 'match-subdomains-flag' && parent.domain.MatchSubDomains)) {
          answer = { domain: parent.domain, viaSubdomain: true };
          break;
        }
      }
    }
    if (this.answers.size > 50_000) this.answers.clear();
    this.answers.set(domain, answer);
    return answer;
  }

  /** An accepted domain that is not an external relay (FromScope, SentToScope). */
  internal(domain: string | null): boolean {
    if (domain === null) return false;
    let answer = this.internalAnswers.get(domain);
    if (answer === undefined) {
      const accepted = this.find(domain);
      answer = accepted !== null && accepted.domain.DomainType !== 'ExternalRelay';
      if (this.internalAnswers.size > 50_000) this.internalAnswers.clear();
      this.internalAnswers.set(domain, answer);
    }
    return answer;
  }
}

export interface CompiledFilter {
  name: string;
  block: IpSet;
  allow: IpSet;
  blockList: IpList;
  allowList: IpList;
}

/** A client address and what the tables say of it: the same for every transaction from that address. */
export interface ClientFacts {
  address: ClientAddress;
  /** The enabled connectors whose SenderIPAddresses hold the address (ascending), or null. */
  byIp: readonly number[] | null;
  /** The first connection filter whose IP Block List holds the address and whose IP Allow List does not, or -1. */
  blockedBy: number;
}

/** A MAIL FROM as the stages read it, with what the tables say of its domain. */
export interface SenderFacts extends SenderHits {
  /** Trimmed, without the angle brackets. */
  mailFrom: string;
  /** The envelope sender in lower case (as the transport rules compare it), and domainOf() it. */
  envelope: string;
  envelopeDomain: string | null;
  /** The envelope sender's domain is accepted and not an external relay (FromScope). */
  envelopeInternal: boolean;
  domain: string | null;
  accepted: AcceptedMatch | null;
  /** The restricting Partner connectors whose SenderDomains cover the domain, in order. */
  restricting: readonly RestrictingInfo[];
  /** Per connector position: 0 not yet asked, 1 its SenderDomains do not cover the domain, 2 they do. */
  covered: Uint8Array;
}

/** The address in a header From value, its domain, and whether that is accepted and not an external relay. */
export interface HeaderFrom extends SenderHits {
  address: string | null;
  domain: string | null;
  internal: boolean;
}

/** A recipient address and its accepted domain. */
export interface RecipientFacts extends RecipientHits {
  domain: string;
  accepted: AcceptedMatch | null;
}

/** A presented certificate's names, the connectors filed under them, and each connector's match (made when asked). */
export interface CertificateFacts {
  names: string[];
  /** Connector positions filed under a name or a wildcard base above one (ascending, each once). */
  positions: readonly number[];
  /** Per connector position: matchCertificateName()'s answer once asked (undefined: not asked yet). */
  matches: (string | null | undefined)[];
}

/** Everything a decision reads, built once. */
export interface CompiledTables {
  snapshot: Snapshot;
  assumptions: Assumptions;
  rejectDirectSend: boolean;
  connectors: CompiledConnectors;
  accepted: AcceptedIndex;
  filters: CompiledFilter[];
  rules: CompiledRules;
  zones: DnsZones;
  /** Per recipient domain: the MX points away from Exchange Online (true), to it (false); absent: no MX data. */
  mxElsewhere: ReadonlyMap<string, boolean>;
  /** The anti-phishing policies that may apply to a recipient (policiesFor), remembered per recipient. */
  antiPhishChain: (recipient: string) => ApplyingPolicy[];
  /** The restricting Partner connectors whose SenderDomains cover a sender domain, in order (remembered per domain). */
  restrictingFor: (senderDomain: string | null) => readonly RestrictingInfo[];
  /** certificateNames() and what follows from the names, remembered per certificate (by subject when it has no SANs). */
  certificateNameCache: { bySubject: Map<string, CertificateFacts>; withSan: Map<string, CertificateFacts>; byObject: WeakMap<object, CertificateFacts> };
  /** Per client address text: the address and its connector and filter lookups; null when it is not an address. */
  clientFacts(text: string): ClientFacts | null;
  /** Per MAIL FROM as given. */
  senderFacts(mailFrom: string): SenderFacts;
  /** Per recipient as given; null when it is not an address. */
  recipientFacts(recipient: string): RecipientFacts | null;
  /** Per address (lower case): an accepted domain that is not an external relay (FromScope). */
  internalAddress(address: string): boolean;
  /** Per header From value: the address in it (addressInHeader) and its domain. */
  headerFromAddress: Memo<HeaderFrom>;
  /**
   * The authentication stage's outcome and Authentication-Results header, per authentication input object (a
   * transaction's, which is not changed once given; `ids` numbers them) and the values the evaluation reads besides
   * it (stages.ts). One bounded memo for all inputs.
   */
  authenticationMemo: { ids: WeakMap<object, number>; next: number; entries: Memo<AuthenticationMemoEntry> };
}

/** One remembered authentication evaluation (frozen: verdicts share it). */
export interface AuthenticationMemoEntry {
  outcome: NonNullable<Verdict['authentication']>;
  header: HeaderField;
}

function addTo<Key>(map: Map<Key, number[]>, key: Key, position: number): void {
  const list = map.get(key);
  if (!list) map.set(key, [position]);
  else if (list[list.length - 1] !== position) list.push(position);
}

function compileConnectors(connectors: readonly InboundConnector[]): CompiledConnectors {
  const certificates = { exact: new Map<string, number[]>(), base: new Map<string, number[]>(), baseLengths: new Set<number>() };
  const disabled: number[] = [];
  const ipEntries: ConstructorParameters<typeof IntervalIndex>[0][number][] = [];
  let wildcard = false;
  const list = connectors.map((connector, position) => ({ connector, position, senderDomains: new DomainPatterns(connector.SenderDomains) }));
  connectors.forEach((connector, position) => {
    if (!connector.Enabled) {
      disabled.push(position);
      return;
    }
    for (const entry of compiledIpList(connector.SenderIPAddresses).entries) ipEntries.push({ entry, id: position });
    if (connector.TlsSenderCertificateName) {
      const wanted = normaliseDomain(connector.TlsSenderCertificateName);
      addTo(certificates.exact, wanted, position);
      if (wanted.startsWith('*.')) {
        addTo(certificates.base, wanted.slice(2), position);
        certificates.baseLengths.add(wanted.length - 2);
      }
      if (connector.TlsSenderCertificateName.startsWith('*.')) wildcard = true;
    }
  });
  const restricted = (type: InboundConnector['ConnectorType']) =>
    list.filter(({ connector }) => connector.Enabled && connector.ConnectorType === type && (connector.RestrictDomainsToIPAddresses || connector.RestrictDomainsToCertificate));
  return {
    list,
    ip: new IntervalIndex(ipEntries),
    certificates,
    wildcard,
    disabled,
    restricting: restricted('Partner').map((info) => ({
      ...info,
      associated: info.connector.AssociatedAcceptedDomains.length > 0 ? new Set(info.connector.AssociatedAcceptedDomains.map(normaliseDomain)) : null,
    })),
    ineffective: restricted('OnPremises').map(({ connector }) => connector),
  };
}

/** Builds the tables a decision reads (what compile() keeps). */
export function compileTables(snapshot: Snapshot, assumptions: Assumptions): CompiledTables {
  const chains = new Map<string, ApplyingPolicy[]>();
  const connectors = compileConnectors(snapshot.InboundConnector);
  const restricting = new Map<string | null, RestrictingInfo[]>();
  const accepted = new AcceptedIndex(snapshot.AcceptedDomain, assumptions['accepted-subdomains']);
  const filters: CompiledFilter[] = snapshot.HostedConnectionFilterPolicy.map((policy) => {
    const blockList = compiledIpList(policy.IPBlockList);
    const allowList = compiledIpList(policy.IPAllowList);
    return { name: policy.Name ?? 'connection filter policy', block: new IpSet(blockList.entries), allow: new IpSet(allowList.entries), blockList, allowList };
  });
  const restrictingFor = (senderDomain: string | null): readonly RestrictingInfo[] => {
    let list = restricting.get(senderDomain);
    if (!list) {
      list = connectors.restricting.filter((info) => info.senderDomains.covers(senderDomain));
      if (restricting.size > 50_000) restricting.clear();
      restricting.set(senderDomain, list);
    }
    return list;
  };
  const clients = new Memo<ClientFacts>(50_000);
  const senders = new Memo<SenderFacts>(50_000);
  const recipients = new Memo<RecipientFacts>(50_000);
  const internalAddresses = new Memo<boolean>(50_000);
  return {
    snapshot,
    assumptions,
    rejectDirectSend: snapshot.OrganizationConfig[0]?.RejectDirectSend === true,
    connectors,
    accepted,
    filters,
    rules: new CompiledRules(snapshot.TransportRule, assumptions),
    zones: new Map(Object.entries(snapshot.Dns).map(([domain, data]) => [normaliseDomain(domain), data])),
    mxElsewhere: mxElsewhereTable(snapshot),
    antiPhishChain: (recipient) => {
      let chain = chains.get(recipient);
      if (!chain) {
        chain = policiesFor(snapshot, 'antiPhish', recipient, { assumptions });
        if (chains.size > 10_000) chains.clear();
        chains.set(recipient, chain);
      }
      return chain;
    },
    restrictingFor,
    certificateNameCache: { bySubject: new Map(), withSan: new Map(), byObject: new WeakMap() },
    clientFacts: (text) => {
      const known = clients.get(text);
      if (known !== undefined) return known;
      const address = parseClientAddress(text);
      if (!address) return null;
      let blockedBy = -1;
      for (let index = 0; index < filters.length; index++) {
        const filter = filters[index] as CompiledFilter;
        if (filter.block.has(address) && !filter.allow.has(address)) {
          blockedBy = index;
          break;
        }
      }
      return clients.set(text, { address, byIp: connectors.ip.lookup(address), blockedBy });
    },
    senderFacts: (given) => {
      const known = senders.get(given);
      if (known !== undefined) return known;
      const trimmed = given.trim();
      const mailFrom = trimmed.charCodeAt(0) === 60 ? trimmed.replace(/^<(.*)>$/, '$1') : trimmed;
      const domain = domainOf(mailFrom);
      const envelope = mailFrom.toLowerCase();
      return senders.set(given, {
        mailFrom,
        envelope,
        envelopeDomain: domainOf(envelope),
        envelopeInternal: accepted.internal(domainOf(envelope)),
        domain,
        accepted: accepted.find(domain),
        restricting: restrictingFor(domain),
        covered: new Uint8Array(connectors.list.length),
        ruleHits: [],
      });
    },
    recipientFacts: (recipient) => {
      const known = recipients.get(recipient);
      if (known !== undefined) return known;
      const domain = domainOf(recipient);
      if (domain === null) return null;
      return recipients.set(recipient, { domain, accepted: accepted.find(domain), ruleHits: undefined });
    },
    internalAddress: (address) => {
      const known = internalAddresses.get(address);
      return known !== undefined ? known : internalAddresses.set(address, accepted.internal(domainOf(address)));
    },
    headerFromAddress: new Memo(50_000),
    authenticationMemo: { ids: new WeakMap(), next: 0, entries: new Memo(20_000) },
  };
}

class Policy implements CompiledPolicy {
  readonly tables: CompiledTables;

  constructor(
    readonly snapshot: Snapshot,
    readonly assumptions: Assumptions,
  ) {
    this.tables = compileTables(snapshot, assumptions);
  }

  decide(transaction: Transaction, options?: CompiledDecideOptions): Verdict {
    return runStages(this.tables, transaction, options?.trace === true);
  }

  decideEach(transaction: Transaction, inputs: readonly Transaction['authentication'][]): Verdict[] {
    return runStagesEach(this.tables, transaction, inputs);
  }
}

/** Compiles a snapshot under assumptions (overrides of the defaults, or already resolved ones). */
export function compile(snapshot: Snapshot, assumptions?: Partial<Record<string, string>> | Assumptions): CompiledPolicy {
  return new Policy(snapshot, resolveAssumptions(assumptions as Partial<Record<string, string>> | undefined));
}
