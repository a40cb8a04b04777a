/**
 * The stages of one decision, in EOP's order: connection → connector match → connection filter → per recipient
 * (attribution → RejectDirectSend → Partner restriction) → DATA (From header, header firewall) → transport rules →
 * authentication (Enhanced Filtering, DMARC, Honor DMARC and spoof per recipient's anti-phishing policy, tenant
 * allows) → disposition. Each stage reads the compiled tables (compile.ts) and the decision so far, and writes its
 * trace steps only when the decision is traced: the fast path builds no trace text. Every trace step cites its sources
 * in eop-behaviour.md; every undocumented behaviour is a named assumption (assumptions.ts) and is recorded when used.
 */
import { InputError } from '../errors.js';
import { addressInHeader, domainOf } from './addresses.js';
import { ASSUMPTIONS, type AssumptionId } from './assumptions.js';
import {
  antiPhishSettings,
  antiSpoofDecision,
  authenticationResultsHeader,
  efcAppliesTo,
  enhancedFiltering,
  evaluateAuthentication,
  evaluatedSource,
} from './authentication.js';
import { certificateNames, matchCertificateName } from './certificate.js';
import type { AcceptedMatch, CertificateFacts, ClientFacts, CompiledTables, HeaderFrom, RecipientFacts, RestrictingInfo, SenderFacts } from './compile.js';
import type { HeaderValue, RecipientHits, RuleFacts, SenderHits } from './compiled-rules.js';
import { compiledIpList, findInList, parseIp, type IpAddress } from './ip.js';
import { addressText, ipObject, type ClientAddress } from './ip-table.js';
import { MAX_RECIPIENTS_PER_TRANSACTION, REPLIES, fillReply, type ReplyText } from './replies.js';
import type { RuleContext } from './rule-predicates.js';
import { evaluateTransportRules } from './rules.js';
import type { AuthAs, ConnectorMatch, HeaderField, RecipientResult, Reply, Stage, TraceStep, Transaction, Verdict } from './types.js';

/** Normalises the transaction's headers to a list of fields. */
export function headerFields(headers: Transaction['headers']): HeaderField[] {
  if (!headers) return [];
  if (typeof headers === 'string') {
    throw new InputError('a raw header block must be parsed first: pass it through parseHeaderBlock()', { where: 'headers' });
  }
  if (Array.isArray(headers)) return headers.map((field) => ({ name: field.name, value: field.value }));
  const fields: HeaderField[] = [];
  for (const [name, value] of Object.entries(headers)) {
    for (const item of Array.isArray(value) ? value : [value]) fields.push({ name, value: String(item) });
  }
  return fields;
}

/** Organisation headers that EOP's header firewall removes from mail that is not authenticated as internal (S33). */
const ORGANIZATION_PREFIX = 'x-ms-exchange-organization-';
const AUTH_AS = 'x-ms-exchange-organization-authas';

const ASSUMPTION_BIT: Readonly<Record<string, number>> = Object.freeze(Object.fromEntries(ASSUMPTIONS.map((entry, index) => [entry.id, 1 << index])));
/** Assumption ids in the order a verdict lists them (sorted). */
const SORTED_IDS = ASSUMPTIONS.map((entry) => entry.id as string).sort();
const SORTED_BITS = SORTED_IDS.map((id) => ASSUMPTION_BIT[id] as number);
const bitOf = (id: AssumptionId): number => ASSUMPTION_BIT[id] as number;
/** The bit of each assumption a stage records by name (a constant: `d.used |= USE_…` costs no lookup per decision). */
const USE_ACCEPTED_SUBDOMAINS = bitOf('accepted-subdomains');
const USE_ATTRIBUTION_REJECT_ORDER = bitOf('attribution-reject-order');
const USE_ATTRIBUTION_REJECT_STAGE = bitOf('attribution-reject-stage');
const USE_AUDIT_MODE_STOP = bitOf('audit-mode-stop');
const USE_CERTIFICATE_WILDCARD = bitOf('certificate-wildcard');
const USE_CONNECTOR_PRECEDENCE = bitOf('connector-precedence');
const USE_DMARC_REJECT_STAGE = bitOf('dmarc-reject-stage');
const USE_IP_BLOCK_LIST = bitOf('ip-block-list');
const USE_PARTNER_AUTHAS = bitOf('partner-authas');
const USE_REQUIRE_TLS_WITHOUT_TLS = bitOf('require-tls-without-tls');
const USE_RESTRICTION_SATISFIED_BY = bitOf('restriction-satisfied-by');
const USE_RULE_REJECT_STAGE = bitOf('rule-reject-stage');

export function reply(action: 'accept' | 'reject', stage: Stage, text: ReplyText, values: Record<string, string> = {}): Reply {
  return { action, stage, code: text.code, enhanced: text.enhanced, text: fillReply(text.text, values) };
}

const RECIPIENT_OK = reply('accept', 'rcpt', REPLIES.recipientOk);
const TOO_MANY = reply('reject', 'rcpt', REPLIES.tooManyRecipients);
const QUEUED = reply('accept', 'data', REPLIES.queued);
const NO_FROM = reply('reject', 'data', REPLIES.noFromHeader);
const BY_STAGE = (text: ReplyText) => ({ rcpt: reply('reject', 'rcpt', text), data: reply('reject', 'data', text) });
const RELAY_DENIED = BY_STAGE(REPLIES.relayDenied);
const DIRECT_SEND = BY_STAGE(REPLIES.directSendRejected);
const PARTNER_RESTRICTED = BY_STAGE(REPLIES.partnerConnectorRestricted);

/** A connector that matched the connection. */
export interface Candidate {
  connector: CompiledTables['connectors']['list'][number]['connector'];
  index: number;
  /** Matched by the client address. */
  byIp: boolean;
  /** The SenderIPAddresses entry that holds the address (traced decisions only). */
  ipText: string | null;
  /** The certificate name that satisfied TlsSenderCertificateName, or null. */
  certificate: string | null;
}

/** An empty list shared by decisions until they have entries (read only: a stage that adds makes its own). */
const NO_NAMES = Object.freeze([]) as unknown as string[];
const NO_REPLIES = Object.freeze([]) as unknown as Reply[];
const NO_FIELDS = Object.freeze([]) as unknown as HeaderField[];
const NO_ADDRESS: ClientAddress = { family: 'ipv4', v4: 0, v6: '', input: '', written: '' };
const NO_CLIENT: ClientFacts = { address: NO_ADDRESS, byIp: null, blockedBy: -1 };
const NO_SENDER: SenderFacts = { mailFrom: '', envelope: '', envelopeDomain: null, envelopeInternal: false, domain: null, accepted: null, restricting: [], covered: new Uint8Array(0), ruleHits: [] };
const NO_RECIPIENTS = Object.freeze([]) as unknown as RecipientFacts[];
const NO_RECIPIENT_HITS: readonly RecipientHits[] = Object.freeze([]);
const NO_POSITIONS: readonly number[] = Object.freeze([]);
/** No connector matched: shared by decisions until one does (read only). */
const NO_CANDIDATES = Object.freeze([]) as unknown as Candidate[];

