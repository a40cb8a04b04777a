/**
 * The search (issue 16 §3): decide one representative transaction of every class of the class space
 * (classes.ts), classify where it comes from, and group the bypasses and broken legitimate paths by their cause.
 *
 * The classes are met in a fixed order (client IP, TLS, MAIL FROM, recipients, header From, headers, authentication),
 * and six prunings, each exact, keep most of them from being decided; `classes` counts every class covered,
 * `decided` those decided:
 * - Unread inputs. The decision reads the whole envelope (client IP, TLS, MAIL FROM, recipients) before it decides
 *   anything, but it reads the headers only when a recipient is accepted and the authentication input only after the
 *   rules. Each envelope is decided first with its header From, headers and authentication watched: when the
 *   decision did not read them, no value of them can change the verdict (a pure function does not depend on an input
 *   it did not read), so every class of the envelope gets that verdict without being decided; likewise the
 *   authentication regions when a rule ended the decision first.
 * - Classes that cannot be a finding. A class from the gateway or an allowed source is a finding only when it has the
 *   shape of its legitimate mail (legitimateShape, which reads the regions, not the verdict) and is refused; the
 *   others are counted without being decided. Gateway classes are all decided when the gateway's vendor shares its
 *   infrastructure (they count toward that finding). A class from elsewhere is always decided (or shares a verdict).
 * - Recipients the configuration treats alike. Single-recipient regions that every reader of a recipient puts in the
 *   same place are one region of the space (classes.ts, recipientSignature); it counts for all of them and the
 *   finding lists all their domains.
 * - Headers the configuration treats alike. Per client IP region, headers regions that every rule answers alike, or
 *   that differ only in rules whose one effect is an SCL of the same class in the same place among the rules that could
 *   change it (header-groups.ts), are decided once: the first of the group stands for all of it.
 * - MAIL FROM the configuration treats alike. Per cell, MAIL FROM regions that every reader of the envelope sender
 *   answers alike (the accepted domain, the SenderDomains that can apply there, the rules' envelope conditions) are one
 *   group, split per header From where SPF alignment or a header rule without a From header tells them apart
 *   (sender-groups.ts). The groups are met in the order of their first region; a finding's representative is its first
 *   class in the search order all the same (`earlier`).
 * - TLS the configuration treats alike. Per client IP region, TLS regions whose certificate every connector matches
 *   alike, and that no reader of TLS tells apart there (tls-groups.ts), are one cell: the cell of the first is searched
 *   and counts for the others.
 * Verdicts of classes that are not decided contribute no relied-on assumptions (`proveAll`): they cannot change a
 * finding under any value. `proveWith(…, { prune: false })` decides every class of the unmerged product; the tests
 * compare the two on every example and seeded tenant. Memory stays bounded: one representative and a count per cause.
 */
import { findAcceptedDomain, normaliseDomain, senderDomainPatternCovers } from '../eop/addresses.js';
import { ASSUMPTIONS, type Assumptions, type AssumptionId } from '../eop/assumptions.js';
import type { AuthenticationInput } from '../eop/authentication.js';
import { certificateNames, matchCertificateName } from '../eop/certificate.js';
import { CompiledRules } from '../eop/compiled-rules.js';
import { compiledIpList, findInList, parseIp } from '../eop/ip.js';
import { configuredPredicates, isSet } from '../eop/rule-predicates.js';
import { ruleRejectReply } from '../eop/rules.js';
import type { HeaderField, Transaction, Verdict } from '../eop/types.js';
import { vendorForGateway } from '../profile/vendors.js';
import type { Snapshot } from '../snapshot/parse.js';
import { deriveClassSpace, domainRegion, isGatewayShaped, originOfCell, originOfTransaction, type DerivedClassSpace } from './classes.js';
import { makeDecider, type Decider } from './decider.js';
import { headerGroups } from './header-groups.js';
import { senderGroups } from './sender-groups.js';
import { tlsGroups } from './tls-groups.js';
import { predicateOf, RuleExplainer, type RuleReason } from './explain.js';
import type { ClassSpace, Origin, ProofFinding, ProofOptions, ProofResult, Prove, ProvenClass } from './types.js';

type Dimension = keyof Omit<ClassSpace, 'size'>;

/** Only these dispositions reach a tenant mailbox (junk is a mailbox folder; quarantine is not). */
const REACHES_MAILBOX = new Set<Verdict['disposition']>(['deliver', 'junk']);
/** A legitimate path works when its mail is delivered, sent to Junk or relayed on. */
const LEGITIMATE_OUTCOME = new Set<Verdict['disposition']>(['deliver', 'junk', 'relay']);

/** Indices of one class in the space. */
export interface ClassIndex {
  clientIp: number;
  tls: number;
  mailFrom: number;
  recipients: number;
  headerFrom: number;
  headers: number;
  authentication: number;
}

export interface Group {
  finding: Omit<ProofFinding, 'representative' | 'sources'>;
  /** The recipient regions of its classes. */
  recipients: Set<string>;
  index: ClassIndex;
}

/** What one search under one set of assumptions found. */
export interface SearchResult {
  /** The classes covered: the product of the regions. */
  classes: number;
  /** The classes decided (the rest share a decided verdict, or cannot change a finding). */
  decided: number;
  groups: Map<string, Group>;
  /** The first gateway class that reached a mailbox, and how many did (for shared gateway infrastructure). */
  gatewayDelivered: { index: ClassIndex; verdict: Verdict; count: number } | null;
  /** The assumption ids any verdict relied on. */
  assumptionsUsed: Set<string>;
  /** Classes in findings whose verdict is not final. */
  incomplete: number;
  /** The search was stopped (ProofOptions.stop) before it covered the space. */
  stopped: boolean;
  space: DerivedClassSpace;
}

// ─────────────────────────────────────────────────────────────────────────────────────────────────
// Transactions
// ─────────────────────────────────────────────────────────────────────────────────────────────────

/**
 * The header fields and the authentication input of a class, made once per space and combination (the emulator does
 * not change a transaction's inputs; sharing them lets its per-input memos serve every class alike).
 */
interface InputCache {
  headers: Map<number, HeaderField[]>;
  authentication: Map<number, AuthenticationInput | undefined>;
}
const inputCaches = new WeakMap<DerivedClassSpace, InputCache>();
function inputCache(space: DerivedClassSpace): InputCache {
  let cache = inputCaches.get(space);
  if (!cache) inputCaches.set(space, (cache = { headers: new Map(), authentication: new Map() }));
  return cache;
}

function headersOf(space: DerivedClassSpace, index: ClassIndex): HeaderField[] {
  const cache = inputCache(space).headers;
  const key = index.headerFrom * space.headers.length + index.headers;
  let fields = cache.get(key);
  if (!fields) cache.set(key, (fields = Object.freeze(buildHeaders(space, index)) as HeaderField[]));
  return fields;
}

function buildHeaders(space: DerivedClassSpace, index: ClassIndex): HeaderField[] {
  const from = space.headerFrom[index.headerFrom]?.value ?? null;
  const fields: HeaderField[] = [];
  if (from !== null) fields.push({ name: 'From', value: `Sender <${from}>` });
  for (const [name, value] of Object.entries(space.headers[index.headers]?.value ?? {})) fields.push({ name, value });
  return fields;
}

function authenticationOf(space: DerivedClassSpace, index: ClassIndex): AuthenticationInput | undefined {
  const cache = inputCache(space).authentication;
  const key = index.authentication * space.headerFrom.length + index.headerFrom;
  if (cache.has(key)) return cache.get(key);
  const input = buildAuthentication(space, index);
  cache.set(key, input);
  return input;
}

