/**
 * Header analysis: what a delivered message's headers say about the path it took into Exchange Online — the
 * Received chain, the hop that brought it into Exchange Online (the latest hop into an EOP frontend), whether that
 * hop was the gateway (only by evidence: the gateway profile or Exchange Online's connector stamps, never by a vendor
 * host name alone), how Exchange Online authenticated it, and the guide's test 4 as a checklist with its corrections
 * (eop-behaviour.md §5, §6.1, §6.2, §10). Pure: fields in, report out.
 */
import { addressInHeader, domainOf, normaliseDomain } from '../eop/addresses.js';
import { compiledIpList, findInList, parseIp } from '../eop/ip.js';
import type { HeaderField } from '../eop/types.js';
import type { GatewayProfile } from '../profile/profile.js';
import { EXCHANGE_ONLINE_MX, vendorForMx } from '../profile/vendors.js';
import type { Snapshot } from '../snapshot/parse.js';
import { parseAuthenticationResults, type AuthMethod } from './auth-results.js';
import { readReceived } from './received.js';

/** Hosts that belong to Exchange Online / EOP (the `by` side of its Received lines). */
const MICROSOFT_HOST = /(\.|^)(outlook\.com|office365\.com|microsoft\.com|mx\.microsoft|outlook\.office\.com)$/i;
/**
 * Exchange Online's outbound servers. Mail from another Microsoft 365 tenant, or from Outlook.com, arrives from them:
 * for the receiving tenant that is mail from outside, not an internal Microsoft hop.
 */
const EXCHANGE_ONLINE_OUTBOUND = /(^|\.)outbound\.protection\.outlook\.com$/i;
/** Authserv-ids of Exchange Online (`mx.microsoft.com` in its ARC-Authentication-Results). */
const MICROSOFT_AUTHSERV = /(^|\.)(outlook\.com|microsoft\.com|mx\.microsoft)$/i;

/**
 * Who sent a hop: an Exchange Online server passing the message on inside Microsoft, Exchange Online's outbound
 * servers (another Microsoft 365 tenant or Outlook.com), or anyone else.
 */
export type HopSender = 'microsoft-internal' | 'microsoft-365-outbound' | 'other';

export interface Hop {
  /** 1 = the oldest hop (where the message started), in path order. */
  step: number;
  fromHost: string | null;
  /** The address the receiving host recorded for the sender (from the `[a.b.c.d]` in the comment). */
  fromIp: string | null;
  byHost: string | null;
  with: string | null;
  timestamp: string | null;
  /** Seconds since the previous hop; null when a timestamp is missing or unparsable. Negative values mean clock skew. */
  delaySeconds: number | null;
  /**
   * Whether the sending side is the gateway by the gateway profile: its addresses, or (when the profile has no
   * addresses) a host in the gateway's own domain. A vendor's host name alone never makes it the gateway.
   */
  fromGateway: boolean;
  /** The sending side, by its host name and the reverse name in the comment. */
  sender: HopSender;
  /**
   * The gateway vendor whose host names the sending host's name matches (src/profile/vendors.ts), or null. A hint
   * only: senders use the same vendors for their own outbound mail.
   */
  vendor: string | null;
  /** Whether the receiving side is Exchange Online. */
  byMicrosoft: boolean;
  /** Whether the receiving side is an EOP frontend (`*.mail.protection.outlook.com`): the hop brings mail into a tenant. */
  intoEop: boolean;
  raw: string;
}

export interface AuthResults {
  header: string;
  /** The authserv-id (without its version); null for EXO's non-RFC form, which has none (S59). */
  authservId: string | null;
  /** ARC-Authentication-Results' instance (`i=1`); null for the other fields. */
  instance: number | null;
  /**
   * Written by Exchange Online: no authserv-id (EXO's form; never for ARC-Authentication-Results, whose authserv-id
   * RFC 8617 requires), or an authserv-id in a Microsoft domain (`mx.microsoft.com`).
   */
  writtenByExchange: boolean;
  spf: { result: string; senderIp: string | null; mailFrom: string | null } | null;
  /** `domain` is null when none is named, including EXO's `header.d=none` on an unsigned message. */
  dkim: { result: string; domain: string | null }[];
  dmarc: { result: string; action: string | null; headerFrom: string | null } | null;
  compauth: { result: string; reason: string | null; meaning: string | null } | null;
}

export interface AntispamReport {
  header: string;
  fields: Record<string, string>;
  explained: { field: string; value: string; meaning: string }[];
}

export type CheckStatus = 'pass' | 'fail' | 'warn' | 'unknown' | 'info';

export interface ChecklistItem {
  id: string;
  check: string;
  status: CheckStatus;
  detail: string;
  /** Where the guide's version of this check is wrong or unproven, the correction (eop-behaviour.md). */
  correction?: string;
}