/** One decision in progress: what the stages have found so far. */
export class Decision {
  // Fields are assigned in the constructor (`declare`): defining class fields costs more, and one Decision is made
  // per verdict.
  declare readonly tables: CompiledTables;
  declare readonly transaction: Transaction;
  declare readonly trace: TraceStep[] | null;
  declare used: number;
  declare address: ClientAddress;
  /** The client address, MAIL FROM, recipients and certificate with what the tables say of them (connection()). */
  declare client: ClientFacts;
  declare sender: SenderFacts;
  declare recipientFacts: RecipientFacts[];
  declare certificate: CertificateFacts | null;
  declare private ip: IpAddress | null;
  declare mailFrom: string;
  declare senderDomain: string | null;
  declare tls: boolean;
  declare certificateNames: string[];
  declare recipientDomains: string[];
  declare candidates: Candidate[];
  declare chosen: Candidate | null;
  declare connector: ConnectorMatch | null;
  declare authAs: AuthAs;
  declare blockListReject: Reply | null;
  declare blockListDrop: boolean;
  declare senderAccepted: AcceptedMatch | null;
  /** Per recipient: its reply. */
  declare replies: Reply[];
  declare relayed: string[];
  declare acceptedRecipients: string[];
  declare acceptedDomains: string[];
  /** The accepted recipients' facts, parallel to acceptedDomains. */
  declare acceptedFacts: RecipientFacts[];
  /** DATA: the header fields as given, the header From address. */
  declare given: readonly HeaderField[];
  declare headerFrom: string | null;
  declare headerFromDomain: string | null;
  declare headerFromInternal: boolean;
  /** The header From's address, domain and rule hits as remembered per value (null without one). */
  declare headerFromFacts: HeaderFrom | null;
  declare scl: number | null;
  declare rules: Verdict['rules'];
  declare incompleteReasons: string[] | null;
  declare authentication: Verdict['authentication'];
  /** Set by runStagesEach: the authentication input this copy decides with, instead of the transaction's. */
  declare authenticationInstead: { input: Transaction['authentication'] } | null;
  declare addedHeaders: Verdict['addedHeaders'];
  declare authDisposition: 'quarantine' | 'junk' | null;

  constructor(tables: CompiledTables, transaction: Transaction, traced: boolean) {
    this.tables = tables;
    this.transaction = transaction;
    this.trace = traced ? [] : null;
    this.used = 0;
    this.address = NO_ADDRESS;
    this.client = NO_CLIENT;
    this.sender = NO_SENDER;
    this.recipientFacts = NO_RECIPIENTS;
    this.certificate = null;
    this.ip = null;
    this.mailFrom = '';
    this.senderDomain = null;
    this.tls = false;
    this.certificateNames = NO_NAMES;
    this.recipientDomains = NO_NAMES;
    this.candidates = NO_CANDIDATES;
    this.chosen = null;
    this.connector = null;
    this.authAs = 'Anonymous';
    this.blockListReject = null;
    this.blockListDrop = false;
    this.senderAccepted = null;
    this.replies = NO_REPLIES;
    this.relayed = NO_NAMES;
    this.acceptedRecipients = NO_NAMES;
    this.acceptedDomains = NO_NAMES;
    this.acceptedFacts = NO_RECIPIENTS;
    this.given = NO_FIELDS;
    this.headerFrom = null;
    this.headerFromDomain = null;
    this.headerFromInternal = false;
    this.headerFromFacts = null;
    this.scl = null;
    this.rules = [];
    this.incompleteReasons = null;
    this.authentication = undefined;
    this.addedHeaders = undefined;
    this.authDisposition = null;
    this.authenticationInstead = null;
  }

  /** The authentication input: the transaction's, or the one runStagesEach gives this copy. */
  authenticationInput(): Transaction['authentication'] {
    return this.authenticationInstead === null ? this.transaction.authentication : this.authenticationInstead.input;
  }


  use(id: AssumptionId): void {
    this.used |= ASSUMPTION_BIT[id] as number;
  }

  /** Marks the verdict as not final: part of the decision was not evaluated or is not emulated (the reason says which). */
  markIncomplete(reason: string): void {
    const reasons = (this.incompleteReasons ??= []);
    if (!reasons.includes(reason)) reasons.push(reason);
  }

  /** The client address as ipaddr.js reads it (for the functions that take one). */
  ipAddress(): IpAddress {
    return (this.ip ??= ipObject(this.address));
  }

  get stage(): 'rcpt' | 'data' {
    return this.tables.assumptions['attribution-reject-stage'];
  }
}

// ── Connection ──────────────────────────────────────────────────────────────────────────────────────

/** Reads and checks the transaction: client address, MAIL FROM, recipients, TLS and the certificate's names. */
export function connection(d: Decision): void {
  const transaction = d.transaction;
  const tables = d.tables;
  const client = tables.clientFacts(String(transaction.clientIp ?? ''));
  if (!client) throw new InputError(`"${String(transaction.clientIp)}" is not an IPv4 or IPv6 address`, { where: 'clientIp' });
  if (typeof transaction.mailFrom !== 'string') {
    throw new InputError('mailFrom is required ("" for the null sender)', { where: 'mailFrom' });
  }
  const rcptTo = transaction.rcptTo;
  if (!Array.isArray(rcptTo) || rcptTo.length === 0) {
    throw new InputError('at least one recipient is required', { where: 'rcptTo' });
  }
  const domains: string[] = new Array(rcptTo.length);
  const recipients: RecipientFacts[] = new Array(rcptTo.length);
  for (let index = 0; index < rcptTo.length; index++) {
    const recipient = rcptTo[index];
    const facts = typeof recipient === 'string' ? tables.recipientFacts(recipient) : null;
    if (facts === null) throw new InputError(`"${String(recipient)}" is not an email address`, { where: `rcptTo[${index}]` });
    domains[index] = facts.domain;
    recipients[index] = facts;
  }
  d.client = client;
  d.address = client.address;
  d.recipientDomains = domains;
  d.recipientFacts = recipients;
  const sender = tables.senderFacts(transaction.mailFrom);
  d.sender = sender;
  d.mailFrom = sender.mailFrom;
  d.senderDomain = sender.domain;
  d.tls = transaction.tls !== undefined && transaction.tls !== null;
  const certificate = transaction.tls?.certificate;
  if (certificate) {
    // Remembered per certificate: by its subject alone, or by subject and SANs (JSON, so no two certificates share a
    // key); and per certificate object, for callers that give the same one again (a proof's classes do).
    const caches = tables.certificateNameCache;
    let facts = caches.byObject.get(certificate);
    if (!facts) {
      const withSan = certificate.san !== undefined && certificate.san.length > 0;
      const cache = withSan ? caches.withSan : caches.bySubject;
      const key = withSan ? JSON.stringify([certificate.subject, certificate.san]) : certificate.subject;
      facts = cache.get(key);
      if (!facts) {
        const names = certificateNames(certificate);
        facts = { names, positions: certificatePositions(tables, names), matches: [] };
        if (cache.size > 10_000) cache.clear();
        cache.set(key, facts);
      }
      caches.byObject.set(certificate, facts);
    }
    d.certificate = facts;
    d.certificateNames = facts.names;
  }
  if (d.trace) {
    d.trace.push({
      step: 'connection',
      detail:
        `${client.address.family === 'ipv6' ? 'IPv6' : 'IPv4'} client ${addressText(client.address)}` +
        `${transaction.helo ? ` (HELO ${transaction.helo})` : ''}, ` +
        (d.tls ? (certificate ? `TLS with certificate [${d.certificateNames.join(', ')}]` : 'TLS without a client certificate') : 'no TLS') +
        `, MAIL FROM <${d.mailFrom}>, ${rcptTo.length} recipient(s)`,
      sources: ['S3', 'S16'],
    });
  }
}

// ── Connector match ─────────────────────────────────────────────────────────────────────────────────

/** Connector positions filed under a certificate name, or under a wildcard base the name lies at or below (ascending, each once). */
function certificatePositions(tables: CompiledTables, names: readonly string[]): number[] {
  const table = tables.connectors.certificates;
  const into: number[] = [];
  for (const name of names) {
    for (const position of table.exact.get(name) ?? []) into.push(position);
    if (name.startsWith('*.') || table.base.size === 0) continue;
    for (const position of table.base.get(name) ?? []) into.push(position);
    for (let dot = name.indexOf('.'); dot >= 0; dot = name.indexOf('.', dot + 1)) {
      if (!table.baseLengths.has(name.length - dot - 1)) continue;
      for (const position of table.base.get(name.slice(dot + 1)) ?? []) into.push(position);
    }
  }
  return [...new Set(into)].sort((a, b) => a - b);
}

