/**
 * The standard gateway-bypass corpus, generated from a snapshot's own accepted domains, connectors and SPF
 * records: the attacks a lockdown must stop, and the legitimate paths it must keep. Pure.
 *
 * What a verdict shows is EOP's transport-layer decision: an attack "got in" when EOP accepted it for delivery without
 * it passing the gateway. EOP's content filtering (spam, phishing, malware) runs after that and is not emulated, so
 * the corpus never claims a message reached a mailbox or an inbox (see acceptedClaim).
 */
import type { Snapshot } from '../snapshot/parse.js';
import type { InboundConnector, TransportRule } from '../snapshot/schema.js';
import { DEFAULT_ASSUMPTIONS } from '../eop/assumptions.js';
import { bytesToBigInt, compileIpList, parseIp, type IpAddress, type IpEntry, type IpList } from '../eop/ip.js';
import { asList, evaluatePredicates, isSet } from '../eop/rule-predicates.js';
import type { HeaderField, Transaction, Verdict } from '../eop/types.js';
import { inferProfile } from '../profile/profile.js';

/** The id prefix of corpus paths for Direct Send sources that only an SPF record suggests: candidates, not known senders. */
const SPF_CANDIDATE = 'legit-direct-send-';
/** Whether a corpus entry is such a path (the plan lists it as a candidate; it does not count as a known sender). */
export const isSpfCandidate = (corpusId: string): boolean => corpusId.startsWith(SPF_CANDIDATE);

export type CorpusKind = 'attack' | 'legitimate';

export interface CorpusEntry {
  id: string;
  kind: CorpusKind;
  name: string;
  /** What the entry represents, in one sentence. */
  description: string;
  transaction: Transaction;
}

/** Addresses from the documentation ranges (RFC 5737, RFC 3849) used as attacker and unknown hosts. */
const ATTACKER_IPV4_CANDIDATES = ['198.51.100.77', '203.0.113.77', '192.0.2.77', '198.51.100.177', '203.0.113.177'];
const ATTACKER_IPV6 = '2001:db8:bad::25';
const ATTACKER_CERTIFICATE = { subject: 'CN=mail.attacker.example', san: ['mail.attacker.example'] };

/** The first usable host address of an entry (the address itself for single entries). */
function hostOf(entry: IpEntry): string {
  const bytes = [...entry.low];
  if (entry.form === 'cidr' && (entry.prefix ?? 32) < (entry.family === 'ipv4' ? 31 : 127)) {
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) + 1;
  }
  if (entry.family === 'ipv4') return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return parseIp(groups.join(':'))?.toString() ?? groups.join(':');
}

/** A concrete host name for a configured certificate name (`*.seg.example.net` → `mx1.seg.example.net`). */
function certificateFor(name: string): { subject: string; san: string[] } {
  const host = name.startsWith('*.') ? `mx1.${name.slice(2)}` : name;
  return { subject: `CN=${host}`, san: name.startsWith('*.') ? [host, name] : [host] };
}

function isGatewayConnector(connector: InboundConnector): boolean {
  return connector.ConnectorType === 'Partner' && connector.SenderDomains.some((domain) => domain.trim() === '*');
}

/**
 * A test for "does any of these lists contain the address?", answered by a binary search over the merged entries
 * of each IP version instead of a scan of every list (the corpus asks it for each SPF source).
 */
function coverage(lists: readonly IpList[]): (address: IpAddress) => boolean {
  const merged = { ipv4: [] as [bigint, bigint][], ipv6: [] as [bigint, bigint][] };
  for (const list of lists) for (const entry of list.entries) merged[entry.family].push([bytesToBigInt(entry.low), bytesToBigInt(entry.high)]);
  for (const intervals of Object.values(merged)) {
    intervals.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    let kept = 0;
    for (const interval of intervals) {
      const last = intervals[kept - 1];
      if (last && interval[0] <= last[1]) {
        if (interval[1] > last[1]) last[1] = interval[1];
      } else intervals[kept++] = interval;
    }
    intervals.length = kept;
  }
  return (address) => {
    const intervals = merged[address.kind()];
    const value = bytesToBigInt(address.toByteArray());
    let low = 0;
    let high = intervals.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const [start, end] = intervals[middle] as [bigint, bigint];
      if (value < start) high = middle - 1;
      else if (value > end) low = middle + 1;
      else return true;
    }
    return false;
  };
}