export interface HeaderAnalysis {
  subject: string | null;
  from: string | null;
  fromDomain: string | null;
  /** Whether the From domain is one of the snapshot's accepted domains (null without a snapshot). */
  fromAcceptedDomain: boolean | null;
  messageId: string | null;
  hops: Hop[];
  /**
   * The hop that brought the message into Exchange Online: the latest hop into an EOP frontend (Received headers are
   * newest first, so a message that entered Exchange Online more than once is read at its last entry). Null if none.
   */
  eopEntry: Hop | null;
  /** The steps of every hop into an EOP frontend, oldest first (more than one: the message entered EOP more than once). */
  eopEntrySteps: number[];
  /** The connecting IP as EOP recorded it: `CIP` of X-Forefront-Antispam-Report, else the entry hop's address. */
  connectingIp: string | null;
  /** The connecting server's name: the entry hop's sending host, else `H` of X-Forefront-Antispam-Report. */
  connectingHost: string | null;
  /** The connecting server is Exchange Online's outbound (`*.outbound.protection.outlook.com`): another Microsoft 365 tenant or Outlook.com. */
  connectingFromMicrosoft365: boolean;
  connectingIpIsGateway: boolean | null;
  /** Why {@link connectingIpIsGateway} is what it is: the evidence, or what is missing to decide. */
  gatewayEvidence: string | null;
  /** Inbound connectors whose SenderIPAddresses hold the connecting IP (attribution by IP only). */
  connectorsByIp: string[];
  authAs: string | null;
  authSource: string | null;
  skipListedInternetSender: string | null;
  externalOriginalInternetSender: string | null;
  authenticationResults: AuthResults[];
  /**
   * Exchange Online's own authentication results for this message, and (in `header`) where they were read: its
   * `Authentication-Results`, else `X-MS-Exchange-Authentication-Results`, else the `ARC-Authentication-Results` that
   * `mx.microsoft.com` wrote (the highest instance). The last two are what a relayed copy carries.
   */
  exchangeResults: AuthResults | null;
  antispam: AntispamReport | null;
  /** The first hop after the entry that left Exchange Online (a relayed copy), or null. */
  relayedAfterEop: Hop | null;
  checklist: ChecklistItem[];
  /**
   * One line: did this message come through the gateway or straight to EOP? `internal`: Exchange Online
   * authenticated it as internal (`AuthAs: Internal`), mail from inside the organisation that the gateway is not on.
   */
  path: 'through-gateway' | 'direct-to-eop' | 'internal' | 'not-through-eop' | 'undetermined';
  notes: string[];
}

export interface AnalyseOptions {
  profile?: GatewayProfile;
  snapshot?: Snapshot;
}

const COMPAUTH_REASONS: [RegExp, string][] = [
  [/^000$/, 'explicit failure: DMARC failed with p=quarantine or p=reject'],
  [/^001$/, 'implicit failure: no or weak authentication records'],
  [/^002$/, 'the organisation prohibits this sender/domain pair from spoofing'],
  [/^010$/, 'DMARC failed with p=reject/quarantine and the From domain is an accepted domain (self-to-self)'],
  [/^130$/, 'pass: ARC overrode a DMARC failure'],
  [/^[17]\d\d$/, 'pass'],
  [/^2\d\d$/, 'soft pass'],
  [/^3\d\d$/, 'not checked'],
  [/^[49]\d\d$/, 'bypassed'],
  [/^6\d\d$/, 'implicit failure and the From domain is an accepted domain (intra-organisation spoof)'],
];

/** compauth reason code meanings (S24, S25; eop-behaviour.md §6.1). */
export function compauthMeaning(reason: string): string | null {
  for (const [pattern, meaning] of COMPAUTH_REASONS) if (pattern.test(reason)) return meaning;
  return null;
}

const ANTISPAM_MEANINGS: Record<string, (value: string) => string | null> = {
  CIP: () => 'connecting IP address as EOP saw it',
  CTRY: () => 'country of the connecting IP',
  DIR: (value) => ({ INB: 'inbound', OUT: 'outbound', INT: 'internal' } as Record<string, string>)[value.toUpperCase()] ?? null,
  H: () => 'HELO/EHLO name of the connecting server',
  PTR: () => 'reverse DNS of the connecting IP',
  IPV: (value) => ({ CAL: 'IP Allow List (connection filter) — filtering skipped', NLI: 'not on any IP list' } as Record<string, string>)[value.toUpperCase()] ?? null,
  SCL: (value) => (value === '-1' ? 'spam confidence -1: spam filtering bypassed' : `spam confidence level ${value}`),
  SFV: (value) => ({
    BLK: 'blocked: sender on a blocked list',
    NSPM: 'not spam',
    SFE: 'allowed: sender on a safe list',
    SKA: 'allowed by the anti-spam policy\'s allowed senders/domains',
    SKB: 'blocked by the anti-spam policy\'s blocked senders/domains',
    SKI: 'skipped spam filtering for another reason, such as intra-organisational mail',
    SKN: 'marked non-spam before filtering (for example SCL -1 by a transport rule)',
    SKQ: 'released from quarantine',
    SKS: 'marked spam before filtering (for example by a transport rule)',
    SPM: 'spam',
  } as Record<string, string>)[value.toUpperCase()] ?? null,
  CAT: (value) => ({
    AMP: 'anti-malware', BIMP: 'brand impersonation', BULK: 'bulk', DIMP: 'domain impersonation', FTBP: 'file-type block',
    GIMP: 'mailbox-intelligence impersonation', HPHSH: 'high-confidence phishing', HPHISH: 'high-confidence phishing',
    HSPM: 'high-confidence spam', INTOS: 'intra-organisation phishing', MALW: 'malware', OSPM: 'outbound spam',
    PHSH: 'phishing', SAP: 'safe attachments', SPM: 'spam', SPOOF: 'spoofing', UIMP: 'user impersonation',
  } as Record<string, string>)[value.toUpperCase()] ?? null,
  SFTY: (value) => ({ '9.19': 'domain impersonation', '9.20': 'user impersonation', '9.25': 'first contact safety tip' } as Record<string, string>)[value] ?? null,
  SRV: (value) => (value.toUpperCase() === 'BULK' ? 'bulk' : null),
  LANG: () => 'language of the message',
};