/** The union of two ascending lists of positions, ascending, each once. */
function union(a: readonly number[], b: readonly number[]): readonly number[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = i < a.length ? (a[i] as number) : Infinity;
    const y = j < b.length ? (b[j] as number) : Infinity;
    if (x <= y) {
      out.push(x);
      i++;
      if (x === y) j++;
    } else {
      out.push(y);
      j++;
    }
  }
  return out;
}

/** Whether a connector's SenderDomains cover the MAIL FROM domain, remembered per sender and connector. */
function covers(d: Decision, position: number, senderDomains: CompiledTables['connectors']['list'][number]['senderDomains']): boolean {
  const sender = d.sender;
  const known = sender.covered[position];
  if (known !== undefined && known !== 0) return known === 2;
  const answer = senderDomains.covers(d.senderDomain);
  if (known !== undefined) sender.covered[position] = answer ? 2 : 1;
  return answer;
}

/** matchCertificateName() for a connector and the presented certificate, remembered per certificate and connector. */
function certificateMatch(d: Decision, position: number, configured: string): string | null {
  const facts = d.certificate;
  if (facts === null) return matchCertificateName(configured, d.certificateNames, d.tables.assumptions);
  let answer = facts.matches[position];
  if (answer === undefined) answer = facts.matches[position] = matchCertificateName(configured, facts.names, d.tables.assumptions);
  return answer;
}

/** A candidate's rank under `connector-precedence` (lower wins; ties go to the connector listed first). */
function precedence(candidate: Candidate, mode: CompiledTables['assumptions']['connector-precedence']): number {
  if (mode === 'config-order') return 0;
  if (mode === 'certificate-first') return candidate.certificate !== null ? 0 : 1;
  return candidate.byIp ? 0 : 1;
}

/**
 * Every enabled connector that matches the connection by IP or certificate (S7, S9, S11), a Partner connector only
 * when its SenderDomains cover the MAIL FROM domain (and with RequireTls, assumption `require-tls-without-tls`); the
 * one used is picked by assumption `connector-precedence`. Then AuthAs (S33): Internal through an OnPremises
 * connector, `partner-authas` through a Partner one, Anonymous without.
 */
export function connectorMatch(d: Decision): void {
  const connectors = d.tables.connectors;
  const assumptions = d.tables.assumptions;
  const trace = d.trace;
  const names = d.certificateNames;
  if (connectors.wildcard && names.length > 0) d.used |= USE_CERTIFICATE_WILDCARD;
  const byIp = d.client.byIp;
  let positions: readonly number[] = byIp ?? NO_POSITIONS;
  if (d.tls && d.certificate !== null) positions = union(positions, d.certificate.positions);
  if (trace) positions = union(positions, connectors.disabled);
  let candidates: Candidate[] = NO_CANDIDATES;
  for (let at = 0; at < positions.length; at++) {
    const position = positions[at] as number;
    const { connector, senderDomains } = connectors.list[position] as CompiledTables['connectors']['list'][number];
    if (!connector.Enabled) {
      trace?.push({ step: 'connector', detail: `"${connector.Name}" is disabled: ignored`, sources: ['S7', 'S8'] });
      continue;
    }
    const ip = byIp !== null && byIp.includes(position);
    const certificate = d.tls && connector.TlsSenderCertificateName ? certificateMatch(d, position, connector.TlsSenderCertificateName) : null;
    if (!ip && !certificate) continue;
    const ipText = ip && trace ? (findInList(compiledIpList(connector.SenderIPAddresses), d.ipAddress())?.text ?? null) : null;
    if (connector.ConnectorType === 'Partner') {
      if (!covers(d, position, senderDomains)) {
        trace?.push({
          step: 'connector',
          detail: `"${connector.Name}" matched by ${ip ? `IP ${ipText}` : `certificate ${certificate}`} but its SenderDomains (${connector.SenderDomains.join(', ') || 'none'}) do not cover the sender domain ${d.senderDomain ?? '<> (null sender)'}`,
          sources: ['S7', '§3.1'],
        });
        continue;
      }
      if (connector.RequireTls && !d.tls) {
        d.used |= USE_REQUIRE_TLS_WITHOUT_TLS;
        if (assumptions['require-tls-without-tls'] === 'connector-not-matched') {
          trace?.push({
            step: 'connector',
            detail: `"${connector.Name}" requires TLS and the connection has none: not matched`,
            sources: ['S7', '§3.1'],
            assumptions: ['require-tls-without-tls'],
          });
          continue;
        }
      }
    }
    if (candidates === NO_CANDIDATES) candidates = [];
    candidates.push({ connector, index: position, byIp: ip, ipText, certificate });
  }
  d.candidates = candidates;

  if (candidates.length === 0) {
    trace?.push({ step: 'connector', detail: 'no inbound connector matches by sender IP or certificate: the message is anonymous', sources: ['S1', 'S2', '§1.4'] });
  } else {
    const mode = assumptions['connector-precedence'];
    if (candidates.length > 1) d.used |= USE_CONNECTOR_PRECEDENCE;
    let best = candidates[0] as Candidate;
    for (const candidate of candidates) if (precedence(candidate, mode) < precedence(best, mode)) best = candidate;
    const matchedBy: 'ip' | 'certificate' = mode === 'ip-first' ? (best.byIp ? 'ip' : 'certificate') : best.certificate ? 'certificate' : 'ip';
    d.chosen = best;
    d.connector = { name: best.connector.Name, type: best.connector.ConnectorType, matchedBy };
    if (trace) {
      trace.push({
        step: 'connector',
        detail:
          `matched ${best.connector.ConnectorType} connector "${best.connector.Name}" by ` +
          (matchedBy === 'ip' ? `IP (${best.ipText})` : `certificate (${best.certificate})`) +
          (candidates.length > 1
            ? `; ${candidates.length - 1} other connector(s) also matched: ${candidates
                .filter((candidate) => candidate !== best)
                .map((candidate) => `"${candidate.connector.Name}"`)
                .join(', ')}`
            : ''),
        sources: ['S7', 'S9', 'S11', '§3.2'],
        ...(candidates.length > 1 ? { assumptions: ['connector-precedence'] } : {}),
      });
    }
  }
  if (trace) {
    for (const ignored of connectors.ineffective) {
      trace.push({
        step: 'connector',
        detail: `"${ignored.Name}" is an OnPremises connector: its RestrictDomainsTo* setting is never enforced`,
        sources: ['S9', '§3.1', '§11.7'],
      });
    }
  }

  const type = d.connector?.type;
  if (type === 'OnPremises') d.authAs = 'Internal';
  else if (type === 'Partner') {
    d.authAs = assumptions['partner-authas'];
    d.used |= USE_PARTNER_AUTHAS;
  }
  trace?.push({
    step: 'auth-as',
    detail: `X-MS-Exchange-Organization-AuthAs: ${d.authAs}`,
    sources: type === 'Partner' ? ['S33', '§1.4'] : ['S33', 'S34', 'S35', '§1.4'],
    ...(type === 'Partner' ? { assumptions: ['partner-authas'] } : {}),
  });
}

// ── Connection filter ───────────────────────────────────────────────────────────────────────────────

