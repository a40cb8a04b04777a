/**
 * Bypass monitoring: inbound mail that was accepted without coming from the gateway. Pure, constant memory
 * (counters only). Refused attempts are not in mail-flow data; the report says so.
 */
import { domainOf, findAcceptedDomain } from '../eop/addresses.js';
import { DEFAULT_ASSUMPTIONS } from '../eop/assumptions.js';
import { compiledIpList, findInList, parseIp, type IpList } from '../eop/ip.js';
import type { GatewayProfile } from '../profile/profile.js';
import type { Snapshot } from '../snapshot/parse.js';
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
  bypassed: number;
  /** Messages per day (UTC date) that bypassed the gateway. */
  perDay: { day: string; messages: number }[];
  topSources: CountedSource[];
  /** Internal senders (accepted domains) seen on bypassing mail: the spoofs. */
  topSpoofedSenders: { address: string; messages: number }[];
  notes: string[];
}

const TOP = 10;

export class BypassMonitor {
  private readonly gatewayList: IpList;
  private readonly connectorLists: { name: string; list: IpList }[];
  private readonly gatewayConnectors: Set<string>;
  private readonly counts = { records: 0, inbound: 0, viaGateway: 0, viaOtherConnector: 0, bypassed: 0 };
  private readonly days = new Map<string, number>();
  private readonly sources = new Map<string, { messages: number; domains: Set<string> }>();
  private readonly spoofed = new Map<string, number>();

  constructor(
    private readonly gateway: GatewayProfile,
    private readonly snapshot: Snapshot | null,
  ) {
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
    this.counts.records++;
    if (record.direction === 'outbound' || record.direction === 'intra-org') return;
    if (!record.clientIp && record.connector === null) return;
    this.counts.inbound++;
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
    for (const sender of new Set([record.mailFrom, record.headerFrom ?? ''].filter((value) => value.includes('@')))) {
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

  finish(): MonitorResult {
    return {
      ...this.counts,
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
        'These data hold only mail that EOP accepted. Attempts refused with 5.7.68 or 5.7.51 happen at the SMTP layer and are never in message trace or EmailEvents (eop-behaviour.md §8.1, §11.4): run "eoplock probe" against the tenant endpoint, and read the lab\'s transactions.jsonl, to see refusals.',
        this.gateway.ips.length === 0 ? 'The gateway profile lists no addresses: only records with a connector field (EmailEvents, historical search) can be judged.' : `Gateway addresses: ${this.gateway.ips.join(', ')}.`,
      ],
    };
  }
}
