/**
 * DMARC aggregate reports read for the lockdown's question: who sends as our domains, and is any of it neither the
 * gateway, nor Microsoft 365, nor a sender that authenticates? Pure: reports, profile and (optional) reverse names in.
 */
import { compiledIpList, findInList, parseIp } from '../eop/ip.js';
import type { GatewayProfile } from '../profile/profile.js';
import type { AggregateReport } from './parse.js';

export type SourceClass = 'gateway' | 'microsoft365' | 'authenticated' | 'failing';

/**
 * Microsoft 365's outbound hosts have reverse names under outbound.protection.outlook.com ([C]: observed in
 * public headers and in parsedmarc's reverse-DNS map; not a documented contract).
 */
const MICROSOFT365_PTR = /\.outbound\.protection\.outlook\.com\.?$/i;

export interface SourceSummary {
  sourceIp: string;
  class: SourceClass;
  messages: number;
  /** Messages that failed DMARC (neither aligned DKIM nor aligned SPF passed). */
  failing: number;
  headerFrom: string[];
  reporters: string[];
  reverseNames: string[];
  /**
   * On mail that failed DMARC, the domain SPF or DKIM passed for and the header From domain it was sent as, where the
   * two differ: a service sending for you without alignment. One entry per pair.
   */
  unalignedPass: UnalignedPass[];
}

export interface UnalignedPass {
  /** The domain SPF (MAIL FROM) or DKIM (d=) passed for. */
  authenticatedAs: string;
  /** The header From domain of the same records. */
  headerFrom: string;
}

export interface DomainSummary {
  domain: string;
  policy: string;
  messages: number;
  byClass: Record<SourceClass, number>;
  perDay: { day: string; failing: number; total: number }[];
}

export interface DmarcFinding {
  id: string;
  severity: 'high' | 'medium' | 'low';
  title: string;
  detail: string;
}

export interface DmarcAnalysis {
  reports: number;
  duplicates: number;
  records: number;
  messages: number;
  period: { begin: string; end: string } | null;
  domains: DomainSummary[];
  sources: SourceSummary[];
  findings: DmarcFinding[];
}

export interface AnalyseOptions {
  profile: GatewayProfile | null;
  /** Reverse names per IP (from `--resolve`); absent, Microsoft 365 is not recognised. */
  reverseNames?: ReadonlyMap<string, string[]>;
  /** Sources Microsoft 365's SPF record (spf.protection.outlook.com, which tenants include) authorises (with `--resolve`). */
  microsoft365Spf?: ReadonlySet<string>;
}

function classify(ip: string, passed: boolean, options: AnalyseOptions): SourceClass {
  const address = parseIp(ip);
  if (address && options.profile && findInList(compiledIpList(options.profile.ips), address)) return 'gateway';
  if ((options.reverseNames?.get(ip) ?? []).some((name) => MICROSOFT365_PTR.test(name)) || options.microsoft365Spf?.has(ip)) return 'microsoft365';
  return passed ? 'authenticated' : 'failing';
}

/** Keeps the first of reports with the same reporter and report id. */
export function deduplicate(reports: readonly AggregateReport[]): { unique: AggregateReport[]; duplicates: number } {
  const seen = new Set<string>();
  const unique: AggregateReport[] = [];
  for (const report of reports) {
    const key = `${report.orgName.toLowerCase()}\u0000${report.reportId}`;
    if (seen.has(key)) continue;
    seen.add(key);
    unique.push(report);
  }
  return { unique, duplicates: reports.length - unique.length };
}