/** The IP Block List (S30): an address on it and not on the IP Allow List is refused or dropped (`ip-block-list`). */
export function connectionFilter(d: Decision): void {
  const filters = d.tables.filters;
  if (filters.length === 0) return;
  // Untraced, start at the filter that blocks (found once per address); traced, visit each for its trace.
  const start = d.trace ? 0 : d.client.blockedBy;
  if (start < 0) return;
  const assumptions = d.tables.assumptions;
  for (let index = start; index < filters.length; index++) {
    const filter = filters[index] as CompiledTables['filters'][number];
    if (!filter.block.has(d.address)) continue;
    if (filter.allow.has(d.address)) {
      if (d.trace) {
        d.trace.push({
          step: 'connection-filter',
          detail: `${addressText(d.address)} is on both the IP Allow List (${findInList(filter.allowList, d.ipAddress())?.text}) and the IP Block List (${findInList(filter.blockList, d.ipAddress())?.text}): allow wins`,
          sources: ['S30', '§6.6'],
        });
      }
      continue;
    }
    d.used |= USE_IP_BLOCK_LIST;
    if (assumptions['ip-block-list'] === 'reject') {
      d.blockListReject = reply('reject', d.stage, REPLIES.customerBlockList, {
        ip: addressText(d.address),
        domain: domainOf(d.transaction.rcptTo[0] ?? '') ?? '',
      });
      d.used |= USE_ATTRIBUTION_REJECT_STAGE;
    } else d.blockListDrop = true;
    d.trace?.push({
      step: 'connection-filter',
      detail: `${addressText(d.address)} is on the IP Block List (${findInList(filter.blockList, d.ipAddress())?.text}) of "${filter.name}": ${
        d.blockListReject ? 'rejected (not visible in message trace)' : 'silently dropped'
      }`,
      sources: ['S30', 'S32', '§6.6'],
      assumptions: ['ip-block-list'],
    });
    break;
  }
}

// ── Per recipient ───────────────────────────────────────────────────────────────────────────────────

/**
 * Tenant attribution (S3, S13, S16, S50): a recipient in an accepted domain is attributed to the tenant (null: go on);
 * another is relayed through an OnPremises connector when the certificate or MAIL FROM domain is accepted (S13), or
 * refused with 5.7.64.
 */
export function attribution(d: Decision, recipient: string, recipientDomain: string, recipientAccepted: AcceptedMatch | null = d.tables.accepted.find(recipientDomain)): Reply | null {
  const accepted = d.tables.accepted;
  if (recipientAccepted?.viaSubdomain) d.used |= USE_ACCEPTED_SUBDOMAINS;
  if (!recipientAccepted) {
    const onPremises = d.chosen?.connector.ConnectorType === 'OnPremises';
    const certAccepted = onPremises && d.certificateNames.some((name) => accepted.find(name) !== null);
    if (onPremises && (certAccepted || d.senderAccepted)) {
      if (d.relayed === NO_NAMES) d.relayed = [];
      d.relayed.push(recipient);
      d.trace?.push({
        step: 'attribution',
        detail: `${recipient}: ${recipientDomain} is not an accepted domain; relayed to the internet through OnPremises connector "${d.connector?.name}" (${certAccepted ? 'certificate domain' : 'MAIL FROM domain'} is accepted)`,
        sources: ['S13', '§1.3'],
      });
      return RECIPIENT_OK;
    }
    d.used |= USE_ATTRIBUTION_REJECT_STAGE;
    d.trace?.push({
      step: 'attribution',
      detail:
        `${recipient}: ${recipientDomain} is not an accepted domain of this tenant` +
        (onPremises ? ' and neither the certificate nor the MAIL FROM domain is accepted, so relay is denied' : '') +
        ': 550 5.7.64',
      sources: ['S3', 'S13', 'S50', '§1.3', '§9'],
      assumptions: ['attribution-reject-stage'],
    });
    return RELAY_DENIED[d.stage];
  }
  d.trace?.push({
    step: 'attribution',
    detail: `${recipient}: ${recipientDomain} is accepted (${recipientAccepted.domain.DomainName}, ${recipientAccepted.domain.DomainType}${recipientAccepted.viaSubdomain ? ', as a subdomain' : ''}): attributed to this tenant`,
    sources: ['S3', 'S16', '§1.3'],
    ...(recipientAccepted.viaSubdomain ? { assumptions: ['accepted-subdomains'] } : {}),
  });
  return null;
}

/** RejectDirectSend (S1, S2): on, no connector matched by IP or certificate, and the MAIL FROM domain accepted → 5.7.68. */
export function rejectDirectSend(d: Decision): Reply | null {
  if (!d.tables.rejectDirectSend) return null;
  const rejected = !d.chosen && d.senderAccepted ? DIRECT_SEND[d.stage] : null;
  d.trace?.push({
    step: 'reject-direct-send',
    detail: rejected
      ? `RejectDirectSend is on, MAIL FROM domain ${d.senderDomain} is accepted and no connector matched by IP or certificate: 550 5.7.68 (the From header is not checked)`
      : d.chosen
        ? `RejectDirectSend is on but connector "${d.chosen.connector.Name}" matched: not applied`
        : `RejectDirectSend is on but the MAIL FROM domain ${d.senderDomain ?? '<> (null sender)'} is not accepted: not applied (the From header is not checked)`,
    sources: ['S1', 'S2', 'S3', '§2.1'],
  });
  return rejected;
}

/** True when the message satisfies a restricting connector by the method it restricts to. */
function satisfies(info: RestrictingInfo, candidates: readonly Candidate[]): boolean {
  for (let index = 0; index < candidates.length; index++) {
    const candidate = candidates[index] as Candidate;
    if (candidate.index !== info.position) continue;
    const connector = info.connector;
    return (connector.RestrictDomainsToIPAddresses && candidate.byIp) || (connector.RestrictDomainsToCertificate && candidate.certificate !== null);
  }
  return false;
}

function describeRestriction(connectors: readonly RestrictingInfo[]): string {
  const ip = connectors.some(({ connector }) => connector.RestrictDomainsToIPAddresses);
  const cert = connectors.some(({ connector }) => connector.RestrictDomainsToCertificate);
  return ip && cert ? 'IP addresses or certificate' : ip ? 'IP addresses' : 'certificate';
}

/**
 * The Partner-connector restriction (S3, S9, S10): an enabled Partner connector with RestrictDomainsTo*, whose
 * SenderDomains cover the sender and AssociatedAcceptedDomains (when set) the recipient, refuses with 5.7.51 mail
 * that did not arrive from its addresses or certificate (or, by assumption `restriction-satisfied-by`, from any
 * matched connector).
 */
export function partnerRestriction(d: Decision, recipientDomain: string): Reply | null {
  const restricting = d.tables.connectors.restricting;
  if (restricting.length === 0) return null;
  let applies = false;
  let own: RestrictingInfo | null = null;
  const covering = d.sender !== NO_SENDER ? d.sender.restricting : d.tables.restrictingFor(d.senderDomain);
  for (let index = 0; index < covering.length; index++) {
    const info = covering[index] as RestrictingInfo;
    if (info.associated !== null && !info.associated.has(recipientDomain)) continue;
    applies = true;
    if (satisfies(info, d.candidates)) {
      own = info;
      break;
    }
  }
  if (!applies) return null;
  d.used |= USE_RESTRICTION_SATISFIED_BY;
  const satisfied = own !== null || (d.tables.assumptions['restriction-satisfied-by'] === 'any-connector' && d.chosen !== null);
  if (d.trace) {
    const applicable = restricting.filter((info) => info.senderDomains.covers(d.senderDomain) && (info.associated === null || info.associated.has(recipientDomain)));
    const names = applicable.map((info) => `"${info.connector.Name}"`).join(', ');
    d.trace.push({
      step: 'partner-restriction',
      detail: satisfied
        ? own
          ? `restricting Partner connector "${own.connector.Name}" is satisfied`
          : `restricting Partner connector(s) ${names} apply, and the message matched connector "${d.connector?.name}": attributed, not restricted`
        : `restricting Partner connector(s) ${names} cover this recipient and the message did not arrive from their ${describeRestriction(applicable)}: 550 5.7.51`,
      sources: ['S3', 'S9', 'S10', '§3.3'],
      assumptions: ['restriction-satisfied-by'],
    });
  }
  return satisfied ? null : PARTNER_RESTRICTED[d.stage];
}

