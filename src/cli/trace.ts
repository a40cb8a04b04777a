/**
 * `eoplock impact`, `eoplock monitor` and `eoplock queries`: wiring only.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { compileIpList } from '../eop/ip.js';
import { parseAssumeFlags, resolveAssumptions } from '../eop/assumptions.js';
import { InputError } from '../errors.js';
import { defaultPlanAfter } from '../plan/plan.js';
import { hasGateway, inferProfile, type GatewayProfile } from '../profile/profile.js';
import { loadSnapshotFile } from '../snapshot/load.js';
import type { Snapshot } from '../snapshot/parse.js';
import { ImpactAnalysis, type ImpactResult } from '../trace/impact.js';
import { BypassMonitor, type AllowedSource, type MonitorResult } from '../trace/monitor.js';
import { readTrace, type ReadSummary } from '../trace/read.js';
import type { TraceRecord } from '../trace/records.js';
import { citedSourceIds, sourceFooter } from '../eop/sources.js';
import { visible } from '../util/display.js';
import { emit, showProgress, type Io } from './io.js';
import { loadProfile, type ProfileOptions } from './profile-options.js';

interface CommonOptions extends ProfileOptions {
  format: 'text' | 'json' | 'html';
  out?: string;
  assume: string[];
  progress: boolean;
}

/** Reads every file into `onRecord`, with a progress line on a terminal; malformed rows go to stderr. */
/** Reads every file; with `impact` (and `onRecord` only adding to it), a large CSV is read in parts by worker threads. */
async function readAll(io: Io, files: readonly string[], onRecord: (record: TraceRecord) => void, progress: boolean, impact?: ImpactAnalysis): Promise<ReadSummary[]> {
  const sizes = await Promise.all(files.map((file) => stat(file).then((info) => info.size, () => 0)));
  const total = sizes.reduce((sum, size) => sum + size, 0);
  let done = 0;
  let shown = 0;
  const summaries: ReadSummary[] = [];
  for (const file of files) {
    const summary = await readTrace(file, {
      onRecord,
      ...(impact ? { impact } : {}),
      ...(progress
        ? {
            onBytes: (bytes: number) => {
              done += bytes;
              const percent = total > 0 ? Math.floor((done / total) * 100) : 100;
              if (percent !== shown) {
                shown = percent;
                showProgress(io, `\rreading ${percent}% of ${(total / 1e6).toFixed(1)} MB`);
              }
            },
          }
        : {}),
    });
    summaries.push(summary);
  }
  if (progress) io.stderr('\n');
  for (const summary of summaries) {
    for (const example of summary.examples) io.stderr(`eoplock: warning: ${visible(example.file)}: ${example.where ?? `row ${example.row}`}: ${visible(example.reason)} (skipped)\n`);
    if (summary.malformed > summary.examples.length) io.stderr(`eoplock: warning: ${visible(summary.file)}: ${summary.malformed - summary.examples.length} more malformed row(s) skipped\n`);
  }
  return summaries;
}

/** One line per file; values from the data and the command line are made visible (they may hold control characters). */
function inputLines(summaries: readonly ReadSummary[]): string[] {
  return summaries.map((s) => {
    const records = s.records === 0 && s.malformed === 0 ? '0 records (a header and no rows)' : `${s.records} record(s)`;
    const others = (s.otherTables ?? []).map((table) => `${table.records} ${visible(table.category)}`);
    return `  ${visible(s.file)}: ${s.format}, ${records}${s.malformed > 0 ? `, ${s.malformed} malformed row(s) skipped` : ''}${others.length > 0 ? `; other tables' records skipped: ${others.join(', ')}` : ''}`;
  });
}

export interface ImpactOptions extends CommonOptions {
  plan?: string;
}

export async function impactCommand(io: Io, snapshotFile: string, files: string[], options: ImpactOptions): Promise<number> {
  // The workers that read a large file in parts were started by the CLI, before this code loaded (main.ts).
  if (options.format === 'html') return impactPage(io, snapshotFile, files, options);
  return impactReport(io, snapshotFile, files, options);
}

/** `impact --format html`: the report's page with the impact section. */
async function impactPage(io: Io, snapshotFile: string, files: string[], options: ImpactOptions): Promise<number> {
  const assumptions = resolveAssumptions(parseAssumeFlags(options.assume));
  const { snapshot } = await loadSnapshotFile(snapshotFile);
  const profile = (await loadProfile(options)) ?? inferProfile(snapshot);
  const { htmlReport } = await import('./report.js'); // the HTML report's code only for --format html
  const { html, impact } = await htmlReport(snapshot, snapshotFile, profile, { traces: files, assumptions, ...(options.plan ? { plan: options.plan } : {}) });
  await emit(io, html, options.out);
  return impact && impact.groups.length > 0 ? 1 : 0; // as for text and JSON: exit 1 when a source would break
}