/** IPv4 entries of `ip4:` mechanisms in a domain's SPF record (from the snapshot's Dns section). */
function spfIp4(records: readonly string[]): string[] {
  const spf = records.find((record) => /^v=spf1(\s|$)/i.test(record.trim()));
  if (!spf) return [];
  return spf
    .split(/\s+/)
    .map((term) => /^\+?ip4:(\S+)$/i.exec(term)?.[1])
    .filter((value): value is string => value !== undefined);
}

/** The gateway the legitimate paths come through: its addresses, certificate name and MX hosts (see src/profile). */
export interface CorpusGateway {
  ips: readonly string[];
  certificateName: string | null;
  mxHosts?: readonly string[];
}

/**
 * Attacks that are a bypass only when a gateway stands in front of EOP. Without one, mail from outside domains
 * reaching EOP directly is the normal path, judged by content filtering (not emulated), so only the Direct Send
 * spoof of an accepted domain — which configuration (RejectDirectSend) stops — stays in the corpus.
 */
const GATEWAY_ONLY_ATTACKS = new Set([
  'foreign-p1-internal-from',
  'foreign-domain-bypass',
  'ghost-sender',
  'null-sender',
  'ipv6-direct',
  'tls-wrong-certificate',
  'forged-authas-header',
  'forged-gateway-header',
]);

/**
 * Generates the corpus. `gateway` defaults to the one inferred from the snapshot (its `SenderDomains *` Partner
 * connector); the audit passes the user's gateway profile instead.
 */
