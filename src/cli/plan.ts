/**
 * `eoplock plan <snapshot> --out DIR`: wiring only. Builds the plan, renders it, and writes the folder in one step:
 * everything goes to a temporary sibling folder first, which then replaces DIR, so a failure never leaves half a plan.
 */
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ATTACK_ACCEPTED, isSpfCandidate } from '../corpus/builtin.js';
import { parseAssumeFlags, resolveAssumptions } from '../eop/assumptions.js';
import { InputError } from '../errors.js';
import { buildPlan, DEFAULT_CONNECTOR_NAME, DEFAULT_RULE_NAME, withTrace, type DirectSendSource, type Plan, type SafetyNetAction } from '../plan/plan.js';
import { ImpactAnalysis } from '../trace/impact.js';
import { readTrace } from '../trace/read.js';
import { renderPlan, type PlanFiles } from '../plan/render.js';
import { inferProfile } from '../profile/profile.js';
import { loadSnapshotFile } from '../snapshot/load.js';
import type { Io } from './io.js';
import { loadProfile } from './profile-options.js';
import { visible } from '../util/display.js';
import { temporarySibling, writeError } from '../util/files.js';
import { parseTimeLimit, stopAfter } from './time-limit.js';

export interface PlanCommandOptions {
  segIp: string[];
  segCert?: string;
  seg?: string;
  out: string;
  allowDirectSend: string[];
  safetyNet: SafetyNetAction;
  ruleName: string;
  connectorName: string;
  assume: string[];
  force: boolean;
  /** Leave SCL -1 rules and the connection filter's allow list as they are (the risk is stated in PLAN.md). */
  keepBypasses?: boolean;
  /** Message trace files (as `eoplock impact` reads them): every source in them is checked against the plan. */
  trace?: string[];
  /** Write a plan that breaks known senders (exit 0); without it such a plan is refused with exit 1. */
  acceptBroken?: boolean;
  /** `--prove-time-limit`: seconds for the class search of the configuration after the plan, as given. */
  proveTimeLimit?: string;
}

const EXPORTER = fileURLToPath(new URL('../../scripts/Export-EoplockSnapshot.ps1', import.meta.url));

/** `192.0.2.10=Printers` → `{ ip, name }`. */
export function parseDirectSend(values: readonly string[]): DirectSendSource[] {
  return values.map((value, index) => {
    const eq = value.indexOf('=');
    const ip = (eq < 0 ? value : value.slice(0, eq)).trim();
    const name = (eq < 0 ? '' : value.slice(eq + 1)).trim() || `Direct Send from ${ip}`;
    if (!ip) throw new InputError(`expected IP=NAME, got "${value}"`, { where: `--allow-direct-send[${index}]` });
    return { ip, name };
  });
}

/**
 * Writes files into `folder`, replacing it as a whole. The folder is built in a fresh private sibling (`mkdtemp`: an
 * unpredictable name, created exclusively), every file created exclusively in it, then renamed into place; an
 * existing folder (with `force`) is first moved aside under another unpredictable name and removed once the new one
 * is in place. A failure removes what was built and leaves the existing folder as it was. A symbolic link at
 * `folder` is refused rather than followed.
 */
export async function writeFolder(folder: string, files: PlanFiles, force: boolean): Promise<void> {
  const target = resolve(folder);
  const exists = await lstat(target).then(
    (info) => info,
    () => null,
  );
  if (exists && exists.isSymbolicLink()) throw new InputError('is a symbolic link; give the folder itself', { file: folder, where: '--out' });
  if (exists && !exists.isDirectory()) throw new InputError('exists and is not a folder', { file: folder, where: '--out' });
  if (exists && !force) throw new InputError('the folder exists; add --force to replace it', { file: folder, where: '--out' });
  let staging = '';
  let aside = '';
  try {
    await mkdir(dirname(target), { recursive: true });
    staging = await mkdtemp(join(dirname(target), `.${basename(target).slice(0, 64)}.`));
    for (const [name, content] of Object.entries(files)) {
      const path = join(staging, name);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, content, { encoding: 'utf8', flag: 'wx' });
    }
    // mkdtemp makes the folder private while it is built; in place it gets the existing folder's permissions, or
    // those of a folder made the usual way.
    await chmod(staging, exists ? exists.mode & 0o7777 : await usualFolderMode(staging));
    if (exists) {
      aside = temporarySibling(target, 'old');
      await rename(target, aside);
    }
    try {
      await rename(staging, target);
    } catch (error) {
      // Put the existing folder back; if even that fails it stays under its aside name rather than being lost.
      const back = aside;
      aside = '';
      if (back) await rename(back, target).catch(() => undefined);
      throw error;
    }
    staging = '';
  } catch (error) {
    if (staging) await rm(staging, { recursive: true, force: true });
    throw writeError(error, folder);
  } finally {
    if (aside) await rm(aside, { recursive: true, force: true });
  }
}

/** The permissions `mkdir` gives a new folder (0777 less the umask), read from a throwaway one inside `parent`. */
async function usualFolderMode(parent: string): Promise<number> {
  const probe = join(parent, `.mode-${randomBytes(6).toString('hex')}`);
  await mkdir(probe);
  try {
    return (await stat(probe)).mode & 0o777;
  } finally {
    await rmdir(probe);
  }
}

