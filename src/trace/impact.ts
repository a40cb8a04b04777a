/**
 * Impact analysis: every inbound message of the data, evaluated with decide() under the current snapshot and under the
 * planned one. What is accepted now but refused after is grouped by source and sender domain. Pure: records in
 * (one at a time, constant memory), a result out.
 */
import { domainOf, findAcceptedDomain } from '../eop/addresses.js';
import type { Assumptions } from '../eop/assumptions.js';
import { compiledFor } from '../eop/decide.js';
import type { CompiledPolicy } from '../eop/compile.js';
import { compiledIpList, findInList, parseIp } from '../eop/ip.js';
import type { Transaction, Verdict } from '../eop/types.js';
import { hostForCertificateName } from '../lab/certificates.js';
import type { GatewayProfile } from '../profile/profile.js';
import type { Snapshot } from '../snapshot/parse.js';
import type { TraceRecord } from './records.js';
import { own } from '../util/strings.js';

export interface ImpactGroup {
  clientIp: string;
  senderDomain: string;
  /** How it is refused after the change: `550 5.7.68`, `quarantine ("rule")`, … */
  reason: string;
  messages: number;
  firstSeen: string | null;
  lastSeen: string | null;
  subjects: string[];
  recipients: string[];
  /** Distinct recipients (lower-cased) of the group's messages, the kept ones included. */
  recipientCount: number;
  /**
   * Set when the group had more distinct recipients than eoplock tells apart (MAX_COUNTED_RECIPIENTS beyond the
   * kept ones): recipientCount is then a lower bound.
   */
  recipientCountIsLowerBound?: true;
  /** The envelope sender is one of the tenant's domains (a Direct Send source). */
  directSend: boolean;
  /** The plan flag that keeps the source working, when one can. */
  suggestion: string | null;
}

export interface ImpactResult {
  records: number;
  evaluated: number;
  skipped: { outbound: number; noSourceIp: number; notForTenant: number };
  acceptedNow: number;
  refusedNow: number;
  breaking: number;
  groups: ImpactGroup[];
  /** What the data cannot show, and what was assumed instead. */
  limits: string[];
}

/** The counters of an analysis, to add those of analyses of other parts of the same data (in worker threads). */
export interface ImpactCounts extends Omit<ImpactResult, 'groups' | 'limits'> {
  certificateAssumed: number;
  summaryRows: number;
}

/** What a breaking message's group keeps of it. */
export type BreakingMessage = Pick<TraceRecord, 'mailFrom' | 'time' | 'subject' | 'recipients' | 'count' | 'lastTime'> & { clientIp: string };

/** What {@link ImpactAnalysis.checkpoint} keeps. */
export interface ImpactCheckpoint {
  counts: ImpactCounts;
  groups: [number | string, ImpactGroup][];
  /** Per group (by key): the recipients counted beyond those it keeps. */
  counted: [number | string, string[]][];
}

/**
 * Copies of the strings groups keep (own: not slices of a chunk of text), one copy for all the groups that keep the
 * same (a source IP, a domain, a subject), up to a bound.
 */
export class SharedStrings {
  private readonly kept = new Map<string, string>();

  /** `owned`: the text is a copy of its own already (not a slice of a larger text), kept as it is. */
  own(text: string, owned = false): string {
    let copy = this.kept.get(text);
    if (copy === undefined) {
      copy = owned ? text : own(text);
      if (this.kept.size >= 50_000) this.kept.clear();
      this.kept.set(copy, copy);
    }
    return copy;
  }
}

/**
 * The key of a group (source IP, sender domain, reason) as a number made of the three's ids, not a string joining them:
 * groups are many, and a key of their own would be held for each. While the ids are small (2^10 sources, 2^16 domains,
 * 2^4 reasons) the number is below 2^30, a small integer that V8 keeps unboxed (a map finds it fastest); past that, a
 * larger one (from 2^30 up); past 2^21 sources or domains or 2^10 reasons, the joined string (no two keys alike
 * either way).
 */
export class GroupKeys {
  private readonly sources = new Map<string, number>();
  private readonly domains = new Map<string, number>();
  private readonly reasons = new Map<string, number>();