export function builtinCorpus(snapshot: Snapshot, gateway: CorpusGateway = inferProfile(snapshot)): CorpusEntry[] {
  const domains = snapshot.AcceptedDomain.filter((domain) => domain.DomainType !== 'ExternalRelay');
  const primary =
    (domains.find((domain) => domain.Default) ?? domains.find((domain) => !/\.onmicrosoft\.com$/i.test(domain.DomainName)) ?? domains[0])
      ?.DomainName.toLowerCase()
      .replace(/^\*\./, '') ?? 'contoso.com';
  const enabled = snapshot.InboundConnector.filter((connector) => connector.Enabled);
  const covered = coverage([
    ...enabled.map((connector) => compileIpList([...connector.SenderIPAddresses, ...connector.EFSkipIPs])),
    compileIpList(gateway.ips),
  ]);
  const attackerIp =
    ATTACKER_IPV4_CANDIDATES.find((candidate) => {
      const address = parseIp(candidate);
      return address !== null && !covered(address);
    }) ?? '198.51.100.77';

  const user = `user@${primary}`;
  const ceo = `ceo@${primary}`;
  const headers = (from: string, subject: string) => [
    { name: 'From', value: from },
    { name: 'To', value: user },
    { name: 'Subject', value: subject },
  ];
  const entries: CorpusEntry[] = [
    {
      id: 'direct-send-spoof',
      kind: 'attack',
      name: 'Direct Send spoof of an internal sender',
      description: `An anonymous host sends as ${ceo} (envelope and header) straight to the tenant's EOP endpoint.`,
      transaction: {
        clientIp: attackerIp,
        helo: 'mail.attacker.example',
        mailFrom: ceo,
        rcptTo: [user],
        headers: headers(`CEO <${ceo}>`, 'Urgent wire transfer'),
      },
    },
    {
      id: 'foreign-p1-internal-from',
      kind: 'attack',
      name: 'Foreign envelope sender, internal header From',
      description: `The envelope sender is the attacker's own domain (so RejectDirectSend does not apply); the From header shows ${ceo}.`,
      transaction: {
        clientIp: attackerIp,
        helo: 'mail.attacker.example',
        mailFrom: 'bounce@mailer.attacker.example',
        rcptTo: [user],
        headers: headers(`CEO <${ceo}>`, 'Updated payroll details'),
      },
    },
    {
      id: 'foreign-domain-bypass',
      kind: 'attack',
      name: 'Foreign-domain mail bypassing the gateway',
      description: 'Ordinary phishing from an outside domain, sent straight to EOP so the gateway never scans it.',
      transaction: {
        clientIp: attackerIp,
        helo: 'mail.attacker.example',
        mailFrom: 'billing@invoices.attacker.example',
        rcptTo: [user],
        headers: headers('Billing <billing@invoices.attacker.example>', 'Invoice overdue'),
      },
    },
    {
      id: 'ghost-sender',
      kind: 'attack',
      name: 'Ghost-Sender: DMARC-failing spoof of an outside domain',
      description:
        'Sent straight to EOP as a domain that publishes DMARC p=reject, failing SPF and unsigned; with the MX elsewhere and no ' +
        'Enhanced Filtering, Honor DMARC does not act (S26, S61).',
      transaction: {
        clientIp: attackerIp,
        helo: 'mail.attacker.example',
        mailFrom: 'payments@bank.example',
        rcptTo: [user],
        headers: headers('Bank Payments <payments@bank.example>', 'Payment confirmation'),
        authentication: { spf: 'fail', dkim: [], dmarcRecord: 'v=DMARC1; p=reject; rua=mailto:dmarc@bank.example' },
      },
    },
    {
      id: 'null-sender',
      kind: 'attack',
      name: 'Null envelope sender with an internal header From',
      description: `MAIL FROM:<> (as bounces use), with ${ceo} in the From header.`,
      transaction: {
        clientIp: attackerIp,
        helo: 'mail.attacker.example',
        mailFrom: '',
        rcptTo: [user],
        headers: headers(`CEO <${ceo}>`, 'Undeliverable: your message'),
      },
    },
    {
      id: 'ipv6-direct',
      kind: 'attack',
      name: 'IPv6 direct delivery',
      description: 'The same spoof over IPv6, which inbound connectors cannot list (SenderIPAddresses is IPv4 only).',
      transaction: {
        clientIp: ATTACKER_IPV6,
        helo: 'mail.attacker.example',
        mailFrom: 'bounce@mailer.attacker.example',
        rcptTo: [user],
        headers: headers(`CEO <${ceo}>`, 'Action required'),
      },
    },
    {
      id: 'tls-wrong-certificate',
      kind: 'attack',
      name: 'TLS with a certificate that is not the gateway\'s',
      description: 'STARTTLS with a valid-looking certificate for the attacker\'s own host name.',
      transaction: {
        clientIp: attackerIp,
        helo: 'mail.attacker.example',
        tls: { certificate: ATTACKER_CERTIFICATE },
        mailFrom: 'bounce@mailer.attacker.example',
        rcptTo: [user],
        headers: headers(`CEO <${ceo}>`, 'Shared document'),
      },
    },
    {
      id: 'forged-authas-header',
      kind: 'attack',
      name: 'Forged X-MS-Exchange-Organization-AuthAs: Internal',
      description: 'The attacker adds the header that safety-net rules exempt, hoping to be treated as internal.',
      transaction: {
        clientIp: attackerIp,
        helo: 'mail.attacker.example',
        mailFrom: 'bounce@mailer.attacker.example',
        rcptTo: [user],
        headers: [...headers(`CEO <${ceo}>`, 'Quick favour'), { name: 'X-MS-Exchange-Organization-AuthAs', value: 'Internal' }],
      },
    },
  ];

  // A blocking rule that lets mail through on a header the gateway stamps (X-Gateway-Scanned: yes) lets through anyone
  // who writes that header: only the X-MS-Exchange-Organization-* headers are EOP's own (S33).
  const stamps = gatewayStamps(snapshot);
  if (stamps.length > 0) {
    entries.push({
      id: 'forged-gateway-header',
      kind: 'attack',
      name: `Forged gateway header ${stamps.map((field) => `${field.name}: ${field.value}`).join(', ')}`,
      description: 'The attacker adds the header the gateway stamps, which a transport rule exempts, and sends straight to EOP.',
      transaction: {
        clientIp: attackerIp,
        helo: 'mail.attacker.example',
        mailFrom: 'bounce@mailer.attacker.example',
        rcptTo: [user],
        headers: [...headers(`CEO <${ceo}>`, 'Invoice approval'), ...stamps],
      },
    });
  }

  const gatewayPresent = gateway.ips.length > 0 || gateway.certificateName !== null || (gateway.mxHosts?.length ?? 0) > 0;
  if (!gatewayPresent) {
    for (let index = entries.length - 1; index >= 0; index--) {
      if (GATEWAY_ONLY_ATTACKS.has(entries[index]?.id ?? '')) entries.splice(index, 1);
    }
  }

  // Legitimate paths, one per connector that identifies a sender by IP or certificate.
  for (const connector of enabled) {
    const ips = compileIpList(connector.SenderIPAddresses).entries;
    const tls = connector.RequireTls || connector.TlsSenderCertificateName !== null || connector.ConnectorType === 'OnPremises';
    if (connector.ConnectorType === 'OnPremises') {
      if (!connector.TlsSenderCertificateName && ips.length === 0) continue;
      const certificate = connector.TlsSenderCertificateName ? certificateFor(connector.TlsSenderCertificateName) : undefined;
      const ip = ips[0] ? hostOf(ips[0]) : '192.0.2.80';
      entries.push({
        id: `legit-onpremises-${slug(connector.Name)}`,
        kind: 'legitimate',
        name: `On-premises mail through "${connector.Name}"`,
        description: `A mailbox on the on-premises servers writes to a cloud mailbox (${certificate ? `certificate ${certificate.subject.slice(3)}` : `from ${ip}`}).`,
        transaction: {
          clientIp: ip,
          helo: certificate?.subject.slice(3) ?? 'onprem.example',
          tls: certificate ? { certificate } : {},
          mailFrom: `colleague@${primary}`,
          rcptTo: [user],
          headers: headers(`Colleague <colleague@${primary}>`, 'Team meeting'),
        },
      });
      continue;
    }
    if (isGatewayConnector(connector)) continue; // the gateway's paths come from the gateway profile, below

    // A Partner connector for specific sender domains: an application, scanner or service.
    const domain = connector.SenderDomains.find((value) => value !== '*')?.replace(/^\*\./, '') ?? primary;
    const entry = ips[0];
    if (!entry && !connector.TlsSenderCertificateName) continue;
    const certificate = connector.TlsSenderCertificateName ? certificateFor(connector.TlsSenderCertificateName) : undefined;
    const from = `scanner@${domain}`;
    entries.push({
      id: `legit-partner-${slug(connector.Name)}`,
      kind: 'legitimate',
      name: `Application or device through "${connector.Name}"`,
      description: `${from} sends from ${entry ? hostOf(entry) : 'its certified host'}, matching "${connector.Name}".`,
      transaction: {
        clientIp: entry ? hostOf(entry) : '192.0.2.90',
        helo: 'device.example',
        ...(certificate ? { tls: { certificate } } : tls ? { tls: {} } : {}),
        mailFrom: from,
        rcptTo: [user],
        headers: headers(`Scanner <${from}>`, 'Scanned document'),
      },
    });
  }

  // The gateway: one path per address it sends from (up to eight), with its certificate when it is known.
  const sender = 'customer@partner.example';
  const certificate = gateway.certificateName ? certificateFor(gateway.certificateName) : undefined;
  const gatewayEntries = compileIpList(gateway.ips).entries.slice(0, 8);
  const stampNote = stamps.length > 0 ? `, stamping ${stamps.map((field) => `${field.name}: ${field.value}`).join(', ')}` : '';
  for (const entry of gatewayEntries) {
    entries.push({
      id: `legit-gateway-${slug(entry.text)}`,
      kind: 'legitimate',
      name: `Internet mail via the gateway (${entry.text})`,
      description: `The gateway relays outside mail from ${hostOf(entry)}${certificate ? ` presenting ${certificate.san[0]}` : ' over TLS'}${stampNote}.`,
      transaction: {
        clientIp: hostOf(entry),
        helo: certificate?.san[0] ?? 'gateway.example',
        tls: certificate ? { certificate } : {},
        mailFrom: sender,
        rcptTo: [user],
        headers: [...headers(`Customer <${sender}>`, 'Order 4711'), ...stamps],
      },
    });
  }
  if (gatewayEntries.length === 0 && certificate) {
    entries.push({
      id: 'legit-gateway-certificate',
      kind: 'legitimate',
      name: `Internet mail via the gateway (certificate ${certificate.san[0]})`,
      description: `The gateway presents ${certificate.san[0]}${stampNote}; its addresses are not known, so a documentation address stands in.`,
      transaction: {
        clientIp: '203.0.113.200',
        helo: certificate.san[0] ?? 'gateway.example',
        tls: { certificate },
        mailFrom: sender,
        rcptTo: [user],
        headers: [...headers(`Customer <${sender}>`, 'Order 4712'), ...stamps],
      },
    });
  }

  // Direct Send sources suggested by SPF: an ip4 entry no connector covers is a device or service that sends as the
  // domain (the guide: "every entry there is a candidate for a dedicated connector").
  const seen = new Set<string>();
  for (const domain of domains) {
    const name = domain.DomainName.toLowerCase();
    const records = snapshot.Dns[name]?.TXT ?? [];
    for (const text of spfIp4(records)) {
      const parsed = compileIpList([text]).entries[0];
      if (!parsed) continue;
      const host = hostOf(parsed);
      const address = parseIp(host);
      if (!address || seen.has(host)) continue;
      if (covered(address)) continue;
      seen.add(host);
      const from = `noreply@${name}`;
      entries.push({
        id: `${SPF_CANDIDATE}${slug(host)}`,
        kind: 'legitimate',
        name: `Direct Send from SPF source ${text}`,
        description: `${name}'s SPF record authorises ${text} and no connector covers it: a device or service that sends as ${from} by Direct Send.`,
        transaction: {
          clientIp: host,
          helo: 'device.example',
          mailFrom: from,
          rcptTo: [user],
          headers: headers(`Device <${from}>`, 'Scan to email'),
        },
      });
    }
  }
  return entries;
}

