/**
 * `eoplock audit <snapshot…>`: wiring only. Reads the snapshots with bounded concurrency, audits each, renders.
 */
import { failsAt, runAudit } from '../audit/run.js';
import type { AuditResult, Severity } from '../audit/model.js';
import { parseAssumeFlags, resolveAssumptions } from '../eop/assumptions.js';
import { InputError } from '../errors.js';
import { inferProfile, profileTooWide } from '../profile/profile.js';
import { renderAuditTable, renderAuditText } from '../report/audit-text.js';
import { withLiveDns } from '../dns/dns-section.js';
import { dnsGapNote } from '../dns/facts.js';
import { loadSnapshotFile } from '../snapshot/load.js';
import { lineLocator } from '../snapshot/locate.js';
import { parseJsonText, parseSnapshot } from '../snapshot/parse.js';
import { visible } from '../util/display.js';
import { readTextFile } from '../util/files.js';
import { loadProfile } from './profile-options.js';
import { emit, progressBar, showProgress, type Io } from './io.js';
import { version } from './version.js';
import { DEFAULT_PROVE_TIME_LIMIT, parseTimeLimit, stopAfter } from './time-limit.js';
import type { Prove } from '../prove/types.js';

export type AuditFormat = 'text' | 'json' | 'sarif' | 'junit' | 'html';

export interface AuditCommandOptions {
  segIp: string[];
  segCert?: string;
  seg?: string;
  format: AuditFormat;
  out?: string;
  failOn: Severity | 'none';
  assume: string[];
  concurrency: number;
  /** Replace each snapshot's Dns section with live lookups (through `resolver` when given). */
  liveDns?: boolean;
  resolver?: string;
  /** EOPL-090/091 search every class of transaction (src/prove, loaded only then) instead of judging the corpus. */
  classSearch?: boolean;
  /** `--prove-time-limit`: seconds for each snapshot's class search (with classSearch), as given; default 60. */
  proveTimeLimit?: string;
  verbose: boolean;
  color: boolean;
  /** Show a progress bar (stderr is a terminal and there are several snapshots). */
  progress: boolean;
}

/** Runs `task` over `items` with at most `limit` at a time; results keep the input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

export async function auditCommand(io: Io, files: string[], options: AuditCommandOptions): Promise<number> {
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
    throw new InputError(`expected a whole number of at least 1, got ${String(options.concurrency)}`, { where: '--concurrency' });
  }
  const assumptions = resolveAssumptions(parseAssumeFlags(options.assume));
  const given = await loadProfile(options);
  if (options.resolver !== undefined && !options.liveDns) throw new InputError('--resolver needs --live-dns', { where: '--resolver' });
  const dns = options.liveDns ? (await import('../dns/live-resolver.js')).liveResolver(options.resolver) : null; // node:dns only here
  const prove = options.classSearch ? (await import('../prove/prove.js')).prove : null;
  // One snapshot: its search, when it has not ended after a second, goes on in worker threads (as "eoplock prove").
  const parallel = options.classSearch && files.length === 1 ? await import('../prove/parallel.js') : null;
  // Each snapshot's search stops at --prove-time-limit (EOPL-090/091 then say so and fall back to the corpus).
  const limit = parseTimeLimit(options.proveTimeLimit ?? DEFAULT_PROVE_TIME_LIMIT, '--prove-time-limit');
  const classSearch: Prove | null = prove ? (snapshot, proofOptions) => prove(snapshot, { ...proofOptions, stop: stopAfter(limit) }) : null;
  // Missing DNS data (no Dns section, a domain without an entry, a lookup that failed) is said once per snapshot; the
  // checks that need it say "not evaluated" with the reason.
  const noteDnsGaps = (file: string, snapshot: Parameters<typeof dnsGapNote>[0]) => {
    const note = dnsGapNote(snapshot);
    if (note) io.stderr(`eoplock: warning: ${visible(file)}: ${visible(note)}\n`);
  };
  if (options.format === 'html') {
    if (files.length !== 1) throw new InputError(`--format html reports on one snapshot, got ${files.length}`, { where: '--format' });
    const file = files[0] as string;
    let { snapshot } = await loadSnapshotFile(file);
    if (dns) snapshot = await withLiveDns(snapshot, dns);
    noteDnsGaps(file, snapshot);
    const { htmlReport } = await import('./report.js'); // the HTML report's code (plan, trace, Chart.js) only here
    const { html, audit } = await htmlReport(snapshot, file, given ?? inferProfile(snapshot), { traces: [], assumptions });
    await emit(io, html, options.out);
    if (options.out) io.stderr(`eoplock: wrote ${visible(options.out)} (${Math.round(Buffer.byteLength(html) / 1024)} KB)\n`);
    return failsAt(audit, options.failOn) ? 1 : 0;
  }
  const errors: InputError[] = [];
  let done = 0;
  const tick = () => {
    done++;
    if (!options.progress) return;
    showProgress(io, progressBar('audit', done, files.length));
  };

  const outcomes = await mapLimit(files, options.concurrency, async (file) => {
    try {
      const text = await readTextFile(file);
      let snapshot;
      try {
        snapshot = parseSnapshot(parseJsonText(text)).snapshot;
      } catch (error) {
        throw error instanceof InputError ? error.inFile(file) : error;
      }
      if (dns) snapshot = await withLiveDns(snapshot, dns); // a failed lookup is recorded in the entry, not thrown
      noteDnsGaps(file, snapshot);
      const profile = given ?? inferProfile(snapshot);
      let search = classSearch;
      // The proof EOPL-090/091 read, searched before the checks run (they run synchronously); a profile too wide to
      // prove anything is left to them (they judge on the corpus and say why).
      if (parallel && !profileTooWide(profile)) {
        const proof = await parallel.proveInParallel(snapshot, { profile, assumptions, trace: true, stop: stopAfter(limit) });
        search = () => proof;
      }
      const result = runAudit(snapshot, profile, { file, assumptions, ...(search ? { classSearch: search } : {}) });
      if (options.format === 'sarif') {
        const locate = lineLocator(text);
        for (const finding of result.findings) for (const evidence of finding.evidence) evidence.line = locate(evidence.path);
      }
      return result;
    } catch (error) {
      if (error instanceof InputError) {
        errors.push(error);
        return null;
      }
      throw error;
    } finally {
      tick();
    }
  });
  const results = outcomes.filter((result): result is AuditResult => result !== null);
  for (const error of errors) io.stderr(`eoplock: error: ${error.describe()}\n`);

  if (results.length > 0) {
    let text: string;
    let human = false;
    // The machine formats (fast-xml-parser for JUnit) load only when asked for.
    switch (options.format) {
      case 'json':
        text = (await import('../report/audit-formats.js')).renderAuditJson(results);
        break;
      case 'sarif':
        text = (await import('../report/audit-formats.js')).renderAuditSarif(results, version());
        break;
      case 'junit':
        text = (await import('../report/audit-formats.js')).renderAuditJunit(results);
        break;
      default: {
        human = true;
        const color = options.color && !options.out;
        const details = results.map((result) => renderAuditText(result, { color, verbose: options.verbose }));
        text = results.length === 1 ? (details[0] as string) : [renderAuditTable(results, { color }), ...details].join('\n');
      }
    }
    await emit(io, text, options.out, { human });
  }
  if (errors.length > 0) return 2;
  return results.some((result) => failsAt(result, options.failOn)) ? 1 : 0;
}
