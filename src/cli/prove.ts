/**
 * `eoplock prove <snapshot…>`: wiring only. Reads each snapshot, runs the class search (src/prove) against the
 * gateway profile, optionally replays each finding's representative through the lab over SMTP, renders.
 */
import { parseAssumeFlags, resolveAssumptions } from '../eop/assumptions.js';
import { compileIpList } from '../eop/ip.js';
import { InputError } from '../errors.js';
import { inferProfile, profileTooWide, type GatewayProfile } from '../profile/profile.js';
import type { ProofOptions, ProofResult } from '../prove/types.js';
import { renderProveJson, renderProveSarif, renderProveText, type ProveReport } from '../report/prove.js';
import { loadSnapshotFile } from '../snapshot/load.js';
import { visible } from '../util/display.js';
import { emit, progressBar, showProgress, type Io } from './io.js';
import { loadProfile } from './profile-options.js';
import { parseTimeLimit, stopAfter } from './time-limit.js';
import { version } from './version.js';

export type ProveFormat = 'text' | 'json' | 'sarif';

export interface ProveCommandOptions {
  segIp: string[];
  segCert?: string;
  seg?: string;
  /** Direct Send sources the admin allows: an address or CIDR, optionally `=NAME` as for "eoplock plan". */
  allowDirectSend: string[];
  assume: string[];
  allAssumptions: boolean;
  format: ProveFormat;
  out?: string;
  trace: boolean;
  replay: boolean;
  color: boolean;
  /** Progress on stderr (a terminal). */
  progress: boolean;
  /** `--time-limit`: seconds per search, as given. */
  timeLimit?: string;
  /** `--threads`: worker threads at most, as given. */
  threads?: string;
}

/** `--threads`: a whole number from 1 to 64. */
export function parseThreads(value: string): number {
  const threads = /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
    throw new InputError(`expected a whole number of threads from 1 to 64, got "${visible(value)}"`, { where: '--threads' });
  }
  return threads;
}


/** `192.0.2.25=Office scanners` or `192.0.2.0/28` → the address part, checked. */
export function parseAllowedSources(values: readonly string[]): string[] {
  return values.map((value, index) => {
    const eq = value.indexOf('=');
    const address = (eq < 0 ? value : value.slice(0, eq)).trim();
    const { invalid } = compileIpList([address]);
    if (!address || invalid.length > 0) {
      throw new InputError(`expected an IPv4/IPv6 address or CIDR (optionally =NAME), got "${visible(value)}"${invalid[0] ? `: ${invalid[0].error}` : ''}`, { where: `--allow-direct-send[${index}]` });
    }
    return address;
  });
}

/** The gateway in one line, for the report's header. */
export function gatewayText(profile: GatewayProfile): string {
  if (profile.origin.kind === 'none') return 'none found (no gateway connector, no MX at a gateway): every class counts as not from the gateway';
  // A profile can hold thousands of addresses: the first few, then how many more.
  const ips = profile.ips.length > 8 ? `${profile.ips.slice(0, 8).join(', ')} and ${(profile.ips.length - 8).toLocaleString('en-US')} more` : profile.ips.join(', ');
  const parts = [profile.ips.length > 0 ? ips : null, profile.certificateName ? `certificate ${profile.certificateName}` : null].filter(Boolean);
  return `${profile.name ?? 'unnamed'} — ${parts.join('; ') || 'no address or certificate'} (${profile.origin.kind === 'inferred' ? 'inferred from' : 'given by'} ${profile.origin.from.join('; ')})`;
}

