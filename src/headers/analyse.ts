/**
 * Header analysis: what a delivered message's headers say about the path it took into Exchange Online — the
 * Received chain, which hop is the gateway, the hop EOP saw, how EOP authenticated it, and the guide's test 4 as a
 * checklist with its corrections (eop-behaviour.md §5, §6.1, §6.2, §10). Pure: fields in, report out.
 */
import { addressInHeader, domainOf, normaliseDomain } from '../eop/addresses.js';
import { compiledIpList, findInList, parseIp } from '../eop/ip.js';
import type { HeaderField } from '../eop/types.js';
import type { GatewayProfile } from '../profile/profile.js';
import { vendorForMx } from '../profile/vendors.js';
import type { Snapshot } from '../snapshot/parse.js';
import { parseAuthenticationResults, type AuthMethod } from './auth-results.js';
import { readReceived } from './received.js';

/** Hosts that belong to Exchange Online / EOP (the `by` side of its Received lines). */
const MICROSOFT_HOST = /(\.|^)(outlook\.com|office365\.com|microsoft\.com|mx\.microsoft|outlook\.office\.com)$/i;

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
  /** Whether the sending side of this hop is the gateway (by its addresses, or its host name's vendor). */
  fromGateway: boolean;
  /** Whether the receiving side is Exchange Online. */
  byMicrosoft: boolean;
  raw: string;
}

export interface AuthResults {
  header: string;
  /** The authserv-id; null for EXO's non-RFC form, which has none (S59). */
  authservId: string | null;
  /** Written by Exchange Online: no authserv-id, or an authserv-id in a Microsoft domain. */
  writtenByExchange: boolean;
  spf: { result: string; senderIp: string | null; mailFrom: string | null } | null;
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
  /** The hop that delivered into Exchange Online (its sender is the IP EOP saw), or null if there is none. */
  eopEntry: Hop | null;
  /** The connecting IP as EOP recorded it: `CIP` of X-Forefront-Antispam-Report, else the entry hop's address. */
  connectingIp: string | null;
  connectingIpIsGateway: boolean | null;
  /** Inbound connectors whose SenderIPAddresses hold the connecting IP (attribution by IP only). */
  connectorsByIp: string[];
  authAs: string | null;
  authSource: string | null;
  skipListedInternetSender: string | null;
  externalOriginalInternetSender: string | null;
  authenticationResults: AuthResults[];
  antispam: AntispamReport | null;
  checklist: ChecklistItem[];
  /** One line: did this message come through the gateway or straight to EOP? */
  path: 'through-gateway' | 'direct-to-eop' | 'not-through-eop' | 'undetermined';
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

function isGatewayHost(profile: GatewayProfile | undefined, host: string | null): boolean {
  if (!host) return false;
  const name = normaliseDomain(host);
  if (vendorForMx(name)) return true;
  return (profile?.mxHosts ?? []).some((mx) => {
    const parent = normaliseDomain(mx).split('.').slice(1).join('.');
    return name === normaliseDomain(mx) || (parent.includes('.') && name.endsWith(`.${parent}`));
  });
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
    hops.push({
      step: hops.length + 1,
      fromHost,
      fromIp,
      byHost,
      with: line.with,
      timestamp,
      delaySeconds: previous ? secondsBetween(previous.timestamp, timestamp) : null,
      fromGateway: isGatewayAddress(profile, fromIp) || isGatewayHost(profile, fromHost) || isGatewayHost(profile, line.fromComment),
      byMicrosoft: byHost !== null && MICROSOFT_HOST.test(normaliseDomain(byHost)),
      raw: field.value,
    });
  }
  return { hops, notes };
}

