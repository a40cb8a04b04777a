/**
 * Impact analysis: every inbound message of the data, evaluated with decide() under the current snapshot and under the
 * planned one. What is accepted now but refused after is grouped by source and sender domain. Pure: records in
 * (one at a time, constant memory), a result out.
 */
import { domainOf, findAcceptedDomain } from '../eop/addresses.js';
import type { Assumptions } from '../eop/assumptions.js';
import { decide } from '../eop/decide.js';
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
  recipientCount: number;
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

const MAX_SAMPLES = 3;
const MAX_RECIPIENTS = 5;

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
function suggestion(clientIp: string, domain: string): string | null {
  const address = parseIp(clientIp);
  if (address?.kind() !== 'ipv4') return null;
  // The address in the name keeps names apart when several sources send as one domain (as the plan's suggestions do).
  const name = /^[a-z0-9][a-z0-9.-]{0,252}$/.test(domain) ? `Direct Send from ${domain} (${address.toString()})` : `Direct Send source ${address.toString()}`;
  return `--allow-direct-send '${address.toString()}=${name}'`;
}

export class ImpactAnalysis {
  private readonly groups = new Map<string, ImpactGroup>();
  /** Per decision key: how the message is refused now and after (null: accepted). Small values, bounded size. */
  private readonly cache = new Map<string, [string | null, string | null]>();
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
  /** Every string the configuration mentions (lower-cased): a sender domain not among them is decided like any other. */
  private readonly mentioned: Set<string>;

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

  /** The sender's domain as far as the configuration can tell it apart: itself when mentioned (or a parent is), else one class. */
  private senderClass(domain: string | null): string {
    if (!domain) return '';
    for (let rest = domain; ; ) {
      if (this.mentioned.has(rest)) return domain;
      const dot = rest.indexOf('.');
      if (dot < 0) return '(other domain)';
      rest = rest.slice(dot + 1);
    }
  }

  private readonly gatewayCertificates = new Map<string, string | null>();
  private readonly tenantAddresses = new Map<string, boolean>();

  /** Whether an address is in one of the tenant's domains (remembered: recipients repeat). */
  private forTenant(address: string): boolean {
    let hit = this.tenantAddresses.get(address);
    if (hit === undefined) {
      hit = findAcceptedDomain(domainOf(address), this.now.AcceptedDomain, this.assumptions) !== null;
      if (this.tenantAddresses.size > 100_000) this.tenantAddresses.clear();
      this.tenantAddresses.set(own(address), hit);
    }
    return hit;
  }

  /** The certificate a sender presents is not in mail-flow data; it is assumed from the connector or the gateway. */
  private certificateFor(record: TraceRecord): string | null {
    if (record.connector) {
      const connector = this.now.InboundConnector.find((entry) => entry.Name.toLowerCase() === record.connector?.toLowerCase());
      if (connector?.TlsSenderCertificateName) return hostForCertificateName(connector.TlsSenderCertificateName);
    }
    if (!record.clientIp || !this.gateway.certificateName) return null;
    let certificate = this.gatewayCertificates.get(record.clientIp);
    if (certificate === undefined) {
      const address = parseIp(record.clientIp);
      certificate = address && findInList(compiledIpList(this.gateway.ips), address) ? hostForCertificateName(this.gateway.certificateName) : null;
      if (this.gatewayCertificates.size > 100_000) this.gatewayCertificates.clear();
      this.gatewayCertificates.set(own(record.clientIp), certificate);
    }
    return certificate;
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
    if (record.count !== undefined) this.summaryRows++;
    this.result.records += messages;
    if (record.direction === 'outbound' || record.direction === 'intra-org') {
      this.result.skipped.outbound += messages;
      return null;
    }
    if (!record.clientIp) {
      this.result.skipped.noSourceIp += messages;
      return null;
    }
    const recipient = record.recipients.find((address) => this.forTenant(address));
    if (!recipient) {
      this.result.skipped.notForTenant += messages;
      return null;
    }
    const certificate = this.certificateFor(record);
    if (certificate) this.certificateAssumed += messages;
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
    // Verdicts depend on the sender's domain, not its local part, unless a rule looks at whole addresses.
    const sender = this.addressMatters ? record.mailFrom.toLowerCase() : this.senderClass(domainOf(record.mailFrom));
    const from = record.headerFrom ? (this.addressMatters ? record.headerFrom.toLowerCase() : this.senderClass(domainOf(record.headerFrom))) : '';
    const cacheKey = `${record.clientIp}|${sender}|${domainOf(recipient)}|${from}|${certificate ?? ''}`;
    let outcomes = this.cache.get(cacheKey);
    if (!outcomes) {
      outcomes = [refusal(decide(this.now, transaction(), { assumptions: this.assumptions })), refusal(decide(this.after, transaction(), { assumptions: this.assumptions }))];
      if (this.cache.size > 200_000) this.cache.clear();
      this.cache.set(own(cacheKey), outcomes);
    }
    this.result.evaluated += messages;
    const [before, reason] = outcomes;
    if (before) {
      this.result.refusedNow += messages;
      return null;
    }
    this.result.acceptedNow += messages;
    if (!reason) return null;
    this.result.breaking += messages;
    return reason;
  }

  /** A message that breaks (as {@link evaluate} said), into its group: groups keep the first subjects and recipients read. */
  addBreaking(record: BreakingMessage, reason: string): void {
    const group = this.group(record.clientIp, domainOf(record.mailFrom) ?? '<>', reason);
    group.messages += record.count ?? 1;
    if (record.time) {
      if (!group.firstSeen || record.time < group.firstSeen) group.firstSeen = own(record.time);
    }
    const last = record.lastTime ?? record.time;
    if (last) {
      if (!group.lastSeen || last > group.lastSeen) group.lastSeen = own(last);
    }
    if (record.subject && group.subjects.length < MAX_SAMPLES && !group.subjects.includes(record.subject)) group.subjects.push(own(record.subject));
    for (const address of record.recipients) this.addRecipient(group, address.toLowerCase());
  }

  /** A recipient of a breaking message, lower-cased, counted into its group. */
  addRecipient(group: ImpactGroup, address: string): void {
    if (!group.recipients.includes(address)) {
      group.recipientCount++;
      if (group.recipients.length < MAX_RECIPIENTS) group.recipients.push(own(address));
    }
  }

  /** The group of a source, sender domain and reason, made on first use (ties in the report keep this order). */
  group(sourceIp: string, senderDomain: string, reason: string): ImpactGroup {
    const key = `${sourceIp}|${senderDomain}|${reason}`;
    let group = this.groups.get(key);
    if (!group) {
      const directSend = findAcceptedDomain(senderDomain === '<>' ? null : senderDomain, this.now.AcceptedDomain, this.assumptions) !== null;
      const clientIp = own(sourceIp);
      const domain = own(senderDomain);
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
        suggestion: suggestion(clientIp, domain),
      };
      this.groups.set(own(key), group);
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

  finish(): ImpactResult {
    const groups = [...this.groups.values()].sort((a, b) => b.messages - a.messages || a.clientIp.localeCompare(b.clientIp));
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