export async function makePlan(
  snapshotFile: string,
  options: Omit<PlanCommandOptions, 'out' | 'force' | 'acceptBroken'>,
  io?: Pick<Io, 'stderr'>,
): Promise<{ plan: Plan; files: PlanFiles }> {
  const assumptions = resolveAssumptions(parseAssumeFlags(options.assume));
  const given = await loadProfile(options);
  const { snapshot } = await loadSnapshotFile(snapshotFile);
  const profile = given ?? inferProfile(snapshot);
  let plan = buildPlan(snapshot, profile, {
    allowDirectSend: parseDirectSend(options.allowDirectSend),
    safetyNet: options.safetyNet,
    ruleName: options.ruleName || DEFAULT_RULE_NAME,
    connectorName: options.connectorName || DEFAULT_CONNECTOR_NAME,
    keepBypasses: options.keepBypasses === true,
    assumptions,
    ...(options.proveTimeLimit !== undefined ? { proofStop: stopAfter(parseTimeLimit(options.proveTimeLimit, '--prove-time-limit')) } : {}),
  });
  const traces = options.trace ?? [];
  if (traces.length > 0) {
    // The same analysis as `eoplock impact --plan`: each traced message decided now and on the planned configuration.
    const analysis = new ImpactAnalysis(snapshot, plan.after, profile, assumptions);
    for (const file of traces) {
      const summary = await readTrace(file, { onRecord: (record) => analysis.add(record) });
      if (summary.malformed > 0) io?.stderr(`eoplock: warning: ${visible(file)}: ${summary.malformed} malformed row(s) skipped\n`);
    }
    plan = withTrace(plan, analysis.finish().groups, traces.length);
  }
  return { plan, files: renderPlan(plan, await readFile(EXPORTER, 'utf8')) };
}

export async function planCommand(io: Io, snapshotFile: string, options: PlanCommandOptions): Promise<number> {
  const { plan, files } = await makePlan(snapshotFile, options, io);
  const last = plan.phases.at(-1)?.expected ?? [];
  const attacks = last.filter((entry) => entry.kind === 'attack');
  const known = last.filter((entry) => entry.kind === 'legitimate' && !isSpfCandidate(entry.id));
  const prediction =
    `After the plan the emulator predicts: ${attacks.filter((e) => e.outcome === 'got-in').length} of ${attacks.length} attacks ${ATTACK_ACCEPTED}, ` +
    `${known.filter((e) => e.outcome === 'broken').length} of ${known.length} known legitimate paths break; ` +
    (plan.proof.stopped
      ? `the class search stopped at --prove-time-limit after ${plan.proof.classes.toLocaleString('en-US')} of ${plan.proof.stopped.of.toLocaleString('en-US')} classes (not a proof): ` +
        `${plan.proof.bypasses} bypass class(es) and ${plan.proof.brokenLegitimate} refused class(es) from the gateway or a named source among them.`
      : `the proof finds ${plan.proof.brokenLegitimate} class(es) from the gateway or a named source refused.`);
  // A candidate the plan breaks is already listed with its argument among the broken senders.
  const candidateLines = plan.candidates.filter((candidate) => !plan.broken.some((entry) => entry.source === candidate.source)).map(
    (candidate) => `  ? ${visible(candidate.source)}: ${visible(candidate.evidence)}; after the plan ${visible(candidate.after)}${candidate.argument ? `; if legitimate add ${visible(candidate.argument)}` : ''}`,
  );
  if (plan.broken.length > 0 && !options.acceptBroken) {
    const lines = [`Plan for ${visible(plan.tenant ?? snapshotFile)} NOT written: it breaks ${plan.broken.length} known sender(s).`, prediction];
    for (const entry of plan.broken) lines.push(`  ✗ ${visible(entry.name)}: ${visible(entry.why)}${entry.argument ? `; keep it with ${visible(entry.argument)}` : ''}`);
    if (candidateLines.length > 0) lines.push('Possible Direct Send sources:', ...candidateLines);
    lines.push('Name each legitimate sender with --allow-direct-send, or add --accept-broken to write the plan anyway (PLAN.md then lists what breaks).');
    io.stdout(`${lines.join('\n')}\n`);
    return 1;
  }
  await writeFolder(options.out, files, options.force);
  const changes = plan.phases.reduce((sum, phase) => sum + phase.ops.length, 0);
  const lines = [`Plan for ${visible(plan.tenant ?? snapshotFile)} written to ${visible(options.out)} (${Object.keys(files).length} files, ${changes} change(s)).`];
  for (const phase of plan.phases) lines.push(`  ${phase.id}: ${phase.ops.length === 0 ? 'nothing to change' : `${phase.ops.length} change(s)`}`);
  lines.push(prediction);
  for (const entry of plan.broken) lines.push(`  ✗ ${visible(entry.name)}: ${visible(entry.why)} (accepted with --accept-broken)`);
  for (const warning of plan.warnings) lines.push(`  ! ${visible(warning)}`);
  if (candidateLines.length > 0) lines.push('Possible Direct Send sources:', ...candidateLines);
  lines.push(`Read ${visible(join(options.out, 'PLAN.md'))}, run 00-backup.ps1, then each phase with -WhatIf first.`);
  io.stdout(`${lines.join('\n')}\n`);
  return 0;
}