// ─────────────────────────────────────────────────────────────────────────────────────────────────
// Transport rules that exempt mail by a header
// ─────────────────────────────────────────────────────────────────────────────────────────────────

/** A rule's blocking action, if any: reject, delete, quarantine or redirect. */
export function blockingAction(rule: Record<string, unknown>): string | null {
  if (isSet(rule.RejectMessageReasonText) || isSet(rule.RejectMessageEnhancedStatusCode)) return 'reject';
  if (rule.DeleteMessage === true) return 'delete';
  if (rule.Quarantine === true) return 'quarantine';
  if (isSet(rule.RedirectMessageTo)) return 'redirect';
  return null;
}

/** The header EOP stamps on every message with how the sender authenticated (Anonymous, Internal, External, Partner; §1.4, S33). */
export const AUTH_AS_HEADER = 'X-MS-Exchange-Organization-AuthAs';
const ORGANIZATION_PREFIX = 'x-ms-exchange-organization-';

/**
 * Who can write a header that EOP's transport rules read. EOP stamps AuthAs itself, replacing any value the sender
 * gave, and its header firewall removes every other X-MS-Exchange-Organization-* header from mail not authenticated as
 * internal (S33, §1.4): only on-premises mail can carry them. Every other header is whatever the sender wrote.
 */
