/**
 * Bypass monitoring: inbound mail that was accepted without coming from the gateway. Pure, constant memory
 * (counters only). Refused attempts are not in mail-flow data; the report says so.
 *
 * A message is only called a bypass when the data could have shown it came through the gateway: its source address
 * is compared with the gateway's, or its connector field with the snapshot's gateway connector. Without either (no
 * gateway address known and no connector field, or no gateway connector to name) it is undetermined, never an alarm;
 * with no gateway at all nothing is judged.
 *
 * A source the admin names as a legitimate Direct Send source (`--allow-direct-send`, as for "eoplock plan") is counted
 * on its own, not as a bypass. Your own addresses on bypassing mail are called spoofs only when no connector and no
 * named source vouches for the address the mail came from.
 */
import { domainOf, findAcceptedDomain } from '../eop/addresses.js';
import { DEFAULT_ASSUMPTIONS } from '../eop/assumptions.js';
import { compiledIpList, findInList, parseIp, type IpList } from '../eop/ip.js';
import { hasGateway, type GatewayProfile } from '../profile/profile.js';
import type { Snapshot } from '../snapshot/parse.js';
import { SOURCES } from '../eop/sources.js';
import { InputError } from '../errors.js';
import type { TraceRecord } from './records.js';
import { own } from '../util/strings.js';

export interface CountedSource {
  clientIp: string;
  messages: number;
  senderDomains: string[];
}

export interface MonitorResult {
  records: number;
  inbound: number;
  viaGateway: number;
  viaOtherConnector: number;
  /** Inbound messages from a source named with --allow-direct-send: around the gateway by design, not bypasses. */
  allowedDirectSend: number;
  bypassed: number;
  /**
   * Inbound messages that neither came from a gateway address nor through a connector, where the data cannot tell
   * gateway mail apart: no gateway address is known and the record has no connector field or there is no gateway
   * connector to name. Not counted as bypasses.
   */
  undetermined: number;
  /** Whether a gateway is known at all (addresses, certificate or MX hosts); without one nothing is judged. */
  gatewayKnown: boolean;
  /** Messages per day (UTC date) that bypassed the gateway. */
  perDay: { day: string; messages: number }[];
  topSources: CountedSource[];
  /**
   * Internal senders (accepted domains) seen on bypassing mail: the spoofs. Mail from an address that an enabled
   * connector lists is not counted here (the connector names the source as yours), nor is a named Direct Send source's.
   */
  topSpoofedSenders: { address: string; messages: number }[];
  notes: string[];
}

const TOP = 10;

/** A legitimate Direct Send source: an address or CIDR, and the name the admin gave it. */
export interface AllowedSource {
  ip: string;
  name: string;
}

export interface MonitorOptions {
  /** Sources that send by Direct Send on purpose (`--allow-direct-send`): their mail is not a bypass. */
  allowDirectSend?: readonly AllowedSource[];
}

export class BypassMonitor {
  private readonly gatewayList: IpList;
  private readonly connectorLists: { name: string; list: IpList }[];
  private readonly gatewayConnectors: Set<string>;
  private readonly allowedList: IpList;
  private readonly counts = { records: 0, inbound: 0, viaGateway: 0, viaOtherConnector: 0, allowedDirectSend: 0, bypassed: 0, undetermined: 0 };
  private readonly gatewayKnown: boolean;
  private readonly days = new Map<string, number>();
  private readonly sources = new Map<string, { messages: number; domains: Set<string> }>();
  private readonly spoofed = new Map<string, number>();

  constructor(
    private readonly gateway: GatewayProfile,
    private readonly snapshot: Snapshot | null,
    options: MonitorOptions = {},
  ) {
    this.gatewayKnown = hasGateway(gateway);
    this.allowedList = compiledIpList((options.allowDirectSend ?? []).map((source) => source.ip));
    this.gatewayList = compiledIpList(gateway.ips);
    this.connectorLists = (snapshot?.InboundConnector ?? []).filter((c) => c.Enabled).map((c) => ({ name: c.Name.toLowerCase(), list: compiledIpList(c.SenderIPAddresses) }));
    this.gatewayConnectors = new Set(
      (snapshot?.InboundConnector ?? [])
        .filter((c) => c.ConnectorType === 'Partner' && c.SenderDomains.includes('*'))
        .map((c) => c.Name.toLowerCase()),
    );
  }

  private internal(address: string, recipients: readonly string[]): boolean {
    const domain = domainOf(address);
    if (!domain) return false;
    if (this.snapshot) return findAcceptedDomain(domain, this.snapshot.AcceptedDomain, DEFAULT_ASSUMPTIONS) !== null;
    return recipients.some((recipient) => domainOf(recipient) === domain);
  }