function buildAuthentication(space: DerivedClassSpace, index: ClassIndex): AuthenticationInput | undefined {
  const region = space.authentication[index.authentication];
  if (!region?.value) return undefined;
  const from = space.headerFrom[index.headerFrom]?.value ?? null;
  const fromDomain = from ? normaliseDomain(from.slice(from.lastIndexOf('@') + 1)) : null;
  const input: AuthenticationInput = { ...region.value, dkim: region.dkimFromDomain && fromDomain ? [{ result: 'pass', domain: fromDomain }] : [] };
  const record = fromDomain ? space.dmarcRecords.get(fromDomain) : undefined;
  if (record) input.dmarcRecord = record;
  return input;
}

/** The representative transaction of a class. */
export function transactionOf(space: DerivedClassSpace, index: ClassIndex): Transaction {
  // Built property by property (object spread was a large part of a proof's time).
  const transaction: Transaction = {
    clientIp: space.clientIp[index.clientIp]?.value as string,
    helo: 'client.example',
    mailFrom: space.mailFrom[index.mailFrom]?.value ?? '',
    rcptTo: [...(space.recipients[index.recipients]?.value ?? [])],
    headers: headersOf(space, index),
  };
  const tls = space.tls[index.tls]?.value;
  if (tls !== undefined) transaction.tls = tls;
  const authentication = authenticationOf(space, index);
  if (authentication) transaction.authentication = authentication;
  return transaction;
}

/**
 * The class's transaction, with reads of its headers and authentication noted in `read`; those two are made only
 * when read (most envelopes are refused before DATA). They are getters of the class (a copy made with `{ ...t }`
 * would not carry them: the transaction goes to the emulator only, which reads it and does not copy it).
 */
class WatchedTransaction {
  declare clientIp: string;
  declare helo: string;
  declare tls?: Transaction['tls'];
  declare mailFrom: string;
  declare rcptTo: string[];
  declare private readonly space: DerivedClassSpace;
  declare private readonly at: ClassIndex;
  declare private readonly read: { data: boolean; authentication: boolean };

  constructor(space: DerivedClassSpace, index: ClassIndex, read: { data: boolean; authentication: boolean }) {
    this.clientIp = space.clientIp[index.clientIp]?.value as string;
    this.helo = 'client.example';
    this.mailFrom = space.mailFrom[index.mailFrom]?.value ?? '';
    this.rcptTo = [...(space.recipients[index.recipients]?.value ?? [])];
    this.space = space;
    this.at = { ...index };
    this.read = read;
    const tls = space.tls[index.tls]?.value;
    if (tls !== undefined) this.tls = tls;
  }

  get headers(): HeaderField[] {
    this.read.data = true;
    return headersOf(this.space, this.at);
  }

  get authentication(): AuthenticationInput | undefined {
    this.read.authentication = true;
    return authenticationOf(this.space, this.at);
  }

  get attachments(): undefined {
    this.read.data = true;
    return undefined;
  }
}

/** The region labels of one class; a merged recipients region is labelled by the recipient its class holds (the first). */
function labelsOf(space: DerivedClassSpace, index: ClassIndex): ProvenClass['labels'] {
  const label = (dimension: Dimension, position: number) =>
    dimension === 'recipients' ? (space.recipients[position]?.members[0]?.label ?? '?') : (space[dimension][position]?.label ?? '?');
  return {
    clientIp: label('clientIp', index.clientIp),
    tls: label('tls', index.tls),
    mailFrom: label('mailFrom', index.mailFrom),
    headerFrom: label('headerFrom', index.headerFrom),
    recipients: label('recipients', index.recipients),
    headers: label('headers', index.headers),
    authentication: label('authentication', index.authentication),
  };
}

// ─────────────────────────────────────────────────────────────────────────────────────────────────
// Origin and legitimacy
// ─────────────────────────────────────────────────────────────────────────────────────────────────

function originOf(space: DerivedClassSpace, index: ClassIndex): Origin {
  return originOfCell(space, index.clientIp, index.tls);
}

/**
 * Whether a class is the shape of mail its legitimate source sends: the gateway (its addresses and its certificate,
 * as far as the profile names them), a connector's sender (a sender domain it covers, TLS when it requires it) or an
 * allowed Direct Send source (a sender in an accepted domain); with a From header, no extra headers, authentication
 * absent or passing, to accepted domains only.
 */
/** What legitimateShape reads of the regions, computed once per class space (it is asked for most classes). */
interface ShapeTables {
  /** Per recipients region: every recipient is in an accepted domain. */
  recipientsAccepted: boolean[];
  /** Some enabled gateway-shaped connector requires TLS. */
  gatewayRequiresTls: boolean;
  /** Per MAIL FROM region: its domain is accepted; per header From region: the same. */
  senderAccepted: boolean[];
  fromAccepted: boolean[];
  /** Per connector position: which MAIL FROM and header From regions its SenderDomains cover (built when first asked). */
  covers: Map<number, { sender: boolean[]; from: boolean[] }>;
}

const shapeTablesOf = new WeakMap<DerivedClassSpace, ShapeTables>();

function shapeTables(snapshot: Snapshot, options: ProofOptions, space: DerivedClassSpace): ShapeTables {
  let tables = shapeTablesOf.get(space);
  if (!tables) {
    const accepted = (domain: string | null) => domain !== null && findAcceptedDomain(domain, snapshot.AcceptedDomain, options.assumptions) !== null;
    tables = {
      recipientsAccepted: space.recipients.map((region) => region.value.every((recipient) => accepted(domainOfAddress(recipient)))),
      gatewayRequiresTls: snapshot.InboundConnector.some((connector) => connector.Enabled && isGatewayShaped(connector) && connector.RequireTls),
      senderAccepted: space.mailFrom.map((region) => accepted(domainOfAddress(region.value ?? ''))),
      fromAccepted: space.headerFrom.map((region) => accepted(domainOfAddress(region.value ?? ''))),
      covers: new Map(),
    };
    shapeTablesOf.set(space, tables);
  }
  return tables;
}

function coversOf(snapshot: Snapshot, space: DerivedClassSpace, tables: ShapeTables, position: number): { sender: boolean[]; from: boolean[] } {
  let covers = tables.covers.get(position);
  if (!covers) {
    const patterns = snapshot.InboundConnector[position]?.SenderDomains ?? [];
    const covered = (address: string | null) => {
      const domain = domainOfAddress(address ?? '');
      return patterns.some((pattern) => senderDomainPatternCovers(pattern, domain));
    };
    covers = { sender: space.mailFrom.map((region) => covered(region.value)), from: space.headerFrom.map((region) => covered(region.value)) };
    tables.covers.set(position, covers);
  }
  return covers;
}

/**
 * Whether a class is the shape of mail its legitimate source sends: the gateway (its addresses and its certificate,
 * as far as the profile names them), a connector's sender (a sender domain it covers, TLS when it requires it) or an
 * allowed Direct Send source (a sender in an accepted domain); with a From header, no extra headers (the gateway: the
 * headers it stamps), authentication absent or passing, to accepted domains only. It reads the regions only (through
 * tables built once per space).
 */
