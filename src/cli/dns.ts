/**
 * `eoplock dns <domain…> | --snapshot FILE`: wiring only.
 */
import { checkDomain, type DomainReport } from '../dns/check.js';
import { liveResolver, snapshotResolver } from '../dns/resolver.js';
import { normaliseDomain } from '../eop/addresses.js';
import { InputError } from '../errors.js';
import { inferProfile } from '../profile/profile.js';
import { loadSnapshotFile } from '../snapshot/load.js';
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
  const resolver = live ? liveResolver(options.resolver) : snapshotResolver(snapshot as NonNullable<typeof snapshot>);
  const names = domains.length > 0 ? domains.map(normaliseDomain) : Object.keys(snapshot?.Dns ?? {}).map(normaliseDomain);
  if (names.length === 0) throw new InputError('the snapshot has no Dns section: name the domains, or add --live', { file: options.snapshot, where: 'Dns' });
  const gatewayMxHosts = snapshot ? inferProfile(snapshot).mxHosts : [];
  const reports: DomainReport[] = [];
  for (const name of names) {
    const dkim = snapshot?.DkimSigningConfig.find((config) => normaliseDomain(String(config.Domain ?? config.Name ?? '')) === name);
    reports.push(await checkDomain(name, resolver, { evaluateSpf: live, gatewayMxHosts, ...(dkim ? { dkim } : {}) }));
  }
  const text = options.format === 'json' ? `${JSON.stringify({ source: live ? `DNS${options.resolver ? ` via ${options.resolver}` : ''}` : `${options.snapshot} (Dns section)`, domains: reports }, null, 2)}\n` : renderDns(reports, live ? 'live DNS' : 'the snapshot\'s Dns section (offline)');
  await emit(io, text, options.out, { human: options.format !== 'json' });
  return reports.some((report) => report.issues.some((issue) => issue.severity === 'error')) ? 1 : 0;
}

/** The reports as text; names and records from DNS or the snapshot go through `visible()`. */
function renderDns(reports: readonly DomainReport[], source: string): string {
  const lines = [`eoplock dns — from ${source}`];
  const mark = { error: '✗', warning: '!', info: '·' } as const;
  for (const report of reports) {
    lines.push('', visible(report.domain));
    lines.push(`  MX     ${visible(report.mx.hosts.map((mx) => `${mx.priority} ${mx.host}`).join(', ')) || '(none)'} → ${visible(String(report.mx.pointsTo))}${report.vendor ? ` (${visible(report.vendor.name)}${report.vendor.confidence === 'unverified' ? ', pattern unverified' : ''})` : ''}`);
    lines.push(`  SPF    ${visible(report.spf.record ?? '(none)')}${report.spf.lookups !== null ? `  [${report.spf.lookups} lookup(s)${report.spf.voidLookups !== null ? `, ${report.spf.voidLookups} void` : ''}]` : ''}`);
    const dmarc = report.dmarc.record;
    lines.push(`  DMARC  ${dmarc ? `${visible(dmarc.raw)}${report.dmarc.foundAt !== report.domain ? `  (from ${visible(String(report.dmarc.foundAt))})` : ''}` : '(none)'}`);
    lines.push(`  DKIM   ${visible(report.dkim.map((entry) => `${entry.selector} ${entry.found ?? '(missing)'}${entry.matches === null ? '' : entry.matches ? ' ✓' : ` ✗ expected ${entry.expected}`}`).join('; '))}`);
    for (const issue of report.issues) lines.push(`  ${mark[issue.severity]} ${issue.area.toUpperCase()}: ${visible(issue.message)}`);
  }
  return `${lines.join('\n')}\n`;
}