export type HeaderWriter = 'eop-stamp' | 'internal-only' | 'sender';

export function headerWriter(name: string): HeaderWriter {
  const lower = name.trim().toLowerCase();
  if (lower === AUTH_AS_HEADER.toLowerCase()) return 'eop-stamp';
  return lower.startsWith(ORGANIZATION_PREFIX) ? 'internal-only' : 'sender';
}

/** One header exception of a transport rule: the header, the words or patterns it tests, and a value that meets them. */
export interface HeaderException {
  /** `ExceptIfHeaderContainsMessageHeader` or `ExceptIfHeaderMatchesMessageHeader`. */
  property: string;
  /** The property that holds the words or patterns. */
  testsProperty: string;
  header: string;
  tests: string[];
  writer: HeaderWriter;
  /** A header value the exception accepts, as the emulator judges it; null when none was found for the patterns. */
  satisfiedBy: string | null;
}

const HEADER_EXCEPTIONS = [
  ['ExceptIfHeaderContainsMessageHeader', 'ExceptIfHeaderContainsWords', 'words'],
  ['ExceptIfHeaderMatchesMessageHeader', 'ExceptIfHeaderMatchesPatterns', 'patterns'],
] as const;

/** The header exceptions a rule configures (S18: the header and its words or patterns always go together). */
export function headerExceptions(rule: TransportRule | Record<string, unknown>): HeaderException[] {
  const raw = rule as Record<string, unknown>;
  const found: HeaderException[] = [];
  for (const [property, testsProperty, kind] of HEADER_EXCEPTIONS) {
    const header = raw[property];
    const tests = asList(raw[testsProperty]).filter((test) => test.trim() !== '');
    if (!isSet(header) || tests.length === 0) continue;
    const name = String(header).trim();
    const exception = { property, testsProperty, header: name, tests, writer: headerWriter(name) };
    const candidates = kind === 'words' ? tests.map((word) => word.trim()) : tests.map(satisfyingValue);
    const satisfiedBy = candidates.find((value): value is string => value !== null && headerExceptionMet(exception, value)) ?? null;
    found.push({ ...exception, satisfiedBy });
  }
  return found;
}

