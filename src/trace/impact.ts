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

export class ImpactAnalysis {
  private readonly groups = new Map<string, ImpactGroup>();
  private readonly cache = new Map<string, [Verdict, Verdict]>();
  private readonly result: Omit<ImpactResult, 'groups' | 'limits'> = {
    records: 0,
    evaluated: 0,
    skipped: { outbound: 0, noSourceIp: 0, notForTenant: 0 },
    acceptedNow: 0,
    refusedNow: 0,
    breaking: 0,
  };
  private certificateAssumed = 0;

  constructor(
    private readonly now: Snapshot,
    private readonly after: Snapshot,
    private readonly gateway: GatewayProfile,
    private readonly assumptions: Assumptions,
  ) {}

  /** The certificate a sender presents is not in mail-flow data; it is assumed from the connector or the gateway. */
  private certificateFor(record: TraceRecord): string | null {
    if (record.connector) {
      const connector = this.now.InboundConnector.find((entry) => entry.Name.toLowerCase() === record.connector?.toLowerCase());
      if (connector?.TlsSenderCertificateName) return hostForCertificateName(connector.TlsSenderCertificateName);
    }
    const address = record.clientIp ? parseIp(record.clientIp) : null;
    if (address && this.gateway.certificateName && findInList(compiledIpList(this.gateway.ips), address)) return hostForCertificateName(this.gateway.certificateName);
    return null;
  }

  add(record: TraceRecord): void {
    this.result.records++;
    if (record.direction === 'outbound' || record.direction === 'intra-org') {
      this.result.skipped.outbound++;
      return;
    }
    if (!record.clientIp) {
      this.result.skipped.noSourceIp++;
      return;
    }
    const recipient = record.recipients.find((address) => findAcceptedDomain(domainOf(address), this.now.AcceptedDomain, this.assumptions) !== null);
    if (!recipient) {
      this.result.skipped.notForTenant++;
      return;
    }
    const certificate = this.certificateFor(record);
    if (certificate) this.certificateAssumed++;
    // TLS is not in mail-flow data either: every message is taken to have used STARTTLS, as nearly all senders do,
    // so that RequireTls connectors do not turn every recorded message into a false alarm.
    const transaction: Transaction = {
      clientIp: record.clientIp,
      tls: certificate ? { certificate: { subject: `CN=${certificate}` } } : {},
      mailFrom: record.mailFrom,
      rcptTo: [recipient],
      ...(record.headerFrom ? { headers: [{ name: 'From', value: record.headerFrom }] } : {}),
    };
    const cacheKey = [record.clientIp, record.mailFrom.toLowerCase(), domainOf(recipient), record.headerFrom?.toLowerCase() ?? '', certificate ?? ''].join('|');
    let verdicts = this.cache.get(cacheKey);
    if (!verdicts) {
      verdicts = [decide(this.now, transaction, { assumptions: this.assumptions }), decide(this.after, transaction, { assumptions: this.assumptions })];
      if (this.cache.size > 200_000) this.cache.clear();
      this.cache.set(cacheKey, verdicts);
    }
    this.result.evaluated++;
    const [before, afterVerdict] = verdicts;
    if (refusal(before)) {
      this.result.refusedNow++;
      return;
    }
    this.result.acceptedNow++;
    const reason = refusal(afterVerdict);
    if (!reason) return;
    this.result.breaking++;
    const senderDomain = domainOf(record.mailFrom) ?? '<>';
    const key = `${record.clientIp}|${senderDomain}|${reason}`;
    let group = this.groups.get(key);
    if (!group) {
      const directSend = findAcceptedDomain(domainOf(record.mailFrom), this.now.AcceptedDomain, this.assumptions) !== null;
      group = {
        clientIp: record.clientIp,
        senderDomain,
        reason,
        messages: 0,
        firstSeen: null,
        lastSeen: null,
        subjects: [],
        recipients: [],
        recipientCount: 0,
        directSend,
        suggestion: parseIp(record.clientIp)?.kind() === 'ipv4' ? `--allow-direct-send '${record.clientIp}=Direct Send from ${senderDomain}'` : null,
      };
      this.groups.set(key, group);
    }
    group.messages++;
    if (record.time) {
      if (!group.firstSeen || record.time < group.firstSeen) group.firstSeen = record.time;
      if (!group.lastSeen || record.time > group.lastSeen) group.lastSeen = record.time;
    }
    if (record.subject && group.subjects.length < MAX_SAMPLES && !group.subjects.includes(record.subject)) group.subjects.push(record.subject);
    for (const address of record.recipients) {
      if (!group.recipients.includes(address.toLowerCase())) {
        group.recipientCount++;
        if (group.recipients.length < MAX_RECIPIENTS) group.recipients.push(address.toLowerCase());
      }
    }
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
    return { ...this.result, groups, limits };
  }
}
