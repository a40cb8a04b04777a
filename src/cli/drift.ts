/**
 * `eoplock drift <snapshot>` and `eoplock diff <before> <after>`: wiring only.
 */
import { styleText } from 'node:util';
import { runAudit } from '../audit/run.js';
import { diffSnapshots, type Change } from '../diff/diff.js';
import { driftFromAudit, type DriftResult } from '../drift/drift.js';
import { parseAssumeFlags, resolveAssumptions } from '../eop/assumptions.js';
import { inferProfile } from '../profile/profile.js';
import { profileLines } from '../report/audit-text.js';
import { loadSnapshotFile } from '../snapshot/load.js';
import { visible } from '../util/display.js';
import { emit, type Io } from './io.js';
import { loadProfile, type ProfileOptions } from './profile-options.js';

export interface DriftOptions extends ProfileOptions {
  format: 'text' | 'json';
  out?: string;
  assume: string[];
  color: boolean;
}

export async function driftCommand(io: Io, file: string, options: DriftOptions): Promise<number> {
  const assumptions = resolveAssumptions(parseAssumeFlags(options.assume));
  const given = await loadProfile(options);
  const { snapshot } = await loadSnapshotFile(file);
  const audit = runAudit(snapshot, given ?? inferProfile(snapshot), { file, assumptions });
  const drift = driftFromAudit(audit);
  const text = options.format === 'json' ? `${JSON.stringify({ ...drift, profile: audit.profile }, null, 2)}\n` : renderDrift(drift, profileLines(audit), options.color && !options.out);
  await emit(io, text, options.out, { human: options.format !== 'json' });
  return !drift.lockdownFound || drift.regressions.length > 0 ? 1 : 0;
}

/** Drift as text; values from the snapshot go through `visible()`. */
function renderDrift(drift: DriftResult, profile: string[], color: boolean): string {
  const paint = (style: Parameters<typeof styleText>[0], text: string) => (color ? styleText(style, text, { validateStream: false }) : text);
  const lines = [paint('bold', `eoplock drift — ${visible(drift.tenant ?? 'tenant')} (${visible(drift.file)})`), ...profile];
  if (!drift.lockdownFound) {
    lines.push(paint('red', 'No gateway lockdown found to check. Give the intended gateway with --seg-ip, --seg-cert or --seg, so that a removed connector is a regression.'));
    return `${lines.join('\n')}\n`;
  }
  if (drift.regressions.length === 0) lines.push(paint('green', `The lockdown holds: ${drift.holding.length} invariant(s) checked, none regressed.`));
  else lines.push(paint('red', `${drift.regressions.length} regression(s):`));
  for (const finding of drift.regressions) {
    lines.push(`${paint('red', '✗')} ${finding.id} ${finding.regression}`, `    ${visible(finding.summary)}`);
    for (const evidence of finding.evidence.slice(0, 5)) lines.push(paint('dim', `    • ${visible(evidence.path)}: ${visible(evidence.message)}`));
    lines.push(`    Fix: ${finding.remediation.split('\n').map(visible).join('\n         ')}`);
  }
  if (drift.notApplicable.length > 0) lines.push(paint('dim', `Not applicable: ${drift.notApplicable.join(', ')}`));
  return `${lines.join('\n')}\n`;
}

export async function diffCommand(io: Io, beforeFile: string, afterFile: string, options: { format: 'text' | 'json'; out?: string }): Promise<number> {
  const [before, after] = await Promise.all([loadSnapshotFile(beforeFile), loadSnapshotFile(afterFile)]);
  const changes = diffSnapshots(before.snapshot, after.snapshot);
  const text = options.format === 'json' ? `${JSON.stringify({ before: beforeFile, after: afterFile, changes }, null, 2)}\n` : renderDiff(changes, beforeFile, afterFile);
  await emit(io, text, options.out, { human: options.format !== 'json' });
  return changes.length > 0 ? 1 : 0;
}

function show(value: unknown): string {
  const text = visible(JSON.stringify(value) ?? 'null');
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** Differences as text; names, properties and values from the snapshots go through `visible()`. */
function renderDiff(changes: readonly Change[], beforeFile: string, afterFile: string): string {
  if (changes.length === 0) return `No configuration differences between ${visible(beforeFile)} and ${visible(afterFile)}.\n`;
  const lines = [`${changes.length} difference(s) from ${visible(beforeFile)} to ${visible(afterFile)}:`];
  let last = '';
  for (const change of changes) {
    const heading = `${change.section} "${visible(change.object)}"`;
    if (change.kind !== 'changed') {
      lines.push(`${change.kind === 'added' ? '+' : '-'} ${heading} ${change.kind}`);
      last = '';
      continue;
    }
    if (heading !== last) lines.push(`~ ${heading}`);
    last = heading;
    lines.push(`    ${visible(change.property ?? '')}: ${show(change.before)} → ${show(change.after)}`);
  }
  return `${lines.join('\n')}\n`;
}