/** Each recipient's reply: the recipient limit, the block list, then attribution, RejectDirectSend and the restriction. */
export function recipientReplies(d: Decision): void {
  const rcptTo = d.transaction.rcptTo;
  d.senderAccepted = d.sender !== NO_SENDER ? d.sender.accepted : d.tables.accepted.find(d.senderDomain);
  if (d.senderAccepted?.viaSubdomain) d.used |= USE_ACCEPTED_SUBDOMAINS;
  const facts = d.recipientFacts;
  const replies: Reply[] = new Array(rcptTo.length);
  for (let index = 0; index < rcptTo.length; index++) {
    const recipient = rcptTo[index] as string;
    const domain = d.recipientDomains[index] as string;
    let answer: Reply;
    if (index >= MAX_RECIPIENTS_PER_TRANSACTION) answer = TOO_MANY;
    else if (d.blockListReject) answer = d.blockListReject;
    else {
      const attributed = attribution(d, recipient, domain, (facts[index] as RecipientFacts).accepted);
      if (attributed) answer = attributed;
      else {
        const directSend = rejectDirectSend(d);
        const restricted = partnerRestriction(d, domain);
        if (directSend && restricted) {
          d.used |= USE_ATTRIBUTION_REJECT_ORDER;
          answer = d.tables.assumptions['attribution-reject-order'] === 'direct-send-first' ? directSend : restricted;
          d.trace?.push({ step: 'attribution', detail: `both 5.7.68 and 5.7.51 apply; replying ${answer.enhanced}`, sources: ['§12'], assumptions: ['attribution-reject-order'] });
          d.used |= USE_ATTRIBUTION_REJECT_STAGE;
        } else if (directSend || restricted) {
          d.used |= USE_ATTRIBUTION_REJECT_STAGE;
          answer = (directSend ?? restricted) as Reply;
        } else answer = RECIPIENT_OK;
      }
    }
    replies[index] = answer;
    if (answer.action === 'accept') {
      if (d.acceptedRecipients === NO_NAMES) {
        d.acceptedRecipients = [];
        d.acceptedDomains = [];
        d.acceptedFacts = [];
      }
      d.acceptedRecipients.push(recipient);
      d.acceptedDomains.push(domain);
      const recipientFacts = facts[index];
      if (recipientFacts !== undefined) d.acceptedFacts.push(recipientFacts);
    }
  }
  d.replies = replies;
}

// ── DATA ────────────────────────────────────────────────────────────────────────────────────────────

/** The From header (S49: 5.7.512 without a valid one, when headers are given). Null: go on. */
export function data(d: Decision): Reply | null {
  const headers = d.transaction.headers;
  const given = Array.isArray(headers) ? (headers as HeaderField[]) : headerFields(headers);
  d.given = given;
  let fromHeader: HeaderField | undefined;
  for (let index = 0; index < given.length; index++) {
    const field = given[index] as HeaderField;
    if (field.name.length === 4 && field.name.toLowerCase() === 'from') {
      fromHeader = field;
      break;
    }
  }
  const from = fromHeader ? headerFromAddress(d, fromHeader.value) : null;
  const headerFrom = from ? from.address : null;
  if (headers !== undefined && given.length > 0 && (!fromHeader || !headerFrom)) {
    d.trace?.push({ step: 'data', detail: 'the message has no valid From header: 550 5.7.512', sources: ['S49', '§9'] });
    return NO_FROM;
  }
  d.headerFrom = headerFrom;
  d.headerFromDomain = from ? from.domain : null;
  d.headerFromInternal = from ? from.internal : false;
  d.headerFromFacts = from;
  if (d.trace && d.authAs !== 'Internal') {
    const stripped = given.filter((field) => field.name.toLowerCase().startsWith(ORGANIZATION_PREFIX));
    if (stripped.length > 0) {
      d.trace.push({
        step: 'header-firewall',
        detail: `removed ${stripped.length} X-MS-Exchange-Organization-* header(s) supplied by the sender: ${stripped.map((field) => field.name).join(', ')}`,
        sources: ['S33', '§1.4'],
      });
    }
  }
  return null;
}

/** addressInHeader() and domainOf() it, remembered per header value. */
function headerFromAddress(d: Decision, value: string): HeaderFrom {
  const made = (address: string | null): HeaderFrom => {
    const domain = address !== null ? domainOf(address) : null;
    return { address, domain, internal: d.tables.accepted.internal(domain), ruleHits: [] };
  };
  if (typeof value !== 'string') return made(addressInHeader(value));
  const memo = d.tables.headerFromAddress;
  return memo.get(value) ?? memo.set(value, made(addressInHeader(value)));
}

/** The headers after the header firewall (S33): organisation headers from outside removed, AuthAs stamped. */
export function firewalledHeaders(d: Decision): HeaderField[] {
  const internal = d.authAs === 'Internal';
  const out: HeaderField[] = [];
  for (const field of d.given) {
    const name = field.name.toLowerCase();
    if (name === AUTH_AS || (!internal && name.startsWith(ORGANIZATION_PREFIX))) continue;
    out.push({ name: field.name, value: field.value });
  }
  out.push({ name: 'X-MS-Exchange-Organization-AuthAs', value: d.authAs });
  return out;
}

function ruleContext(d: Decision): RuleContext {
  return {
    clientIp: d.ipAddress(),
    clientIpText: addressText(d.address),
    mailFrom: d.mailFrom.toLowerCase(),
    headerFrom: d.headerFrom,
    recipients: d.acceptedRecipients,
    headers: firewalledHeaders(d),
    authAs: d.authAs,
    acceptedDomains: d.tables.snapshot.AcceptedDomain,
    assumptions: d.tables.assumptions,
    attachments: d.transaction.attachments,
  };
}

/** What the compiled rules read of this message (compiled-rules.ts), built without closures: it runs per message. */
class MessageFacts implements RuleFacts {
  declare readonly address: ClientAddress;
  declare readonly envelope: string;
  declare readonly headerFrom: string | null;
  declare readonly envelopeDomain: string | null;
  declare readonly headerFromDomain: string | null;
  declare readonly envelopeInternal: boolean;
  declare readonly headerFromInternal: boolean;
  declare readonly envelopeHits: SenderHits;
  declare readonly headerFromHits: SenderHits;
  declare readonly recipientHits: readonly RecipientHits[];
  declare readonly authAs: AuthAs;
  declare readonly recipients: readonly string[];
  declare readonly recipientDomains: readonly (string | null)[];
  declare readonly headers: (HeaderValue[] | undefined)[];
  declare readonly attachments: Transaction['attachments'];
  declare private readonly d: Decision;
  declare private full: RuleContext | null;

