/**
 * `eoplock report <snapshot>` and `audit --format html`: gathers the audit, the plan (built here or read from a plan
 * folder), trace results, and Chart.js, then renders the self-contained HTML report. IO only; the model and the
 * rendering are pure (src/report/html).
 */
import { readFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import type { AuditResult } from '../audit/model.js';
import { runAudit } from '../audit/run.js';
import type { Assumptions } from '../eop/assumptions.js';
import { InputError } from '../errors.js';
import { defaultPlan, type Plan } from '../plan/plan.js';
import { renderPlan, type PlanFiles } from '../plan/render.js';
import { hasGateway, type GatewayProfile } from '../profile/profile.js';
import { corpusRows, findingFixes, mailFlowFacts, planSection, proofSection, topActions, type PlanSection } from '../report/html/model.js';
import { renderHtmlReport } from '../report/html/render.js';
import type { Snapshot } from '../snapshot/parse.js';
import { loadSnapshotFile } from '../snapshot/load.js';
import { ImpactAnalysis, type ImpactResult } from '../trace/impact.js';
import { BypassMonitor, type MonitorResult } from '../trace/monitor.js';
import { readTrace } from '../trace/read.js';
import { visible } from '../util/display.js';
import { readTextFile, writeFileAtomic } from '../util/files.js';
import { parseAssumeFlags, resolveAssumptions } from '../eop/assumptions.js';
import { inferProfile } from '../profile/profile.js';
import type { Io } from './io.js';
import { loadProfile, type ProfileOptions } from './profile-options.js';
import { version } from './version.js';
import { DEFAULT_PROVE_TIME_LIMIT, parseTimeLimit, stopAfter } from './time-limit.js';

/** Chart.js's browser bundle, inlined into the report (resolved through the package, not a path guess). */
export async function chartJsSource(): Promise<string> {
  const require = createRequire(import.meta.url);
  const main = require.resolve('chart.js'); // …/chart.js/dist/chart.cjs
  return readFile(join(dirname(main), 'chart.umd.min.js'), 'utf8');
}

async function planFolder(folder: string): Promise<PlanFiles> {
  const files: PlanFiles = {};
  let entries;
  try {
    entries = await readdir(folder, { recursive: true, withFileTypes: true });
  } catch (error) {
    throw new InputError(`cannot read the plan folder: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { file: folder });
  }
  for (const entry of entries) {
    if (!entry.isFile() || !/\.(ps1|md)$/.test(entry.name)) continue;
    const path = join(entry.parentPath, entry.name);
    files[relative(folder, path).split('\\').join('/')] = await readTextFile(path);
  }
  if (!Object.keys(files).some((name) => /^\d\d-.*\.ps1$/.test(name))) throw new InputError('not a plan folder (no NN-phase.ps1 scripts; make one with "eoplock plan")', { file: folder });
  return files;
}

export interface HtmlReportOptions {
  plan?: string;
  traces: string[];
  assumptions: Assumptions;
  /** Progress lines on stderr for long trace reads. */
  progress?: (text: string) => void;
  /** Milliseconds for each class search (now, and after the plan); default DEFAULT_PROVE_TIME_LIMIT seconds each. */
  proveTimeLimit?: number;
}

/** Everything the report needs, read and computed; returns the HTML text. */
export async function htmlReport(snapshot: Snapshot, file: string, profile: GatewayProfile, options: HtmlReportOptions): Promise<{ html: string; audit: AuditResult; monitor: MonitorResult | null; impact: ImpactResult | null }> {
  const { assumptions } = options;
  const audit = runAudit(snapshot, profile, { file, assumptions });
  let after: Snapshot | null = null;
  let plan: PlanSection | null = null;
  if (options.plan) {
    const files = await planFolder(options.plan);
    after = (await loadSnapshotFile(join(options.plan, 'expected-after.json'))).snapshot;
    plan = planSection(files, `Read from ${options.plan}.`);
  } else if (hasGateway(profile)) {
    let built: Plan | null = null;
    try {
      built = defaultPlan(snapshot, profile, assumptions);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
    }
    if (built) {
      after = built.after;
      plan = planSection(renderPlan(built, ''), 'Built for this report with the defaults (no Direct Send sources named, the safety net quarantines); "eoplock plan" writes it with your options, and "--plan DIR" shows that one.', built);
    }
  }
  let monitor: MonitorResult | null = null;
  let impact = null;
  // Rows of an impact summary (each a count of messages over days) feed the impact analysis only; the monitor's
  // per-day counts need the messages themselves.
  let summaryRows = 0;
  if (options.traces.length > 0) {
    const monitorRun = new BypassMonitor(profile, snapshot);
    const impactRun = after ? new ImpactAnalysis(snapshot, after, profile, assumptions) : null;
    let messageRows = 0;
    for (const trace of options.traces) {
      options.progress?.(`reading ${visible(trace)}…\n`);
      await readTrace(trace, {
        onRecord: (record) => {
          if (record.count !== undefined) summaryRows++;
          else {
            messageRows++;
            monitorRun.add(record);
          }
          impactRun?.add(record);
        },
      });
    }
    monitor = messageRows > 0 || summaryRows === 0 ? monitorRun.finish() : null;
    impact = impactRun?.finish() ?? null;
  }
  const flow = mailFlowFacts(snapshot, audit);
  const fixes = findingFixes(snapshot, audit, flow);
  const html = renderHtmlReport(
    {
      audit,
      flow,
      corpus: corpusRows(audit, after, assumptions),
      proof: proofSection(snapshot, after, profile, assumptions, () => stopAfter(options.proveTimeLimit ?? parseTimeLimit(DEFAULT_PROVE_TIME_LIMIT))),
      plan,
      fixes,
      actions: topActions(audit, fixes),
      monitor,
      impact,
      summaryRows,
      generatedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      version: version(),
    },
    await chartJsSource(),
  );
  return { html, audit, monitor, impact };
}

export interface ReportCommandOptions extends ProfileOptions {
  traces: string[];
  plan?: string;
  out: string;
  assume: string[];
  /** `--prove-time-limit`: seconds for each class search, as given. */
  proveTimeLimit?: string;
}

export async function reportCommand(io: Io, file: string, options: ReportCommandOptions): Promise<number> {
  const assumptions = resolveAssumptions(parseAssumeFlags(options.assume));
  const given = await loadProfile(options);
  const { snapshot } = await loadSnapshotFile(file);
  const { html } = await htmlReport(snapshot, file, given ?? inferProfile(snapshot), {
    traces: options.traces,
    assumptions,
    ...(options.proveTimeLimit !== undefined ? { proveTimeLimit: parseTimeLimit(options.proveTimeLimit, '--prove-time-limit') } : {}),
    ...(options.plan ? { plan: options.plan } : {}),
    ...(io.progress ? { progress: (text: string) => io.stderr(text) } : {}),
  });
  await writeFileAtomic(options.out, html);
  io.stdout(`Wrote ${visible(options.out)} (${Math.round(Buffer.byteLength(html) / 1024)} KB): open it in a browser.\n`);
  return 0;
}
