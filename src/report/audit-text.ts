/**
 * The audit as text: a one-screen summary first, then failures by severity with evidence and the fix. Every value
 * from a snapshot or a flag (names, addresses, paths, found values, and the summaries and messages that quote them)
 * goes through `visible()`: it stays on its line and cannot drive the terminal.
 */
import { styleText } from 'node:util';
import type { AuditResult, Evidence, Finding, Severity } from '../audit/model.js';
import { SEVERITIES } from '../audit/model.js';
import { ATTACK_ACCEPTED } from '../corpus/builtin.js';
import { citedSourceIds, sortSourceIds, sourceFooter } from '../eop/sources.js';
import { hasGateway } from '../profile/profile.js';
import { visible } from '../util/display.js';
import { controlLabel, controlName, foundText } from './controls.js';

type Style = Parameters<typeof styleText>[0];

export interface AuditTextOptions {
  color: boolean;
  /** Print passed and not-applicable checks one per line too. */
  verbose: boolean;
}

const SEVERITY_STYLE: Record<Severity, 'red' | 'yellow' | 'cyan'> = { high: 'red', medium: 'yellow', low: 'cyan' };

function show(value: unknown): string {
  const text = visible(typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value)));
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

export function profileLines(result: AuditResult): string[] {
  const p = result.profile;
  if (p.origin.kind === 'none') return ['Gateway: none found (no gateway connector, no MX at a gateway); gateway checks do not apply'];
  const parts = [
    p.ips.length > 0 ? p.ips.join(', ') : null,
    p.certificateName ? `certificate ${p.certificateName}` : null,
    p.mxHosts.length > 0 ? `MX ${p.mxHosts.join(', ')}` : null,
  ].filter((part) => part !== null);
  return [
    `Gateway: ${visible(p.name ?? 'unnamed')} — ${visible(parts.join('; '))}`,
    `  ${p.origin.kind === 'inferred' ? 'inferred from' : 'given by'} ${visible(p.origin.from.join('; '))}`,
  ];
}

export function renderAuditText(result: AuditResult, options: AuditTextOptions): string {
  const paint = (style: Style, text: string) => (options.color ? styleText(style, text, { validateStream: false }) : text);
  const s = result.summary;
  const lines: string[] = [];
  lines.push(paint('bold', `eoplock audit — ${visible(result.tenant ?? 'tenant')} (${visible(result.file)}${result.capturedAt ? `, captured ${visible(result.capturedAt)}` : ''})`));
  lines.push(...profileLines(result));
  const failedText = SEVERITIES.map((severity) => `${s.failedBySeverity[severity]} ${severity}`).join(', ');
  lines.push(
    `Checks: ${s.failed > 0 ? paint('red', `${s.failed} failed`) : paint('green', '0 failed')} (${failedText}), ${s.passed} passed, ${s.notApplicable} not applicable`,
  );
  lines.push(
    `Proof: ${paint(s.attacksIn > 0 ? 'red' : 'green', `${s.attacksIn} of ${s.attacksTotal} attacks ${ATTACK_ACCEPTED}`)}; ` +
      `${paint(s.legitimateBroken > 0 ? 'red' : 'green', `${s.legitimateBroken} of ${s.legitimateTotal} legitimate paths break`)}`,
  );
  for (const group of checksAwaitingProfile(result)) {
    const ids = group.ids.join(', ');
    lines.push(paint('yellow', `Not run: ${ids} — ${group.missing}; ${group.flag} runs ${group.ids.length === 1 ? 'it' : 'them'}`));
  }
  const failed = result.findings.filter((finding) => finding.status === 'fail');
  for (const severity of SEVERITIES) {
    const group = failed.filter((finding) => finding.severity === severity);
    if (group.length === 0) continue;
    lines.push('');
    lines.push(paint(['bold', SEVERITY_STYLE[severity]], `${severity.toUpperCase()} (${group.length})`));
    for (const finding of group) lines.push(...failureLines(finding, paint));
  }
  const passed = result.findings.filter((finding) => finding.status === 'pass');
  const skipped = result.findings.filter((finding) => finding.status === 'not-applicable');
  lines.push('');
  if (options.verbose) {
    for (const finding of passed) lines.push(`${paint('green', '✓')} ${finding.id} ${finding.title} — ${visible(finding.summary)}`);
    for (const finding of skipped) lines.push(`${paint('dim', '–')} ${finding.id} ${finding.title} — ${paint('dim', visible(finding.summary))}`);
  } else {
    if (passed.length > 0) lines.push(`${paint('green', 'Passed')}: ${passed.map((finding) => finding.id).join(', ')}`);
    if (skipped.length > 0) lines.push(`${paint('dim', 'Not applicable')}: ${skipped.map((finding) => finding.id).join(', ')} (--verbose says why)`);
  }
  const footer = sourceFooter(failed.flatMap(citedIds));
  if (footer.length > 0) lines.push('', ...footer.map((line) => paint('dim', line)));
  return `${lines.join('\n')}\n`;
}

export interface ChecksAwaitingProfile {
  /** The flag that gives what the checks lack. */
  flag: '--seg-ip' | '--seg-cert';
  /** What the gateway profile lacks, in words. */
  missing: string;
  ids: string[];
}

/**
 * The checks that did not run because the gateway profile lacks something a flag gives, grouped by that flag. A check
 * that does not apply says why in its summary; these are the reasons that a missing gateway, missing or inferred
 * addresses, or a missing certificate name give (src/audit/checks). With no gateway at all, --seg-ip is the one flag:
 * it makes a gateway known and gives the addresses the address checks compare.
 */
