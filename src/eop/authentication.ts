/**
 * The emulator's email-authentication layer (pure): which IP EOP judges (Enhanced Filtering / skip listing from the
 * Received chain, S7, S23), DMARC from SPF and DKIM results with eoplock's own alignment, what an anti-phishing
 * policy does with a failure (Honor DMARC × spoof intelligence, S26, S27, S29), and the Authentication-Results header
 * in EXO's form (S24, S59). SPF itself is evaluated by mailauth at the edge (src/dns/authenticate.ts); decide() takes
 * its result as input and picks the policy per recipient (src/eop/policy-scope.ts).
 */
import { readReceived } from '../mail/received.js';
import { aligned, organisationalDomain, parseDmarc, type DmarcRecord } from '../mail/dmarc.js';
import { mxRecords } from '../profile/mx.js';
import { EXCHANGE_ONLINE_MX } from '../profile/vendors.js';
import type { Snapshot } from '../snapshot/parse.js';
import type { InboundConnector } from '../snapshot/schema.js';
import { domainOf, normaliseDomain } from './addresses.js';
import { compiledIpList, findInList, parseIp } from './ip.js';
import type { HeaderField } from './types.js';

export type SpfResult = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'temperror' | 'permerror';

/** Authentication results for one transaction: computed by `authenticate()`, or written into a scenario. */
export interface AuthenticationInput {
  /**
   * The address the SPF result is for. Omitted: decide() works it out — the connecting IP, or with Enhanced Filtering
   * the first hop in the Received chain that is not skip-listed. Given, it wins (the trace says so).
   */
  evaluatedIp?: string;
  spf: SpfResult;
  /** DKIM signatures and their results (eoplock does not verify signatures; supply the result). */
  dkim?: { result: 'pass' | 'fail' | 'none'; domain: string }[];
  /**
   * The From domain's DMARC record (raw). Omitted: looked up in the snapshot's Dns section (the tenant's own
   * domains), with the organisational-domain fallback. `null`: the domain has none.
   */
  dmarcRecord?: string | null;
}

export type DmarcResult = 'pass' | 'fail' | 'none' | 'permerror';

export interface AuthenticationOutcome {
  evaluatedIp: string;
  skipListed: boolean;
  spf: SpfResult;
  mailFromDomain: string | null;
  dkim: { result: string; domain: string }[];
  dmarc: DmarcResult;
  /** The policy that applies to the From domain (sp= for a subdomain), null without a record. */
  dmarcPolicy: 'none' | 'quarantine' | 'reject' | null;
  fromDomain: string | null;
  compauth: { result: 'pass' | 'fail' | 'softpass' | 'none'; reason: string };
  /** The action EOP stamps in `dmarc=… action=…`. */
  action: 'none' | 'reject' | 'quarantine' | 'oreject' | 'permerror';
}

/** Enhanced Filtering for Connectors as configured on one inbound connector (S7, S23). */
export interface EnhancedFiltering {
  on: boolean;
  skipLastIp: boolean;
  skipIps: string[];
  users: string[];
}

/** Enhanced Filtering per connector object, made once (snapshots are values once loaded; callers only read it). */
const ENHANCED_FILTERING = new WeakMap<InboundConnector, EnhancedFiltering>();

export function enhancedFiltering(connector: InboundConnector | undefined): EnhancedFiltering {
  if (!connector) return { on: false, skipLastIp: false, skipIps: [], users: [] };
  let known = ENHANCED_FILTERING.get(connector);
  if (known === undefined) {
    known = enhancedFilteringOf(connector);
    ENHANCED_FILTERING.set(connector, known);
  }
  return known;
}

function enhancedFilteringOf(connector: InboundConnector): EnhancedFiltering {
  const skipLastIp = connector.EFSkipLastIP === true;
  const skipIps = connector.EFSkipIPs;
  const users = connector.EFUsers.map((user) => user.toLowerCase());
  // EFSkipLastIP $false with an empty EFSkipIPs list means Enhanced Filtering is off (S7).
  return { on: skipLastIp || skipIps.length > 0, skipLastIp, skipIps, users };
}