  key(sourceIp: string, senderDomain: string, reason: string): number | string {
    const source = idOf(this.sources, sourceIp);
    const domain = idOf(this.domains, senderDomain);
    const refusal = idOf(this.reasons, reason);
    if (source < 1 << 10 && domain < 1 << 16 && refusal < 1 << 4) return (source << 20) | (domain << 4) | refusal;
    if (source < 1 << 21 && domain < 1 << 21 && refusal < 1 << 10) return 2 ** 30 + (source * 2 ** 21 + domain) * 2 ** 10 + refusal;
    return own(`${sourceIp}|${senderDomain}|${reason}`);
  }
}

function idOf(ids: Map<string, number>, value: string): number {
  let id = ids.get(value);
  if (id === undefined) {
    id = ids.size;
    ids.set(own(value), id);
  }
  return id;
}

/** The map under `key` in `map`, made when missing. */
function level<V>(map: Map<string, Map<string, V>>, key: string): Map<string, V> {
  let next = map.get(key);
  if (!next) {
    next = new Map();
    map.set(own(key), next);
  }
  return next;
}

const copyGroup = (group: ImpactGroup): ImpactGroup => ({ ...group, subjects: [...group.subjects], recipients: [...group.recipients] });

/**
 * `list` and `item` after it, in a new list of exact length made by an array literal: its elements packed (an array
 * from concat or `new Array(n)` has holes as far as V8 knows, which JSON.stringify and includes read the slow way;
 * one grown by push holds room for 16 more). Groups keep many such lists, and the JSON writes them all. Lists of five
 * and more (longer than a group keeps) are packed but not of exact length.
 */
export function appended<T>(list: readonly T[], item: T): T[] {
  const at = (k: number): T => list[k] as T;
  switch (list.length) {
    case 0:
      return [item];
    case 1:
      return [at(0), item];
    case 2:
      return [at(0), at(1), item];
    case 3:
      return [at(0), at(1), at(2), item];
    case 4:
      return [at(0), at(1), at(2), at(3), item];
    default:
      return [...list, item];
  }
}

/** The `count` items `item(0)`, `item(1)`, … in a list of exact length with its elements packed (as {@link appended}). */
export function listOf<T>(count: number, item: (n: number) => T): T[] {
  switch (count) {
    case 0:
      return [];
    case 1:
      return [item(0)];
    case 2:
      return [item(0), item(1)];
    case 3:
      return [item(0), item(1), item(2)];
    case 4:
      return [item(0), item(1), item(2), item(3)];
    case 5:
      return [item(0), item(1), item(2), item(3), item(4)];
    default:
      return Array.from({ length: count }, (_, n) => item(n));
  }
}

/** Subjects and recipients a group keeps (the others are counted, not kept). */
export const MAX_SAMPLES = 3;
export const MAX_RECIPIENTS = 5;
/**
 * Distinct recipients a group counts beyond the ones it keeps, told apart by address; past this many, new and seen
 * ones are no longer told apart and the count is a lower bound (recipientCountIsLowerBound). Memory stays bounded.
 */
export const MAX_COUNTED_RECIPIENTS = 100_000;

function refusal(verdict: Verdict): string | null {
  if (verdict.action === 'reject') return `${verdict.code} ${verdict.enhanced}`;
  if (verdict.disposition === 'quarantine' || verdict.disposition === 'delete') {
    const rule = verdict.rules.find((entry) => entry.matched && /quarantine|delete/.test(entry.actionTaken));
    return `${verdict.disposition}${rule ? ` by rule "${rule.name}"` : ''}`;
  }
  return null;
}

/**
 * The plan flag that keeps an IPv4 source working, as a shell argument that is safe to paste: the address as parsed,
 * and the domain in the name only when it is a plain host name (the data can hold anything, quotes included).
 */
function suggestion(address: string | null, domain: string, plain: Map<string, boolean>): string | null {
  if (address === null) return null;
  let named = plain.get(domain);
  if (named === undefined) plain.set(domain, (named = /^[a-z0-9][a-z0-9.-]{0,252}$/.test(domain)));
  // The address in the name keeps names apart when several sources send as one domain (as the plan's suggestions do).
  // Joined into one flat string: groups are many, and a concatenation's parts would each be kept (and copied again when
  // the JSON is written).
  return named ? ["--allow-direct-send '", address, '=Direct Send from ', domain, ' (', address, ")'"].join('') : ["--allow-direct-send '", address, '=Direct Send source ', address, "'"].join('');
}