const PROBE_ADDRESS = parseIp('192.0.2.1') as IpAddress;

/** Whether a header exception lets through a message whose header carries `value`, judged by the emulator's own predicate. */
export function headerExceptionMet(exception: Pick<HeaderException, 'property' | 'testsProperty' | 'header' | 'tests'>, value: string): boolean {
  const rule = { [exception.property]: exception.header, [exception.testsProperty]: exception.tests };
  const [outcome] = evaluatePredicates(rule, 'ExceptIf', {
    clientIp: PROBE_ADDRESS,
    clientIpText: '192.0.2.1',
    mailFrom: '',
    headerFrom: null,
    recipients: [],
    headers: [{ name: exception.header, value }],
    authAs: 'Anonymous',
    acceptedDomains: [],
    assumptions: DEFAULT_ASSUMPTIONS,
  });
  return outcome?.matched === true;
}

/**
 * A value a .NET-style pattern matches, built from its first alternative (`\d` → 1, `\w` → a, `.` → a, a character
 * class → its first character, each quantified item once); null when the pattern does not accept the value built.
 * (The class search's header regions use it too.)
 */
export function satisfyingValue(pattern: string): string | null {
  let value = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '|') break;
    if ('^$()+*?'.includes(c)) continue;
    if (c === '{') {
      const close = pattern.indexOf('}', i);
      i = close < 0 ? i : close;
      continue;
    }
    if (c === '\\') {
      const next = pattern[++i] ?? '';
      value += next === 'd' ? '1' : next === 'w' ? 'a' : next === 's' ? ' ' : next === 'b' || next === 'B' ? '' : next;
      continue;
    }
    if (c === '[') {
      const close = pattern.indexOf(']', i + 1);
      const body = close < 0 ? '' : pattern.slice(i + 1, close);
      value += body.startsWith('^') ? '#' : body.startsWith('\\d') ? '1' : (body.replace(/^\\/, '')[0] ?? 'a');
      i = close < 0 ? pattern.length : close;
      continue;
    }
    value += c === '.' ? 'a' : c;
  }
  try {
    return new RegExp(pattern, 'i').test(value) ? value : null;
  } catch {
    return null;
  }
}