  constructor(d: Decision) {
    this.d = d;
    this.full = null;
    this.address = d.address;
    const sender = d.sender.mailFrom === d.mailFrom ? d.sender : null;
    this.envelope = sender ? sender.envelope : d.mailFrom.toLowerCase();
    this.envelopeDomain = sender ? sender.envelopeDomain : domainOf(this.envelope);
    this.envelopeInternal = sender ? sender.envelopeInternal : d.tables.accepted.internal(this.envelopeDomain);
    this.headerFrom = d.headerFrom;
    this.headerFromDomain = d.headerFrom === null ? null : (d.headerFromDomain ?? domainOf(d.headerFrom));
    this.headerFromInternal = d.headerFrom === null ? false : d.headerFromDomain !== null ? d.headerFromInternal : d.tables.accepted.internal(this.headerFromDomain);
    // What the rules index finds by these values is kept on their per-value facts; a decision whose fields were set
    // by hand (a test) gets holders of its own.
    this.envelopeHits = sender ?? { ruleHits: [] };
    this.headerFromHits = d.headerFromFacts !== null && d.headerFromFacts.address === d.headerFrom ? d.headerFromFacts : { ruleHits: [] };
    this.recipientHits = d.acceptedFacts.length === d.acceptedDomains.length ? d.acceptedFacts : NO_RECIPIENT_HITS;
    this.authAs = d.authAs;
    this.recipients = d.acceptedRecipients;
    this.recipientDomains = d.acceptedDomains;
    this.attachments = d.transaction.attachments;
    this.headers = [];
    const rules = d.tables.rules;
    if (rules.headerIds.size === 0) return;
    const internal = d.authAs === 'Internal';
    const given = d.given;
    for (let index = 0; index < given.length; index++) {
      const field = given[index] as HeaderField;
      const name = rules.headerName(field.name);
      if (name.id < 0 || name.authAs || (!internal && name.organization)) continue;
      (this.headers[name.id] ??= []).push(rules.headerValue(String(field.value)));
    }
    const stamp = rules.authAsId;
    if (stamp >= 0) (this.headers[stamp] ??= []).push(rules.headerValue(d.authAs));
  }

  internal(address: string): boolean {
    return this.d.tables.internalAddress(address);
  }

  context(): RuleContext {
    return (this.full ??= ruleContext(this.d));
  }
}

/** What a transport rule decided, when it ends the decision. */
export interface Ending {
  reply: Reply;
  disposition: Verdict['disposition'];
}

/**
 * Transport rules (S18–S22): enabled rules in priority order. The fast path runs the compiled rules; a traced
 * decision evaluates them through rules.ts, which writes each rule's reasons.
 */
export function transportRules(d: Decision): Ending | null {
  const assumptions = d.tables.assumptions;
  let outcome;
  if (d.trace) {
    const result = evaluateTransportRules(d.tables.snapshot.TransportRule, ruleContext(d), assumptions);
    d.trace.push(...result.trace);
    for (const id of result.assumptions) d.use(id as AssumptionId);
    d.rules = result.evaluations;
    d.scl = result.scl;
    for (const evaluation of result.evaluations) {
      if (evaluation.matched === null) d.markIncomplete(`transport rule "${evaluation.name}" uses a predicate eoplock does not evaluate (${evaluation.notEvaluated.join(', ')}): its actions are not applied`);
    }
    outcome = result.outcome;
  } else {
    const result = d.tables.rules.run(new MessageFacts(d));
    if (result.auditModeStop) d.used |= USE_AUDIT_MODE_STOP;
    d.rules = result.evaluations;
    d.scl = result.scl;
    for (let index = 0; index < result.notEvaluated.length; index++) {
      const evaluation = result.notEvaluated[index] as Verdict['rules'][number];
      d.markIncomplete(`transport rule "${evaluation.name}" uses a predicate eoplock does not evaluate (${evaluation.notEvaluated.join(', ')}): its actions are not applied`);
    }
    outcome = result.outcome;
  }
  if (outcome.kind === 'reject') {
    d.used |= USE_RULE_REJECT_STAGE;
    const inSession = assumptions['rule-reject-stage'] === 'end-of-data';
    d.trace?.push({
      step: 'rule-reject',
      detail: inSession
        ? `"${outcome.rule}" rejects the message: 550 ${outcome.enhanced} in reply to the end of DATA`
        : `"${outcome.rule}" rejects the message: the session accepts it, then the sender gets an NDR 550 ${outcome.enhanced}`,
      sources: ['S18', 'S49', '§4.2'],
      assumptions: ['rule-reject-stage'],
    });
    return { reply: { action: 'reject', stage: 'data', code: 550, enhanced: outcome.enhanced, text: outcome.text }, disposition: inSession ? 'none' : 'ndr' };
  }
  if (outcome.kind === 'delete') return { reply: QUEUED, disposition: 'delete' };
  if (outcome.kind === 'quarantine') return { reply: QUEUED, disposition: 'quarantine' };
  if (d.blockListDrop) return { reply: QUEUED, disposition: 'delete' };
  return null;
}

// ── Authentication ──────────────────────────────────────────────────────────────────────────────────

/**
 * A tenant allow that overrides DMARC and spoof actions (S26, S32): an Enforce-mode transport rule that set SCL -1,
 * or the connecting IP on the IP Allow List (assumption `ip-allow-list-vs-dmarc`). `by` names the allow that wins;
 * `ignored` names an allow the assumption says does not.
 */
function tenantAllow(d: Decision): { by: string | null; ignored: string | null; assumption: 'ip-allow-list-vs-dmarc' | null } {
  if (d.scl === -1) {
    const rule = [...d.rules].reverse().find((entry) => entry.matched === true && entry.mode === 'Enforce' && /\bset SCL -1\b/.test(entry.actionTaken));
    return { by: `transport rule "${rule?.name ?? '?'}" set SCL -1`, ignored: null, assumption: null };
  }
  for (const filter of d.tables.filters) {
    if (!filter.allow.has(d.address)) continue;
    const what = `${addressText(d.address)} is on the IP Allow List (${findInList(filter.allowList, d.ipAddress())?.text}) of "${filter.name}"`;
    return d.tables.assumptions['ip-allow-list-vs-dmarc'] === 'allow-wins'
      ? { by: what, ignored: null, assumption: 'ip-allow-list-vs-dmarc' }
      : { by: null, ignored: what, assumption: 'ip-allow-list-vs-dmarc' };
  }
  return { by: null, ignored: null, assumption: null };
}

/**
 * Email authentication, when the transaction carries SPF/DKIM results: the evaluated source (Enhanced Filtering,
 * S7, S23), DMARC (RFC 7489), and what each recipient's anti-phishing policy does with a failure (S26's table, S32),
 * a tenant allow winning over it. Returns the ending when Honor DMARC rejects; sets the junk/quarantine disposition.
 */