async function impactReport(io: Io, snapshotFile: string, files: string[], options: ImpactOptions): Promise<number> {
  const assumptions = resolveAssumptions(parseAssumeFlags(options.assume));
  const { snapshot } = await loadSnapshotFile(snapshotFile);
  const profile = (await loadProfile(options)) ?? inferProfile(snapshot);
  let after: Snapshot;
  let afterFrom: string;
  if (options.plan) {
    after = (await loadSnapshotFile(join(options.plan, 'expected-after.json'))).snapshot;
    afterFrom = join(options.plan, 'expected-after.json');
  } else {
    after = defaultPlanAfter(snapshot, profile, assumptions);
    afterFrom = 'the lockdown plan for the gateway profile (no Direct Send sources named yet)';
  }
  const analysis = new ImpactAnalysis(snapshot, after, profile, assumptions);
  const summaries = await readAll(io, files, (record) => analysis.add(record), options.progress, analysis);
  const result = analysis.finish();
  const text = options.format === 'json' ? `${JSON.stringify({ snapshot: snapshotFile, after: afterFrom, inputs: summaries, ...result }, null, 2)}\n` : renderImpact(result, summaries, afterFrom);
  await emit(io, text, options.out, { human: options.format === 'text' });
  // As monitor and audit do: a script or pipeline that runs impact before the change stops when a source would break.
  return result.groups.length > 0 ? 1 : 0;
}

function renderImpact(result: ImpactResult, summaries: readonly ReadSummary[], afterFrom: string): string {
  const lines = ['eoplock impact — who breaks after the lockdown', 'Data:', ...inputLines(summaries), `After: ${visible(afterFrom)}`];
  lines.push(
    `${result.evaluated} inbound message(s) evaluated (${result.skipped.outbound} outbound or internal, ${result.skipped.noSourceIp} without a source IP, ` +
      `${result.skipped.notForTenant} not for this tenant skipped); ${result.acceptedNow} accepted today, ` +
      `${result.breaking} of them refused after the change.`,
  );
  if (result.groups.length === 0) lines.push('Nothing in these data would break.');
  else {
    lines.push('', `Would break (${result.groups.length} source(s)):`);
    for (const group of result.groups) {
      lines.push(`✗ ${visible(group.clientIp)} sending as ${visible(group.senderDomain)}: ${group.messages} message(s), refused after with ${visible(group.reason)}${group.directSend ? ' (Direct Send as your domain)' : ''}`);
      lines.push(`    seen ${group.firstSeen ?? '?'} … ${group.lastSeen ?? '?'}; to ${group.recipients.map(visible).join(', ')}${group.recipientCount > group.recipients.length ? ` and ${group.recipientCountIsLowerBound ? 'at least ' : ''}${group.recipientCount - group.recipients.length} more` : ''}`);
      if (group.subjects.length > 0) lines.push(`    subjects: ${group.subjects.map((subject) => visible(JSON.stringify(subject))).join(', ')}`);
      if (group.suggestion) lines.push(`    if legitimate: eoplock plan … ${visible(group.suggestion)}${group.directSend ? '' : '  (a foreign sender: better routed through the gateway)'}`);
    }
  }
  lines.push('', 'What these data cannot show:', ...result.limits.map((limit) => `  - ${limit}`));
  return withSourceFooter(lines);
}

export interface MonitorOptions extends CommonOptions {
  snapshot?: string;
  /** `--allow-direct-send`: `192.0.2.25=Office scanners` or an address or CIDR alone, as for "eoplock plan". */
  allowDirectSend?: string[];
}

/** `192.0.2.25=Office scanners` → the source, its address checked; a source without a name is named by its address. */
export function parseAllowedSources(values: readonly string[]): AllowedSource[] {
  return values.map((value, index) => {
    const eq = value.indexOf('=');
    const ip = (eq < 0 ? value : value.slice(0, eq)).trim();
    const { invalid } = compileIpList([ip]);
    if (!ip || invalid.length > 0) {
      throw new InputError(`expected an IPv4/IPv6 address or CIDR (optionally =NAME), got "${visible(value)}"${invalid[0] ? `: ${invalid[0].error}` : ''}`, { where: `--allow-direct-send[${index}]` });
    }
    return { ip, name: (eq < 0 ? '' : value.slice(eq + 1)).trim() || ip };
  });
}