/** Whether skip listing applies to this message: EFC on, and every recipient in EFUsers when it is set (S23). */
export function efcAppliesTo(efc: EnhancedFiltering, recipients: readonly string[]): boolean {
  if (!efc.on) return false;
  return efc.users.length === 0 || recipients.every((recipient) => efc.users.includes(recipient.toLowerCase()));
}

/** The sending addresses in the Received chain, newest first (each line's `from … [a.b.c.d]`). */
export function receivedFromIps(fields: readonly HeaderField[]): (string | null)[] {
  return fields.filter((field) => field.name.toLowerCase() === 'received').map((field) => readReceived(field.value)?.fromIp ?? null);
}

/** The IP EOP evaluates for SPF, and how it was found. */
export interface EvaluatedSource {
  ip: string;
  /** The IP is a hop behind the connecting one, found through skip listing. */
  skipListed: boolean;
  /** False when skip listing applies but the Received chain gives no hop that is not skip-listed: the true source is unknown. */
  resolved: boolean;
  note: string;
}

/**
 * The IP EOP evaluates: the connecting IP, or with skip listing the first hop back in the Received chain that is not
 * skip-listed (`EFSkipLastIP` skips only the connecting hop; S7, S23). When the chain runs out first (no Received
 * line, a line without an address, every hop skip-listed), the source is `resolved: false` and the connecting IP
 * stands in for it.
 */
export function evaluatedSource(clientIp: string, fields: readonly HeaderField[], efc: EnhancedFiltering, applies: boolean): EvaluatedSource {
  if (!applies) return { ip: clientIp, skipListed: false, resolved: true, note: efc.on ? 'Enhanced Filtering is on but not for every recipient (EFUsers): the connecting IP is evaluated' : 'the connecting IP is evaluated' };
  const chain = receivedFromIps(fields);
  const missing = (index: number) =>
    chain.length === 0 ? 'the message has no Received header' : index < chain.length ? `Received header ${index + 1} names no sending address` : `the Received chain ends after ${chain.length} hop(s)`;
  if (efc.skipLastIp) {
    const previous = chain[0];
    return previous
      ? { ip: previous, skipListed: true, resolved: true, note: `EFSkipLastIP: the connecting hop is skipped; the previous hop ${previous} (Received header 1) is evaluated` }
      : { ip: clientIp, skipListed: false, resolved: false, note: `EFSkipLastIP skips the connecting hop, but ${missing(0)}: the true source is unknown` };
  }
  const list = compiledIpList(efc.skipIps);
  let current = clientIp;
  for (let index = 0; ; index++) {
    const address = parseIp(current);
    if (!address || findInList(list, address) === null) {
      return index === 0
        ? { ip: current, skipListed: false, resolved: true, note: `the connecting IP ${current} is not in EFSkipIPs: it is evaluated` }
        : { ip: current, skipListed: true, resolved: true, note: `EFSkipIPs skips ${index} hop(s); ${current} (Received header ${index}) is the first that is not skip-listed` };
    }
    const next = chain[index];
    if (!next) return { ip: clientIp, skipListed: false, resolved: false, note: `${current} is skip-listed (EFSkipIPs) and ${missing(index)}: the true source is unknown` };
    current = next;
  }
}

/** The snapshot's Dns section by normalised domain. */
export type DnsZones = ReadonlyMap<string, Snapshot['Dns'][string]>;

