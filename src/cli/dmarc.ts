/**
 * `eoplock dmarc <files or folders…>`: reads aggregate reports (folders walked), skips bad files with the reason,
 * and prints who sends as the tenant's domains. IO here; parsing and analysis are in src/dmarc.
 */
import { Resolver } from 'node:dns/promises';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { analyseReports, type DmarcAnalysis } from '../dmarc/analyse.js';
import { parseAggregateReport, ReportError, type AggregateReport } from '../dmarc/parse.js';
import { UnpackError, unpack } from '../dmarc/unpack.js';
import { spf } from 'mailauth/lib/spf/index.js';
import { liveResolver, parseServer } from '../dns/resolver.js';
import { InputError } from '../errors.js';
import { inferProfile, type GatewayProfile } from '../profile/profile.js';
import { loadSnapshotFile } from '../snapshot/load.js';
import { mapLimit } from './audit.js';
import { emit, type Io } from './io.js';
import { chartJsSource } from './report.js';
import { renderDmarcHtml } from '../report/html/dmarc.js';
import { loadProfile, type ProfileOptions } from './profile-options.js';

export interface DmarcCommandOptions extends ProfileOptions {
  snapshot?: string;
  resolve: boolean;
  resolver?: string;
  format: 'text' | 'json' | 'html';
  out?: string;
}

const MAX_FILE_BYTES = 100 * 1024 * 1024;

