/**
 * The emulator's email-authentication layer (pure): which IP EOP judges (Enhanced Filtering / skip listing, S23),
 * DMARC from SPF and DKIM results with eoplock's own alignment, Honor-DMARC from the anti-phishing policy (S26, S27,
 * S29), and the Authentication-Results header in EXO's form (S24, S59). SPF itself is evaluated by mailauth at the
 * edge (src/eop/authenticate.ts); decide() takes its result as input.
 */
import { readReceived } from '../headers/received.js';
import { aligned, organisationalDomain, parseDmarc, type DmarcRecord } from '../dns/dmarc.js';
import { mxRecords } from '../profile/profile.js';
import { EXCHANGE_ONLINE_MX } from '../profile/vendors.js';
import type { Snapshot } from '../snapshot/parse.js';
import type { InboundConnector } from '../snapshot/schema.js';
import { domainOf, normaliseDomain } from './addresses.js';
import { compiledIpList, findInList, parseIp } from './ip.js';
import type { HeaderField } from './types.js';

export type SpfResult = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'temperror' | 'permerror';

/** Authentication results for one transaction: computed by `authenticate()`, or written into a scenario. */
export interface AuthenticationInput {
  /** The address SPF was evaluated for (the connecting IP, or the skip-listed source). */
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

export function enhancedFiltering(connector: InboundConnector | undefined): EnhancedFiltering {
  if (!connector) return { on: false, skipLastIp: false, skipIps: [], users: [] };
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

/**
 * The IP EOP evaluates: the connecting IP, or with skip listing the first hop back in the Received chain that is not
 * skip-listed (`EFSkipLastIP` skips only the connecting hop). Null `skipListed` source when the chain runs out.
 */
export function evaluatedSource(clientIp: string, fields: readonly HeaderField[], efc: EnhancedFiltering, applies: boolean): { ip: string; skipListed: boolean; note: string } {
  if (!applies) return { ip: clientIp, skipListed: false, note: efc.on ? 'Enhanced Filtering is on but not for every recipient (EFUsers): the connecting IP is evaluated' : 'the connecting IP is evaluated' };
  const chain = receivedFromIps(fields);
  if (efc.skipLastIp) {
    const previous = chain[0];
    return previous ? { ip: previous, skipListed: true, note: `EFSkipLastIP: the connecting hop is skipped; the previous hop ${previous} is evaluated` } : { ip: clientIp, skipListed: false, note: 'EFSkipLastIP is on but the message has no earlier Received hop: the connecting IP is evaluated' };
  }
  const list = compiledIpList(efc.skipIps);
  let current = clientIp;
  for (let index = 0; ; index++) {
    const address = parseIp(current);
    if (!address || findInList(list, address) === null) {
      return index === 0 ? { ip: current, skipListed: false, note: `the connecting IP ${current} is not in EFSkipIPs: it is evaluated` } : { ip: current, skipListed: true, note: `EFSkipIPs skips ${index} hop(s); ${current} is the first that is not skip-listed` };
    }
    const next = chain[index];
    if (!next) return { ip: current, skipListed: false, note: `every hop in the Received chain is skip-listed: ${current} is evaluated` };
    current = next;
  }
}

/** The From domain's DMARC record: given, or from the snapshot's Dns section with the organisational fallback. */
export function dmarcRecordFor(snapshot: Snapshot, fromDomain: string, given: string | null | undefined): { record: DmarcRecord | null; atOrganisationalDomain: boolean } {
  const parse = (raw: string | null | undefined) => (raw ? parseDmarc(raw) : null);
  if (given !== undefined) return { record: parse(given), atOrganisationalDomain: false };
  const zones = new Map(Object.entries(snapshot.Dns).map(([domain, data]) => [normaliseDomain(domain), data]));
  const own = zones.get(fromDomain)?.DMARC[0];
  if (own) return { record: parse(own), atOrganisationalDomain: false };
  const organisational = organisationalDomain(fromDomain);
  const parent = organisational !== fromDomain ? zones.get(organisational)?.DMARC[0] : undefined;
  return { record: parse(parent), atOrganisationalDomain: parent !== undefined };
}

/** DMARC (RFC 7489 §6.6) from SPF and DKIM results, with eoplock's own strict/relaxed alignment. */
export function evaluateAuthentication(
  input: AuthenticationInput,
  context: { clientIp: string; skipListed: boolean; mailFrom: string; fromDomain: string | null; acceptedFrom: boolean; snapshot: Snapshot },
): AuthenticationOutcome {
  const mailFromDomain = domainOf(context.mailFrom) ?? null;
  const dkim = (input.dkim ?? []).map((entry) => ({ result: entry.result, domain: normaliseDomain(entry.domain) }));
  const evaluatedIp = input.evaluatedIp ?? context.clientIp;
  const base = { evaluatedIp, skipListed: context.skipListed, spf: input.spf, mailFromDomain, dkim, fromDomain: context.fromDomain };
  if (!context.fromDomain) return { ...base, dmarc: 'none', dmarcPolicy: null, compauth: { result: 'none', reason: '000' }, action: 'none' };
  const { record, atOrganisationalDomain } = dmarcRecordFor(context.snapshot, context.fromDomain, input.dmarcRecord);
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

/** The anti-phishing settings that decide what a DMARC failure does (S27; defaults from S29). */
export interface HonorDmarcSettings {
  policyName: string;
  honorDmarc: boolean;
  spoofIntelligence: boolean;
  rejectAction: 'Reject' | 'Quarantine';
  quarantineAction: 'Quarantine' | 'MoveToJmf';
}

/** The default anti-phishing policy's settings (custom policies by recipient are not emulated). */
export function honorDmarcSettings(snapshot: Snapshot): HonorDmarcSettings {
  const policies = snapshot.AntiPhishPolicy as Record<string, unknown>[];
  const policy = policies.find((entry) => entry.IsDefault === true) ?? policies[0] ?? {};
  return {
    policyName: typeof policy.Name === 'string' ? policy.Name : 'Office365 AntiPhish Default (defaults)',
    honorDmarc: policy.HonorDmarcPolicy !== false,
    spoofIntelligence: policy.EnableSpoofIntelligence !== false,
    rejectAction: policy.DmarcRejectAction === 'Quarantine' ? 'Quarantine' : 'Reject',
    quarantineAction: policy.DmarcQuarantineAction === 'MoveToJmf' ? 'MoveToJmf' : 'Quarantine',
  };
}

/** Whether a recipient domain's MX points somewhere other than Exchange Online; null when the snapshot has no MX for it. */
export function mxElsewhere(snapshot: Snapshot, domain: string): boolean | null {
  const hosts = mxRecords(snapshot).filter((record) => record.domain === domain);
  if (hosts.length === 0) return null;
  return !hosts.some((record) => EXCHANGE_ONLINE_MX.test(record.host));
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