/** A source IP as a suggestion writes it: an IPv4 address in its usual form, else null (remembered: groups share sources). */
function suggestedAddress(clientIp: string, known: Map<string, string | null>): string | null {
  let address = known.get(clientIp);
  if (address === undefined) {
    const parsed = parseIp(clientIp);
    address = parsed?.kind() === 'ipv4' ? parsed.toString() : null;
    known.set(clientIp, address);
  }
  return address;
}

/**
 * The order of groups by messages (most first), then rank (lowest first), then position: as one number per group
 * (distinct, so that an unstable sort of numbers gives it) when every such number is exact in a double, else by a
 * comparison function. `most`: the largest of `messages` when they are all safe integers, else -1.
 */
function sortedOrder(messages: Float64Array, ranks: Uint32Array, rankCount: number, most: number): Uint32Array {
  const count = messages.length;
  const span = (most + 1) * rankCount * count;
  if (most >= 0 && Number.isSafeInteger(span)) {
    const keys = new Float64Array(count);
    for (let k = 0; k < count; k++) keys[k] = ((most - (messages[k] as number)) * rankCount + (ranks[k] as number)) * count + k;
    keys.sort();
    const order = new Uint32Array(count);
    for (let k = 0; k < count; k++) order[k] = (keys[k] as number) % count;
    return order;
  }
  return Uint32Array.from(messages.keys()).sort((a, b) => (messages[b] as number) - (messages[a] as number) || (ranks[a] as number) - (ranks[b] as number) || a - b);
}

let collator: Intl.Collator | undefined;

/**
 * How groups with as many messages are ordered: by source IP as the default locale sorts text (as localeCompare does).
 * The collator is made on first use: making one loads the locale's data (about 15 ms), which only finish() needs, so
 * that neither a command's start nor a worker pays for it.
 */
function textOrder(): (a: string, b: string) => number {
  return (collator ??= new Intl.Collator()).compare;
}

/**
 * A source IP's cached decisions: per the rest of the decision key (sender, recipient domain, header From,
 * certificate), how the message is refused now and after (null: accepted); and the gateway's certificate when the IP is
 * one of the gateway's (undefined: not yet looked up).
 */
interface Source {
  certificate: string | null | undefined;
  /** By sender (domain class or address), recipient domain, header From, certificate. */
  outcomes: Map<string, Map<string, Map<string, Map<string, Outcomes>>>>;
}

/** How a message is refused now and after the change (null: accepted). */
type Outcomes = [string | null, string | null];

/**
 * What {@link ImpactAnalysis.evaluate} did with a record, for {@link ImpactAnalysis.repeat}: the counter it added the
 * record to, {@link CERTIFICATE_ASSUMED} when a certificate was assumed for it, and for one that breaks, its reason's
 * number times {@link REASON} ({@link ImpactAnalysis.reasonOf}). 0: not to be repeated (a record that stands for many
 * messages).
 */
export const Effect = { none: 0, outbound: 1, noSourceIp: 2, notForTenant: 3, refusedNow: 4, accepted: 5, breaking: 6 } as const;
export const REASON = 16;
export const CERTIFICATE_ASSUMED = 8;

/**
 * What decides a record's evaluation besides its source IP: the sender's and the recipient's domain, or their whole
 * addresses (lower-cased) when the configuration looks at addresses (transport rules on sender addresses or headers;
 * policies scoped to recipients by SentTo).
 */
export interface DecisionKeyShape {
  wholeSender: boolean;
  wholeRecipient: boolean;
  /**
   * The strings the configuration mentions (lower-case): a sender domain that is none of them, and below none of them,
   * is evaluated as any other such domain (senderClass).
   */
  named: readonly string[];
}