export function authentication(d: Decision): Ending | null {
  const input = d.authenticationInput();
  if (!input) return null;
  const tables = d.tables;
  const assumptions = tables.assumptions;
  const trace = d.trace;
  const chosen = d.chosen;
  const clientIpText = addressText(d.address);
  const acceptedRecipients = d.acceptedRecipients;
  const fromDomain = d.headerFrom ? domainOf(d.headerFrom) : null;
  const receiver = chosen ? `"${chosen.connector.Name}"` : 'this connection (no connector matched)';
  // Enhanced Filtering (S7, S23): the evaluated source comes from the Received chain; a given evaluatedIp wins.
  const efc = enhancedFiltering(chosen?.connector);
  const efcApplies = efcAppliesTo(efc, acceptedRecipients);
  const fromChain = evaluatedSource(clientIpText, d.given, efc, efcApplies);
  let evaluatedIp = fromChain.ip;
  let skipListed = fromChain.skipListed;
  let sourceDetail: string | null = null;
  if (input.evaluatedIp !== undefined) {
    const explicit = parseIp(String(input.evaluatedIp));
    if (!explicit) throw new InputError(`"${String(input.evaluatedIp)}" is not an IPv4 or IPv6 address`, { where: 'authentication.evaluatedIp' });
    evaluatedIp = explicit.toString();
    skipListed = efcApplies && evaluatedIp !== clientIpText;
    sourceDetail = efcApplies
      ? `the given evaluatedIp ${evaluatedIp} is used (Enhanced Filtering on ${receiver}; from the Received chain: ${fromChain.note})`
      : evaluatedIp === clientIpText
        ? `the given evaluatedIp ${evaluatedIp} is the connecting IP`
        : `the given evaluatedIp ${evaluatedIp} is used, although ${efc.on ? `Enhanced Filtering on ${receiver} does not cover every recipient (EFUsers)` : `no Enhanced Filtering applies on ${receiver}`}: EOP itself would evaluate the connecting IP ${clientIpText}`;
  } else if (efc.on) {
    sourceDetail = `Enhanced Filtering on ${receiver}: ${fromChain.note}`;
    if (!fromChain.resolved) {
      d.markIncomplete(`Enhanced Filtering applies on ${receiver} but the Received chain gives no source that is not skip-listed, so SPF and DMARC for the true source are unknown`);
    }
  }
  if (sourceDetail) trace?.push({ step: 'enhanced-filtering', detail: sourceDetail, sources: ['S7', 'S23', '§5'] });

  // The evaluation reads the input, these four values and the tables only: remembered per input object (a proof and a
  // replayed trace give the same input to many transactions), frozen because verdicts share it.
  const memo = tables.authenticationMemo;
  let id = memo.ids.get(input);
  if (id === undefined) memo.ids.set(input, (id = memo.next++));
  const memoKey = `${id}\u0000${evaluatedIp}\u0000${skipListed ? 1 : 0}\u0000${d.mailFrom}\u0000${fromDomain ?? ''}`;
  let evaluated = memo.entries.get(memoKey);
  if (!evaluated) {
    const outcome = evaluateAuthentication(
      { ...input, evaluatedIp },
      {
        clientIp: clientIpText,
        skipListed,
        mailFrom: d.mailFrom,
        fromDomain,
        acceptedFrom: fromDomain !== null && tables.accepted.find(fromDomain) !== null,
        snapshot: tables.snapshot,
        zones: tables.zones,
      },
    );
    for (const entry of outcome.dkim) Object.freeze(entry);
    Object.freeze(outcome.dkim);
    Object.freeze(outcome.compauth);
    evaluated = memo.entries.set(memoKey, Object.freeze({ outcome: Object.freeze(outcome), header: Object.freeze(authenticationResultsHeader(outcome)) }));
  }
  const outcomeAuth = evaluated.outcome;
  d.authentication = outcomeAuth;
  d.addedHeaders = skipListed
    ? [evaluated.header, { name: 'X-MS-Exchange-SkipListedInternetSender', value: `ip=[${outcomeAuth.evaluatedIp}]` }]
    : [evaluated.header];
  trace?.push({
    step: 'authentication',
    detail: `SPF ${outcomeAuth.spf} for ${outcomeAuth.evaluatedIp}${skipListed ? ' (skip-listed source)' : ''}; DKIM ${outcomeAuth.dkim.map((entry) => `${entry.result} d=${entry.domain}`).join(', ') || 'none'}; DMARC ${outcomeAuth.dmarc}${outcomeAuth.dmarcPolicy ? ` (p=${outcomeAuth.dmarcPolicy})` : ''} for ${fromDomain ?? '(no From domain)'}; compauth ${outcomeAuth.compauth.result} reason=${outcomeAuth.compauth.reason}`,
    sources: ['S23', 'S24', 'S25', '§5', '§6.1'],
  });

  if (outcomeAuth.compauth.result === 'pass') return null;
  // The anti-phishing policy that applies to each recipient (S32: only the first that includes the recipient).
  // When a policy only may apply (a condition on users or groups), each policy that could apply is judged; the
  // outcome is known when they all agree.
  const judged = acceptedRecipients.filter((recipient) => !d.relayed.includes(recipient));
  const perRecipient = (judged.length > 0 ? judged : acceptedRecipients).map((recipient) => {
    const chain = tables.antiPhishChain(recipient);
    for (const entry of chain) for (const id of entry.assumptions ?? []) d.use(id as AssumptionId);
    const domain = domainOf(recipient) ?? '';
    const elsewhere = tables.mxElsewhere.get(domain) ?? null;
    // With the MX elsewhere, Honor DMARC acts only through Enhanced Filtering (S26); authentication is then implicit (S23).
    const explicitChecks = efcApplies || elsewhere !== true;
    const decisions = chain.map((entry) => antiSpoofDecision(outcomeAuth, antiPhishSettings(entry.policy), explicitChecks));
    return { recipient, chain, applying: chain[0] as (typeof chain)[number], domain, elsewhere, explicitChecks, decisions, decision: decisions[0] as (typeof decisions)[number] };
  });
  const primary = perRecipient[0] as (typeof perRecipient)[number];
  const byChain = new Map<string, typeof perRecipient>();
  for (const entry of perRecipient) {
    const key = entry.chain.map((policy) => policy.name).join('\u0000');
    byChain.set(key, [...(byChain.get(key) ?? []), entry]);
  }
  for (const entries of byChain.values()) {
    const first = entries[0] as (typeof perRecipient)[number];
    const others = entries.length > 1 ? ` (the same for ${entries.length - 1} other recipient(s))` : '';
    const agree = first.decisions.every((decision) => decision.action === first.decision.action);
    trace?.push({
      step: 'anti-phishing-policy',
      detail:
        first.chain.map((policy) => policy.reason).join('; ') + others +
        (first.chain.length > 1 ? (agree ? `; whichever applies, the outcome is the same (${first.decision.action})` : '') : ''),
      sources: ['S26', 'S27', 'S32', '§6.3', '§6.4'],
    });
    if (!agree) {
      d.markIncomplete(
        `which anti-phishing policy applies to ${entries.map((entry) => entry.recipient).join(', ')} is not known from the snapshot, and the outcome depends on it (` +
          first.chain.map((policy, index) => `"${policy.name}": ${first.decisions[index]?.action}`).join(', ') + ')',
      );
    }
  }
  if (perRecipient.some((entry) => entry.decision.action !== primary.decision.action)) {
    d.markIncomplete(
      `recipients get different anti-phishing outcomes (${perRecipient.map((entry) => `${entry.recipient}: ${entry.decision.action} under "${entry.applying.name}"`).join('; ')}); the verdict shows ${primary.recipient}'s`,
    );
  }
  if (outcomeAuth.dmarc === 'fail' && !efcApplies && primary.elsewhere === null) {
    d.markIncomplete(`the snapshot has no MX for ${primary.domain}: Honor DMARC acts only when the MX points to Exchange Online or Enhanced Filtering applies (S26), so whether it acts is unknown (taken here as Exchange Online)`);
  }

  const p = outcomeAuth.dmarcPolicy ?? 'none';
  const decision = primary.decision;
  const allow = decision.action !== 'none' ? tenantAllow(d) : null;
  if (trace) {
    if (outcomeAuth.dmarc === 'fail' && !primary.explicitChecks) {
      trace.push({
        step: 'honor-dmarc',
        detail:
          `${primary.domain}'s MX points away from Exchange Online and Enhanced Filtering is not applied on ${receiver}: Honor DMARC does not act and ` +
          `authentication is implicit only, so the DMARC p=${p} failure is not enforced (the Ghost-Sender gap); ${decision.detail}`,
        sources: ['S23', 'S26', 'S61', '§5', '§11.10'],
      });
    } else {
      const mxNote = primary.elsewhere === null ? ` (no MX for ${primary.domain} in the snapshot: taken to be Exchange Online)` : primary.elsewhere ? ' (MX elsewhere, Enhanced Filtering applied)' : '';
      trace.push({
        step: 'honor-dmarc',
        detail: `"${primary.applying.name}"${mxNote}: ${decision.detail}`,
        sources: ['S26', 'S27', 'S29', '§6.4'],
        ...(decision.action === 'Reject' && !allow?.by ? { assumptions: ['dmarc-reject-stage'] } : {}),
      });
    }
  }
  if (!allow) return null;
  if (allow.assumption) d.use(allow.assumption);
  const wouldDo = decision.action === 'spoof-intelligence' ? 'spoof intelligence\'s verdict' : decision.action === 'Reject' ? 'the 5.7.509 reject' : `the ${decision.action} action`;
  if (allow.by) {
    trace?.push({
      step: 'tenant-allow',
      detail:
        `${allow.by}: tenant allow wins over DMARC/spoof (S32 order and precedence), so ${wouldDo} is not applied and the message is delivered; ` +
        'malware and high-confidence phishing would still be quarantined (S32) — eoplock does not emulate those content verdicts',
      sources: ['S26', 'S30', 'S32', '§4.2', '§6.3'],
      ...(allow.assumption ? { assumptions: [allow.assumption] } : {}),
    });
    return null;
  }
  if (allow.ignored) {
    trace?.push({ step: 'tenant-allow', detail: `${allow.ignored}: it does not override ${wouldDo}`, sources: ['S26', 'S30', 'S32', '§6.6'], assumptions: ['ip-allow-list-vs-dmarc'] });
  }
  if (decision.action === 'spoof-intelligence') {
    d.markIncomplete(`spoof intelligence's implicit (compauth) verdict is not emulated: it may apply AuthenticationFailAction (${antiPhishSettings(primary.applying.policy).spoofAction}) instead of delivering`);
  } else if (decision.action === 'Reject') {
    d.used |= USE_DMARC_REJECT_STAGE;
    const inSession = assumptions['dmarc-reject-stage'] === 'end-of-data';
    return { reply: reply('reject', 'data', REPLIES.dmarcRejected, { domain: fromDomain ?? '' }), disposition: inSession ? 'none' : 'ndr' };
  } else {
    d.authDisposition = decision.action === 'MoveToJmf' ? 'junk' : 'quarantine';
  }
  return null;
}