  add(record: TraceRecord): void {
    // A summary row stands for many messages over days: per-day counts and bypass sources need the messages themselves.
    if (record.count !== undefined) {
      throw new InputError('an impact summary (eoplock queries --for impact) is read by "eoplock impact"; monitor needs message trace or EmailEvents rows', { file: record.file });
    }
    this.counts.records++;
    if (record.direction === 'outbound' || record.direction === 'intra-org') return;
    if (!record.clientIp && record.connector === null) return;
    this.counts.inbound++;
    if (!this.gatewayKnown) return;
    const address = record.clientIp ? parseIp(record.clientIp) : null;
    const fromGatewayIp = address !== null && findInList(this.gatewayList, address) !== null;
    const connector = record.connector?.toLowerCase() ?? null;
    if (fromGatewayIp || (connector && this.gatewayConnectors.has(connector))) {
      this.counts.viaGateway++;
      return;
    }
    // A connector field that is present decides ("" = none); without one, the source IP is compared with the connectors.
    const otherConnector = connector !== null ? connector !== '' : address !== null && this.connectorLists.some(({ list }) => findInList(list, address) !== null);
    if (otherConnector) {
      this.counts.viaOtherConnector++;
      return;
    }
    if (address !== null && findInList(this.allowedList, address) !== null) {
      this.counts.allowedDirectSend++;
      return;
    }
    // Gateway mail is told by its address, or by the name of the gateway's connector in the record's connector field.
    if (this.gateway.ips.length === 0 && (connector === null || this.gatewayConnectors.size === 0)) {
      this.counts.undetermined++;
      return;
    }
    this.counts.bypassed++;
    const day = record.time?.slice(0, 10) ?? 'unknown';
    const perDay = this.days.get(day);
    if (perDay === undefined) this.days.set(own(day), 1);
    else this.days.set(day, perDay + 1);
    const ip = record.clientIp ?? 'unknown';
    let source = this.sources.get(ip);
    if (!source) {
      source = { messages: 0, domains: new Set<string>() };
      this.sources.set(own(ip), source);
    }
    source.messages++;
    if (source.domains.size < 5) source.domains.add(own(domainOf(record.mailFrom) ?? '<>'));
    // A source an enabled connector lists is one of yours (the record says no connector took it, so it still went
    // around the gateway): your own address on its mail is expected, not a spoof.
    const namedByConnector = address !== null && this.connectorLists.some(({ list }) => findInList(list, address) !== null);
    const senders = namedByConnector ? [] : new Set([record.mailFrom, record.headerFrom ?? ''].filter((value) => value.includes('@')));
    for (const sender of senders) {
      const address = sender.toLowerCase();
      if (!this.internal(sender, record.recipients)) continue;
      const count = this.spoofed.get(address);
      if (count === undefined) this.spoofed.set(own(address), 1);
      else this.spoofed.set(address, count + 1);
    }
    if (this.sources.size > 100_000) this.trim();
  }

  /** Keeps memory bounded on very large data: the smallest sources are dropped (their messages stay counted). */
  private trim(): void {
    const kept = [...this.sources.entries()].sort((a, b) => b[1].messages - a[1].messages).slice(0, 10_000);
    this.sources.clear();
    for (const [ip, source] of kept) this.sources.set(ip, source);
  }

  private gatewayNote(): string {
    if (!this.gatewayKnown) return 'No gateway is known (no addresses, certificate or MX hosts, given or inferred): no mail can go around one, and none is counted as such.';
    if (this.gateway.ips.length > 0) return `Gateway addresses: ${this.gateway.ips.join(', ')}.`;
    const judged =
      this.gatewayConnectors.size > 0
        ? 'The gateway profile lists no addresses: only records with a connector field (EmailEvents, historical search) can be judged, by the gateway connector\'s name.'
        : 'The gateway profile lists no addresses and no gateway connector is known (--snapshot names it): no record can be told to have come through the gateway.';
    return `${judged} Messages that cannot be judged are counted as undetermined, not as bypasses; give the gateway's addresses with --seg-ip to judge them.`;
  }

  finish(): MonitorResult {
    return {
      ...this.counts,
      gatewayKnown: this.gatewayKnown,
      perDay: [...this.days.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([day, messages]) => ({ day, messages })),
      topSources: [...this.sources.entries()]
        .sort((a, b) => b[1].messages - a[1].messages || a[0].localeCompare(b[0]))
        .slice(0, TOP)
        .map(([clientIp, source]) => ({ clientIp, messages: source.messages, senderDomains: [...source.domains].sort() })),
      topSpoofedSenders: [...this.spoofed.entries()]
        .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
        .slice(0, TOP)
        .map(([address, messages]) => ({ address, messages })),
      notes: [
        `These data hold only mail that EOP accepted. Attempts refused with 5.7.68 or 5.7.51 happen at the SMTP layer and are never in message trace or EmailEvents (Microsoft, S2a: ${SOURCES.S2a?.url}): run "eoplock probe" against the tenant endpoint, and read the lab's transactions.jsonl, to see refusals.`,
        this.gatewayNote(),
      ],
    };
  }
}