export function checksAwaitingProfile(result: AuditResult): ChecksAwaitingProfile[] {
  const skipped = result.findings.filter((finding) => finding.status === 'not-applicable');
  const groups: ChecksAwaitingProfile[] = [];
  if (!hasGateway(result.profile)) {
    const ids = skipped.filter((finding) => /\bgateway\b/i.test(finding.summary)).map((finding) => finding.id);
    if (ids.length > 0) groups.push({ flag: '--seg-ip', missing: 'no gateway is known (if one receives your mail, give its sending addresses)', ids });
    return groups;
  }
  const addresses = skipped.filter((finding) => /lists no addresses|give --seg-ip/.test(finding.summary)).map((finding) => finding.id);
  if (addresses.length > 0) {
    const inferred = result.profile.ips.length > 0 && result.profile.origin.kind === 'inferred';
    groups.push({ flag: '--seg-ip', missing: inferred ? "the gateway's addresses were inferred from the connector they are checked against" : 'the gateway profile lists no addresses', ids: addresses });
  }
  const certificate = skipped.filter((finding) => /names no certificate/.test(finding.summary)).map((finding) => finding.id);
  if (certificate.length > 0) groups.push({ flag: '--seg-cert', missing: 'the gateway profile names no certificate', ids: certificate });
  return groups;
}

/** The sources a failed finding cites: its references, and ids its texts name (the proof's S32, the guide). */
function citedIds(finding: Finding): string[] {
  const texts = [finding.why, finding.summary, ...finding.evidence.map((evidence) => evidence.message)].join('\n');
  return [...finding.references.map((reference) => reference.id), ...citedSourceIds(texts)];
}

function failureLines(finding: Finding, paint: (style: Style, text: string) => string): string[] {
  const lines = [`${paint('red', '✗')} ${paint('bold', `${finding.id} ${finding.title}`)}`, `    ${visible(finding.summary)}`];
  for (const evidence of finding.evidence.slice(0, 12)) {
    if (evidence.verdict && evidence.transaction) {
      const tx = evidence.transaction;
      lines.push(`    • ${visible(evidence.message)}`);
      lines.push(paint('dim', `      ${visible(tx.clientIp)} MAIL FROM:<${visible(tx.mailFrom)}> RCPT TO:<${visible(tx.rcptTo.join('>,<'))}> → ${evidenceVerdictLine(evidence.verdict)}`));
      continue;
    }
    const found = foundText(evidence, show);
    const value = found === null ? '' : evidence.absent ? `: ${found}` : ` = ${found}`;
    const wanted = evidence.expected ? ` (expected ${visible(evidence.expected)})` : '';
    lines.push(`    • ${visible(evidence.path)}${value}${wanted}`);
    lines.push(paint('dim', `      ${visible(evidence.message)}`));
  }
  if (finding.evidence.length > 12) lines.push(`    … and ${finding.evidence.length - 12} more (see --format json)`);
  lines.push(`    Fix: ${finding.remediation.split('\n').map(visible).join('\n         ')}`);
  const exact = finding.controls.filter((control) => control.relation === 'exact');
  const other = finding.controls.filter((control) => control.relation !== 'exact');
  if (finding.controls.length > 0) {
    const [first, ...rest] = [...(exact.length > 0 ? [exact.map(controlName).join(', ')] : []), ...other.map(controlLabel)];
    lines.push(paint('dim', `    Controls: ${first}`));
    for (const line of rest) lines.push(paint('dim', `              ${line}`));
  }
  const cited = citedIds(finding);
  if (cited.length > 0) lines.push(paint('dim', `    Sources: ${sortSourceIds(cited).join(', ')} (below)`));
  return lines;
}

/** One line for the verdict evidence carries: the reply with its SMTP stage, or where accepted mail went. */
function evidenceVerdictLine(verdict: NonNullable<Evidence['verdict']>): string {
  if (verdict.action !== 'reject') return `accept → ${verdict.disposition}`;
  // Evidence written before the stage was kept (an older JSON report read back) has none: the codes alone then.
  const stage = typeof verdict.stage === 'string' ? verdict.stage : null;
  const when = verdict.disposition === 'ndr' ? ' as an NDR after DATA' : stage ? ` at ${stage.toUpperCase()}` : '';
  return `reject ${verdict.code} ${visible(verdict.enhanced)}${when}`;
}

/** Several tenants: one summary row each. */
export function renderAuditTable(results: readonly AuditResult[], options: { color: boolean }): string {
  const paint = (style: Style, text: string) => (options.color ? styleText(style, text, { validateStream: false }) : text);
  const rows = results.map((result) => [
    visible(result.tenant ?? '?'),
    visible(result.file),
    String(result.summary.failedBySeverity.high),
    String(result.summary.failedBySeverity.medium),
    String(result.summary.failedBySeverity.low),
    `${result.summary.attacksIn}/${result.summary.attacksTotal}`,
    `${result.summary.legitimateBroken}/${result.summary.legitimateTotal}`,
  ]);
  const header = ['tenant', 'snapshot', 'high', 'medium', 'low', 'attacks in', 'legit broken'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const format = (row: string[]) => row.map((cell, column) => (column >= 2 ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0))).join('  ');
  const lines = [paint('bold', format(header))];
  for (const [index, row] of rows.entries()) {
    const bad = (results[index]?.summary.failedBySeverity.high ?? 0) > 0 || (results[index]?.summary.attacksIn ?? 0) > 0;
    lines.push(bad ? paint('red', format(row)) : format(row));
  }
  return `${lines.join('\n')}\n`;
}