function header(fields: readonly HeaderField[], name: string): string | null {
  const found = fields.find((field) => field.name.toLowerCase() === name.toLowerCase());
  return found ? found.value.trim() : null;
}

/** A date without a trailing `(comment)` such as `(UTC)`: one scan from the end (a pattern anchored at `$` would retry from every `(`). */
function withoutTrailingComment(date: string): string {
  const text = date.trimEnd();
  if (!text.endsWith(')')) return date;
  const open = text.lastIndexOf('(', text.length - 2);
  if (open < 0 || text.lastIndexOf(')', text.length - 2) > open) return date;
  return text.slice(0, open).trimEnd();
}

function secondsBetween(earlier: string | null, later: string | null): number | null {
  if (!earlier || !later) return null;
  const a = Date.parse(withoutTrailingComment(earlier));
  const b = Date.parse(withoutTrailingComment(later));
  return Number.isNaN(a) || Number.isNaN(b) ? null : Math.round((b - a) / 1000);
}

function isGatewayAddress(profile: GatewayProfile | undefined, ip: string | null): boolean {
  if (!profile || !ip) return false;
  const parsed = parseIp(ip);
  return parsed !== null && findInList(compiledIpList(profile.ips), parsed) !== null;
}

/**
 * The gateway MX host whose own domain holds `host` (`out1.seg.example.net` in the domain of `mx1.seg.example.net`),
 * or null. A vendor's MX (`*.mimecast.com`, `*.pphosted.com`, …) is skipped: its hosts serve all the vendor's
 * customers, including the senders' own outbound mail, so a name in its domain says nothing about whose gateway it is.
 */
function gatewayDomainOf(profile: GatewayProfile | undefined, host: string | null): string | null {
  if (!profile || !host) return null;
  const name = normaliseDomain(host);
  for (const mx of profile.mxHosts) {
    if (vendorForMx(mx)) continue;
    const mxHost = normaliseDomain(mx);
    const parent = mxHost.split('.').slice(1).join('.');
    if (name === mxHost || (parent.includes('.') && name.endsWith(`.${parent}`))) return mx;
  }
  return null;
}

/**
 * Whether a sender (address, host names) is the gateway by the profile. With gateway addresses and a known address,
 * the address alone decides: a host name is the sender's own claim (HELO) and can be anything.
 */
function isGatewayByProfile(profile: GatewayProfile | undefined, ip: string | null, hosts: readonly (string | null)[]): boolean {
  if (!profile) return false;
  if (isGatewayAddress(profile, ip)) return true;
  if (profile.ips.length > 0 && ip !== null) return false;
  return hosts.some((host) => gatewayDomainOf(profile, host) !== null);
}

function senderOf(fromHost: string | null, fromComment: string | null): HopSender {
  const names = [fromHost, fromComment].filter((name): name is string => name !== null).map(normaliseDomain);
  if (names.some((name) => EXCHANGE_ONLINE_OUTBOUND.test(name))) return 'microsoft-365-outbound';
  return fromHost && MICROSOFT_HOST.test(normaliseDomain(fromHost)) ? 'microsoft-internal' : 'other';
}

function parseHops(fields: readonly HeaderField[], profile: GatewayProfile | undefined): { hops: Hop[]; notes: string[] } {
  const notes: string[] = [];
  const received = fields.filter((field) => field.name.toLowerCase() === 'received').reverse();
  const hops: Hop[] = [];
  for (const [index, field] of received.entries()) {
    const line = readReceived(field.value);
    if (!line) {
      notes.push(`Received header ${received.length - index} could not be parsed and was skipped`);
      continue;
    }
    const { fromHost, fromIp, byHost, timestamp } = line;
    const previous = hops.at(-1);
    const by = byHost === null ? null : normaliseDomain(byHost);
    hops.push({
      step: hops.length + 1,
      fromHost,
      fromIp,
      byHost,
      with: line.with,
      timestamp,
      delaySeconds: previous ? secondsBetween(previous.timestamp, timestamp) : null,
      fromGateway: isGatewayByProfile(profile, fromIp, [fromHost, line.fromComment]),
      sender: senderOf(fromHost, line.fromComment),
      vendor: (fromHost ? vendorForMx(fromHost)?.name : undefined) ?? (line.fromComment ? vendorForMx(line.fromComment)?.name : undefined) ?? null,
      byMicrosoft: by !== null && MICROSOFT_HOST.test(by),
      intoEop: by !== null && EXCHANGE_ONLINE_MX.test(by),
      raw: field.value,
    });
  }
  return { hops, notes };
}