/** The From domain's DMARC record: given, or from the snapshot's Dns section with the organisational fallback. */
export function dmarcRecordFor(
  snapshot: Snapshot,
  fromDomain: string,
  given: string | null | undefined,
  zones?: DnsZones,
): { record: DmarcRecord | null; atOrganisationalDomain: boolean } {
  const parse = (raw: string | null | undefined) => (raw ? parsedDmarc(raw) : null);
  if (given !== undefined) return { record: parse(given), atOrganisationalDomain: false };
  if (zones === undefined) {
    return dmarcRecordInZones(new Map(Object.entries(snapshot.Dns).map(([domain, data]) => [normaliseDomain(domain), data])), fromDomain, parse);
  }
  // From the compiled zones: the same answer for every message from the domain, remembered per zones table (bounded).
  let known = RECORDS_BY_ZONES.get(zones);
  if (known === undefined) {
    known = new Map();
    RECORDS_BY_ZONES.set(zones, known);
  }
  let answer = known.get(fromDomain);
  if (answer === undefined) {
    answer = dmarcRecordInZones(zones, fromDomain, parse);
    if (known.size >= 10_000) known.clear();
    known.set(fromDomain, answer);
  }
  return answer;
}

const RECORDS_BY_ZONES = new WeakMap<DnsZones, Map<string, { record: DmarcRecord | null; atOrganisationalDomain: boolean }>>();

function dmarcRecordInZones(
  zones: DnsZones,
  fromDomain: string,
  parse: (raw: string | null | undefined) => DmarcRecord | null,
): { record: DmarcRecord | null; atOrganisationalDomain: boolean } {
  const own = zones.get(fromDomain)?.DMARC[0];
  if (own) return { record: parse(own), atOrganisationalDomain: false };
  const organisational = organisationalDomain(fromDomain);
  const parent = organisational !== fromDomain ? zones.get(organisational)?.DMARC[0] : undefined;
  return { record: parse(parent), atOrganisationalDomain: parent !== undefined };
}

/** DMARC records parsed once per text (bounded); the emulator only reads them. */
const PARSED_DMARC = new Map<string, DmarcRecord>();
function parsedDmarc(raw: string): DmarcRecord {
  let record = PARSED_DMARC.get(raw);
  if (record === undefined) {
    record = parseDmarc(raw);
    if (PARSED_DMARC.size >= 1024) PARSED_DMARC.clear();
    PARSED_DMARC.set(raw, record);
  }
  return record;
}

/** DMARC (RFC 7489 §6.6) from SPF and DKIM results, with eoplock's own strict/relaxed alignment. */
export function evaluateAuthentication(
  input: AuthenticationInput,
  context: { clientIp: string; skipListed: boolean; mailFrom: string; fromDomain: string | null; acceptedFrom: boolean; snapshot: Snapshot; zones?: DnsZones },
): AuthenticationOutcome {
  const mailFromDomain = domainOf(context.mailFrom) ?? null;
  const dkim = (input.dkim ?? []).map((entry) => ({ result: entry.result, domain: normaliseDomain(entry.domain) }));
  const evaluatedIp = input.evaluatedIp ?? context.clientIp;
  const base = { evaluatedIp, skipListed: context.skipListed, spf: input.spf, mailFromDomain, dkim, fromDomain: context.fromDomain };
  if (!context.fromDomain) return { ...base, dmarc: 'none', dmarcPolicy: null, compauth: { result: 'none', reason: '000' }, action: 'none' };
  const { record, atOrganisationalDomain } = dmarcRecordFor(context.snapshot, context.fromDomain, input.dmarcRecord, context.zones);
  if (record && record.policy === null) return { ...base, dmarc: 'permerror', dmarcPolicy: null, compauth: { result: 'none', reason: '001' }, action: 'permerror' };
  const spfAligned = input.spf === 'pass' && mailFromDomain !== null && aligned(context.fromDomain, mailFromDomain, record?.aspf ?? 'r');
  const dkimAligned = dkim.some((entry) => entry.result === 'pass' && aligned(context.fromDomain as string, entry.domain, record?.adkim ?? 'r'));
  const passed = spfAligned || dkimAligned;
  const policy = record ? ((atOrganisationalDomain ? (record.subdomainPolicy ?? record.policy) : record.policy) ?? 'none') : null;
  if (!record) {
    // No record: compauth's implicit checks. eoplock does not emulate their scoring; an authenticated aligned sender
    // passes, anything else is an implicit failure (001, or 601 for an accepted domain: S24, S25).
    return { ...base, dmarc: 'none', dmarcPolicy: null, compauth: passed ? { result: 'pass', reason: '109' } : { result: 'fail', reason: context.acceptedFrom ? '601' : '001' }, action: 'none' };
  }
  if (passed) return { ...base, dmarc: 'pass', dmarcPolicy: policy, compauth: { result: 'pass', reason: '100' }, action: 'none' };
  const enforcing = policy === 'reject' || policy === 'quarantine';
  return {
    ...base,
    dmarc: 'fail',
    dmarcPolicy: policy,
    compauth: { result: 'fail', reason: enforcing ? (context.acceptedFrom ? '010' : '000') : context.acceptedFrom ? '601' : '001' },
    action: enforcing ? (policy as 'reject' | 'quarantine') : 'none',
  };
}