function legitimateShape(snapshot: Snapshot, options: ProofOptions, space: DerivedClassSpace, index: ClassIndex, origin: Origin, scope: { envelopeOnly?: boolean } = {}): boolean {
  // envelopeOnly: whether some header From, headers and authentication could complete the envelope to the shape.
  const envelopeOnly = scope.envelopeOnly === true;
  if (!envelopeOnly) {
    // The gateway's mail carries the headers it stamps (space.gatewayHeaders); any other legitimate source's, none.
    if (space.headerFrom[index.headerFrom]?.value == null || index.headers !== legitimateHeadersOf(space, origin)) return false;
    const authentication = space.authentication[index.authentication];
    if (authentication?.value && !authentication.dkimFromDomain) return false;
  }
  const tables = shapeTables(snapshot, options, space);
  if (!tables.recipientsAccepted[index.recipients]) return false;
  const ip = space.clientIp[index.clientIp];
  const tls = space.tls[index.tls];
  if (!ip || !tls || ip.blocked) return false;
  if (origin === 'gateway') {
    return (
      (options.profile.ips.length === 0 || ip.origin === 'gateway') &&
      (options.profile.certificateName === null || tls.origin === 'gateway') &&
      !(tables.gatewayRequiresTls && tls.value === undefined)
    );
  }
  if (origin !== 'allowed-source') return false;
  if (ip.allowDirectSend && tables.senderAccepted[index.mailFrom] && (envelopeOnly || tables.fromAccepted[index.headerFrom])) return true;
  const fits = (position: number, byIp: boolean) => {
    const connector = snapshot.InboundConnector[position];
    if (!connector) return false;
    if (connector.ConnectorType === 'Partner') {
      const covers = coversOf(snapshot, space, tables, position);
      if (!covers.sender[index.mailFrom] || (!envelopeOnly && !covers.from[index.headerFrom])) return false;
    }
    return !(byIp && connector.RequireTls && tls.value === undefined);
  };
  return ip.connectors.some((position) => fits(position, true)) || tls.connectors.some((position) => fits(position, false));
}

/** The headers region of a source's legitimate mail: the gateway's stamps for the gateway, none for any other. */
function legitimateHeadersOf(space: DerivedClassSpace, origin: Origin): number {
  return origin === 'gateway' ? space.gatewayHeaders : 0;
}

function domainOfAddress(address: string): string | null {
  const at = address.lastIndexOf('@');
  return at < 0 ? null : normaliseDomain(address.slice(at + 1));
}

// ─────────────────────────────────────────────────────────────────────────────────────────────────
// Causes
// ─────────────────────────────────────────────────────────────────────────────────────────────────

function blocking(rule: Record<string, unknown>): boolean {
  return ruleRejectReply(rule) !== null || rule.DeleteMessage === true || rule.Quarantine === true;
}


/** A snapshot's connectors and rules by name (the first of a name, as `find` would), built once per snapshot. */
interface RuleFacts {
  rule: Record<string, unknown>;
  /** Its action refuses or holds mail (reject, delete, quarantine). */
  blocks: boolean;
  /** Every condition it has is one of NET_CONDITIONS (or it has none): it is meant to catch mail by where it comes from. */
  netLike: boolean;
  hasExceptions: boolean;
}

/**
 * The conditions of a rule meant to catch mail by its origin or destination rather than by its sender or content: a
 * safety net (`FromScope NotInOrganization`, `SenderIpRanges 0.0.0.0-255.255.255.255`, scoped to recipient domains).
 * When such a rule's condition does not match, that is part of why mail got through (an IPv4-only range, a domain
 * left out); when a rule aimed at a sender or content (an attachment type, a newsletter domain) does not match other
 * mail, that is what it is for, and a cause does not list it.
 */
const NET_CONDITIONS = new Set(['FromScope', 'SenderIpRanges', 'RecipientDomainIs', 'SentToScope']);

const byNameIndex = new WeakMap<Snapshot, { connectors: Map<string, Snapshot['InboundConnector'][number]>; rules: Map<string, RuleFacts> }>();
function byName(snapshot: Snapshot) {
  let index = byNameIndex.get(snapshot);
  if (!index) {
    index = { connectors: new Map(), rules: new Map() };
    for (const connector of snapshot.InboundConnector) if (!index.connectors.has(connector.Name)) index.connectors.set(connector.Name, connector);
    for (const rule of snapshot.TransportRule) {
      const entry = rule as Record<string, unknown>;
      if (index.rules.has(rule.Name)) continue;
      const { conditions, exceptions } = configuredPredicates(entry);
      index.rules.set(rule.Name, {
        rule: entry,
        blocks: blocking(entry),
        netLike: conditions.every((predicate) => NET_CONDITIONS.has(predicate.parameter)),
        hasExceptions: exceptions.length > 0,
      });
    }
    byNameIndex.set(snapshot, index);
  }
  return index;
}

function connectorPart(snapshot: Snapshot, assumptions: Assumptions, verdict: Verdict, transaction: Transaction): string {
  const match = verdict.connector;
  if (!match) return 'no connector matched';
  const connector = byName(snapshot).connectors.get(match.name);
  let how: string = match.matchedBy;
  if (connector && match.matchedBy === 'ip') {
    const address = parseIp(transaction.clientIp);
    const entry = address ? findInList(compiledIpList(connector.SenderIPAddresses), address) : null;
    if (entry) how = `IP, inside ${entry.text}`;
  } else if (connector?.TlsSenderCertificateName && transaction.tls?.certificate) {
    const configured = normaliseDomain(connector.TlsSenderCertificateName);
    const name = matchCertificateName(configured, certificateNames(transaction.tls.certificate), assumptions);
    if (name) {
      const base = configured.replace(/^\*\./, '');
      const depth = name === configured ? 0 : name.endsWith(`.${base}`) ? name.slice(0, -(base.length + 1)).split('.').length : 0;
      how = `certificate ${name === configured ? `equal to ${configured}` : name === base ? `at the apex of ${configured}` : `${depth === 1 ? 'one label' : `${depth} labels`} below ${configured}`}`;
    }
  }
  return `${match.type} connector "${match.name}" matched by ${how}`;
}

/**
 * Whether a rule's evaluation that did not match needs its reasons for the cause: a blocking rule meant as a net
 * (its failed condition is part of the cause), or one with exceptions (an exception that matched is).
 */
function explains(facts: RuleFacts | undefined): boolean {
  return facts !== undefined && facts.blocks && (facts.netLike || facts.hasExceptions);
}

/** Why a rule did not match, from a traced verdict's reasons: its first condition that does not match, else its exception that matches. */
function reasonFromTrace(evaluation: Verdict['rules'][number]): RuleReason {
  const failed = evaluation.reasons.find((reason) => reason.startsWith('✗ condition'));
  if (failed) return { kind: 'condition', predicate: predicateOf(failed) };
  const exception = evaluation.reasons.find((reason) => reason.startsWith('✓ exception'));
  return { kind: 'exception', predicate: exception ? predicateOf(exception) : '?' };
}

/**
 * The rules' part of a cause. `reasonOf` says why a rule that did not match did not (by default, from the verdict's
 * reasons, which a traced verdict has).
 */