/**
 * The hop that brought the message into Exchange Online: the latest hop into an EOP frontend. A message can enter
 * Exchange Online more than once (the sender's tenant, a signature service that sends it back, the recipient's
 * gateway, the recipient's tenant); the last entry is the one into the tenant that delivered it, and a hop's sender
 * there is whoever connected, Exchange Online's outbound servers included. Without an EOP frontend in the chain, the
 * latest hop received by Exchange Online from a sender that is not an Exchange Online server inside Microsoft.
 */
function entryHop(hops: readonly Hop[]): Hop | null {
  return hops.findLast((hop) => hop.intoEop) ?? hops.findLast((hop) => hop.byMicrosoft && hop.sender !== 'microsoft-internal') ?? null;
}

/** The fields read as Authentication-Results, whatever their name. */
const AUTH_RESULTS_FIELD = /^(authentication-results|authentication-results-original|original-authentication-results|arc-authentication-results|x-ms-exchange-authentication-results)$/i;

function parseAuthResults(field: HeaderField): AuthResults {
  const { authservId, instance, methods } = parseAuthenticationResults(field.value);
  // A method written twice: the last one counts (as mailauth's parser, which eoplock used before, read it).
  const last = (name: string): AuthMethod | null => methods.findLast((method) => method.method === name) ?? null;
  const property = (method: AuthMethod, name: string): string | null => method.properties.get(name) || null;
  const spf = last('spf');
  const dmarc = last('dmarc');
  const compauth = last('compauth');
  const reason = compauth ? property(compauth, 'reason') : null;
  const arc = field.name.toLowerCase() === 'arc-authentication-results';
  return {
    header: field.name,
    authservId,
    instance,
    writtenByExchange: authservId === null ? !arc : MICROSOFT_AUTHSERV.test(authservId),
    spf: spf ? { result: spf.result, senderIp: /sender IP is ([0-9a-fA-F:.]+)/i.exec(spf.comment)?.[1] ?? null, mailFrom: property(spf, 'smtp.mailfrom') } : null,
    dkim: methods.filter((method) => method.method === 'dkim').map((method) => {
      const domain = property(method, 'header.d');
      return { result: method.result, domain: domain && domain.toLowerCase() !== 'none' ? domain : null };
    }),
    dmarc: dmarc ? { result: dmarc.result, action: property(dmarc, 'action'), headerFrom: property(dmarc, 'header.from') } : null,
    compauth: compauth ? { result: compauth.result, reason, meaning: reason ? compauthMeaning(reason) : null } : null,
  };
}

/** Exchange Online's own results, in order of preference (see {@link HeaderAnalysis.exchangeResults}). */
function exchangeResultsOf(results: readonly AuthResults[]): AuthResults | null {
  const written = (name: string) => results.filter((entry) => entry.writtenByExchange && entry.header.toLowerCase() === name);
  const arc = written('arc-authentication-results').reduce<AuthResults | null>((best, entry) => (best === null || (entry.instance ?? 0) > (best.instance ?? 0) ? entry : best), null);
  return written('authentication-results')[0] ?? written('x-ms-exchange-authentication-results')[0] ?? arc;
}

function parseAntispam(field: HeaderField): AntispamReport {
  const fields: Record<string, string> = {};
  for (const part of field.value.split(';')) {
    const at = part.indexOf(':');
    if (at <= 0) continue;
    const key = part.slice(0, at).trim().toUpperCase();
    if (key && !(key in fields)) fields[key] = part.slice(at + 1).trim();
  }
  const explained = Object.entries(fields).flatMap(([key, value]) => {
    const meaning = ANTISPAM_MEANINGS[key]?.(value) ?? null;
    return meaning ? [{ field: key, value, meaning }] : [];
  });
  return { header: field.name, fields, explained };
}

const cipOf = (report: AntispamReport): string | null => (report.fields.CIP ? (parseIp(report.fields.CIP)?.toString() ?? null) : null);

interface GatewayJudgement {
  isGateway: boolean | null;
  evidence: string | null;
}

/**
 * Whether the server that connected to EOP is the gateway, and why. Only evidence decides: the gateway profile's
 * addresses, or when it has none its own host domain and Exchange Online's connector stamp
 * (X-MS-Exchange-SkipListedInternetSender, S23). A vendor's host name is never enough: a sender's own outbound relay
 * at Proofpoint or Mimecast has the same kind of name as the recipient's gateway.
 */