export class ImpactAnalysis {
  private readonly groups = new Map<number | string, ImpactGroup>();
  /** Per group: the distinct recipients it counted beyond those it keeps (addRecipient). */
  private counted = new WeakMap<ImpactGroup, Set<string>>();
  private readonly keys = new GroupKeys();
  /** Per sender domain of a group: whether it is one of the tenant's (a Direct Send source). */
  private readonly directSend = new Map<string, boolean>();
  /** How many groups (the first ones, in order) have their suggestion made (finishAhead), and what it remembered. */
  private suggested = 0;
  private readonly suggestedAddresses = new Map<string, string | null>();
  private readonly plainDomains = new Map<string, boolean>();
  private readonly result: Omit<ImpactResult, 'groups' | 'limits'> = {
    records: 0,
    evaluated: 0,
    skipped: { outbound: 0, noSourceIp: 0, notForTenant: 0 },
    acceptedNow: 0,
    refusedNow: 0,
    breaking: 0,
  };
  private certificateAssumed = 0;
  /** Records that stood for many messages (impact summary rows): each decided once, with its sample addresses. */
  private summaryRows = 0;
  /** Whether any transport rule looks at the sender's whole address or its headers (then it is part of the cache key). */
  private readonly addressMatters: boolean;
  /**
   * Whether any policy is scoped to recipients by address (SentTo, ExceptIfSentTo): then the recipient's whole address,
   * not its domain, is part of the cache key.
   */
  private readonly recipientMatters: boolean;
  /** Every string the configuration mentions (lower-cased): a sender domain not among them is decided like any other. */
  private readonly mentioned: Set<string>;
  /** What the last {@link evaluate} did (Effect, with CERTIFICATE_ASSUMED). */
  lastEffect: number = Effect.none;

  constructor(
    readonly now: Snapshot,
    readonly after: Snapshot,
    readonly gateway: GatewayProfile,
    readonly assumptions: Assumptions,
  ) {
    const addressRule = /^(ExceptIf)?(From|FromAddressContainsWords|FromAddressMatchesPatterns|SenderInRecipientList|HeaderContainsMessageHeader|HeaderMatchesMessageHeader)$/;
    const set = (value: unknown) => value !== null && value !== undefined && value !== false && !(Array.isArray(value) && value.length === 0);
    this.addressMatters = [...now.TransportRule, ...after.TransportRule].some((rule) =>
      Object.entries(rule).some(([name, value]) => addressRule.test(name) && set(value) && !/x-ms-exchange-organization-authas/i.test(String(value))),
    );
    const policyRules = (snapshot: Snapshot) => [snapshot.AntiPhishRule, snapshot.HostedContentFilterRule, snapshot.EOPProtectionPolicyRule, snapshot.ATPProtectionPolicyRule].flatMap((rules) => rules ?? []);
    this.recipientMatters = [now, after].some((snapshot) => policyRules(snapshot).some((rule) => set(rule.SentTo) || set(rule.ExceptIfSentTo)));
    this.mentioned = new Set<string>();
    const collect = (value: unknown): void => {
      if (typeof value === 'string') this.mentioned.add(value.toLowerCase().replace(/^smtp:|;\d+$|^\*\./g, ''));
      else if (Array.isArray(value)) value.forEach(collect);
      else if (value && typeof value === 'object') Object.values(value).forEach(collect);
    };
    for (const snapshot of [now, after]) {
      collect(snapshot.InboundConnector);
      collect(snapshot.TransportRule);
      collect(snapshot.AcceptedDomain.map((domain) => domain.DomainName));
      collect(snapshot.HostedContentFilterPolicy);
    }
  }

  private readonly senderClasses = new Map<string, string>();
  private readonly strings = new SharedStrings();
  /** The configurations now and after, compiled once (snapshots are values once loaded). */
  private policies: [CompiledPolicy, CompiledPolicy] | null = null;

  /** The sender's domain as far as the configuration can tell it apart: itself when mentioned (or a parent is), else one class. */
  private senderClass(domain: string | null): string {
    if (!domain) return '';
    let known = this.senderClasses.get(domain);
    if (known === undefined) {
      known = this.classOf(domain);
      if (this.senderClasses.size > 100_000) this.senderClasses.clear();
      this.senderClasses.set(own(domain), known === domain ? own(domain) : known);
    }
    return known;
  }

  private classOf(domain: string): string {
    for (let rest = domain; ; ) {
      if (this.mentioned.has(rest)) return domain;
      const dot = rest.indexOf('.');
      if (dot < 0) return '(other domain)';
      rest = rest.slice(dot + 1);
    }
  }