function rulesPart(snapshot: Snapshot, verdict: Verdict, reasonOf: (evaluation: Verdict['rules'][number]) => RuleReason | undefined = reasonFromTrace): string[] {
  const parts: string[] = [];
  const rules = byName(snapshot).rules;
  for (const evaluation of verdict.rules) {
    const known = rules.get(evaluation.name);
    const rule = known?.rule;
    const blocks = known?.blocks ?? false;
    if (evaluation.matched === null) parts.push(`rule "${evaluation.name}" not evaluated`);
    else if (evaluation.matched) {
      // A rule that only sets an SCL of 0 or more neither let the mail in nor stopped it (an SCL of 5 or more leaves
      // the verdict incomplete, which the result counts): naming it would split one hole into a finding per rule.
      const acts = blocks || (rule !== undefined && (setsSclMinusOne(rule) || rule.StopRuleProcessing === true));
      if (evaluation.mode === 'Enforce' && acts) parts.push(`rule "${evaluation.name}": ${evaluation.actionTaken}`);
      else if (blocks) parts.push(`rule "${evaluation.name}" matched in ${evaluation.mode} mode (no action)`);
    } else if (explains(known)) {
      const reason = reasonOf(evaluation);
      // A condition that failed explains only for a net; an exception that matched always does.
      if (reason?.kind === 'condition' && known?.netLike) parts.push(`rule "${evaluation.name}" not applied: its condition ${reason.predicate} does not match`);
      else if (reason?.kind === 'exception') parts.push(`rule "${evaluation.name}" not applied: its exception ${reason.predicate} matches`);
    }
  }
  return parts;
}

/** The rule sets SCL -1: it takes the mail past spam filtering and overrides DMARC and spoof actions (S26). */
function setsSclMinusOne(rule: Record<string, unknown>): boolean {
  return isSet(rule.SetSCL) && Number(rule.SetSCL) === -1;
}

function authenticationPart(verdict: Verdict): string {
  const outcome = verdict.authentication;
  if (!outcome) return 'authentication not given (DMARC not emulated)';
  if (outcome.dmarc === 'none') return outcome.fromDomain ? 'no DMARC record for the From domain' : 'no From domain to authenticate';
  return `DMARC ${outcome.dmarc}${outcome.dmarcPolicy ? ` (p=${outcome.dmarcPolicy})` : ''}`;
}

function recipientsPart(snapshot: Snapshot, verdict: Verdict, transaction: Transaction): string {
  const accepted = verdict.recipients ? verdict.recipients.filter((entry) => entry.action === 'accept').map((entry) => entry.recipient) : transaction.rcptTo;
  return [...new Set(accepted.map((recipient) => domainRegion(snapshot, domainOfAddress(recipient))))].sort().join(' and ');
}

const DISPOSITION_WORDS: Record<Verdict['disposition'], string> = {
  deliver: 'delivered',
  junk: 'delivered to Junk',
  relay: 'relayed',
  quarantine: 'quarantined',
  delete: 'dropped',
  ndr: 'refused by NDR',
  none: 'refused in the session',
};

/**
 * The cause of a verdict, in one line (its key): where the mail came from, the connector that matched or none (AuthAs
 * follows from it and assumption partner-authas, so it is left out: a cause keeps its key across assumptions), the rules that acted or could have acted, the authentication result and the outcome. The recipient domains it
 * concerns are gathered per finding (recipientsPart).
 */
export function causeOf(snapshot: Snapshot, assumptions: Assumptions, origin: Origin, transaction: Transaction, verdict: Verdict): string {
  return causeText(origin, verdict, connectorPart(snapshot, assumptions, verdict, transaction), rulesPart(snapshot, verdict));
}

/** The cause from its connector and rules parts (the search remembers those) and the verdict. */
function causeText(origin: Origin, verdict: Verdict, connectorText: string, ruleParts: readonly string[]): string {
  const from = origin === 'gateway' ? 'from the gateway' : origin === 'allowed-source' ? 'from an allowed source' : 'not from the gateway';
  const outcome = verdict.action === 'reject' ? `${DISPOSITION_WORDS[verdict.disposition]} (${verdict.code} ${verdict.enhanced})` : DISPOSITION_WORDS[verdict.disposition];
  return [from, connectorText, ...ruleParts, authenticationPart(verdict), outcome].join('; ');
}

/** The kind of finding a class is, or null. */
function kindOf(snapshot: Snapshot, options: ProofOptions, space: DerivedClassSpace, index: ClassIndex, origin: Origin, verdict: Verdict): ProofFinding['kind'] | null {
  if (origin === 'other') return verdict.action === 'accept' && REACHES_MAILBOX.has(verdict.disposition) ? 'bypass' : null;
  const refused = verdict.action === 'reject' || !LEGITIMATE_OUTCOME.has(verdict.disposition);
  return refused && legitimateShape(snapshot, options, space, index, origin) ? 'broken-legitimate' : null;
}

// ─────────────────────────────────────────────────────────────────────────────────────────────────
// The search
// ─────────────────────────────────────────────────────────────────────────────────────────────────

/**
 * How the search runs. `prune: true` (the default) counts without deciding what cannot change a finding (see the
 * module comment); `prune: false` decides every class of the product, every region alone (for the tests that check
 * that the pruning is exact).
 */
export interface SearchMode {
  prune: boolean;
  /**
   * Where a cause's rule reasons come from: 'shadow' (the default; explain.ts, the fast path of a shadow policy) or
   * 'trace' (a traced decision, as the tests' reference).
   */
  explain?: 'shadow' | 'trace';
}

function search(snapshot: Snapshot, options: ProofOptions, decider: Decider, mode: SearchMode = { prune: true }): SearchResult {
  const searcher = makeSearcher(snapshot, options, decider, mode);
  return searcher.run(0, searcher.cells);
}

/** Whether class `a` comes before class `b` in the search order (client IP, TLS, MAIL FROM, recipients, header From, headers, authentication). */
function earlier(a: ClassIndex, b: ClassIndex): boolean {
  return (
    a.clientIp - b.clientIp || a.tls - b.tls || a.mailFrom - b.mailFrom || a.recipients - b.recipients || a.headerFrom - b.headerFrom || a.headers - b.headers || a.authentication - b.authentication
  ) < 0;
}

/** An empty result over a space, for {@link mergeSearch} to add to. */
export function emptySearch(space: DerivedClassSpace): SearchResult {
  return { classes: 0, decided: 0, groups: new Map(), gatewayDelivered: null, assumptionsUsed: new Set(), incomplete: 0, stopped: false, space };
}

/**
 * The search, by cells: a cell is a client IP region with a TLS region (cell = clientIp × TLS regions + tls), the
 * outermost loops of the search order, and `run(from, to)` searches the cells from `from` to before `to` in that
 * order. What the search remembers (causes, rule reasons, inputs) is kept from one run to the next. `until`, asked
 * after each cell, ends a run early: `next` is then the first cell not searched (parallel.ts runs the first cells on
 * the calling thread for a while, and the rest in worker threads).
 */
export interface Searcher {
  space: DerivedClassSpace;
  /** How many cells the space has. */
  cells: number;
  run(from: number, to: number, until?: () => boolean): SearchResult & { next: number };
}