export async function proveCommand(io: Io, files: string[], options: ProveCommandOptions): Promise<number> {
  const overrides = parseAssumeFlags(options.assume);
  if (options.allAssumptions && options.assume.length > 0) {
    throw new InputError('--assume and --all-assumptions exclude each other: --all-assumptions already searches every value', { where: '--assume' });
  }
  const assumptions = resolveAssumptions(overrides);
  const allowDirectSend = parseAllowedSources(options.allowDirectSend);
  const limit = options.timeLimit === undefined ? null : parseTimeLimit(options.timeLimit);
  const given = await loadProfile(options);
  const { proveAll } = await import('../prove/prove.js');
  const { defaultThreads, proveInParallel } = await import('../prove/parallel.js');
  const threads = options.threads === undefined ? defaultThreads() : parseThreads(options.threads);

  // One progress line, redrawn in place: each text padded over the longer one before it.
  let drawn = 0;
  const draw = (text: string) => {
    showProgress(io, `\r${text.padEnd(drawn)}${drawn > text.length ? `\r${text}` : ''}`);
    drawn = text.length;
  };
  const reports: ProveReport[] = [];
  for (const [index, file] of files.entries()) {
    const { snapshot } = await loadSnapshotFile(file);
    const profile = given ?? inferProfile(snapshot);
    const tooWide = profileTooWide(profile);
    if (tooWide) {
      throw new InputError(
        `${tooWide}: every class from there counts as the gateway's, so the search could find no bypass and would prove nothing; ` +
          'give the gateway\'s own addresses with --seg-ip (or its certificate name with --seg-cert)',
        { file, where: 'gateway profile' },
      );
    }
    let label = `prove ${visible(file)}${files.length > 1 ? ` (${index + 1}/${files.length})` : ''}`;
    if (options.progress) draw(`${label}…`);
    const started = Date.now();
    const proofOptions: ProofOptions = {
      profile,
      assumptions,
      allowDirectSend,
      trace: options.trace,
      ...(options.progress ? { progress: throttled((covered: number, total: number) => draw(`${label}: ${percent(covered, total)} of ${total.toLocaleString('en-US')} classes, ${Math.round((Date.now() - started) / 1000)} s…`)) } : {}),
      ...(limit !== null ? { stop: stopAfter(limit) } : {}),
    };
    // A search that has not ended after a second on this thread goes on in worker threads (src/prove/parallel.ts).
    const result: ProofResult = options.allAssumptions ? proveAll(snapshot, proofOptions) : await proveInParallel(snapshot, proofOptions, { threads, onWorkers: (count) => (label += ` in ${count} threads`) });
    result.snapshot.file = file;
    const report: ProveReport = { result, file, assumptionOverrides: overrides, allAssumptions: options.allAssumptions, gateway: gatewayText(profile) };
    if (options.replay && result.findings.length > 0) {
      if (options.progress) draw(`replaying ${result.findings.length} representative(s) of ${visible(file)} over SMTP…`);
      const { replayFindings } = await import('./prove-replay.js'); // SMTP client and server: only with --replay
      report.replay = await replayFindings(snapshot, assumptions, result.findings);
    } else if (options.replay) report.replay = [];
    reports.push(report);
  }
  if (options.progress) {
    draw('');
    showProgress(io, progressBar('prove', files.length, files.length));
  }

  let text: string;
  switch (options.format) {
    case 'json':
      text = reports.length === 1 ? renderProveJson(reports[0] as ProveReport) : `${JSON.stringify({ proofs: reports.map((report) => JSON.parse(renderProveJson(report)) as unknown) }, null, 2)}\n`;
      break;
    case 'sarif':
      text = renderProveSarif(reports, version());
      break;
    default: {
      const color = options.color && !options.out;
      text = reports.map((report) => renderProveText(report, { color, trace: options.trace })).join('\n');
    }
  }
  await emit(io, text, options.out, { human: options.format === 'text' });
  const failed = reports.some(
    (report) => report.result.bypasses > 0 || report.result.stopped !== undefined || report.result.brokenLegitimate > 0 || (report.replay ?? []).some((outcome) => outcome.status !== 'same'),
  );
  return failed ? 1 : 0;
}

/** `12.3%` (`<0.1%` above zero, so that a start that covered little does not read as nothing). */
function percent(covered: number, total: number): string {
  if (total <= 0) return '100%';
  const share = (covered / total) * 100;
  return share > 0 && share < 0.1 ? '<0.1%' : `${share.toFixed(1)}%`;
}

/** `report`, called at most five times a second (the search reports every 1,024 steps, thousands of times a second). */
function throttled(report: (covered: number, total: number) => void): (covered: number, total: number) => void {
  let last = 0;
  return (covered, total) => {
    const now = Date.now();
    if (now - last < 200) return;
    last = now;
    report(covered, total);
  };
}