async function walk(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      throw new InputError(`cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { file: path });
    }
    if (info.isDirectory()) {
      for (const entry of await readdir(path, { recursive: true, withFileTypes: true })) {
        if (entry.isFile() && !entry.name.startsWith('.') && !/\.(md|txt)$/i.test(entry.name)) files.push(join(entry.parentPath, entry.name));
      }
    } else files.push(path);
  }
  return files.sort();
}

export interface ReadReports {
  reports: AggregateReport[];
  skipped: { source: string; reason: string }[];
  notes: string[];
}

export async function readReports(paths: readonly string[]): Promise<ReadReports> {
  const out: ReadReports = { reports: [], skipped: [], notes: [] };
  for (const file of await walk(paths)) {
    try {
      const size = (await stat(file)).size;
      if (size > MAX_FILE_BYTES) throw new UnpackError(file, `${size} bytes, more than ${MAX_FILE_BYTES}`);
      for (const document of await unpack(await readFile(file), file)) {
        try {
          const report = parseAggregateReport(document.xml, document.source);
          out.reports.push(report);
          for (const note of report.notes) out.notes.push(`${document.source}: ${note}`);
        } catch (error) {
          if (!(error instanceof ReportError)) throw error;
          out.skipped.push({ source: document.source, reason: error.message });
        }
      }
    } catch (error) {
      if (!(error instanceof UnpackError)) throw error;
      out.skipped.push({ source: error.source, reason: error.reason });
    }
  }
  return out;
}

/** The domain whose SPF record lists Microsoft 365's outbound addresses; tenants include it in theirs. */
const MICROSOFT365_SPF_DOMAIN = 'spf.protection.outlook.com';

/** Reverse names of each source, and the sources Microsoft 365's SPF record authorises (mailauth's evaluator). */
async function lookUpSources(ips: readonly string[], server: string | undefined): Promise<{ names: Map<string, string[]>; microsoft365: Set<string> }> {
  const resolver = new Resolver({ timeout: 3000, tries: 1 });
  if (server) resolver.setServers([parseServer(server)]);
  const dnsResolver = liveResolver(server, 3000);
  const names = new Map<string, string[]>();
  const microsoft365 = new Set<string>();
  await mapLimit(ips, 8, async (ip) => {
    names.set(ip, await resolver.reverse(ip).catch(() => []));
    const evaluation = await spf({ ip, sender: `postmaster@${MICROSOFT365_SPF_DOMAIN}`, helo: MICROSOFT365_SPF_DOMAIN, mta: 'eoplock', resolver: dnsResolver as never }).catch(() => null);
    if (evaluation?.status.result === 'pass') microsoft365.add(ip);
  });
  return { names, microsoft365 };
}

export async function dmarcCommand(io: Io, paths: string[], options: DmarcCommandOptions): Promise<number> {
  if (paths.length === 0) throw new InputError('give report files or folders', { where: 'arguments' });
  const snapshot = options.snapshot ? (await loadSnapshotFile(options.snapshot)).snapshot : null;
  const profile: GatewayProfile | null = (await loadProfile(options)) ?? (snapshot ? inferProfile(snapshot) : null);
  const read = await readReports(paths);
  for (const skipped of read.skipped) io.stderr(`eoplock: skipped ${skipped.source}: ${skipped.reason}\n`);
  if (read.reports.length === 0) throw new InputError(`no readable aggregate report among ${paths.join(', ')}`, { where: 'arguments' });
  const ips = [...new Set(read.reports.flatMap((report) => report.records.map((record) => record.sourceIp)))];
  const looked = options.resolve ? await lookUpSources(ips, options.resolver) : undefined;
  const analysis = analyseReports(read.reports, { profile, ...(looked ? { reverseNames: looked.names, microsoft365Spf: looked.microsoft365 } : {}) });
  const text =
    options.format === 'json'
      ? `${JSON.stringify({ ...analysis, skipped: read.skipped, notes: read.notes }, null, 2)}\n`
      : options.format === 'html'
        ? renderDmarcHtml(analysis, read.skipped, await chartJsSource(), new Date().toISOString().replace(/\.\d+Z$/, 'Z'))
        : renderDmarc(analysis, read, profile);
  await emit(io, text, options.out);
  return analysis.findings.some((finding) => finding.severity === 'high') ? 1 : 0;
}

const CLASS_LABEL = { gateway: 'gateway', microsoft365: 'Microsoft 365', authenticated: 'authenticated', failing: 'FAILING' } as const;

export function renderDmarc(analysis: DmarcAnalysis, read: ReadReports, profile: GatewayProfile | null): string {
  const lines = ['eoplock dmarc — who sends as your domains'];
  lines.push(`${analysis.reports} report(s)${analysis.duplicates > 0 ? ` (${analysis.duplicates} duplicate(s) ignored)` : ''}, ${analysis.records} record(s), ${analysis.messages} message(s)${analysis.period ? `, ${analysis.period.begin.slice(0, 10)} … ${analysis.period.end.slice(0, 10)}` : ''}; ${read.skipped.length} file(s) skipped.`);
  lines.push(`Gateway: ${profile && profile.ips.length > 0 ? `${profile.name ?? 'given'} (${profile.ips.join(', ')})` : 'unknown — give --seg-ip/--seg or --snapshot to recognise it'}`);
  lines.push('', 'Domains');
  for (const domain of analysis.domains) {
    const parts = (Object.keys(domain.byClass) as (keyof typeof CLASS_LABEL)[]).filter((key) => domain.byClass[key] > 0).map((key) => `${CLASS_LABEL[key]} ${domain.byClass[key]}`);
    lines.push(`  ${domain.domain.padEnd(32)} p=${domain.policy.padEnd(10)} ${String(domain.messages).padStart(7)} message(s): ${parts.join(', ')}`);
  }
  lines.push('', 'Sources (failing first)');
  for (const source of analysis.sources.slice(0, 25)) {
    lines.push(`  ${source.sourceIp.padEnd(39)} ${CLASS_LABEL[source.class].padEnd(14)} ${String(source.messages).padStart(7)} msg, ${String(source.failing).padStart(6)} failing  as ${source.headerFrom.join(', ')}  (${source.reporters.map((name) => name || 'unnamed reporter').join(', ')})${source.reverseNames.length > 0 ? `  ${source.reverseNames[0]}` : ''}`);
  }
  if (analysis.sources.length > 25) lines.push(`  … ${analysis.sources.length - 25} more (--format json lists all)`);
  lines.push('', 'Findings');
  for (const finding of analysis.findings) lines.push(`  [${finding.severity}] ${finding.id} ${finding.title}`, `      ${finding.detail}`);
  for (const note of read.notes) lines.push(`  note: ${note}`);
  return `${lines.join('\n')}\n`;
}