/** The anti-phishing settings that decide what an authentication failure does (S26, S27; defaults from S29). */
export interface AntiPhishSettings {
  honorDmarc: boolean;
  spoofIntelligence: boolean;
  /** `DmarcRejectAction`: for p=reject failures when Honor DMARC is on. */
  rejectAction: 'Reject' | 'Quarantine';
  /** `DmarcQuarantineAction`: for p=quarantine failures when Honor DMARC is on. */
  quarantineAction: 'Quarantine' | 'MoveToJmf';
  /** `AuthenticationFailAction`: the spoof intelligence action. */
  spoofAction: 'MoveToJmf' | 'Quarantine';
}

/** An anti-phishing policy's settings; a property absent from the export has Microsoft's default (S27, S29). */
export function antiPhishSettings(policy: Record<string, unknown>): AntiPhishSettings {
  let known = SETTINGS.get(policy);
  if (known === undefined) {
    known = Object.freeze(settingsOf(policy));
    SETTINGS.set(policy, known);
  }
  return known;
}

/** Settings per policy object, made once (snapshots are values once loaded; the settings are read only). */
const SETTINGS = new WeakMap<Record<string, unknown>, AntiPhishSettings>();

function settingsOf(policy: Record<string, unknown>): AntiPhishSettings {
  return {
    honorDmarc: policy.HonorDmarcPolicy !== false,
    spoofIntelligence: policy.EnableSpoofIntelligence !== false,
    rejectAction: policy.DmarcRejectAction === 'Quarantine' ? 'Quarantine' : 'Reject',
    quarantineAction: policy.DmarcQuarantineAction === 'MoveToJmf' ? 'MoveToJmf' : 'Quarantine',
    spoofAction: policy.AuthenticationFailAction === 'Quarantine' ? 'Quarantine' : 'MoveToJmf',
  };
}

/**
 * What the anti-phishing policy does with one message's authentication result:
 * - `Reject`, `Quarantine`, `MoveToJmf`: that action;
 * - `none`: no authentication action (the message goes on to the rest of filtering);
 * - `spoof-intelligence`: spoof intelligence's implicit verdict decides (its `spoofAction` if it flags the message);
 *   eoplock does not emulate that verdict.
 */
export interface AntiSpoofDecision {
  action: 'Reject' | 'Quarantine' | 'MoveToJmf' | 'none' | 'spoof-intelligence';
  /** Why, for the trace. */
  detail: string;
}

/**
 * Microsoft's table "Spoof protection and sender DMARC policies" (S26, fact base §6.4), followed cell by cell. A DMARC
 * failure (any p=) is an explicit failure; no record, a broken record or a failed compauth without DMARC is implicit.
 * `explicitChecks` is false when the recipient's MX points away from Exchange Online and Enhanced Filtering does not
 * apply: then Honor DMARC is not applied (S26) and authentication is implicit only (S23), so a DMARC failure is
 * judged as an implicit one.
 */