export async function monitorCommand(io: Io, files: string[], options: MonitorOptions): Promise<number> {
  const allowDirectSend = parseAllowedSources(options.allowDirectSend ?? []);
  const snapshot = options.snapshot ? (await loadSnapshotFile(options.snapshot)).snapshot : null;
  const profile: GatewayProfile | null = (await loadProfile(options)) ?? (snapshot ? inferProfile(snapshot) : null);
  if (!profile) throw new InputError('give the gateway (--seg-ip, --seg-cert or --seg) or --snapshot to infer it from', { where: 'gateway profile' });
  // As impact does: with no gateway there is nothing for mail to go around, and every inbound message would be an alarm.
  if (!hasGateway(profile)) {
    const why =
      profile.origin.kind === 'given'
        ? 'the gateway profile names no address, certificate or MX host'
        : 'the snapshot has no gateway connector (an enabled Partner connector for all sender domains) and no MX at a gateway';
    throw new InputError(`no gateway is known: ${why}, so no mail can be said to go around one; if a gateway receives your mail, give it with --seg-ip, --seg-cert or --seg`, {
      where: 'gateway profile',
    });
  }
  if (options.format === 'html') {
    if (!snapshot || !options.snapshot) throw new InputError('--format html needs --snapshot (the page reports on a tenant)', { where: '--format' });
    // The page counts bypasses as the report does, from the snapshot alone: a named source would be silently ignored.
    if (allowDirectSend.length > 0) throw new InputError('--allow-direct-send is for text and JSON; the HTML page judges from the snapshot alone', { where: '--allow-direct-send' });
    const { htmlReport } = await import('./report.js');
    const { html, monitor } = await htmlReport(snapshot, options.snapshot, profile, { traces: files, assumptions: resolveAssumptions() });
    await emit(io, html, options.out);
    return (monitor?.bypassed ?? 0) > 0 ? 1 : 0;
  }
  const monitor = new BypassMonitor(profile, snapshot, { allowDirectSend });
  const summaries = await readAll(io, files, (record) => monitor.add(record), options.progress);
  const result = monitor.finish();
  const text = options.format === 'json' ? `${JSON.stringify({ inputs: summaries, ...result }, null, 2)}\n` : renderMonitor(result, summaries, allowDirectSend);
  await emit(io, text, options.out, { human: options.format === 'text' });
  return result.bypassed > 0 ? 1 : 0;
}

function renderMonitor(result: MonitorResult, summaries: readonly ReadSummary[], allowed: readonly AllowedSource[]): string {
  const lines = ['eoplock monitor — accepted inbound mail that did not come through the gateway', 'Data:', ...inputLines(summaries)];
  const undetermined = result.undetermined > 0 ? `, ${result.undetermined} undetermined (neither address nor connector field tells gateway mail apart)` : '';
  const named = allowed.length > 0 ? `, ${result.allowedDirectSend} from the Direct Send sources named (${allowed.map((source) => visible(source.name)).join(', ')})` : '';
  lines.push(`${result.inbound} inbound message(s): ${result.viaGateway} through the gateway, ${result.viaOtherConnector} through another connector${named}, ${result.bypassed} around the gateway${undetermined}.`);
  if (result.bypassed > 0) {
    lines.push('', 'Per day:', ...result.perDay.map((entry) => `  ${visible(entry.day)}  ${entry.messages}`));
    lines.push('', 'Top sources:', ...result.topSources.map((source) => `  ${visible(source.clientIp).padEnd(39)} ${String(source.messages).padStart(7)}  as ${source.senderDomains.map(visible).join(', ')}`));
    if (result.topSpoofedSenders.length > 0) lines.push('', 'Your own addresses on that mail (spoofs):', ...result.topSpoofedSenders.map((entry) => `  ${visible(entry.address).padEnd(40)} ${entry.messages}`));
  }
  lines.push('', ...result.notes.map((note) => `Note: ${visible(note)}`));
  return withSourceFooter(lines);
}

/** The report's lines, then the sources they cite with their addresses (docs/sources.md has them all). */
function withSourceFooter(lines: string[]): string {
  const cited = citedSourceIds(lines.join('\n'));
  return `${[...lines, ...(cited.length > 0 ? ['', ...sourceFooter(cited).map(visible)] : [])].join('\n')}\n`;
}