export function analyseReports(all: readonly AggregateReport[], options: AnalyseOptions): DmarcAnalysis {
  const { unique, duplicates } = deduplicate(all);
  const sources = new Map<string, SourceSummary & { headerSet: Set<string>; reporterSet: Set<string>; unalignedSet: Map<string, UnalignedPass>; passedAny: boolean }>();
  const domains = new Map<string, DomainSummary & { days: Map<string, { failing: number; total: number }> }>();
  let records = 0;
  let messages = 0;
  let begin: Date | null = null;
  let end: Date | null = null;
  for (const report of unique) {
    if (!begin || report.begin < begin) begin = report.begin;
    if (!end || report.end > end) end = report.end;
    const day = report.begin.toISOString().slice(0, 10);
    for (const record of report.records) {
      records++;
      messages += record.count;
      const passed = record.dkim === 'pass' || record.spf === 'pass';
      const domainName = record.headerFrom || report.policy.domain;
      let domain = domains.get(domainName);
      if (!domain) {
        domain = { domain: domainName, policy: report.policy.p, messages: 0, byClass: { gateway: 0, microsoft365: 0, authenticated: 0, failing: 0 }, perDay: [], days: new Map() };
        domains.set(domainName, domain);
      }
      let source = sources.get(record.sourceIp);
      if (!source) {
        source = { sourceIp: record.sourceIp, class: 'failing', messages: 0, failing: 0, headerFrom: [], reporters: [], reverseNames: options.reverseNames?.get(record.sourceIp) ?? [], unalignedPass: [], headerSet: new Set(), reporterSet: new Set(), unalignedSet: new Map(), passedAny: false };
        sources.set(record.sourceIp, source);
      }
      const kind = classify(record.sourceIp, passed, options);
      domain.messages += record.count;
      domain.byClass[kind] += record.count;
      const daily = domain.days.get(day) ?? { failing: 0, total: 0 };
      daily.total += record.count;
      if (!passed) daily.failing += record.count;
      domain.days.set(day, daily);
      source.messages += record.count;
      if (!passed) source.failing += record.count;
      source.passedAny ||= passed;
      source.headerSet.add(domainName);
      source.reporterSet.add(report.orgName);
      if (!passed) {
        // Each passing domain is paired with this record's header From: a source that sends as several domains must
        // not have one record's authenticated domain set beside another record's From. A pass for the From domain
        // itself is no other domain (the reporter judged alignment otherwise), so it is not listed.
        const from = domainName.toLowerCase();
        for (const result of [...record.spfResults, ...record.dkimResults]) {
          const domain = result.domain.toLowerCase();
          if (result.result !== 'pass' || !domain || domain === from) continue;
          source.unalignedSet.set(`${domain}\u0000${from}`, { authenticatedAs: domain, headerFrom: from });
        }
      }
    }
  }
  const sourceList: SourceSummary[] = [...sources.values()].map(({ headerSet, reporterSet, unalignedSet, passedAny, ...source }) => ({
    ...source,
    // Some of its mail passed (forwarding and mailing lists fail now and then): authenticated, failing count shown.
    class: classify(source.sourceIp, passedAny, options),
    headerFrom: [...headerSet].sort(),
    reporters: [...reporterSet].sort(),
    unalignedPass: [...unalignedSet.values()].sort((a, b) => a.authenticatedAs.localeCompare(b.authenticatedAs) || a.headerFrom.localeCompare(b.headerFrom)),
  }));
  sourceList.sort((a, b) => b.failing - a.failing || b.messages - a.messages || a.sourceIp.localeCompare(b.sourceIp));
  const domainList: DomainSummary[] = [...domains.values()]
    .map(({ days, ...domain }) => ({ ...domain, perDay: [...days.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([day, counts]) => ({ day, ...counts })) }))
    .sort((a, b) => b.messages - a.messages || a.domain.localeCompare(b.domain));
  return {
    reports: unique.length,
    duplicates,
    records,
    messages,
    period: begin && end ? { begin: begin.toISOString(), end: end.toISOString() } : null,
    domains: domainList,
    sources: sourceList,
    findings: findings(domainList, sourceList, options),
  };
}

function findings(domains: readonly DomainSummary[], sources: readonly SourceSummary[], options: AnalyseOptions): DmarcFinding[] {
  const out: DmarcFinding[] = [];
  for (const domain of domains) {
    if (domain.policy === 'none') out.push({ id: 'DMARC-001', severity: 'medium', title: `${domain.domain} publishes p=none`, detail: 'Receivers take no action on failing mail; with p=quarantine or p=reject, spoofs of this domain are refused by receivers that honour DMARC (and by EOP with Honor DMARC, where the MX or Enhanced Filtering allows).' });
  }
  const failing = sources.filter((source) => source.failing > 0 && source.class !== 'gateway' && source.class !== 'microsoft365');
  if (failing.length > 0) {
    const total = failing.reduce((sum, source) => sum + source.failing, 0);
    out.push({ id: 'DMARC-002', severity: 'high', title: `${total} message(s) failing DMARC from ${failing.length} source(s) that are neither the gateway nor Microsoft 365`, detail: `Top: ${failing.slice(0, 5).map((source) => `${source.sourceIp} (${source.failing}, as ${source.headerFrom.join(', ')})`).join('; ')}. These are spoofs, or services that send as your domains without authenticating.` });
  }
  const unaligned = sources.filter((source) => source.unalignedPass.length > 0 && source.class !== 'gateway');
  if (unaligned.length > 0) {
    out.push({ id: 'DMARC-003', severity: 'medium', title: `${unaligned.length} source(s) authenticate as another domain but not as yours: a stricter policy would refuse them`, detail: unaligned
        .slice(0, 5)
        .map((source) => `${source.sourceIp} ${source.unalignedPass.map((pair) => `passes as ${pair.authenticatedAs} while sending as ${pair.headerFrom}`).join(', ')}`)
        .join('; '),
    });
  }
  const reporters = [...new Set(sources.filter((source) => source.class === 'failing' || source.class === 'authenticated').flatMap((source) => source.reporters))].sort();
  if (options.profile && options.profile.ips.length > 0 && reporters.length > 0) {
    // A report without an org_name has an empty reporter name: said in words after the named ones, never as an empty item.
    const named = reporters.filter((name) => name.trim() !== '');
    const unnamed = reporters.length - named.length;
    const list = [...named, ...(unnamed > 0 ? ['a reporter that gives no name'] : [])].join(', ');
    out.push({ id: 'DMARC-004', severity: 'low', title: `${reporters.length} reporter(s) saw mail as your domains that the gateway never relayed`, detail: `${list}. Outbound mail that does not leave through the gateway is either a legitimate service (list it) or a spoof.` });
  }
  if (!options.reverseNames) out.push({ id: 'DMARC-090', severity: 'low', title: 'Microsoft 365 senders were not recognised (no --resolve)', detail: 'Without reverse DNS, mail sent by Microsoft 365 counts as "authenticated" or "failing" by its results; run with --resolve to look up the sources\' reverse names.' });
  return out;
}