export function makeSearcher(snapshot: Snapshot, options: ProofOptions, decider: Decider, mode: SearchMode = { prune: true }): Searcher {
  const space = deriveClassSpace(snapshot, { ...options, mergeRecipients: mode.prune });
  let result: SearchResult = emptySearch(space);
  /**
   * At the first step and every 256 after (a step is an envelope, or a sender pair and headers group, which the
   * groups make few and weighty): progress, and whether to stop.
   */
  let steps = 0;
  const interrupted = (): boolean => {
    if (((++steps & 255) !== 0 && steps !== 1) || (!options.progress && !options.stop)) return false;
    options.progress?.(result.classes, space.size);
    if (options.stop?.()) result.stopped = true;
    return result.stopped;
  };
  const sizes = {
    headerFrom: space.headerFrom.length,
    headers: space.headers.length,
    authentication: space.authentication.length,
  };
  /** Rules whose reasons a cause names when they do not act (see explains()). */
  const ruleFacts = byName(snapshot).rules;
  const explained = new Set([...ruleFacts].filter(([, facts]) => explains(facts)).map(([name]) => name));
  // Classes from the gateway count toward the shared-infrastructure finding when the gateway's vendor shares them.
  const sharedVendor = vendorForGateway(options.profile)?.shared !== undefined;

  /**
   * The rules' evaluations with their reasons, per class without its authentication region. The transport rules run
   * before the authentication stage and no rule reads the authentication input (only the authentication stage does),
   * so classes that differ only there have the same evaluations, reasons included: one traced decision serves them.
   */
  const reasonedParts = new Map<string, string[]>();
  /**
   * What a cause needs of a verdict's rule list: the explained rules that did not match (their reasons are asked
   * for), and when there is none, the rules' part of the cause. The fast path shares one frozen list among verdicts
   * whose rules changed alike, so both are remembered per list.
   */
  const listFacts = new WeakMap<object, { names: string[]; parts: string[] }>();
  const reasonedLists = new WeakMap<object, WeakMap<object, string[]>>();
  const ruleListFacts = (rules: Verdict['rules']): { names: string[]; parts: string[] } => {
    let known = listFacts.get(rules);
    if (!known) {
      const names = rules.filter((entry) => entry.matched === false && entry.reasons.length === 0 && explained.has(entry.name)).map((entry) => entry.name);
      known = { names, parts: names.length === 0 ? rulesPart(snapshot, { rules } as Verdict) : [] };
      if (Object.isFrozen(rules)) listFacts.set(rules, known);
    }
    return known;
  };
  let explainer: RuleExplainer | undefined;
  /** Adds classes that share one verdict; `first` is the first of them in the search order. */
  // The connector's part of a cause reads the class's client address and certificate and the verdict's connector;
  // the recipients' part, the class's recipients and which of them were accepted: each remembered per those.
  const connectorParts = new Map<string, string>();
  const recipientParts = new Map<string, string[]>();
  const recordGroup = (kind: ProofFinding['kind'], first: ClassIndex, verdict: Verdict, origin: Origin, count: number) => {
    if (verdict.incomplete) result.incomplete += count;
    // The class's transaction, made only when something below is not remembered yet.
    let made: Transaction | undefined;
    const transaction = (): Transaction => (made ??= transactionOf(space, first));
    // The fast path leaves each rule's reasons empty; the cause names the condition or exception that kept a blocking
    // rule from acting, so such a verdict (and only such a one) gets its rules' reasons from a traced decision.
    const facts = ruleListFacts(verdict.rules);
    let parts: string[] | undefined = facts.names.length === 0 ? facts.parts : undefined;
    if (facts.names.length > 0) {
      const key = `${first.clientIp} ${first.tls} ${first.mailFrom} ${first.recipients} ${first.headerFrom} ${first.headers}`;
      parts = reasonedParts.get(key);
      if (!parts) {
        // From the shadow policy's fast path (explain.ts); when it cannot tell, from a traced decision.
        const names = facts.names;
        if (mode.explain !== 'trace') explainer ??= new RuleExplainer(snapshot, options.assumptions, explained);
        const reasons = explainer ? explainer.reasons(transaction(), names) : null;
        if (reasons) {
          // The same rule list with the same reasons (both shared objects) gives the same part.
          let byReasons = reasonedLists.get(verdict.rules);
          parts = byReasons?.get(reasons);
          if (!parts) {
            parts = rulesPart(snapshot, verdict, (evaluation) => reasons.get(evaluation.name));
            if (Object.isFrozen(verdict.rules)) {
              if (!byReasons) reasonedLists.set(verdict.rules, (byReasons = new WeakMap()));
              byReasons.set(reasons, parts);
            }
          }
        } else parts = rulesPart(snapshot, decider.decide(transaction(), { trace: true }));
        if (reasonedParts.size > 100_000) reasonedParts.clear();
        reasonedParts.set(key, parts);
      }
    }
    const match = verdict.connector;
    const connectorKey = match ? `${first.clientIp} ${first.tls} ${match.matchedBy} ${match.name}` : '';
    let connectorText = connectorParts.get(connectorKey);
    if (connectorText === undefined) {
      connectorText = connectorPart(snapshot, options.assumptions, verdict, transaction());
      if (connectorParts.size > 100_000) connectorParts.clear();
      connectorParts.set(connectorKey, connectorText);
    }
    const cause = causeText(origin, verdict, connectorText, parts as string[]);
    const key = `${kind}|${cause}`;
    const acceptedKey = `${first.recipients} ${verdict.recipients ? verdict.recipients.map((entry) => (entry.action === 'accept' ? 1 : 0)).join('') : '*'}`;
    let recipients = recipientParts.get(acceptedKey);
    if (!recipients) {
      const members = space.recipients[first.recipients]?.members ?? [];
      recipients = members.map((member) => recipientsPart(snapshot, verdict, { ...transaction(), rcptTo: [...member.value] }));
      if (recipientParts.size > 100_000) recipientParts.clear();
      recipientParts.set(acceptedKey, recipients);
    }
    const group = result.groups.get(key);
    if (group) {
      group.finding.classes += count;
      for (const entry of recipients) group.recipients.add(entry);
      // The representative is the group's first class in the search order, whatever order groups of regions are met in.
      if (earlier(first, group.index)) group.index = { ...first };
    } else result.groups.set(key, { finding: { kind, cause, key, classes: count }, recipients: new Set(recipients), index: { ...first } });
  };

  const delivered = (index: ClassIndex, verdict: Verdict, count: number) => {
    if (verdict.action !== 'accept' || !REACHES_MAILBOX.has(verdict.disposition)) return;
    // The representative is the first class that has both the gateway's address and its certificate, if any has.
    const whole = (at: ClassIndex) => space.clientIp[at.clientIp]?.origin === 'gateway' && (options.profile.certificateName === null || space.tls[at.tls]?.origin === 'gateway');
    const found = result.gatewayDelivered;
    if (!found) result.gatewayDelivered = { index: { ...index }, verdict, count };
    else {
      found.count += count;
      const better = whole(index) === whole(found.index) ? earlier(index, found.index) : whole(index);
      if (better) {
        found.index = { ...index };
        found.verdict = verdict;
      }
    }
  };

  /**
   * How many headers regions the class at hand stands for: the size of its headers group (header-groups.ts) inside
   * the loop over a cell's headers groups, else 1.
   */
  let headerWeight = 1;
  /** Likewise, how many pairs of a MAIL FROM and a header From region it stands for (sender-groups.ts). */
  let senderWeight = 1;
  /** And how many TLS regions its cell stands for (tls-groups.ts). */
  let cellWeight = 1;
  /** One decided class (standing for the merged recipients of its region, its headers group and its sender pairs). */
  const record = (index: ClassIndex, verdict: Verdict, origin: Origin) => {
    const count = (space.recipients[index.recipients]?.members.length ?? 1) * headerWeight * senderWeight * cellWeight;
    result.classes += count;
    for (const id of verdict.assumptions) result.assumptionsUsed.add(id);
    if (origin === 'gateway') delivered(index, verdict, count);
    const kind = kindOf(snapshot, options, space, index, origin, verdict);
    if (kind) recordGroup(kind, index, verdict, origin, count);
  };

  /**
   * Every class that varies `index` over `free` dimensions gets the verdict decided for `index`, because that
   * decision did not read them. Bypasses and gateway deliveries need an accepted verdict, which always reads every
   * data dimension, so only the refused legitimate shapes among them are found one by one.
   */
  const recordUnread = (index: ClassIndex, verdict: Verdict, origin: Origin, free: 'data' | 'authentication') => {
    const weight = (space.recipients[index.recipients]?.members.length ?? 1) * senderWeight * cellWeight * (free === 'data' ? 1 : headerWeight);
    const count = weight * (free === 'data' ? sizes.headerFrom * sizes.headers : 1) * sizes.authentication;
    result.classes += count;
    for (const id of verdict.assumptions) result.assumptionsUsed.add(id);
    if (origin === 'gateway') delivered(index, verdict, count);
    if (origin === 'other') {
      const kind = kindOf(snapshot, options, space, index, origin, verdict);
      if (kind) recordGroup(kind, index, verdict, origin, count);
      return;
    }
    if (verdict.action !== 'reject' && LEGITIMATE_OUTCOME.has(verdict.disposition)) return;
    const at = { ...index };
    let first: ClassIndex | null = null;
    let legitimate = 0;
    const headerFroms = free === 'data' ? sizes.headerFrom : 1;
    const headers = free === 'data' ? sizes.headers : 1;
    const legitimateHeaders = legitimateHeadersOf(space, origin);
    for (let from = 0; from < headerFroms; from++) {
      for (let header = 0; header < headers; header++) {
        // legitimateShape holds only for the headers region of the source's own mail (see there).
        if (free === 'data' && header !== legitimateHeaders) continue;
        if (free === 'data') {
          at.headerFrom = from;
          at.headers = header;
        }
        for (at.authentication = 0; at.authentication < sizes.authentication; at.authentication++) {
          if (!legitimateShape(snapshot, options, space, at, origin)) continue;
          first ??= { ...at };
          legitimate++;
        }
      }
    }
    if (first) recordGroup('broken-legitimate', first, verdict, origin, legitimate * weight);
  };

  const read = { data: false, authentication: false };
  const decideWatched = (index: ClassIndex): Verdict => {
    read.data = false;
    read.authentication = false;
    result.decided++;
    return decider.decide(new WatchedTransaction(space, index, read) as Transaction, { trace: false });
  };
  /** The class at `index` under each of the authentication regions `regions` (one decision each, counted so). */
  const decideEach = (index: ClassIndex, regions: readonly number[]): Verdict[] => {
    result.decided += regions.length;
    const inputs = regions.map((authentication) => authenticationOf(space, { ...index, authentication }));
    return decider.decideEach(transactionOf(space, index), inputs);
  };
  const skip = (index: ClassIndex, count: number) => {
    result.classes += count * (space.recipients[index.recipients]?.members.length ?? 1) * headerWeight * senderWeight * cellWeight;
  };
  // The headers regions alike per client IP region (pruned), else each alone.
  // The rules compiled once for the header and sender groups.
  const compiledRules = mode.prune ? new CompiledRules(snapshot.TransportRule, options.assumptions) : null;
  const groupsOf = compiledRules ? headerGroups(snapshot, options.assumptions, space, compiledRules) : null;
  const eachAlone = space.headers.map((_, position) => [position]);
  // The MAIL FROM regions alike per cell and header From (pruned), else each alone.
  const sendersAlike = compiledRules ? senderGroups(snapshot, options.assumptions, space, compiledRules) : null;
  const eachSenderAlone = space.mailFrom.map((_, position) => [position]);
  const eachFromAlone = space.headerFrom.map((_, position) => [position]);
  // The TLS regions alike per client IP region (pruned): the cell of a group's first stands for the group.
  const tlsWeightsOf = mode.prune ? tlsGroups(snapshot, options.assumptions, space) : null;

  const index: ClassIndex = { clientIp: 0, tls: 0, mailFrom: 0, recipients: 0, headerFrom: 0, headers: 0, authentication: 0 };
  const run = (from: number, to: number, until?: () => boolean): SearchResult & { next: number } => {
    result = emptySearch(space);
    let cell = from;
    envelopes: for (; cell < to; cell++) {
      if (cell > from && until?.()) break;
      index.clientIp = Math.floor(cell / space.tls.length);
      index.tls = cell % space.tls.length;
      cellWeight = tlsWeightsOf ? ((tlsWeightsOf(index.clientIp)[index.tls] ?? 1) as number) : 1;
      if (cellWeight === 0) continue;
      const origin = originOf(space, index);
      // Whether every class matters (a bypass needs a verdict; so does a gateway delivery when the vendor shares its
      // infrastructure), or only the classes in a legitimate shape (a broken legitimate path).
      const all = !mode.prune || origin === 'other' || (origin === 'gateway' && sharedVendor);
      const matters = (at: ClassIndex) => all || legitimateShape(snapshot, options, space, at, origin);
      // When only legitimate shapes matter, only one headers region can: the source's own (legitimateShape's first test).
      const legitimateHeaders = legitimateHeadersOf(space, origin);
      const headerGroupList = groupsOf ? groupsOf(index.clientIp) : eachAlone;
      const senderGroupList = sendersAlike ? sendersAlike.groupsOf(index.clientIp, index.tls) : eachSenderAlone;
      const fromGroupList = sendersAlike ? sendersAlike.fromGroupsOf(index.clientIp, index.tls) : eachFromAlone;
      for (const senderGroup of senderGroupList) {
        for (index.recipients = 0; index.recipients < space.recipients.length; index.recipients++) {
          index.mailFrom = senderGroup[0] as number;
          senderWeight = senderGroup.length;
          headerWeight = 1;
          if (interrupted()) break envelopes;
          index.headerFrom = 0;
          index.headers = 0;
          index.authentication = 0;
          if (!all && !legitimateShape(snapshot, options, space, index, origin, { envelopeOnly: true })) {
            skip(index, sizes.headerFrom * sizes.headers * sizes.authentication);
            continue;
          }
          // The envelope is decided with the first data combination that matters, its data reads watched.
          let probe: ClassIndex | null = null;
          for (index.headerFrom = 0; index.headerFrom < sizes.headerFrom && !probe; index.headerFrom++) {
            for (let group = 0; group < headerGroupList.length && !probe; group++) {
              index.headers = (headerGroupList[group] as readonly number[])[0] as number;
              if (!all && index.headers !== legitimateHeaders) continue;
              for (index.authentication = 0; index.authentication < sizes.authentication && !probe; index.authentication++) {
                if (matters(index)) probe = { ...index };
              }
            }
          }
          if (!probe) {
            skip(index, sizes.headerFrom * sizes.headers * sizes.authentication);
            continue;
          }
          const envelope = decideWatched(probe);
          const envelopeRead = { ...read };
          if (mode.prune && !envelopeRead.data && !envelopeRead.authentication) {
            recordUnread({ ...index, headerFrom: 0, headers: 0, authentication: 0 }, envelope, origin, 'data');
            continue;
          }
          for (const fromGroup of fromGroupList) {
            // The envelope's MAIL FROM group with this header From group, in pairs that every reader answers alike.
            for (const pair of sendersAlike ? sendersAlike.pairs(senderGroup, fromGroup) : [{ mailFrom: senderGroup[0] as number, headerFrom: fromGroup[0] as number, count: 1 }]) {
              index.mailFrom = pair.mailFrom;
              index.headerFrom = pair.headerFrom;
              senderWeight = pair.count;
              for (let group = 0; group < headerGroupList.length; group++) {
                const members = headerGroupList[group] as readonly number[];
                index.headers = members[0] as number;
                headerWeight = members.length;
                if (interrupted()) break envelopes;
                if (!all && index.headers !== legitimateHeaders) {
                  skip(index, sizes.authentication);
                  continue;
                }
                const atProbe = index.headerFrom === probe.headerFrom && index.headers === probe.headers && index.mailFrom === probe.mailFrom;
                // The first authentication region that matters is decided with the authentication input watched.
                let firstAuthentication = -1;
                for (index.authentication = 0; index.authentication < sizes.authentication; index.authentication++) {
                  if (matters(index)) {
                    firstAuthentication = index.authentication;
                    break;
                  }
                }
                if (firstAuthentication < 0) {
                  skip(index, sizes.authentication);
                  continue;
                }
                index.authentication = firstAuthentication;
                const first = atProbe ? envelope : decideWatched(index);
                const authenticationRead = atProbe ? envelopeRead.authentication : read.authentication;
                if (mode.prune && !authenticationRead) {
                  recordUnread({ ...index, authentication: 0 }, first, origin, 'authentication');
                  continue;
                }
                // The other authentication regions that matter, decided together: the stages before authentication
                // (connection, connectors, recipients, DATA, the rules) run once for them all.
                const others: number[] = [];
                for (index.authentication = 0; index.authentication < sizes.authentication; index.authentication++) {
                  if (index.authentication !== firstAuthentication && matters(index)) others.push(index.authentication);
                }
                const verdicts = others.length > 0 ? decideEach(index, others) : [];
                let next = 0;
                for (index.authentication = 0; index.authentication < sizes.authentication; index.authentication++) {
                  if (index.authentication === firstAuthentication) record(index, first, origin);
                  else if (others[next] === index.authentication) record(index, verdicts[next++] as Verdict, origin);
                  else skip(index, 1);
                }
              }
            }
          }
        }
      }
    }
    // A run that was stopped did not finish the cell it was in.
    return Object.assign(result, { next: result.stopped ? Math.min(cell + 1, to) : cell });
  };
  return { space, cells: space.clientIp.length * space.tls.length, run };
}