  /** Per source IP: the gateway's certificate when it is one of the gateway's addresses, and the decisions cached. */
  private readonly sources = new Map<string, Source>();
  private cached = 0;
  /** Per recipient address: its domain as the decision key writes it when it is one of the tenant's, else false. */
  private readonly tenantAddresses = new Map<string, string | false>();

  /** The domain of an address in one of the tenant's domains, or false (remembered: recipients repeat). */
  private tenantDomain(address: string): string | false {
    let hit = this.tenantAddresses.get(address);
    if (hit === undefined) {
      const domain = domainOf(address);
      hit = findAcceptedDomain(domain, this.now.AcceptedDomain, this.assumptions) !== null ? own(String(domain)) : false;
      if (this.tenantAddresses.size > 100_000) this.tenantAddresses.clear();
      this.tenantAddresses.set(own(address), hit);
    }
    return hit;
  }

  /** What is known of a source IP (remembered: sources repeat; bounded by the decisions cached). */
  private source(clientIp: string): Source {
    let source = this.sources.get(clientIp);
    if (!source) {
      source = { certificate: undefined, outcomes: new Map() };
      this.sources.set(own(clientIp), source);
    }
    return source;
  }

  /** The certificate a sender presents is not in mail-flow data; it is assumed from the connector or the gateway. */
  private certificateFor(record: TraceRecord, source: Source): string | null {
    if (record.connector) {
      const connector = this.now.InboundConnector.find((entry) => entry.Name.toLowerCase() === record.connector?.toLowerCase());
      if (connector?.TlsSenderCertificateName) return hostForCertificateName(connector.TlsSenderCertificateName);
    }
    if (!record.clientIp || !this.gateway.certificateName) return null;
    if (source.certificate === undefined) {
      const address = parseIp(record.clientIp);
      source.certificate = address && findInList(compiledIpList(this.gateway.ips), address) ? hostForCertificateName(this.gateway.certificateName) : null;
    }
    return source.certificate;
  }

  /** What decides an evaluation besides the source IP (for a caller that remembers evaluations by their inputs). */
  keyShape(): DecisionKeyShape {
    return { wholeSender: this.addressMatters, wholeRecipient: this.recipientMatters, named: [...this.mentioned] };
  }

  add(record: TraceRecord): void {
    const reason = this.evaluate(record);
    // A record that breaks has a source IP (evaluate skips the others).
    if (reason) this.addBreaking(record as BreakingMessage, reason);
  }

