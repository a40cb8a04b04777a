/**
 * `eoplock dns <domain…> | --snapshot FILE`: wiring only. Exit 2 when a lookup failed (the report says which and why):
 * what it would have told is unknown, so the report is not a verdict on the domain.
 */
import { checkDomain, type DomainReport, type LookupOutcome } from '../dns/check.js';
import { customDomains } from '../dns/facts.js';
import { liveResolver } from '../dns/live-resolver.js';
import { snapshotResolver } from '../dns/resolver.js';
import { normaliseDomain } from '../eop/addresses.js';
import { InputError } from '../errors.js';
import { inferProfile } from '../profile/profile.js';
import { loadSnapshotFile } from '../snapshot/load.js';
import { citedSourceIds, sourceFooter } from '../eop/sources.js';
import { visible } from '../util/display.js';
import { emit, type Io } from './io.js';

export interface DnsCommandOptions {
  snapshot?: string;
  resolver?: string;
  live: boolean;
  format: 'text' | 'json';
  out?: string;
}

const DOMAIN = /^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}\.?$/i;

export async function dnsCommand(io: Io, domains: string[], options: DnsCommandOptions): Promise<number> {
  for (const [index, domain] of domains.entries()) if (!DOMAIN.test(domain)) throw new InputError(`"${domain}" is not a domain name`, { where: `domain ${index + 1}` });
  const snapshot = options.snapshot ? (await loadSnapshotFile(options.snapshot)).snapshot : null;
  if (!snapshot && domains.length === 0) throw new InputError('give one or more domains, or --snapshot FILE', { where: 'arguments' });
  // Live DNS unless only a snapshot is given (then its Dns section, offline); --live forces live lookups for a snapshot's domains.
  const live = !snapshot || options.live || options.resolver !== undefined;
  // Offline, a name the snapshot holds nothing for is unknown (a failed lookup), not a domain that does not exist.
  const resolver = live ? liveResolver(options.resolver) : snapshotResolver(snapshot as NonNullable<typeof snapshot>, { outside: 'unknown' });
  // A snapshot's domains: offline, those its Dns section holds; live, its custom accepted domains (as `pull` looks up).
  const snapshotNames = !snapshot ? [] : live ? customDomains(snapshot).map((domain) => domain.name) : Object.keys(snapshot.Dns).map(normaliseDomain);
  const names = domains.length > 0 ? domains.map(normaliseDomain) : snapshotNames;
  if (names.length === 0) {
    throw new InputError(live ? 'the snapshot has no custom accepted domain to look up: name the domains' : 'the snapshot has no Dns section: name the domains, or add --live', { file: options.snapshot, where: live ? 'AcceptedDomain' : 'Dns' });
  }
  const gatewayMxHosts = snapshot ? inferProfile(snapshot).mxHosts : [];
  const reports: DomainReport[] = [];
  for (const name of names) {
    const dkim = snapshot?.DkimSigningConfig.find((config) => normaliseDomain(String(config.Domain ?? config.Name ?? '')) === name);
    reports.push(await checkDomain(name, resolver, { evaluateSpf: live, gatewayMxHosts, ...(dkim ? { dkim } : {}) }));
  }
  const text = options.format === 'json' ? `${JSON.stringify({ source: live ? `DNS${options.resolver ? ` via ${options.resolver}` : ''}` : `${options.snapshot} (Dns section)`, domains: reports }, null, 2)}\n` : renderDns(reports, live ? 'live DNS' : 'the snapshot\'s Dns section (offline)');
  await emit(io, text, options.out, { human: options.format !== 'json' });
  const failed = reports.flatMap((report) => report.failed);
  if (failed.length > 0) {
    const byReason = new Map<string, string[]>();
    for (const entry of failed) byReason.set(entry.reason, [...(byReason.get(entry.reason) ?? []), `${entry.name} ${entry.type}`]);
    const list = [...byReason].map(([reason, lookups]) => `${visible(lookups.join(', '))}: ${visible(reason)}`).join('; ');
    io.stderr(`eoplock: error: ${failed.length} DNS lookup(s) failed, so the report is incomplete (what they would have told is unknown) — ${list}\n`);
    return 2;
  }
  return reports.some((report) => report.issues.some((issue) => issue.severity === 'error')) ? 1 : 0;
}