function judgeGateway(analysis: HeaderAnalysis, profile: GatewayProfile | undefined): GatewayJudgement {
  const entry = analysis.eopEntry;
  const ip = analysis.connectingIp;
  if (!entry && ip === null) return { isGateway: null, evidence: null };
  if (analysis.antispam?.fields.DIR?.trim().toUpperCase() === 'OUT') {
    return { isGateway: null, evidence: 'Exchange Online filtered this pass as outbound (X-Forefront-Antispam-Report DIR:OUT, S24): the message was leaving the tenant that processed it, so an inbound gateway does not apply' };
  }
  const address = [ip, entry?.fromIp ?? null].find((candidate) => isGatewayAddress(profile, candidate));
  if (address) return { isGateway: true, evidence: `${address} is one of the gateway's addresses, from ${profile?.ipsSource ?? (profile?.origin.from.join(', ') || 'the gateway profile')}` };
  if (entry?.fromGateway) {
    return { isGateway: true, evidence: `${entry.fromHost ?? entry.fromIp} is in the domain of the gateway's own MX hosts, ${profile?.mxHosts.filter((mx) => !vendorForMx(mx)).join(', ')}` };
  }
  // With the gateway's addresses known, the address has decided already; the stamp speaks when they are not.
  if (analysis.skipListedInternetSender && !(profile && profile.ips.length > 0)) {
    return { isGateway: true, evidence: 'Exchange Online stamped X-MS-Exchange-SkipListedInternetSender: the message came through an inbound connector whose Enhanced Filtering skip-listed the server that delivered it (S23)' };
  }
  const host = analysis.connectingHost;
  const vendor = entry?.vendor ?? (host ? (vendorForMx(host)?.name ?? null) : null);
  if (!profile || (profile.ips.length === 0 && profile.mxHosts.length === 0)) {
    const missing = !profile
      ? 'no gateway profile to compare with; give --seg-ip, --seg or --snapshot'
      : profile.origin.kind === 'none'
        ? 'the snapshot names no gateway (no gateway connector, no MX record outside Exchange Online)'
        : 'the gateway profile has no addresses or MX hosts to compare with; give --seg-ip';
    return { isGateway: null, evidence: `${missing}${vendor && host ? `; ${vendorHint(analysis, host, vendor)}` : ''}` };
  }
  if (profile.ips.length === 0 && vendor && profile.mxHosts.some((mx) => vendorForMx(mx)?.name === vendor)) {
    return { isGateway: null, evidence: `${host} is a ${vendor} host, the vendor this tenant's MX points to, but ${vendor}'s hosts serve all its customers: without the gateway's addresses (--seg-ip) its name does not show it is this tenant's gateway` };
  }
  const compared = profile.ips.length > 0 ? `the gateway's addresses${profile.ipsSource ? ` in ${profile.ipsSource}` : ''}` : `the gateway's MX hosts, ${profile.mxHosts.join(', ')}`;
  return { isGateway: false, evidence: `${ip ?? host ?? 'the connecting server'} is not among ${compared}` };
}

/** Why a vendor's host name does not make a server the gateway, with what the SPF result adds. */
function vendorHint(analysis: HeaderAnalysis, host: string, vendor: string): string {
  const spf = analysis.exchangeResults?.spf;
  const spfPassed = spf?.result.toLowerCase() === 'pass' && spf.senderIp !== null && spf.senderIp === analysis.connectingIp;
  return `${host} is a ${vendor} host name, but senders use the same vendors for their own outbound mail, so the name alone does not show it is this tenant's gateway${spfPassed ? ` (SPF for ${spf.mailFrom ?? 'the envelope domain'} passed from ${spf.senderIp}: it is authorised to send for the sender's domain, as the sender's own relay is)` : ''}`;
}