// ── Disposition ─────────────────────────────────────────────────────────────────────────────────────

/** What happens to an accepted message after the session: quarantine, junk, relay or delivery (S18, S32). */
export function disposition(d: Decision): Ending {
  if (d.authDisposition === 'quarantine') return { reply: QUEUED, disposition: 'quarantine' };
  if (d.scl !== null && d.scl >= 5) {
    d.markIncomplete(`a rule set SCL ${d.scl}, which asks for a ${d.scl >= 9 ? 'high-confidence spam' : 'spam'} verdict: the anti-spam policy's action for it (content filtering) is not emulated`);
  }
  if (d.authDisposition === 'junk') return { reply: QUEUED, disposition: 'junk' };
  d.trace?.push({
    step: 'filtering',
    detail:
      `accepted by the transport layer; content filtering (anti-malware, anti-spam${d.authenticationInput() ? '' : ', spoof intelligence, DMARC'}) is not emulated` +
      (d.scl !== null ? ` — a rule set SCL ${d.scl}, an input to filtering` : ''),
    sources: ['S18', 'S32', '§6.3'],
  });
  return { reply: QUEUED, disposition: d.relayed.length === d.acceptedRecipients.length ? 'relay' : 'deliver' };
}

// ── The verdict ─────────────────────────────────────────────────────────────────────────────────────

/** The sorted ids per set of used assumptions (indexed by the bit set): few sets occur; each verdict gets its own copy. */
const IDS_BY_USED: (readonly string[] | undefined)[] = new Array(2 ** Math.min(SORTED_IDS.length, 16));

function assumptionIds(used: number): string[] {
  if (used === 0) return [];
  let known = IDS_BY_USED[used];
  if (known === undefined) {
    const ids: string[] = [];
    for (let index = 0; index < SORTED_IDS.length; index++) if (used & (SORTED_BITS[index] as number)) ids.push(SORTED_IDS[index] as string);
    if (used < IDS_BY_USED.length) IDS_BY_USED[used] = ids;
    known = ids;
  }
  return known.slice();
}

export function verdictOf(d: Decision, top: Reply, disposition: Verdict['disposition']): Verdict {
  const replies = d.replies;
  const first = replies[0] as Reply;
  let differs = false;
  for (const entry of replies) {
    if (entry.action !== first.action || entry.enhanced !== first.enhanced) {
      differs = true;
      break;
    }
  }
  // Built property by property: object spread here was the slowest part of a verdict (measured in bench/trace).
  const verdict: Verdict = {
    action: top.action,
    stage: top.stage,
    code: top.code,
    enhanced: top.enhanced,
    text: top.text,
    disposition,
    connector: d.connector,
    authAs: d.authAs,
    scl: d.scl,
    rules: d.rules,
    trace: d.trace ?? [],
    incomplete: d.incompleteReasons !== null,
    assumptions: assumptionIds(d.used),
  };
  if (d.incompleteReasons) verdict.incompleteReasons = d.incompleteReasons;
  if (differs) {
    const rcptTo = d.transaction.rcptTo;
    verdict.recipients = replies.map((entry, index): RecipientResult => ({
      recipient: rcptTo[index] as string,
      action: entry.action,
      stage: entry.stage,
      code: entry.code,
      enhanced: entry.enhanced,
      text: entry.text,
    }));
  }
  if (d.authentication) verdict.authentication = d.authentication;
  if (d.addedHeaders && top.action === 'accept') verdict.addedHeaders = d.addedHeaders;
  return verdict;
}

/** The stages before authentication: the verdict when one of them ends the decision, else null. */
function beforeAuthentication(d: Decision): Verdict | null {
  connection(d);
  connectorMatch(d);
  connectionFilter(d);
  recipientReplies(d);
  if (d.acceptedRecipients.length === 0) {
    const replies = d.replies;
    let first = replies[0] as Reply;
    for (let index = 0; first.action !== 'reject'; index++) first = replies[index + 1] as Reply;
    return verdictOf(d, first, 'none');
  }
  const refused = data(d);
  if (refused) return verdictOf(d, refused, 'none');
  const ruled = transportRules(d);
  return ruled ? verdictOf(d, ruled.reply, ruled.disposition) : null;
}

/** Authentication and disposition: the verdict of a decision the stages before them did not end. */
function fromAuthentication(d: Decision): Verdict {
  const authenticated = authentication(d);
  if (authenticated) return verdictOf(d, authenticated.reply, authenticated.disposition);
  const ending = disposition(d);
  return verdictOf(d, ending.reply, ending.disposition);
}

/** One decision through every stage. */
export function runStages(tables: CompiledTables, transaction: Transaction, traced: boolean): Verdict {
  const d = new Decision(tables, transaction, traced);
  return beforeAuthentication(d) ?? fromAuthentication(d);
}

/**
 * One decision per authentication input, the stages before authentication run once (the fast path): what
 * `runStages` gives for the transaction with each input in its `authentication`. No stage before authentication
 * reads the input, so it can only change what authentication and disposition decide; a decision that ends before
 * them gives the same verdict (one object, shared) for every input.
 */
export function runStagesEach(tables: CompiledTables, transaction: Transaction, inputs: readonly Transaction['authentication'][]): Verdict[] {
  const d = new Decision(tables, transaction, false);
  const ended = beforeAuthentication(d);
  if (ended) return inputs.map(() => ended);
  // Authentication and disposition write only these fields of the decision (a test holds them to it): each input
  // starts from them as the rules left them. (The same object, not a copy: a copy of a class instance made with
  // Object.assign has a shape of its own, and every stage slows down on it.)
  const { used, incompleteReasons } = d;
  return inputs.map((input) => {
    d.used = used;
    d.incompleteReasons = incompleteReasons === null ? null : [...incompleteReasons];
    d.authentication = undefined;
    d.addedHeaders = undefined;
    d.authDisposition = null;
    d.authenticationInstead = { input };
    return fromAuthentication(d);
  });
}