function parseAuthResults(field: HeaderField): AuthResults {
  const { authservId, methods } = parseAuthenticationResults(field.value);
  // A method written twice: the last one counts (as mailauth's parser, which eoplock used before, read it).
  const last = (name: string): AuthMethod | null => methods.findLast((method) => method.method === name) ?? null;
  const property = (method: AuthMethod, name: string): string | null => method.properties.get(name) || null;
  const spf = last('spf');
  const dmarc = last('dmarc');
  const compauth = last('compauth');
  const reason = compauth ? property(compauth, 'reason') : null;
  return {
    header: field.name,
    authservId,
    writtenByExchange: authservId === null || /(^|\.)(outlook\.com|microsoft\.com|mx\.microsoft)(\s|$)/i.test(authservId),
    spf: spf ? { result: spf.result, senderIp: /sender IP is ([0-9a-fA-F:.]+)/i.exec(spf.comment)?.[1] ?? null, mailFrom: property(spf, 'smtp.mailfrom') } : null,
    dkim: methods.filter((method) => method.method === 'dkim').map((method) => ({ result: method.result, domain: property(method, 'header.d') })),
    dmarc: dmarc ? { result: dmarc.result, action: property(dmarc, 'action'), headerFrom: property(dmarc, 'header.from') } : null,
    compauth: compauth ? { result: compauth.result, reason, meaning: reason ? compauthMeaning(reason) : null } : null,
  };
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

/** Analyses the header fields of one delivered message. */
export function analyseHeaders(fields: readonly HeaderField[], options: AnalyseOptions = {}): HeaderAnalysis {
  const { profile, snapshot } = options;
  const { hops, notes } = parseHops(fields, profile);
  const from = header(fields, 'From');
  const address = from ? addressInHeader(from) : null;
  const fromDomain = address ? domainOf(address) : null;
  const accepted = snapshot ? snapshot.AcceptedDomain.map((domain) => normaliseDomain(domain.DomainName)) : null;
  const fromAcceptedDomain = accepted && fromDomain ? accepted.includes(fromDomain) : accepted ? false : null;

  // The hop into Exchange Online is the oldest hop received by a Microsoft host from a non-Microsoft one.
  const eopEntry = hops.find((hop) => hop.byMicrosoft && !(hop.fromHost && MICROSOFT_HOST.test(normaliseDomain(hop.fromHost)))) ?? null;
  const antispamField = fields.find((field) => field.name.toLowerCase() === 'x-forefront-antispam-report');
  const antispam = antispamField ? parseAntispam(antispamField) : null;
  const cip = antispam?.fields.CIP ? (parseIp(antispam.fields.CIP)?.toString() ?? null) : null;
  const connectingIp = cip ?? eopEntry?.fromIp ?? null;
  if (cip && eopEntry?.fromIp && cip !== eopEntry.fromIp) notes.push(`X-Forefront-Antispam-Report CIP ${cip} differs from the Received hop into EOP (${eopEntry.fromIp}); CIP is used`);
  const hasGatewayFacts = Boolean(profile && (profile.ips.length > 0 || profile.mxHosts.length > 0));
  const connectingIpIsGateway = connectingIp === null ? null : isGatewayAddress(profile, connectingIp) || (eopEntry?.fromGateway ?? false) ? true : hasGatewayFacts ? false : null;
  const connectorsByIp = connectingIp && snapshot ? snapshot.InboundConnector.filter((connector) => connector.Enabled !== false && findInList(compiledIpList(connector.SenderIPAddresses), parseIp(connectingIp) as NonNullable<ReturnType<typeof parseIp>>) !== null).map((connector) => String(connector.Name ?? connector.Identity ?? '(unnamed)')) : [];

  const authenticationResults = fields.filter((field) => /^(authentication-results|authentication-results-original|arc-authentication-results)$/i.test(field.name)).map(parseAuthResults);
  const authAs = header(fields, 'X-MS-Exchange-Organization-AuthAs');
  const authSource = header(fields, 'X-MS-Exchange-Organization-AuthSource');
  const skipListedInternetSender = header(fields, 'X-MS-Exchange-SkipListedInternetSender');
  const externalOriginalInternetSender = header(fields, 'X-MS-Exchange-ExternalOriginalInternetSender');

  const path: HeaderAnalysis['path'] = !eopEntry && !antispam ? 'not-through-eop' : connectingIpIsGateway === true ? 'through-gateway' : connectingIpIsGateway === false ? 'direct-to-eop' : 'undetermined';
  const analysis: HeaderAnalysis = {
    subject: header(fields, 'Subject'),
    from,
    fromDomain,
    fromAcceptedDomain,
    messageId: header(fields, 'Message-ID'),
    hops,
    eopEntry,
    connectingIp,
    connectingIpIsGateway,
    connectorsByIp,
    authAs,
    authSource,
    skipListedInternetSender,
    externalOriginalInternetSender,
    authenticationResults,
    antispam,
    checklist: [],
    path,
    notes,
  };
  analysis.checklist = checklist(analysis, hasGatewayFacts);
  return analysis;
}

function checklist(analysis: HeaderAnalysis, hasGatewayFacts: boolean): ChecklistItem[] {
  const items: ChecklistItem[] = [];
  const entry = analysis.eopEntry;
  const exchangeResults = analysis.authenticationResults.find((results) => results.writtenByExchange && results.header.toLowerCase() === 'authentication-results') ?? null;

  // 1. The gateway is the last hop before EOP.
  if (!entry && analysis.connectingIp === null) {
    items.push({ id: 'last-hop', check: 'The Received chain shows the gateway as the last hop before EOP', status: 'unknown', detail: 'No Received line by an Exchange Online host and no X-Forefront-Antispam-Report: these headers are not from a message delivered by Exchange Online.' });
  } else if (!hasGatewayFacts && !entry?.fromGateway) {
    items.push({ id: 'last-hop', check: 'The Received chain shows the gateway as the last hop before EOP', status: 'unknown', detail: `EOP received the message from ${describeEntry(analysis)}; give --gateway-ip/--snapshot to say whether that is the gateway.` });
  } else {
    items.push({
      id: 'last-hop',
      check: 'The Received chain shows the gateway as the last hop before EOP',
      status: analysis.connectingIpIsGateway ? 'pass' : 'fail',
      detail: analysis.connectingIpIsGateway ? `EOP received the message from the gateway (${describeEntry(analysis)}).` : `EOP received the message from ${describeEntry(analysis)}, which is not the gateway: the message bypassed it.`,
    });
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
  const original = analysis.authenticationResults.filter((results) => results.header.toLowerCase() === 'authentication-results-original');
  const trueSource = analysis.skipListedInternetSender ? senderIp(analysis.skipListedInternetSender) : null;
  const spfIp = exchangeResults?.spf?.senderIp ?? null;
  let spfStatus: CheckStatus = 'unknown';
  let spfDetail = 'No Authentication-Results written by Exchange Online.';
  if (exchangeResults?.spf) {
    if (trueSource && spfIp) {
      spfStatus = spfIp === trueSource ? 'pass' : 'fail';
      spfDetail = `EOP evaluated SPF (${exchangeResults.spf.result}) against ${spfIp}${spfIp === trueSource ? ', the true source' : `, not the true source ${trueSource}`}.`;
    } else if (spfIp && analysis.path === 'direct-to-eop' && spfIp === analysis.connectingIp) {
      spfStatus = 'info';
      spfDetail = `EOP evaluated SPF (${exchangeResults.spf.result}) against ${spfIp}, the connecting server: with no gateway in the path that is the original sender.`;
    } else if (spfIp && isGatewayAddressText(analysis, spfIp)) {
      spfStatus = 'warn';
      spfDetail = `EOP evaluated SPF (${exchangeResults.spf.result}) against the gateway's address ${spfIp}, not the original sender.`;
    } else {
      spfStatus = exchangeResults.spf.result === 'pass' ? 'pass' : 'warn';
      spfDetail = `EOP's SPF result: ${exchangeResults.spf.result}${spfIp ? ` for ${spfIp}` : ''}.`;
    }
  }
  items.push({
    id: 'spf-true-source',
    check: 'SPF was evaluated against the real sender IP, not the gateway IP',
    status: spfStatus,
    detail: `${spfDetail}${original.length > 0 ? ` ${original.length} Authentication-Results-Original header(s) present${original.some((results) => results.authservId) ? ` (authserv-id ${original.map((results) => results.authservId ?? 'none').join(', ')})` : ''}: not used as evidence.` : ''}`,
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
  const compauth = exchangeResults?.compauth;
  if (compauth) {
    const failed = compauth.result === 'fail';
    items.push({
      id: 'compauth',
      check: 'Composite authentication (compauth) passed',
      status: failed ? 'fail' : compauth.result === 'pass' ? 'pass' : 'warn',
      detail: `compauth=${compauth.result}${compauth.reason ? ` reason=${compauth.reason} (${compauth.meaning ?? 'unknown code'})` : ''}${exchangeResults?.dmarc ? `; dmarc=${exchangeResults.dmarc.result}${exchangeResults.dmarc.action ? ` action=${exchangeResults.dmarc.action}` : ''}` : ''}. A compauth failure does not by itself block a message (S25).`,
    });
  }

  // 6. Filtering bypassed.
  const scl = analysis.antispam?.fields.SCL;
  const sfv = analysis.antispam?.fields.SFV;
  if (scl === '-1' || sfv?.toUpperCase() === 'SKN' || analysis.antispam?.fields.IPV?.toUpperCase() === 'CAL') {
    items.push({ id: 'filter-bypass', check: 'EOP filtering was not bypassed', status: 'warn', detail: `Filtering was skipped (${[scl === '-1' ? 'SCL -1' : null, sfv ? `SFV:${sfv}` : null, analysis.antispam?.fields.IPV ? `IPV:${analysis.antispam.fields.IPV}` : null].filter(Boolean).join(', ')}). With Enhanced Filtering, an SCL -1 bypass rule should be disabled (S23).` });
  }
  return items;
}

/** The address in `ip=[192.0.2.80];domain=mail.fabrikam.com` (the skip-listing headers' form) or a bare address. */
export function senderIp(value: string): string | null {
  // indexOf, not a pattern: `ip=\[([^\]]+)\]` rescans to the end from every `ip=[` when no `]` follows.
  const start = /ip=\[/i.exec(value)?.index ?? -1;
  const end = start < 0 ? -1 : value.indexOf(']', start + 4);
  const bracketed = end > start + 4 ? value.slice(start + 4, end) : value.trim();
  return parseIp(bracketed)?.toString() ?? null;
}

function describeEntry(analysis: HeaderAnalysis): string {
  const entry = analysis.eopEntry;
  const host = entry?.fromHost && entry.fromHost !== analysis.connectingIp ? `${entry.fromHost} ` : '';
  return `${host}${analysis.connectingIp ? `[${analysis.connectingIp}]` : '(address not recorded)'}`;
}

function isGatewayAddressText(analysis: HeaderAnalysis, ip: string): boolean {
  return analysis.connectingIpIsGateway === true && analysis.connectingIp === (parseIp(ip)?.toString() ?? ip);
}