  /**
   * Counts one record and decides it now and after the change: how it breaks, or null. Independent of the order of
   * the records: a part of the data can be evaluated by another analysis and its counts added with {@link addCounts}.
   */
  evaluate(record: TraceRecord): string | null {
    // Every count is of messages: a summary row counts as the messages it stands for.
    const messages = record.count ?? 1;
    const many = record.count !== undefined;
    if (many) this.summaryRows++;
    this.result.records += messages;
    if (record.direction === 'outbound' || record.direction === 'intra-org') {
      this.result.skipped.outbound += messages;
      this.lastEffect = many ? Effect.none : Effect.outbound;
      return null;
    }
    if (!record.clientIp) {
      this.result.skipped.noSourceIp += messages;
      this.lastEffect = many ? Effect.none : Effect.noSourceIp;
      return null;
    }
    let recipient: string | undefined;
    let recipientDomain: string | false = false;
    for (const address of record.recipients) {
      recipientDomain = this.tenantDomain(address);
      if (recipientDomain !== false) {
        recipient = address;
        break;
      }
    }
    if (recipient === undefined) {
      this.result.skipped.notForTenant += messages;
      this.lastEffect = many ? Effect.none : Effect.notForTenant;
      return null;
    }
    const source = this.source(record.clientIp);
    const certificate = this.certificateFor(record, source);
    if (certificate) this.certificateAssumed += messages;
    // Verdicts depend on the sender's domain, not its local part, unless a rule looks at whole addresses; and on the
    // recipient's domain, unless a policy is scoped to recipients by address.
    const sender = this.addressMatters ? record.mailFrom.toLowerCase() : this.senderClass(domainOf(record.mailFrom));
    const from = record.headerFrom ? (this.addressMatters ? record.headerFrom.toLowerCase() : this.senderClass(domainOf(record.headerFrom))) : '';
    const recipientKey = this.recipientMatters ? recipient.toLowerCase() : (recipientDomain as string);
    // The rest of the decision key, level by level: each part a string already hashed (remembered above), none joined.
    const bySender = source.outcomes.get(sender);
    const byRecipient = bySender?.get(recipientKey);
    const byFrom = byRecipient?.get(from);
    let outcomes = byFrom?.get(certificate ?? '');
    if (!outcomes) {
      // TLS is not in mail-flow data either: every message is taken to have used STARTTLS, as nearly all senders do,
      // so that RequireTls connectors do not turn every recorded message into a false alarm.
      const clientIp = record.clientIp;
      const transaction = (): Transaction => ({
        clientIp,
        tls: certificate ? { certificate: { subject: `CN=${certificate}` } } : {},
        mailFrom: record.mailFrom,
        rcptTo: [recipient],
        ...(record.headerFrom ? { headers: [{ name: 'From', value: record.headerFrom }] } : {}),
        // Mail-flow data does not list attachments: attachment conditions are "not evaluated", not "no attachments".
        attachments: 'unknown',
      });
      // The compiled policies' fast path: its verdict is decide()'s but for the trace and the rules' reasons, unread here.
      const [now, after] = (this.policies ??= [compiledFor(this.now, this.assumptions), compiledFor(this.after, this.assumptions)]);
      outcomes = [refusal(now.decide(transaction())), refusal(after.decide(transaction()))];
      if (++this.cached > 200_000) {
        this.sources.clear();
        this.cached = 1;
      }
      level(level(level(this.source(clientIp).outcomes, sender), recipientKey), from).set(certificate ?? '', outcomes);
    }
    this.result.evaluated += messages;
    const [before, reason] = outcomes;
    const assumed = certificate ? CERTIFICATE_ASSUMED : 0;
    if (before) {
      this.result.refusedNow += messages;
      this.lastEffect = many ? Effect.none : Effect.refusedNow | assumed;
      return null;
    }
    this.result.acceptedNow += messages;
    if (!reason) {
      this.lastEffect = many ? Effect.none : Effect.accepted | assumed;
      return null;
    }
    this.result.breaking += messages;
    this.lastEffect = many ? Effect.none : Effect.breaking | assumed | (REASON * this.reasonNumber(reason));
    return reason;
  }

  /** The reasons of breaking effects, by number. */
  private readonly reasons: string[] = [];
  private readonly reasonNumbers = new Map<string, number>();

  private reasonNumber(reason: string): number {
    let number = this.reasonNumbers.get(reason);
    if (number === undefined) {
      number = this.reasons.length;
      this.reasons.push(reason);
      this.reasonNumbers.set(reason, number);
    }
    return number;
  }

  /** The reason of a breaking effect ({@link lastEffect}). */
  reasonOf(effect: number): string {
    return this.reasons[Math.floor(effect / REASON)] as string;
  }

  /**
   * Counts `times` more records that {@link evaluate} would count as it did one whose {@link lastEffect} was `effect`
   * (one message each): for a reader that knows those records decide alike without making them. Records that break
   * are counted here; their groups take them with {@link addBreaking}.
   */
  repeat(effect: number, times: number): void {
    const result = this.result;
    result.records += times;
    switch (effect & 7) {
      case Effect.outbound:
        result.skipped.outbound += times;
        return;
      case Effect.noSourceIp:
        result.skipped.noSourceIp += times;
        return;
      case Effect.notForTenant:
        result.skipped.notForTenant += times;
        return;
      case Effect.refusedNow:
        result.refusedNow += times;
        break;
      case Effect.accepted:
        result.acceptedNow += times;
        break;
      case Effect.breaking:
        result.acceptedNow += times;
        result.breaking += times;
        break;
      default:
        throw new Error(`an evaluation that cannot be repeated (${effect})`);
    }
    result.evaluated += times;
    if (effect & CERTIFICATE_ASSUMED) this.certificateAssumed += times;
  }

  /** A message that breaks (as {@link evaluate} said), into its group: groups keep the first subjects and recipients read. */
  addBreaking(record: BreakingMessage, reason: string): void {
    this.addTo(this.group(record.clientIp, domainOf(record.mailFrom) ?? '<>', reason), record);
  }