export function antiSpoofDecision(outcome: AuthenticationOutcome, settings: AntiPhishSettings, explicitChecks: boolean): AntiSpoofDecision {
  if (outcome.compauth.result === 'pass') return { action: 'none', detail: 'authentication passed: no spoof or DMARC action' };
  if (outcome.dmarc === 'fail' && explicitChecks) {
    const p = outcome.dmarcPolicy ?? 'none';
    if (settings.honorDmarc) {
      if (p === 'reject') return { action: settings.rejectAction, detail: `Honor DMARC is on: p=reject uses DmarcRejectAction (${settings.rejectAction})` };
      if (p === 'quarantine') return { action: settings.quarantineAction, detail: `Honor DMARC is on: p=quarantine uses DmarcQuarantineAction (${settings.quarantineAction})` };
      return { action: 'none', detail: 'Honor DMARC is on and the policy is p=none: "No action is applied by Microsoft 365"' };
    }
    if (settings.spoofIntelligence) {
      return {
        action: settings.spoofAction,
        detail: `Honor DMARC is off and spoof intelligence on: the spoof action (AuthenticationFailAction ${settings.spoofAction}) is used for explicit failures, which "ignore p=quarantine, p=reject, p=none"`,
      };
    }
    if (p === 'reject' || p === 'quarantine') return { action: 'Quarantine', detail: `Honor DMARC and spoof intelligence are both off: a p=${p} failure is quarantined` };
    return { action: 'none', detail: 'Honor DMARC and spoof intelligence are both off and the policy is p=none: "No action is applied by Microsoft 365"' };
  }
  const implicit =
    outcome.fromDomain === null
      ? 'the transaction gives no From header, so compauth (which judges the From domain) is unknown'
      : outcome.dmarc === 'fail'
        ? 'without explicit checks the DMARC failure is judged implicitly'
        : `compauth=${outcome.compauth.result} reason=${outcome.compauth.reason} is an implicit result`;
  if (!settings.spoofIntelligence) return { action: 'none', detail: `${implicit}, and spoof intelligence is off: "Implicit email authentication checks aren't used"` };
  return {
    action: 'spoof-intelligence',
    detail: `${implicit}: spoof intelligence decides (AuthenticationFailAction ${settings.spoofAction} if it finds the sender spoofed); its verdict is not emulated`,
  };
}

/** Whether a recipient domain's MX points somewhere other than Exchange Online; null when the snapshot has no MX for it. */
export function mxElsewhere(snapshot: Snapshot, domain: string): boolean | null {
  return mxElsewhereTable(snapshot).get(domain) ?? null;
}

/** {@link mxElsewhere} for every domain with MX records in the snapshot. */
export function mxElsewhereTable(snapshot: Snapshot): Map<string, boolean> {
  const table = new Map<string, boolean>();
  for (const record of mxRecords(snapshot)) {
    const toExchange = EXCHANGE_ONLINE_MX.test(record.host);
    table.set(record.domain, (table.get(record.domain) ?? true) && !toExchange);
  }
  return table;
}

/** `Authentication-Results` as EXO writes it: no authserv-id (S59), the formats of S24. */
export function authenticationResultsHeader(outcome: AuthenticationOutcome): HeaderField {
  const spfComment = outcome.spf === 'pass' || outcome.spf === 'fail' ? ` (sender IP is ${outcome.evaluatedIp})` : '';
  const dkim = outcome.dkim.length > 0 ? outcome.dkim.map((entry) => `dkim=${entry.result} header.d=${entry.domain}`).join('; ') : 'dkim=none (message not signed) header.d=none';
  const value = [
    `spf=${outcome.spf}${spfComment} smtp.mailfrom=${outcome.mailFromDomain ?? ''}`,
    dkim,
    `dmarc=${outcome.dmarc === 'none' && outcome.compauth.result === 'pass' ? 'bestguesspass' : outcome.dmarc} action=${outcome.action} header.from=${outcome.fromDomain ?? ''}`,
    `compauth=${outcome.compauth.result} reason=${outcome.compauth.reason}`,
  ].join('; ');
  return { name: 'Authentication-Results', value };
}