/** Analyses the header fields of one delivered message. */
export function analyseHeaders(fields: readonly HeaderField[], options: AnalyseOptions = {}): HeaderAnalysis {
  const { profile, snapshot } = options;
  const { hops, notes } = parseHops(fields, profile);
  const from = header(fields, 'From');
  const address = from ? addressInHeader(from) : null;
  const fromDomain = address ? domainOf(address) : null;
  const accepted = snapshot ? snapshot.AcceptedDomain.map((domain) => normaliseDomain(domain.DomainName)) : null;
  const fromAcceptedDomain = accepted && fromDomain ? accepted.includes(fromDomain) : accepted ? false : null;

  const eopEntry = entryHop(hops);
  const eopEntrySteps = hops.filter((hop) => hop.intoEop).map((hop) => hop.step);
  // Each pass through EOP can leave a report; the one for the entry hop names its address, else the newest counts.
  const reports = fields.filter((field) => field.name.toLowerCase() === 'x-forefront-antispam-report').map(parseAntispam);
  const antispam = reports.find((report) => eopEntry?.fromIp && cipOf(report) === eopEntry.fromIp) ?? reports[0] ?? null;
  const cip = antispam ? cipOf(antispam) : null;
  const connectingIp = cip ?? eopEntry?.fromIp ?? null;
  if (cip && eopEntry?.fromIp && cip !== eopEntry.fromIp) notes.push(`X-Forefront-Antispam-Report CIP ${cip} differs from the Received hop into EOP (${eopEntry.fromIp}); CIP is used`);
  const connectingHost = eopEntry ? eopEntry.fromHost : (antispam?.fields.H || null);
  const connectingFromMicrosoft365 = eopEntry
    ? eopEntry.sender === 'microsoft-365-outbound'
    : [antispam?.fields.H, antispam?.fields.PTR].some((name) => Boolean(name) && EXCHANGE_ONLINE_OUTBOUND.test(normaliseDomain(name as string)));
  const connectorsByIp = connectingIp && snapshot ? snapshot.InboundConnector.filter((connector) => connector.Enabled !== false && findInList(compiledIpList(connector.SenderIPAddresses), parseIp(connectingIp) as NonNullable<ReturnType<typeof parseIp>>) !== null).map((connector) => String(connector.Name ?? connector.Identity ?? '(unnamed)')) : [];

  const authenticationResults = fields.filter((field) => AUTH_RESULTS_FIELD.test(field.name)).map(parseAuthResults);
  const authAs = header(fields, 'X-MS-Exchange-Organization-AuthAs');
  const relayedAfterEop = eopEntry ? (hops.find((hop) => hop.step > eopEntry.step && hop.byHost !== null && !hop.byMicrosoft) ?? null) : null;
  if (eopEntrySteps.length > 1 && eopEntry) {
    notes.push(`The message entered Exchange Online ${eopEntrySteps.length} times (hops ${eopEntrySteps.join(', ')}): the latest, hop ${eopEntry.step}, is read as the entry; the earlier ones are passes before it (the sender's own tenant, or a service that sent the message back into Exchange Online).`);
  }
  if (relayedAfterEop) {
    notes.push(`After Exchange Online, hop ${relayedAfterEop.step} took the message to ${relayedAfterEop.byHost}: these headers are from a copy relayed on, and what Exchange Online wrote describes its own pass.`);
  }

  const analysis: HeaderAnalysis = {
    subject: header(fields, 'Subject'),
    from,
    fromDomain,
    fromAcceptedDomain,
    messageId: header(fields, 'Message-ID'),
    hops,
    eopEntry,
    eopEntrySteps,
    connectingIp,
    connectingHost,
    connectingFromMicrosoft365,
    connectingIpIsGateway: null,
    gatewayEvidence: null,
    connectorsByIp,
    authAs,
    authSource: header(fields, 'X-MS-Exchange-Organization-AuthSource'),
    skipListedInternetSender: header(fields, 'X-MS-Exchange-SkipListedInternetSender'),
    externalOriginalInternetSender: header(fields, 'X-MS-Exchange-ExternalOriginalInternetSender'),
    authenticationResults,
    exchangeResults: exchangeResultsOf(authenticationResults),
    antispam,
    relayedAfterEop,
    checklist: [],
    path: 'undetermined',
    notes,
  };
  const judgement = judgeGateway(analysis, profile);
  analysis.connectingIpIsGateway = judgement.isGateway;
  analysis.gatewayEvidence = judgement.evidence;
  analysis.path = !eopEntry && !antispam ? 'not-through-eop' : judgement.isGateway === true ? 'through-gateway' : isInternal(analysis) ? 'internal' : judgement.isGateway === false ? 'direct-to-eop' : 'undetermined';
  analysis.checklist = checklist(analysis);
  return analysis;
}

/** Exchange Online authenticated the message as internal (`AuthAs: Internal`, S33; its header firewall removes a forged one). */
const isInternal = (analysis: HeaderAnalysis): boolean => analysis.authAs?.trim().toLowerCase() === 'internal';

const LAST_HOP = 'The Received chain shows the gateway as the last hop before EOP';