/**
 * Adds the result of the cells after `into`'s to it, as if one search had gone on through them: counts add up, a
 * group keeps its first class (the earlier cells'), and the representative of the gateway's deliveries is the first
 * class with both the gateway's address and its certificate, if any has.
 */
export function mergeSearch(into: SearchResult, part: Omit<SearchResult, 'space'>, profile: ProofOptions['profile']): void {
  into.classes += part.classes;
  into.decided += part.decided;
  into.incomplete += part.incomplete;
  into.stopped ||= part.stopped;
  for (const id of part.assumptionsUsed) into.assumptionsUsed.add(id);
  for (const [key, group] of part.groups) {
    const known = into.groups.get(key);
    if (!known) into.groups.set(key, group);
    else {
      known.finding.classes += group.finding.classes;
      for (const entry of group.recipients) known.recipients.add(entry);
    }
  }
  const delivered = part.gatewayDelivered;
  if (!delivered) return;
  const found = into.gatewayDelivered;
  const space = into.space;
  const whole = (at: ClassIndex) => space.clientIp[at.clientIp]?.origin === 'gateway' && (profile.certificateName === null || space.tls[at.tls]?.origin === 'gateway');
  if (!found) into.gatewayDelivered = delivered;
  else {
    found.count += delivered.count;
    if (!whole(found.index) && whole(delivered.index)) found.index = delivered.index;
  }
}