/** Headers the message itself carries: its author writes them; they are no stamp a gateway adds. */
const MESSAGE_HEADERS = new Set(['from', 'to', 'cc', 'subject', 'sender', 'reply-to']);

/**
 * The headers the gateway stamps, as the tenant's rules show them: for each enabled blocking rule that exempts mail
 * by a header a sender writes, that header with a value the exception accepts. A tenant only builds such a rule for a
 * header its gateway adds, so the gateway's legitimate mail carries it (and so can an attacker's).
 */
export function gatewayStamps(snapshot: Snapshot): HeaderField[] {
  const stamps: HeaderField[] = [];
  for (const rule of snapshot.TransportRule) {
    if (rule.State !== 'Enabled' || blockingAction(rule as Record<string, unknown>) === null) continue;
    for (const exception of headerExceptions(rule)) {
      if (exception.writer !== 'sender' || exception.satisfiedBy === null || MESSAGE_HEADERS.has(exception.header.toLowerCase())) continue;
      if (stamps.some((field) => field.name.toLowerCase() === exception.header.toLowerCase())) continue;
      stamps.push({ name: exception.header, value: exception.satisfiedBy });
    }
  }
  return stamps;
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'x';
}

/**
 * How an entry fared. An attack that EOP accepts for delivery (or relays) without it passing the gateway got in
 * (`got-in`); one refused in the session is `blocked`; one accepted but quarantined, sent to Junk or dropped by a rule or
 * Honor DMARC is `contained`. A legitimate path that EOP does not accept for delivery broke.
 */
export type CorpusOutcome = 'blocked' | 'contained' | 'got-in' | 'delivered' | 'broken';

export function corpusOutcome(entry: CorpusEntry, verdict: Verdict): CorpusOutcome {
  const acceptedForDelivery = verdict.action === 'accept' && (verdict.disposition === 'deliver' || verdict.disposition === 'relay');
  if (entry.kind === 'attack') {
    if (acceptedForDelivery) return 'got-in';
    return verdict.action === 'reject' ? 'blocked' : 'contained';
  }
  return acceptedForDelivery ? 'delivered' : 'broken';
}

/** What an attack's `got-in` outcome claims, in the words every report uses. */
export const ATTACK_ACCEPTED = 'accepted by EOP without passing the gateway';

/**
 * What an accepted attack's verdict shows, and where EOP's filtering — which runs after acceptance and is not
 * emulated — would still act (S32: a rule's SCL -1 overrides spam, bulk and phishing verdicts, never malware or
 * high-confidence phishing).
 */
export function acceptedClaim(verdict: Pick<Verdict, 'disposition' | 'scl'>): string {
  const what = verdict.disposition === 'relay' ? 'accepted by EOP and relayed on without passing the gateway' : ATTACK_ACCEPTED;
  if (verdict.scl === -1) {
    return `${what}; a transport rule set SCL -1, which overrides spam, bulk and phishing verdicts — only malware and high-confidence phishing are still acted on (S32)`;
  }
  return `${what}; EOP's content filtering (spam, phishing, malware — not emulated) may still junk or quarantine it`;
}