  /**
   * A message that breaks, into its group ({@link group}: by source, sender domain and reason). `owned`: its strings are
   * copies of their own (not slices of a larger text), kept as they are.
   */
  addTo(group: ImpactGroup, record: Omit<BreakingMessage, 'clientIp' | 'mailFrom'>, owned = false): void {
    group.messages += record.count ?? 1;
    if (record.time) {
      if (!group.firstSeen || record.time < group.firstSeen) group.firstSeen = owned ? record.time : own(record.time);
    }
    const last = record.lastTime ?? record.time;
    if (last) {
      if (!group.lastSeen || last > group.lastSeen) group.lastSeen = owned ? last : own(last);
    }
    // Lists of exact length, packed (appended): groups are many.
    if (record.subject && group.subjects.length < MAX_SAMPLES && !group.subjects.includes(record.subject)) group.subjects = appended(group.subjects, this.strings.own(record.subject));
    for (const address of record.recipients) this.addRecipient(group, address.toLowerCase(), owned);
  }

  /**
   * A recipient of a breaking message, lower-cased, counted into its group once however many messages it got.
   * `owned`: the address is a copy of its own (not a slice of a larger text), kept as it is.
   */
  addRecipient(group: ImpactGroup, address: string, owned = false): void {
    if (group.recipients.includes(address)) return;
    if (group.recipients.length < MAX_RECIPIENTS) {
      group.recipients = appended(group.recipients, this.strings.own(address, owned));
      group.recipientCount++;
      return;
    }
    let counted = this.counted.get(group);
    if (!counted) this.counted.set(group, (counted = new Set()));
    if (counted.has(address)) return;
    if (counted.size >= MAX_COUNTED_RECIPIENTS) {
      group.recipientCountIsLowerBound = true;
      return;
    }
    counted.add(owned ? address : own(address));
    group.recipientCount++;
  }

  /** The group of a source, sender domain and reason, made on first use (ties in the report keep this order). */
  group(sourceIp: string, senderDomain: string, reason: string): ImpactGroup {
    const key = this.keys.key(sourceIp, senderDomain, reason);
    let group = this.groups.get(key);
    if (!group) {
      let directSend = this.directSend.get(senderDomain);
      if (directSend === undefined) {
        directSend = findAcceptedDomain(senderDomain === '<>' ? null : senderDomain, this.now.AcceptedDomain, this.assumptions) !== null;
        this.directSend.set(this.strings.own(senderDomain), directSend);
      }
      const clientIp = this.strings.own(sourceIp);
      const domain = this.strings.own(senderDomain);
      group = {
        clientIp,
        senderDomain: domain,
        reason,
        messages: 0,
        firstSeen: null,
        lastSeen: null,
        subjects: [],
        recipients: [],
        recipientCount: 0,
        directSend,
        // Made by finish(), for the groups reported: not held for every group while reading.
        suggestion: null,
      };
      this.groups.set(key, group);
    }
    return group;
  }

  /** The counts so far, for {@link addCounts} of another analysis. */
  counts(): ImpactCounts {
    const { records, evaluated, skipped, acceptedNow, refusedNow, breaking } = this.result;
    return { records, evaluated, skipped: { ...skipped }, acceptedNow, refusedNow, breaking, certificateAssumed: this.certificateAssumed, summaryRows: this.summaryRows };
  }

  /** Adds the counts of an analysis of another part of the same data (its breaking messages go through {@link group}). */
  addCounts(counts: ImpactCounts): void {
    const result = this.result;
    result.records += counts.records;
    result.evaluated += counts.evaluated;
    result.skipped.outbound += counts.skipped.outbound;
    result.skipped.noSourceIp += counts.skipped.noSourceIp;
    result.skipped.notForTenant += counts.skipped.notForTenant;
    result.acceptedNow += counts.acceptedNow;
    result.refusedNow += counts.refusedNow;
    result.breaking += counts.breaking;
    this.certificateAssumed += counts.certificateAssumed;
    this.summaryRows += counts.summaryRows;
  }