// ─────────────────────────────────────────────────────────────────────────────────────────────────
// Findings
// ─────────────────────────────────────────────────────────────────────────────────────────────────

const KIND_ORDER: Record<ProofFinding['kind'], number> = { bypass: 0, 'broken-legitimate': 1, 'shared-gateway-infrastructure': 2 };

function sortFindings(findings: ProofFinding[]): ProofFinding[] {
  return findings.sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || b.classes - a.classes || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** The representative of a group, decided again with its trace (kept when asked) and the sources it cites. */
function represent(options: ProofOptions, space: DerivedClassSpace, index: ClassIndex, decider: Decider): { representative: ProvenClass; sources: string[] } {
  const transaction = transactionOf(space, index);
  const verdict = decider.decide(transaction, { trace: true });
  const sources = [...new Set(verdict.trace.flatMap((step) => step.sources))].sort();
  return {
    representative: {
      transaction,
      labels: labelsOf(space, index),
      origin: originOf(space, index),
      // Without --trace, the fast path's verdict: the same but for the trace and each rule's reasons, which for a
      // tenant with hundreds of rules would make every finding hundreds of kilobytes.
      verdict: options.trace ? verdict : decider.decide(transaction, { trace: false }),
    },
    sources,
  };
}

function sharedInfrastructureFinding(snapshot: Snapshot, options: ProofOptions, result: SearchResult, decider: Decider): ProofFinding | null {
  const delivered = result.gatewayDelivered;
  const vendor = vendorForGateway(options.profile);
  if (!delivered || !vendor?.shared) return null;
  const shared = vendor.shared;
  const trusted: string[] = [];
  for (const connector of snapshot.InboundConnector) {
    if (!connector.Enabled || !isGatewayShaped(connector)) continue;
    if (shared.addresses && (connector.SenderIPAddresses.length > 0 || connector.EFSkipIPs.length > 0)) {
      const addresses = connector.SenderIPAddresses.length > 0 ? connector.SenderIPAddresses : [];
      if (addresses.length > 0) trusted.push(`"${connector.Name}" trusts ${vendor.name}'s addresses (${addresses.slice(0, 3).join(', ')}${addresses.length > 3 ? ', …' : ''})`);
    }
    const name = connector.TlsSenderCertificateName;
    if (name && shared.certificateNames.some((pattern) => pattern.test(name))) trusted.push(`"${connector.Name}" trusts the certificate name ${name}`);
  }
  if (shared.addresses && options.profile.ips.length > 0 && trusted.length === 0) trusted.push(`the gateway profile's addresses are ${vendor.name}'s`);
  if (trusted.length === 0) return null;
  const { representative, sources } = represent(options, result.space, delivered.index, decider);
  return {
    kind: 'shared-gateway-infrastructure',
    cause:
      `mail relayed through another customer of ${vendor.name} is accepted like this tenant's own gateway mail: ${trusted.join('; ')}, ` +
      `which ${vendor.name} uses for every customer`,
    key: `shared-gateway-infrastructure|${vendor.name}|${trusted.join('|')}`,
    classes: delivered.count,
    representative,
    remedy: shared.narrows,
    sources: [...sources, shared.source],
  };
}

const STANDING_LIMITS = [
  'content filtering after the transport layer (anti-spam, anti-malware, spoof intelligence\'s implicit verdict) is not emulated: a bypass is mail EOP accepts for delivery without it passing the gateway, whatever filtering may still do to it',
  'every class is a message without attachments and without Received headers (Enhanced Filtering then sees no earlier hop)',
  'a bypass counts only mail EOP accepts for delivery (disposition deliver or junk); mail relayed on through an OnPremises connector is not counted',
];

export function finish(snapshot: Snapshot, options: ProofOptions, result: SearchResult, decider: Decider, started: number): ProofResult {
  const findings: ProofFinding[] = [];
  for (const group of result.groups.values()) {
    const { representative, sources } = represent(options, result.space, group.index, decider);
    const to = [...new Set([...group.recipients].flatMap((entry) => entry.split(' and ')))].filter((entry) => entry !== '').sort();
    findings.push({ ...group.finding, cause: `${group.finding.cause}; for ${to.join(', ') || 'no accepted recipient'}`, representative, sources });
  }
  const shared = sharedInfrastructureFinding(snapshot, options, result, decider);
  if (shared) findings.push(shared);
  sortFindings(findings);
  const limits = [...STANDING_LIMITS, ...result.space.limits];
  if (result.stopped) {
    limits.unshift(`the search was stopped after ${result.classes.toLocaleString('en-US')} of ${result.space.size.toLocaleString('en-US')} classes: this is not a proof; the findings are those of the classes searched`);
  }
  if (result.incomplete > 0) limits.push(`${result.incomplete} of the classes in findings rest on a verdict that is not final (see each representative's incompleteReasons)`);
  return {
    snapshot: { tenant: snapshot.Meta.tenant ?? null },
    classes: result.classes,
    decided: result.decided,
    milliseconds: Math.round(performance.now() - started),
    findings,
    bypasses: findings.filter((finding) => finding.kind === 'bypass').reduce((sum, finding) => sum + finding.classes, 0),
    brokenLegitimate: findings.filter((finding) => finding.kind === 'broken-legitimate').reduce((sum, finding) => sum + finding.classes, 0),
    limits,
    ...(result.stopped ? { stopped: { of: result.space.size } } : {}),
  };
}

/** Searches every class under the given assumptions. */
export const prove: Prove = (snapshot, options) => proveWith(snapshot, options, { prune: true });

/** {@link prove} with the search mode chosen. */
export function proveWith(snapshot: Snapshot, options: ProofOptions, mode: SearchMode): ProofResult {
  const started = performance.now();
  const decider = makeDecider(snapshot, options.assumptions);
  return finish(snapshot, options, search(snapshot, options, decider, mode), decider, started);
}

/**
 * The key of the finding a transaction from elsewhere (a corpus entry, a replayed message) would fall in, or null
 * when it is neither a bypass nor a broken legitimate path. The transaction's recipients are not part of the key;
 * a finding lists them in its cause.
 */
export function findingKeyOf(snapshot: Snapshot, options: ProofOptions, transaction: Transaction, verdict: Verdict): string | null {
  const origin = originOfTransaction(snapshot, options, transaction);
  if (origin !== 'other' || verdict.action !== 'accept' || !REACHES_MAILBOX.has(verdict.disposition)) return null;
  return `bypass|${causeOf(snapshot, options.assumptions, origin, transaction, verdict)}`;
}

/**
 * The combinations, with every assumption left out whose value does not matter: one the combinations hold with each
 * of its values alike (the rest being equal). `[{a: x, b: 1}, {a: x, b: 2}]` over b ∈ {1, 2} becomes `[{a: x}]`.
 */
function simplest(under: Partial<Assumptions>[], relevant: readonly (typeof ASSUMPTIONS)[number][]): Partial<Assumptions>[] {
  let entries = under.map((entry) => ({ ...entry }) as Record<string, string>);
  for (const assumption of relevant) {
    const values = Object.keys(assumption.values);
    const rest = (entry: Record<string, string>) => JSON.stringify(Object.entries(entry).filter(([id]) => id !== assumption.id).sort());
    const seen = new Map<string, Set<string>>();
    for (const entry of entries) {
      const key = rest(entry);
      const set = seen.get(key) ?? new Set<string>();
      set.add(entry[assumption.id] as string);
      seen.set(key, set);
    }
    if (![...seen.values()].every((set) => values.every((value) => set.has(value)))) continue;
    const kept = new Map<string, Record<string, string>>();
    for (const entry of entries) {
      const { [assumption.id]: _dropped, ...others } = entry;
      kept.set(rest(entry), others);
    }
    entries = [...kept.values()];
  }
  return entries as Partial<Assumptions>[];
}

/** Most combinations of the uncertain behaviours `proveAll` searches; beyond it, each is varied alone. */
export const MAX_ASSUMPTION_SETS = 64;

/**
 * Searches under every combination of the uncertain behaviours the verdicts relied on (see `eoplock assumptions`).
 * A finding present under only some combinations carries `onlyUnder`: the values (of the relied-on assumptions)
 * under which it exists. Counts and representatives are those of the first combination that has the finding, the
 * given assumptions first.
 */
export function proveAll(snapshot: Snapshot, options: ProofOptions): ProofResult {
  const started = performance.now();
  const baseDecider = makeDecider(snapshot, options.assumptions);
  const base = search(snapshot, options, baseDecider);
  const relevant = ASSUMPTIONS.filter((entry) => base.assumptionsUsed.has(entry.id));
  let sets: Assumptions[] = [options.assumptions];
  for (const entry of relevant) {
    const values = Object.keys(entry.values);
    sets = sets.flatMap((set) => values.map((value) => ({ ...set, [entry.id]: value }) as Assumptions));
  }
  const limits: string[] = [];
  if (sets.length > MAX_ASSUMPTION_SETS) {
    limits.push(`${sets.length} combinations of the ${relevant.length} relied-on assumptions exceed ${MAX_ASSUMPTION_SETS}: each assumption was varied alone instead`);
    sets = [options.assumptions];
    for (const entry of relevant) {
      for (const value of Object.keys(entry.values)) {
        if (value !== options.assumptions[entry.id as AssumptionId]) sets.push({ ...options.assumptions, [entry.id]: value } as Assumptions);
      }
    }
  }
  const same = (a: Assumptions, b: Assumptions) => relevant.every((entry) => a[entry.id as AssumptionId] === b[entry.id as AssumptionId]);
  sets = sets.filter((set, position) => sets.findIndex((other) => same(other, set)) === position);
  sets.sort((a, b) => (same(a, options.assumptions) ? -1 : same(b, options.assumptions) ? 1 : 0));
  const partial = (set: Assumptions): Partial<Assumptions> =>
    Object.fromEntries(relevant.map((entry) => [entry.id, set[entry.id as AssumptionId]])) as Partial<Assumptions>;

  const merged = new Map<string, { finding: ProofFinding; under: Partial<Assumptions>[] }>();
  let classes = 0;
  let decided = 0;
  let first: ProofResult | null = null;
  let stopped: ProofResult['stopped'];
  for (const set of sets) {
    if (stopped) break;
    const runOptions = { ...options, assumptions: set };
    const decider = same(set, options.assumptions) ? baseDecider : makeDecider(snapshot, set);
    const result = finish(snapshot, runOptions, same(set, options.assumptions) ? base : search(snapshot, runOptions, decider), decider, started);
    first ??= result;
    if (result.stopped) stopped = result.stopped;
    classes = Math.max(classes, result.classes);
    decided += result.decided ?? 0;
    for (const finding of result.findings) {
      const entry = merged.get(finding.key);
      if (entry) entry.under.push(partial(set));
      else merged.set(finding.key, { finding, under: [partial(set)] });
    }
  }
  // A stopped search did not see every class under every combination: what it did not find is not absent.
  const findings = [...merged.values()].map(({ finding, under }) => (stopped || under.length === sets.length ? finding : { ...finding, onlyUnder: simplest(under, relevant) }));
  sortFindings(findings);
  return {
    snapshot: first?.snapshot ?? { tenant: snapshot.Meta.tenant ?? null },
    classes,
    decided,
    milliseconds: Math.round(performance.now() - started),
    findings,
    bypasses: findings.filter((finding) => finding.kind === 'bypass').reduce((sum, finding) => sum + finding.classes, 0),
    brokenLegitimate: findings.filter((finding) => finding.kind === 'broken-legitimate').reduce((sum, finding) => sum + finding.classes, 0),
    limits: [
      ...(first?.limits ?? []),
      ...limits,
      `searched under ${sets.length} combination(s) of ${relevant.map((entry) => entry.id).join(', ') || 'no relied-on assumption'}`,
      ...(stopped && !first?.stopped ? ['the search was stopped before it went through every combination: this is not a proof, and no finding is labelled with the values it needs'] : []),
    ],
    assumptionSets: sets.map(partial),
    ...(stopped ? { stopped } : {}),
  };
}