function checklist(analysis: HeaderAnalysis): ChecklistItem[] {
  const items: ChecklistItem[] = [];
  const entry = analysis.eopEntry;
  const exchange = analysis.exchangeResults;
  const internal = isInternal(analysis);

  // 1. The gateway is the last hop before EOP.
  const evidence = analysis.gatewayEvidence ? `: ${analysis.gatewayEvidence}` : '';
  if (!entry && analysis.connectingIp === null) {
    items.push({ id: 'last-hop', check: LAST_HOP, status: 'unknown', detail: 'No Received line by an Exchange Online host and no X-Forefront-Antispam-Report: these headers are not from a message delivered by Exchange Online.' });
  } else if (analysis.connectingIpIsGateway === true) {
    items.push({ id: 'last-hop', check: LAST_HOP, status: 'pass', detail: `EOP received the message from the gateway, ${describeEntry(analysis)}${evidence}.` });
  } else if (internal) {
    items.push({ id: 'last-hop', check: LAST_HOP, status: 'info', detail: `EOP received the message from ${describeEntry(analysis)} and authenticated it as internal (AuthAs: Internal${analysis.authSource ? `, AuthSource ${analysis.authSource}` : ''}): mail from inside the organisation, such as on-premises servers, does not come through the inbound gateway, and Microsoft's own lockdown rule exempts it (S3).` });
  } else if (analysis.connectingIpIsGateway === false) {
    items.push({ id: 'last-hop', check: LAST_HOP, status: 'fail', detail: `EOP received the message from ${describeEntry(analysis)}, which is not the gateway${evidence}. The message reached EOP without passing the gateway.` });
  } else {
    items.push({ id: 'last-hop', check: LAST_HOP, status: 'unknown', detail: `EOP received the message from ${describeEntry(analysis)}; whether that is the gateway is undetermined${evidence}.` });
  }

  // 2. Skip listing (EFC).
  const efcConnectors = analysis.connectorsByIp;
  items.push({
    id: 'skip-listed',
    check: 'X-MS-Exchange-SkipListedInternetSender is set (Enhanced Filtering worked)',
    status: analysis.skipListedInternetSender ? 'pass' : analysis.connectingIpIsGateway ? 'warn' : 'info',
    detail: analysis.skipListedInternetSender
      ? `Skip listing found the true source ${senderIp(analysis.skipListedInternetSender) ?? analysis.skipListedInternetSender}${analysis.externalOriginalInternetSender ? ` (and the recipient was in scope: X-MS-Exchange-ExternalOriginalInternetSender ${analysis.externalOriginalInternetSender})` : ''}.`
      : analysis.connectingIpIsGateway
        ? `Not set: Enhanced Filtering is off${efcConnectors.length > 0 ? ` or not scoped to this recipient on ${efcConnectors.join(', ')}` : ''}, so EOP judged SPF/DMARC against the gateway's address and, with the MX elsewhere, does not apply Honor DMARC (S26).`
        : 'Not set; skip listing only applies to mail that arrives through a connector with Enhanced Filtering on.',
  });

  // 3. SPF against the real source (the guide's Authentication-Results-Original check, corrected).
  const renamed = analysis.authenticationResults.filter((results) => /^(authentication-results-original|original-authentication-results)$/i.test(results.header));
  const trueSource = analysis.skipListedInternetSender ? senderIp(analysis.skipListedInternetSender) : null;
  const spfIp = exchange?.spf?.senderIp ?? null;
  const read = exchange ? readFrom(exchange) : '';
  let spfStatus: CheckStatus = 'unknown';
  let spfDetail = 'No Authentication-Results, X-MS-Exchange-Authentication-Results or ARC-Authentication-Results written by Exchange Online.';
  if (exchange?.spf) {
    if (trueSource && spfIp) {
      spfStatus = spfIp === trueSource ? 'pass' : 'fail';
      spfDetail = `EOP evaluated SPF (${exchange.spf.result}) against ${spfIp}${spfIp === trueSource ? ', the true source' : `, not the true source ${trueSource}`}${read}.`;
    } else if (spfIp && analysis.path === 'direct-to-eop' && spfIp === analysis.connectingIp) {
      spfStatus = 'info';
      spfDetail = `EOP evaluated SPF (${exchange.spf.result}) against ${spfIp}, the connecting server: with no gateway in the path that is the original sender${read}.`;
    } else if (spfIp && isGatewayAddressText(analysis, spfIp)) {
      spfStatus = 'warn';
      spfDetail = `EOP evaluated SPF (${exchange.spf.result}) against the gateway's address ${spfIp}, not the original sender${read}.`;
    } else {
      spfStatus = exchange.spf.result === 'pass' ? 'pass' : 'warn';
      spfDetail = `EOP's SPF result: ${exchange.spf.result}${spfIp ? ` for ${spfIp}` : ''}${read}.`;
    }
  } else if (exchange) {
    spfDetail = `Exchange Online's results${read} carry no SPF result.`;
  }
  items.push({
    id: 'spf-true-source',
    check: 'SPF was evaluated against the real sender IP, not the gateway IP',
    status: spfStatus,
    detail: `${spfDetail}${renamed.length > 0 ? ` ${renamed.length} renamed earlier result(s) (${[...new Set(renamed.map((results) => results.header))].join(', ')})${renamed.some((results) => results.authservId) ? `, authserv-id ${renamed.map((results) => results.authservId ?? 'none').join(', ')}` : ''}: not used as evidence.` : ''}`,
    correction: 'The guide reads Authentication-Results-Original. That header is not a documented Enhanced Filtering output and also appears on multi-hop and gateway-renamed results; eoplock reads the Authentication-Results EXO wrote (no authserv-id) and X-MS-Exchange-SkipListedInternetSender instead (eop-behaviour.md §5, §10 item 14).',
  });

  // 4. AuthAs.
  if (analysis.authAs) {
    const anonymous = /anonymous/i.test(analysis.authAs);
    items.push({
      id: 'auth-as',
      check: 'X-MS-Exchange-Organization-AuthAs fits the path',
      status: anonymous && analysis.fromAcceptedDomain ? 'fail' : 'info',
      detail: anonymous && analysis.fromAcceptedDomain
        ? `AuthAs: ${analysis.authAs} on a message From an accepted domain (${analysis.fromDomain}): an unauthenticated internal-domain sender (S34).`
        : `AuthAs: ${analysis.authAs}${analysis.authSource ? ` (AuthSource ${analysis.authSource})` : ''}.`,
      correction: 'Which AuthAs value EXO stamps for Partner-connector mail is not documented (eop-behaviour.md open questions); eoplock reports it but does not judge the gateway path by it.',
    });
  }

  // 5. compauth.
  const compauth = exchange?.compauth;
  if (compauth) {
    const failed = compauth.result === 'fail';
    items.push({
      id: 'compauth',
      check: 'Composite authentication (compauth) passed',
      status: failed ? 'fail' : compauth.result === 'pass' ? 'pass' : 'warn',
      detail: `compauth=${compauth.result}${compauth.reason ? ` reason=${compauth.reason} (${compauth.meaning ?? 'unknown code'})` : ''}${exchange.dmarc ? `; dmarc=${exchange.dmarc.result}${exchange.dmarc.action ? ` action=${exchange.dmarc.action}` : ''}` : ''}${read}. A compauth failure does not by itself block a message (S25).`,
    });
  }

  // 6. Filtering bypassed.
  const bypass = filterBypass(analysis);
  if (bypass) items.push(bypass);
  return items;
}