  /** The state so far (counts and groups), for {@link restore} when what was added since is read again another way. */
  checkpoint(): ImpactCheckpoint {
    const counted: ImpactCheckpoint['counted'] = [];
    for (const [key, group] of this.groups) {
      const addresses = this.counted.get(group);
      if (addresses) counted.push([key, [...addresses]]);
    }
    return { counts: this.counts(), groups: [...this.groups].map(([key, group]) => [key, copyGroup(group)]), counted };
  }

  /** Goes back to a {@link checkpoint}. */
  restore(checkpoint: ImpactCheckpoint): void {
    const { counts } = checkpoint;
    Object.assign(this.result, { records: counts.records, evaluated: counts.evaluated, skipped: { ...counts.skipped }, acceptedNow: counts.acceptedNow, refusedNow: counts.refusedNow, breaking: counts.breaking });
    this.certificateAssumed = counts.certificateAssumed;
    this.summaryRows = counts.summaryRows;
    this.groups.clear();
    this.suggested = 0;
    this.counted = new WeakMap();
    for (const [key, group] of checkpoint.groups) this.groups.set(key, copyGroup(group));
    for (const [key, addresses] of checkpoint.counted) {
      const group = this.groups.get(key);
      if (group) this.counted.set(group, new Set(addresses));
    }
  }

  /**
   * Does ahead what finish() would, for a caller with time to spare (the calling thread while it waits for a worker's
   * part: readInParts): the suggestions of the groups so far (a group's depends on its source and domain alone), and the
   * order of texts that sorts their sources.
   */
  finishAhead(): void {
    textOrder();
    let k = 0;
    for (const group of this.groups.values()) {
      if (k++ >= this.suggested) group.suggestion = suggestion(suggestedAddress(group.clientIp, this.suggestedAddresses), group.senderDomain, this.plainDomains);
    }
    this.suggested = k;
  }

  finish(): ImpactResult {
    this.finishAhead();
    // Groups are many and their sources few: each source's place in the text order is found once, and the groups are
    // sorted by number (messages, that place, then the order first seen: the order one stable sort gives).
    const unsorted = [...this.groups.values()];
    const byText = textOrder();
    const sources = [...new Set(unsorted.map((group) => group.clientIp))].sort(byText);
    const rank = new Map<string, number>();
    sources.forEach((source, k) => rank.set(source, k > 0 && byText(sources[k - 1] as string, source) === 0 ? (rank.get(sources[k - 1] as string) as number) : k));
    const count = unsorted.length;
    const messages = new Float64Array(count);
    const ranks = new Uint32Array(count);
    let most = 0;
    let integers = true;
    for (let k = 0; k < count; k++) {
      const group = unsorted[k] as ImpactGroup;
      const sent = group.messages;
      messages[k] = sent;
      if (sent > most) most = sent;
      if (!Number.isSafeInteger(sent)) integers = false;
      ranks[k] = rank.get(group.clientIp) as number;
    }
    const order = sortedOrder(messages, ranks, sources.length, integers ? most : -1);
    const groups = new Array<ImpactGroup>(count);
    for (let k = 0; k < count; k++) groups[k] = unsorted[order[k] as number] as ImpactGroup;
    const limits = [
      'Message trace and EmailEvents hold only mail that EOP accepted: what is refused today is not in these data.',
      'TLS is not in mail-flow data: every message is taken to have used STARTTLS (a sender that does not is also refused by connectors that require TLS). ' +
        'Certificates are not in the data either. ' +
        (this.certificateAssumed > 0
          ? `For ${this.certificateAssumed} message(s) the sender was assumed to present the certificate of its connector or of the gateway.`
          : 'No certificate was assumed; certificate-bound connectors match only by the data\'s connector name.'),
      'Message trace (Get-MessageTraceV2) does not say the direction: mail with a source IP to your domains is taken as inbound, so mailbox submissions from client IPs may appear as Direct Send.',
      'Only the first recipient in your domains decides each message; the others are counted.',
    ];
    if (this.summaryRows > 0) {
      limits.push(
        `${this.summaryRows} summary row(s) (eoplock queries --for impact) were each decided once for all their messages, with the row's sample addresses: ` +
          'recipients and subjects shown are samples' +
          (this.addressMatters ? ', and transport rules here look at whole sender addresses, which the summary (by domain) does not keep.' : '.'),
      );
    }
    return { ...this.result, groups, limits };
  }
}