/** A record list's line when it holds nothing: why (no record, no such domain, or the lookup failed). */
function empty(outcome: LookupOutcome, report: DomainReport, type: string): string {
  if (outcome === 'failed') {
    const failure = report.failed.find((entry) => entry.type === type && (type !== 'TXT' || entry.name === report.domain));
    return `lookup failed: ${visible(failure?.reason ?? 'unknown reason')}`;
  }
  return outcome === 'nxdomain' ? '(the domain does not exist)' : '(none)';
}

/** The reports as text; names and records from DNS or the snapshot go through `visible()`. */
function renderDns(reports: readonly DomainReport[], source: string): string {
  const lines = [`eoplock dns — from ${source}`];
  const mark = { error: '✗', warning: '!', info: '·' } as const;
  for (const report of reports) {
    lines.push('', visible(report.domain));
    const vendor = report.vendor ? ` (${visible(report.vendor.name)}${report.vendor.confidence === 'unverified' ? ', pattern unverified' : ''})` : '';
    const hosts = visible(report.mx.hosts.map((mx) => `${mx.priority} ${mx.host}`).join(', '));
    lines.push(`  MX     ${hosts ? `${hosts} → ${visible(String(report.mx.pointsTo))}` : empty(report.mx.lookup, report, 'MX')}${vendor}`);
    const spfFailure = report.failed.find((entry) => entry.type === 'SPF');
    const counted = report.spf.lookups !== null ? `  [${report.spf.lookups} lookup(s)${report.spf.voidLookups !== null ? `, ${report.spf.voidLookups} void` : ''}]` : '';
    lines.push(`  SPF    ${report.spf.record ? `${visible(report.spf.record)}${counted}${spfFailure ? `  [lookups not counted: ${visible(spfFailure.reason)}]` : ''}` : empty(report.spf.lookup, report, 'TXT')}`);
    const dmarc = report.dmarc.record;
    const dmarcFailure = report.failed.find((entry) => entry.name.startsWith('_dmarc.'));
    lines.push(`  DMARC  ${dmarc ? `${visible(dmarc.raw)}${report.dmarc.foundAt !== report.domain ? `  (from ${visible(String(report.dmarc.foundAt))})` : ''}` : report.dmarc.lookup === 'failed' ? `lookup of ${visible(dmarcFailure?.name ?? '_dmarc')} failed: ${visible(dmarcFailure?.reason ?? 'unknown reason')}` : empty(report.exists === false ? 'nxdomain' : 'nodata', report, 'TXT')}`);
    const selector = (entry: DomainReport['dkim'][number]) => {
      if (entry.lookup === 'failed') return `${entry.selector} lookup failed: ${report.failed.find((failure) => failure.name.startsWith(`${entry.selector}.`))?.reason ?? 'unknown reason'}`;
      return `${entry.selector} ${entry.found ?? '(missing)'}${entry.matches === null ? '' : entry.matches ? ' ✓' : ` ✗ expected ${entry.expected}`}`;
    };
    lines.push(`  DKIM   ${visible(report.dkim.map(selector).join('; '))}`);
    for (const issue of report.issues) lines.push(`  ${mark[issue.severity]} ${issue.area.toUpperCase()}: ${visible(issue.message)}`);
    if (report.failed.length > 0) lines.push(`  ? ${report.failed.length} lookup(s) failed: what they would have told is unknown, not missing (no finding is drawn from them)`);
  }
  const cited = citedSourceIds(lines.join('\n'));
  if (cited.length > 0) lines.push('', ...sourceFooter(cited).map(visible));
  return `${lines.join('\n')}\n`;
}
