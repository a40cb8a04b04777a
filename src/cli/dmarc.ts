/**
 * `eoplock dmarc <files or folders…>`: reads aggregate reports (folders walked), skips bad files with the reason,
 * and prints who sends as the tenant's domains. IO here; parsing and analysis are in src/dmarc.
 */
import { Resolver } from 'node:dns/promises';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { analyseReports, type DmarcAnalysis } from '../dmarc/analyse.js';
import { parseAggregateReport, ReportError, type AggregateReport } from '../dmarc/parse.js';
import { Budget, DEFAULT_LIMITS, formatBytes, UnpackError, unpackFile, type UnpackLimits, type XmlDocument } from '../dmarc/unpack.js';
import { liveResolver, parseServer } from '../dns/live-resolver.js';
import { InputError } from '../errors.js';
import { parseByteSize } from '../util/size.js';
import { inferProfile, type GatewayProfile } from '../profile/profile.js';
import { loadSnapshotFile } from '../snapshot/load.js';
import { mapLimit } from './audit.js';
import { emit, type Io } from './io.js';
import { loadProfile, type ProfileOptions } from './profile-options.js';
import { visible } from '../util/display.js';

export interface DmarcCommandOptions extends ProfileOptions {
  snapshot?: string;
  resolve: boolean;
  resolver?: string;
  format: 'text' | 'json' | 'html';
  out?: string;
  /** `--max-bytes`, `--max-entries`, `--max-seconds` as given (sizes may carry K/M/G). */
  maxBytes?: string;
  maxEntries?: string;
  maxSeconds?: string;
}

function parseCount(text: string, option: string): number {
  const value = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < 1) throw new InputError(`"${visible(text)}" is not a positive whole number`, { where: option });
  return value;
}

/** The run's limits: the defaults, raised or lowered by the options. */
function dmarcLimits(options: Pick<DmarcCommandOptions, 'maxBytes' | 'maxEntries' | 'maxSeconds'>): UnpackLimits {
  return {
    ...DEFAULT_LIMITS,
    ...(options.maxBytes !== undefined ? { maxBytes: parseByteSize(options.maxBytes, '--max-bytes') } : {}),
    ...(options.maxEntries !== undefined ? { maxEntries: parseCount(options.maxEntries, '--max-entries') } : {}),
    ...(options.maxSeconds !== undefined ? { maxSeconds: parseCount(options.maxSeconds, '--max-seconds') } : {}),
  };
}

/** A file to read, and the folder argument it was found in (null: the file was an argument itself). */
interface FoundFile {
  file: string;
  folder: string | null;
}

async function walk(paths: readonly string[]): Promise<FoundFile[]> {
  const files: FoundFile[] = [];
  for (const path of paths) {
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      throw new InputError(`cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { file: path });
    }
    if (info.isDirectory()) {
      let entries;
      try {
        entries = await readdir(path, { recursive: true, withFileTypes: true });
      } catch (error) {
        throw new InputError(`cannot read the folder: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { file: path });
      }
      for (const entry of entries) {
        if (entry.isFile() && !entry.name.startsWith('.') && !/\.(md|txt)$/i.test(entry.name)) files.push({ file: join(entry.parentPath, entry.name), folder: path });
      }
    } else files.push({ file: path, folder: null });
  }
  return files.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

export interface ReadReports {
  reports: AggregateReport[];
  skipped: { source: string; reason: string }[];
  /** For each entry of `skipped`, the folder argument it was found in; null for a file given as an argument. */
  skippedIn: (string | null)[];
  /** Each folder argument and how many files were found in it. */
  folders: { folder: string; files: number }[];
  notes: string[];
}

/** A file's bytes, at most `limit` of them (it is read, not trusted to stay the size it had). */
async function readBounded(file: string, limit: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    let buffer = Buffer.alloc(Math.min(limit + 1, (await handle.stat()).size + 1));
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (length > limit) throw new UnpackError(file, `more than ${formatBytes(limit)}`);
        const grown = Buffer.alloc(Math.min(limit + 1, buffer.length * 2 + 64 * 1024));
        buffer.copy(grown);
        buffer = grown;
      }
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) return buffer.subarray(0, length);
      length += bytesRead;
    }
  } finally {
    await handle.close();
  }
}

