/**
 * `eoplock drift <snapshot> [--baseline <snapshot>]`: wiring, and the invariants as text.
 */
import { styleText } from 'node:util';
import { runAudit } from '../audit/run.js';
import { driftFromAudit, type DriftItem, type DriftResult } from '../drift/drift.js';
import { parseAssumeFlags, resolveAssumptions } from '../eop/assumptions.js';
import type { GatewayProfile } from '../profile/profile.js';
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
  /** An earlier snapshot: failures of invariants that held in it are reported as changes. */
  baseline?: string;
}

export async function driftCommand(io: Io, file: string, options: DriftOptions): Promise<number> {
  const assumptions = resolveAssumptions(parseAssumeFlags(options.assume));
  const given = await loadProfile(options);
  const [{ snapshot }, earlier] = await Promise.all([loadSnapshotFile(file), options.baseline ? loadSnapshotFile(options.baseline) : undefined]);
  // Both snapshots are judged against one gateway: the one given, else the one the baseline shows (so a connector
  // deleted since the baseline is a regression, not "no gateway found").
  const profile = given ?? (earlier ? fromBaseline(inferProfile(earlier.snapshot), earlier.file) : inferProfile(snapshot));
  const audit = runAudit(snapshot, profile, { file, assumptions });
  const drift = earlier
    ? driftFromAudit(audit, { audit: runAudit(earlier.snapshot, profile, { file: earlier.file, assumptions }), snapshot: earlier.snapshot, current: snapshot })
    : driftFromAudit(audit);
  const text = options.format === 'json' ? `${JSON.stringify({ ...drift, profile: audit.profile }, null, 2)}\n` : renderDrift(drift, profileLines(audit), options.color && !options.out);
  await emit(io, text, options.out, { human: options.format !== 'json' });
  return !drift.lockdownFound || drift.failing.length > 0 ? 1 : 0;
}

/** A profile inferred from the baseline says so where it names what it was inferred from. */
function fromBaseline(profile: GatewayProfile, file: string): GatewayProfile {
  return { ...profile, origin: { ...profile.origin, from: profile.origin.from.map((source) => `the baseline ${file}: ${source}`) } };
}

const showValue = (value: unknown) => visible(JSON.stringify(value ?? null) ?? 'null');

/** Drift as text; values from the snapshot go through `visible()`. Every failing invariant shows all its evidence. */
export function renderDrift(drift: DriftResult, profile: string[], color: boolean): string {
  const paint = (style: Parameters<typeof styleText>[0], text: string) => (color ? styleText(style, text, { validateStream: false }) : text);
  const title = `eoplock drift — ${visible(drift.tenant ?? 'tenant')} (${visible(drift.file)}${drift.baseline ? `, baseline ${visible(drift.baseline.file)}` : ''})`;
  const lines = [paint('bold', title), ...profile];
  if (!drift.lockdownFound) {
    lines.push(paint('red', 'No gateway lockdown found to check. Give the intended gateway with --seg-ip, --seg-cert or --seg, so that a removed connector is a regression.'));
    return `${lines.join('\n')}\n`;
  }
  const checked = drift.failing.length + drift.holding.length;
  if (drift.failing.length === 0) lines.push(paint('green', `The lockdown holds: ${checked} invariant(s) checked, all hold.`));
  else if (!drift.baseline) lines.push(paint('red', `${drift.failing.length} of ${checked} invariant(s) do not hold:`));
  const item = (finding: DriftItem) => {
    lines.push(`${paint('red', '✗')} ${finding.id} ${finding.statement}`, `    ${visible(finding.summary)}`);
    const baseline = new Map(finding.baselineValues?.map((value) => [value.path, value]));
    for (const evidence of finding.evidence) {
      lines.push(paint('dim', `    • ${visible(evidence.path)}: ${visible(evidence.message)}`));
      const value = baseline.get(evidence.path);
      if (value) lines.push(value.objectInBaseline ? `      in the baseline: ${showValue(value.before)}` : `      in the baseline: no ${visible(value.section)} "${visible(value.object)}"`);
    }
    lines.push(`    Fix: ${finding.remediation.split('\n').map(visible).join('\n         ')}`);
  };
  if (drift.baseline) {
    const groups: [DriftItem['baselineStatus'], string][] = [
      ['pass', 'regression(s) since the baseline'],
      ['fail', 'invariant(s) that did not hold in the baseline either'],
      ['not-applicable', 'invariant(s) that did not apply in the baseline and do not hold now'],
    ];
    for (const [status, heading] of groups) {
      const group = drift.failing.filter((finding) => finding.baselineStatus === status);
      if (group.length > 0) lines.push(paint('red', `${group.length} ${heading}:`));
      group.forEach(item);
    }
    if (drift.fixed.length > 0) lines.push(paint('green', `Hold now, did not in the baseline: ${drift.fixed.join(', ')}`));
  } else drift.failing.forEach(item);
  if (drift.notApplicable.length > 0) lines.push(paint('dim', `Not applicable: ${drift.notApplicable.join(', ')}`));
  return `${lines.join('\n')}\n`;
}