/** Where Exchange Online's results were read, when not from its own Authentication-Results: ` (from X-MS-Exchange-Authentication-Results)`. */
function readFrom(results: AuthResults): string {
  if (results.header.toLowerCase() === 'authentication-results') return '';
  return ` (from ${results.header}${results.authservId ? ` by ${results.authservId}` : ''}${results.instance !== null ? `, i=${results.instance}` : ''})`;
}

/**
 * The filtering check: what in X-Forefront-Antispam-Report shows that filtering was skipped, and why (S24). `SFV:SKI`
 * on mail Exchange Online authenticated as internal is intra-organisation mail, not a bypass rule; only `SFV:SKN`
 * (or SCL -1 with no other reason given) points at a mail flow rule.
 */
function filterBypass(analysis: HeaderAnalysis): ChecklistItem | null {
  const fields = analysis.antispam?.fields;
  if (!fields) return null;
  const scl = fields.SCL?.trim();
  const sfv = fields.SFV?.trim().toUpperCase() ?? null;
  const ipv = fields.IPV?.trim().toUpperCase() ?? null;
  const check = 'EOP filtering was not bypassed';
  const seen = [scl === '-1' ? 'SCL -1' : null, sfv === 'SKN' || sfv === 'SKI' || sfv === 'SKA' ? `SFV:${sfv}` : null, ipv === 'CAL' ? 'IPV:CAL' : null].filter(Boolean).join(', ');
  if (sfv === 'SKI' && isInternal(analysis) && ipv !== 'CAL') {
    return { id: 'filter-bypass', check, status: 'info', detail: `Spam filtering was skipped as intra-organisation mail (${seen}, AuthAs: Internal): "skipped spam filtering for another reason, such as intra-organisational mail" (S24). Expected for mail from inside the organisation; no mail flow rule or allow list is implied.` };
  }
  const reasons: string[] = [];
  if (sfv === 'SKN') reasons.push('SFV:SKN: marked non-spam before filtering, for example SCL -1 or "Bypass spam filtering" set by a mail flow rule');
  if (sfv === 'SKI') reasons.push(`SFV:SKI: skipped spam filtering for another reason, such as intra-organisational mail, yet AuthAs is ${analysis.authAs ?? 'not stamped'}, so Exchange Online did not authenticate this message as internal`);
  if (sfv === 'SKA') reasons.push("SFV:SKA: the sender is in the anti-spam policy's allowed senders or domains");
  if (ipv === 'CAL') reasons.push('IPV:CAL: the connecting address is on the connection filter\'s IP Allow List');
  if (scl === '-1' && reasons.length === 0) reasons.push('SCL -1: spam filtering bypassed, typically by a mail flow rule');
  if (reasons.length === 0) return null;
  const ruleSuspected = sfv === 'SKN' || (scl === '-1' && sfv !== 'SKI' && sfv !== 'SKA' && ipv !== 'CAL');
  return {
    id: 'filter-bypass',
    check,
    status: 'warn',
    detail: `Filtering was skipped (${seen}). ${reasons.join('; ')}.${ruleSuspected ? ' With Enhanced Filtering, an SCL -1 bypass rule should be disabled (S23).' : ''}`,
  };
}

/** The address in `ip=[192.0.2.80];domain=mail.fabrikam.com` (the skip-listing headers' form) or a bare address. */
export function senderIp(value: string): string | null {
  // indexOf, not a pattern: `ip=\[([^\]]+)\]` rescans to the end from every `ip=[` when no `]` follows.
  const start = /ip=\[/i.exec(value)?.index ?? -1;
  const end = start < 0 ? -1 : value.indexOf(']', start + 4);
  const bracketed = end > start + 4 ? value.slice(start + 4, end) : value.trim();
  return parseIp(bracketed)?.toString() ?? null;
}

/**
 * The server that connected to EOP, host and address from the same line: the entry hop's Received line, or (with no
 * Received line into EOP) X-Forefront-Antispam-Report's `H` and `CIP`.
 */
function describeEntry(analysis: HeaderAnalysis): string {
  const entry = analysis.eopEntry;
  const host = entry ? entry.fromHost : analysis.connectingHost;
  const ip = entry ? entry.fromIp : analysis.connectingIp;
  const name = host && host !== ip ? `${host} ` : '';
  const outbound = analysis.connectingFromMicrosoft365 ? ", Exchange Online's outbound servers (mail from another Microsoft 365 tenant or Outlook.com)" : '';
  return `${name}${ip ? `[${ip}]` : '(address not recorded)'}${outbound}`;
}

function isGatewayAddressText(analysis: HeaderAnalysis, ip: string): boolean {
  return analysis.connectingIpIsGateway === true && analysis.connectingIp === (parseIp(ip)?.toString() ?? ip);
}