/**
 * Every report in the files and folders, under one {@link Budget} for the whole run: each document is unpacked,
 * parsed and reduced to its report before the next is unpacked. What cannot be read is skipped with the reason.
 */
export async function readReports(paths: readonly string[], limits: UnpackLimits = DEFAULT_LIMITS): Promise<ReadReports> {
  const out: ReadReports = { reports: [], skipped: [], skippedIn: [], folders: [], notes: [] };
  const budget = new Budget(limits);
  let folder: string | null = null;
  const skip = (source: string, reason: string) => {
    out.skipped.push({ source, reason });
    out.skippedIn.push(folder);
  };
  const sink = {
    document: (document: XmlDocument) => {
      try {
        const report = parseAggregateReport(document.xml, document.source);
        out.reports.push(report);
        for (const note of [...document.notes, ...report.notes]) out.notes.push(`${document.source}: ${note}`);
      } catch (error) {
        if (!(error instanceof ReportError)) throw error;
        skip(document.source, error.message);
      }
    },
    skip,
  };
  const found = await walk(paths);
  for (const path of new Set(found.map((entry) => entry.folder))) {
    if (path !== null) out.folders.push({ folder: path, files: found.filter((entry) => entry.folder === path).length });
  }
  for (const { file, folder: foundIn } of found) {
    folder = foundIn;
    let data: Buffer;
    try {
      budget.checkTime(file);
      const info = await stat(file);
      if (!info.isFile()) throw new UnpackError(file, 'not a regular file');
      if (info.size > limits.maxFileBytes) throw new UnpackError(file, `${info.size} bytes, more than ${formatBytes(limits.maxFileBytes)}`);
      data = await readBounded(file, limits.maxFileBytes);
    } catch (error) {
      if (error instanceof UnpackError) sink.skip(error.source, error.reason);
      else if (typeof (error as NodeJS.ErrnoException).code === 'string') sink.skip(file, `cannot read: ${(error as NodeJS.ErrnoException).code}`);
      else throw error;
      continue;
    }
    await unpackFile(data, file, budget, sink);
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
  const { spf } = await import('mailauth/lib/spf/index.js'); // SPF evaluation only with --resolve
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
  const limits = dmarcLimits(options);
  const snapshot = options.snapshot ? (await loadSnapshotFile(options.snapshot)).snapshot : null;
  const profile: GatewayProfile | null = (await loadProfile(options)) ?? (snapshot ? inferProfile(snapshot) : null);
  const read = await readReports(paths, limits);
  for (const line of skippedLines(read)) io.stderr(`eoplock: ${line}\n`);
  if (read.reports.length === 0) throw new InputError(`no readable aggregate report among ${paths.map(visible).join(', ')}`, { where: 'arguments' });
  const ips = [...new Set(read.reports.flatMap((report) => report.records.map((record) => record.sourceIp)))];
  const looked = options.resolve ? await lookUpSources(ips, options.resolver) : undefined;
  const analysis = analyseReports(read.reports, { profile, ...(looked ? { reverseNames: looked.names, microsoft365Spf: looked.microsoft365 } : {}) });
  const text =
    options.format === 'json'
      ? `${JSON.stringify({ ...analysis, skipped: read.skipped, notes: read.notes }, null, 2)}\n`
      : options.format === 'html'
        ? (await import('../report/html/dmarc.js')).renderDmarcHtml(analysis, read.skipped, await (await import('./report.js')).chartJsSource(), new Date().toISOString().replace(/\.\d+Z$/, 'Z'))
        : renderDmarc(analysis, read, profile);
  await emit(io, text, options.out, { human: options.format === 'text' });
  return analysis.findings.some((finding) => finding.severity === 'high') ? 1 : 0;
}

/** Most reasons shown in a folder's summary line; the rest are counted. */
const REASONS_SHOWN = 3;

/**
 * What was skipped, for stderr: a file given by name gets its own line; a folder gets one line, however many files in
 * it are not reports (a mailbox export holds many other messages), with the commonest reasons. A reason that a run
 * limit gave (--max-bytes, --max-entries, --max-seconds) comes first: it means reports may have gone unread.
 */
export function skippedLines(read: Pick<ReadReports, 'skipped' | 'skippedIn' | 'folders'>): string[] {
  const lines: string[] = [];
  const byFolder = new Map<string, string[]>();
  read.skipped.forEach((entry, index) => {
    const folder = read.skippedIn[index] ?? null;
    if (folder === null) lines.push(`skipped ${visible(entry.source)}: ${visible(entry.reason)}`);
    else {
      const reasons = byFolder.get(folder);
      if (reasons) reasons.push(entry.reason);
      else byFolder.set(folder, [entry.reason]);
    }
  });
  for (const { folder, files } of read.folders) {
    const reasons = byFolder.get(folder);
    if (!reasons) continue;
    const counts = new Map<string, number>();
    for (const reason of reasons) {
      const kind = reasonKind(reason);
      counts.set(kind, (counts.get(kind) ?? 0) + 1);
    }
    const ranked = [...counts.entries()].sort((a, b) => Number(isLimit(b[0])) - Number(isLimit(a[0])) || b[1] - a[1] || a[0].localeCompare(b[0]));
    const shown = ranked.slice(0, REASONS_SHOWN).map(([reason, count]) => `${count} × ${visible(reason)}`);
    const others = ranked.length - REASONS_SHOWN;
    lines.push(
      `skipped ${reasons.length} file(s) or archive member(s) in ${visible(folder)} (${files} file(s) found): ${shown.join('; ')}` +
        `${others > 0 ? `; ${others} other reason(s)` : ''} — --format json lists each with its reason`,
    );
  }
  return lines;
}

const isLimit = (reason: string) => /\(--max-[a-z]+\)/.test(reason);

/** A reason without the detail that makes each one different (a parser's message, a size), so that alike ones count together. */
function reasonKind(reason: string): string {
  if (isLimit(reason)) return reason.replace(/; the rest of the file is not read$/, '');
  return reason.replace(/ \(.*\)$/, '').replace(/^(not well-formed XML): .*$/, '$1');
}

const CLASS_LABEL = { gateway: 'gateway', microsoft365: 'Microsoft 365', authenticated: 'authenticated', failing: 'FAILING' } as const;

export function renderDmarc(analysis: DmarcAnalysis, read: ReadReports, profile: GatewayProfile | null): string {
  const lines = ['eoplock dmarc — who sends as your domains'];
  lines.push(`${analysis.reports} report(s)${analysis.duplicates > 0 ? ` (${analysis.duplicates} duplicate(s) ignored)` : ''}, ${analysis.records} record(s), ${analysis.messages} message(s)${analysis.period ? `, ${analysis.period.begin.slice(0, 10)} … ${analysis.period.end.slice(0, 10)}` : ''}; ${read.skipped.length} file(s) or archive member(s) skipped.`);
  lines.push(`Gateway: ${profile && profile.ips.length > 0 ? `${visible(profile.name ?? 'given')} (${profile.ips.map(visible).join(', ')})` : 'unknown — give --seg-ip/--seg or --snapshot to recognise it'}`);
  lines.push('', 'Domains');
  for (const domain of analysis.domains) {
    const parts = (Object.keys(domain.byClass) as (keyof typeof CLASS_LABEL)[]).filter((key) => domain.byClass[key] > 0).map((key) => `${CLASS_LABEL[key]} ${domain.byClass[key]}`);
    lines.push(`  ${visible(domain.domain).padEnd(32)} p=${visible(domain.policy).padEnd(10)} ${String(domain.messages).padStart(7)} message(s): ${parts.join(', ')}`);
  }
  lines.push('', 'Sources (failing first)');
  for (const source of analysis.sources.slice(0, 25)) {
    lines.push(`  ${source.sourceIp.padEnd(39)} ${CLASS_LABEL[source.class].padEnd(14)} ${String(source.messages).padStart(7)} msg, ${String(source.failing).padStart(6)} failing  as ${source.headerFrom.map(visible).join(', ')}  (${source.reporters.map((name) => (name ? visible(name) : 'unnamed reporter')).join(', ')})${source.reverseNames.length > 0 ? `  ${visible(source.reverseNames[0] ?? '')}` : ''}`);
  }
  if (analysis.sources.length > 25) lines.push(`  … ${analysis.sources.length - 25} more (--format json lists all)`);
  lines.push('', 'Findings');
  for (const finding of analysis.findings) lines.push(`  [${finding.severity}] ${finding.id} ${visible(finding.title)}`, `      ${visible(finding.detail)}`);
  for (const note of read.notes) lines.push(`  note: ${visible(note)}`);
  return `${lines.join('\n')}\n`;
}
