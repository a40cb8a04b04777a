/**
 * `eoplock demo` (what `npm start` runs): the builtin corpus against the bundled example tenant before, halfway
 * through (the guide as written), and after a correct lockdown; under each, the class search ("eoplock prove").
 */
import { styleText } from 'node:util';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { runAudit } from '../audit/run.js';
import { SEVERITIES, type AuditResult } from '../audit/model.js';
import { ATTACK_ACCEPTED, builtinCorpus } from '../corpus/builtin.js';
import { inferProfile } from '../profile/profile.js';
import { buildPlan, DEFAULT_CONNECTOR_NAME, DEFAULT_RULE_NAME, defaultPlanAfter } from '../plan/plan.js';
import { resolveAssumptions } from '../eop/assumptions.js';
import { outcomeLabel, verdictLine, type SimulationResult } from '../report/simulate.js';
import { proofHeadline } from '../report/prove.js';
import { prove } from '../prove/prove.js';
import type { ProofResult } from '../prove/types.js';
import { runCorpus } from '../simulate/run.js';
import { loadSnapshotFile } from '../snapshot/load.js';
import type { RunningLab } from '../lab/lab.js';
import { analyseHeaders } from '../headers/analyse.js';
import { readMessageHeaders } from '../headers/parse.js';
import { visible } from '../util/display.js';
import { readTextFile, writeFileAtomic } from '../util/files.js';
import { ImpactAnalysis } from '../trace/impact.js';
import { readTrace } from '../trace/read.js';
import type { Io } from './io.js';

export const DEFAULT_EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

/**
 * The widest a name column gets: every corpus attack's name fits whole, and a row with the longest outcome and verdict
 * stays within about 125 columns. Names that come from a snapshot (connector names, GUIDs in them) are cut past it.
 */
export const NAME_COLUMN_MAX = 54;
/** Ends a value cut to fit its column: visibly, so that a cut name is never read as the whole one. */
export const CUT_MARKER = '…';

/**
 * A column for `values`: as wide as the longest (so that the next column lines up), at most `max`; a longer value is
 * cut and ends in {@link CUT_MARKER}. Values are display text (already through `visible()`), one code unit a column.
 */
export function column(values: readonly string[], max: number): (value: string) => string {
  const width = Math.min(max, Math.max(0, ...values.map((value) => value.length)));
  return (value) => cut(value, width).padEnd(width);
}

/** `value`, or its start and {@link CUT_MARKER} when it is longer than `max`. */
export function cut(value: string, max: number): string {
  return value.length > max ? `${value.slice(0, Math.max(0, max - CUT_MARKER.length))}${CUT_MARKER}` : value;
}

/** The widest a proof cause is shown: its first steps; "eoplock prove --trace" shows it whole. */
const CAUSE_MAX = 96;

const STAGES = [
  {
    file: 'contoso-exposed.json',
    title: '1. Exposed: MX at the gateway, nothing hardened',
    moral:
      'The MX record is only a hint. Anyone can connect to the tenant\'s EOP endpoint directly, and EOP accepts mail for ' +
      'its domains from anywhere, the gateway never sees it.',
  },
  {
    file: 'contoso-partial.json',
    title: '2. Partial: RejectDirectSend on, the guide\'s safety-net rule, connector not restricted',
    moral:
      'RejectDirectSend only tests the envelope sender, and a -FromScope NotInOrganization rule does not match an ' +
      'anonymous spoof of an accepted domain (it is neither in nor out of the organisation). Spoofs with a foreign ' +
      'envelope sender, the null sender, IPv6 and plain outside mail are still accepted by EOP without passing the gateway.',
  },
  {
    file: 'contoso-locked.json',
    title: '3. Locked: certificate-restricted Partner connector, scanner connector, Microsoft\'s safety net',
    moral:
      'A Partner connector with SenderDomains * restricted to the gateway\'s certificate rejects everything else ' +
      'with 5.7.51; the scanner keeps its own IP connector, so nothing legitimate breaks.',
  },
];

/** The guide's tests against the lab for the locked example, as table rows. */
async function labSession(folder: string, paint: (style: Parameters<typeof styleText>[0], text: string) => string): Promise<string[]> {
  const { snapshot } = await loadSnapshotFile(join(folder, 'contoso-locked.json'));
  // The SMTP libraries (smtp-server, nodemailer, selfsigned) load for this section only.
  const [{ startLab }, { probe }] = await Promise.all([import('../lab/lab.js'), import('../probe/probe.js')]);
  let lab: RunningLab;
  try {
    lab = await startLab({
      snapshot,
      assumptions: resolveAssumptions(),
      profile: inferProfile(snapshot),
      listen: { host: '127.0.0.1', port: 0 },
      gatewayListen: { host: '127.0.0.1', port: 0 },
    });
  } catch (error) {
    return [`  (lab skipped: ${(error as Error).message})`];
  }
  try {
    const base = { host: '127.0.0.1', port: lab.eop.port, to: ['alice@contoso.com'], ehlo: 'demo.example', starttls: 'auto' as const, send: false, timeoutMs: 10_000 };
    const rows: [string, string, string, string][] = [];
    const show = (result: Awaited<ReturnType<typeof probe>>) =>
      result.failure ? visible(result.failure.message) : result.outcome ? `${result.outcome.code}${result.outcome.enhanced ? ` ${result.outcome.enhanced}` : ''} at ${result.outcome.stage.toUpperCase()}` : 'no reply';
    const test1 = await probe({ ...base, from: 'ceo@contoso.com' });
    rows.push(['1. Direct Send as ceo@contoso.com', 'straight to EOP', '550 5.7.68 at RCPT', show(test1)]);
    const test2 = await probe({ ...base, from: 'fake@gmail.example' });
    rows.push(['2. Foreign sender', 'straight to EOP', '550 5.7.51 at RCPT', show(test2)]);
    const test3 = await probe({ ...base, port: lab.gateway?.port ?? 0, from: 'customer@partner.example', send: true });
    rows.push(['3. Legitimate mail', 'through the gateway hop', '250 at DATA (delivered)', show(test3)]);
    const cells = [0, 1, 2].map((index) => column(rows.map((row) => row[index] ?? ''), NAME_COLUMN_MAX));
    return rows.map((row) => {
      const ok = row[3].startsWith(row[2].split(' (')[0] ?? '');
      const [name, path, expected] = cells.map((cell, index) => cell(row[index] ?? ''));
      return `  ${ok ? paint('green', '✓') : paint('red', '✗')} ${name}  ${path}  expected ${expected}  got ${row[3]}`;
    });
  } finally {
    await lab.close(0);
  }
}

/** The bundled DMARC example in a few lines: what was read, per domain, and the findings. */
async function dmarcStep(folder: string, paint: (style: Parameters<typeof styleText>[0], text: string) => string): Promise<string[]> {
  // The report reader (fast-xml-parser, the archive readers) loads for this section only.
  const [{ readReports, skippedLines }, { analyseReports }] = await Promise.all([import('./dmarc.js'), import('../dmarc/analyse.js')]);
  const read = await readReports([folder]);
  const analysis = analyseReports(read.reports, { profile: null });
  const lines = [
    `  ${analysis.reports} report(s), ${analysis.records} record(s), ${analysis.messages} message(s) from ${analysis.sources.length} source(s)` +
      `${analysis.period ? `, ${analysis.period.begin.slice(0, 10)} … ${analysis.period.end.slice(0, 10)}` : ''}:`,
  ];
  const domainCell = column(analysis.domains.map((domain) => visible(domain.domain)), NAME_COLUMN_MAX);
  for (const domain of analysis.domains) {
    const failing = domain.byClass.failing;
    lines.push(
      `    ${domainCell(visible(domain.domain))}  p=${visible(domain.policy)}  ${domain.messages} message(s): ${domain.byClass.authenticated} authenticated, ` +
        `${paint(failing > 0 ? 'red' : 'green', `${failing} failing DMARC`)}`,
    );
  }
  for (const finding of analysis.findings) lines.push(`    ${finding.severity === 'low' ? '·' : paint('red', '✗')} ${finding.id} [${finding.severity}] ${visible(finding.title)}`);
  for (const line of skippedLines(read)) lines.push(paint('dim', `    ${line}`));
  lines.push('  With --snapshot or --seg-ip the gateway\'s addresses are told apart, and mail failing DMARC from anywhere else is a');
  lines.push('  finding (exit 1); --resolve recognises Microsoft 365\'s own senders.');
  return lines;
}

export async function demoCommand(io: Io, options: { examples?: string; trace: boolean; report?: string | false }): Promise<number> {
  const folder = options.examples ?? DEFAULT_EXAMPLES;
  const paint = (style: Parameters<typeof styleText>[0], text: string) =>
    io.color ? styleText(style, text, { validateStream: false }) : text;
  const assumptions = resolveAssumptions();
  const out: string[] = [];
  out.push(paint('bold', 'eoplock demo — what EOP does with mail sent straight to contoso-com.mail.protection.outlook.com'));
  out.push(
    'The same corpus of attacks and legitimate mail paths runs through the EOP emulator against three snapshots of one ' +
      'tenant (examples/). Every verdict comes with a trace of sources; run "eoplock simulate <snapshot> --corpus builtin --trace". ' +
      'Under each, "eoplock prove" searches every class of transaction the configuration can tell apart, not only the corpus.',
  );
  out.push('');

  const summaries: { title: string; result: SimulationResult }[] = [];
  const proofs: ProofResult[] = [];
  for (const stage of STAGES) {
    const file = join(folder, stage.file);
    const { snapshot } = await loadSnapshotFile(file);
    const result = runCorpus({ snapshot, file, assumptions, assumptionOverrides: {} }, builtinCorpus(snapshot));
    summaries.push({ title: stage.title, result });
    out.push(paint('bold', stage.title));
    // Columns as wide as this stage's longest name and outcome, so that the verdicts line up; a name past the
    // maximum width is cut with a marker (the connector names in it come from the snapshot and can be long).
    const nameCell = column(result.results.map((entry) => visible(entry.name)), NAME_COLUMN_MAX);
    const labelCell = column(result.results.map((entry) => (entry.outcome ? outcomeLabel(entry.outcome) : '')), NAME_COLUMN_MAX);
    for (const entry of result.results) {
      const bad = entry.outcome === 'got-in' || entry.outcome === 'broken';
      const label = entry.outcome ? outcomeLabel(entry.outcome) : '';
      const mark = bad ? paint('red', '✗') : paint('green', '✓');
      const kind = entry.kind === 'attack' ? 'attack' : 'legit ';
      out.push(`  ${mark} ${kind}  ${nameCell(visible(entry.name))} ${paint(bad ? 'red' : 'green', labelCell(label))} ${paint('dim', verdictLine(entry.verdict))}`);
      if (options.trace) {
        for (const step of entry.verdict.trace) out.push(paint('dim', `        [${step.step}] ${visible(step.detail)} (${step.sources.join(' ')})`));
      }
    }
    const s = result.summary;
    out.push(
      `  → ${paint(s.attacksIn > 0 ? 'red' : 'green', `${s.attacksIn} of ${s.attacksIn + s.attacksStopped} attacks ${ATTACK_ACCEPTED}`)}, ` +
        `${paint(s.legitimateBroken > 0 ? 'red' : 'green', `${s.legitimateBroken} of ${s.legitimateBroken + s.legitimateDelivered} legitimate paths break`)}`,
    );
    out.push(`  ${stage.moral}`);
    // The corpus is eight attacks; the class search covers every transaction the configuration can tell apart.
    const proof = prove(snapshot, { profile: inferProfile(snapshot), assumptions });
    proofs.push(proof);
    const causes = proof.findings.filter((finding) => finding.kind !== 'shared-gateway-infrastructure');
    out.push(
      `  → eoplock prove: ${paint(proof.bypasses > 0 || proof.brokenLegitimate > 0 ? 'red' : 'green', proofHeadline(proof))}` +
        `${proof.brokenLegitimate > 0 ? `, ${proof.brokenLegitimate} legitimate class(es) refused` : ''}${causes.length > 0 ? `, by ${causes.length} cause(s):` : ''}`,
    );
    // A cause lists every step of the decision; the demo shows its start, and "eoplock prove --trace" the whole.
    for (const finding of causes.slice(0, 3)) out.push(`      ${paint('red', '✗')} ${cut(visible(finding.cause), CAUSE_MAX)} — ${finding.classes.toLocaleString('en-US')} class(es)`);
    if (causes.length > 3) out.push(paint('dim', `      … and ${causes.length - 3} more: eoplock prove examples/${stage.file} --trace`));
    out.push('');
  }
  const audits: { stage: (typeof STAGES)[number]; audit: AuditResult }[] = [];
  for (const stage of [STAGES[0], STAGES[2]]) {
    if (!stage) continue;
    const file = join(folder, stage.file);
    const { snapshot } = await loadSnapshotFile(file);
    audits.push({ stage, audit: runAudit(snapshot, inferProfile(snapshot), { file, assumptions }) });
  }
  out.push(paint('bold', '4. The audit: what to fix, with proof'));
  out.push(`  "eoplock audit" runs ${audits[0]?.audit.findings.length ?? 0} checks on each snapshot and uses the corpus above as proof. The gateway is inferred from the`);
  out.push('  snapshot (its SenderDomains * Partner connector and the MX records).');
  for (const { stage, audit } of audits) {
    const s = audit.summary;
    out.push('');
    out.push(
      `  ${stage.file}: ${paint(s.failed > 0 ? 'red' : 'green', `${s.failed} failed`)} ` +
        `(${SEVERITIES.map((severity) => `${s.failedBySeverity[severity]} ${severity}`).join(', ')}), ${s.passed} passed, ${s.notApplicable} not applicable`,
    );
    const failed = audit.findings.filter((entry) => entry.status === 'fail');
    const shown = failed.filter((entry) => entry.severity !== 'low');
    for (const finding of shown) {
      out.push(`    ${paint('red', '✗')} ${finding.id} [${finding.severity}] ${finding.title}`);
      out.push(paint('dim', `        ${visible(finding.summary)}`));
    }
    if (shown.length < failed.length) {
      out.push(`    ${shown.length} of ${failed.length} failed findings shown (the ${failed.length - shown.length} low ones: eoplock audit examples/${stage.file})`);
    }
    if (s.failed === 0) out.push(`    ${paint('green', '✓')} every check passes: exit code 0`);
  }
  out.push('');
  out.push('  Full reports: eoplock audit examples/contoso-exposed.json [--format json|sarif|junit]');
  out.push('');

  {
    const file = join(folder, 'contoso-exposed.json');
    const { snapshot } = await loadSnapshotFile(file);
    const plan = buildPlan(snapshot, inferProfile(snapshot), {
      allowDirectSend: [{ ip: '192.0.2.25', name: 'Office scanners (192.0.2.25)' }],
      safetyNet: 'quarantine',
      ruleName: DEFAULT_RULE_NAME,
      connectorName: DEFAULT_CONNECTOR_NAME,
      assumptions,
    });
    out.push(paint('bold', `5. The plan: the exposed tenant, locked down in ${plan.phases.length} phases`));
    out.push('  "eoplock plan examples/contoso-exposed.json --out plan --allow-direct-send \'192.0.2.25=Office scanners\'" writes idempotent');
    out.push('  PowerShell for each phase, an exact rollback and a read-only verification for each, and PLAN.md. What it changes:');
    for (const phase of plan.phases) {
      const attacks = phase.expected.filter((entry) => entry.kind === 'attack');
      const legit = phase.expected.filter((entry) => entry.kind === 'legitimate');
      const inside = attacks.filter((entry) => entry.outcome === 'got-in').length;
      const broken = legit.filter((entry) => entry.outcome === 'broken').length;
      out.push(`  ${phase.id}: ${phase.title}`);
      for (const op of phase.ops) {
        const parts = [op.cmdlet, visible('name' in op ? op.name : 'identity' in op ? op.identity : ''), 'parameters' in op ? Object.keys(op.parameters).join(', ') : ''];
        out.push(paint('dim', `      ${parts.filter((part) => part !== '').join(' ')}`));
      }
      out.push(
        `      then: ${paint(inside > 0 ? 'red' : 'green', `${inside} of ${attacks.length} attacks ${ATTACK_ACCEPTED}`)}, ` +
          `${paint(broken > 0 ? 'red' : 'green', `${broken} of ${legit.length} legitimate paths break`)}`,
      );
    }
  }
  out.push('');

  out.push(paint('bold', '6. Impact: who breaks, from a week of message trace'));
  out.push('  "eoplock impact examples/contoso-exposed.json examples/traces/contoso-message-trace.csv" replays the bundled');
  out.push('  Get-MessageTraceV2 export (Export-Csv from Windows PowerShell 5.1) against the lockdown plan:');
  {
    const { snapshot } = await loadSnapshotFile(join(folder, 'contoso-exposed.json'));
    const profile = inferProfile(snapshot);
    const after = defaultPlanAfter(snapshot, profile, assumptions);
    const analysis = new ImpactAnalysis(snapshot, after, profile, assumptions);
    const trace = join(folder, 'traces', 'contoso-message-trace.csv');
    const summary = await readTrace(trace, { onRecord: (record) => analysis.add(record) });
    const result = analysis.finish();
    out.push(`  ${summary.records} messages read (${summary.malformed} malformed row skipped); ${result.acceptedNow} accepted today, ${result.breaking} refused after the change:`);
    const ipCell = column(result.groups.map((group) => visible(group.clientIp)), 39);
    const domainCell = column(result.groups.map((group) => visible(group.senderDomain)), NAME_COLUMN_MAX);
    const countWidth = Math.max(...result.groups.map((group) => String(group.messages).length));
    for (const group of result.groups) {
      out.push(`    ${paint('red', '✗')} ${ipCell(visible(group.clientIp))}  as ${domainCell(visible(group.senderDomain))}  ${String(group.messages).padStart(countWidth)} message(s) → ${visible(group.reason)}   e.g. ${visible(JSON.stringify(group.subjects[0] ?? ''))}`);
    }
    out.push('  The scanner and the invoicing service send as contoso.com: name them with --allow-direct-send and they keep working;');
    out.push('  the CRM service should send through the gateway; the last one is the spoof the lockdown is for.');
  }
  out.push('');

  out.push(paint('bold', '7. The lab: the guide\'s three tests over real SMTP'));
  out.push('  "eoplock lab examples/contoso-locked.json --gateway-listen …" runs an SMTP server on loopback whose every reply comes from');
  out.push('  the emulator, with a gateway hop in front; "eoplock probe" talks to it: MAIL FROM and RCPT TO for the two attacks,');
  out.push('  and for the legitimate mail a labelled test message as "eoplock probe --send" sends it (DATA).');
  out.push(...(await labSession(folder, paint)));
  out.push('');

  out.push(paint('bold', '8. Header analysis: a spoof that reached the inbox'));
  out.push('  "eoplock headers examples/messages/direct-bypass.eml --snapshot examples/contoso-exposed.json" reads a delivered');
  out.push('  message\'s headers and runs the guide\'s test 4 (corrected):');
  {
    const { snapshot } = await loadSnapshotFile(join(folder, 'contoso-exposed.json'));
    const message = join(folder, 'messages', 'direct-bypass.eml');
    const { fields } = await readMessageHeaders(await readTextFile(message), message);
    const analysis = analyseHeaders(fields, { snapshot, profile: inferProfile(snapshot) });
    out.push(`  From ${visible(analysis.from ?? '?')}, EOP saw ${visible(analysis.connectingIp ?? '?')} → ${analysis.path === 'direct-to-eop' ? paint('red', 'straight to EOP, the gateway was bypassed') : analysis.path}`);
    const mark = { pass: paint('green', '✓'), fail: paint('red', '✗'), warn: paint('yellow', '!'), unknown: '?', info: '·' } as const;
    for (const item of analysis.checklist) out.push(`    ${mark[item.status]} ${visible(item.check)}`);
  }
  out.push('');

  out.push(paint('bold', '9. DMARC reports: who sends as your domains'));
  out.push('  "eoplock dmarc examples/dmarc/" reads aggregate reports (XML, .gz, .zip, and the e-mails that carry them; folders are');
  out.push('  walked). The bundled one is a real report e-mail, Amazon SES\'s for ericdaugherty.com (examples/dmarc/SOURCE.md):');
  out.push(...(await dmarcStep(join(folder, 'dmarc'), paint)));
  out.push('');

  if (options.report !== false) {
    const target = options.report ?? 'eoplock-report.html';
    const file = join(folder, 'contoso-exposed.json');
    const { snapshot } = await loadSnapshotFile(file);
    const { htmlReport } = await import('./report.js');
    const { html } = await htmlReport(snapshot, file, inferProfile(snapshot), { traces: [join(folder, 'traces', 'contoso-message-trace.csv')], assumptions });
    await writeFileAtomic(target, html);
    out.push(paint('bold', '10. The report'));
    out.push(`  Wrote ${visible(resolve(target))} (${Math.round(Buffer.byteLength(html) / 1024)} KB): the exposed tenant as one self-contained HTML page`);
    out.push('  (mail-flow picture, corpus now and after the plan, findings, charts from the message trace). Open it in a browser.');
    out.push('');
  }

  out.push(paint('bold', 'Summary'));
  const stageCell = column(summaries.map(({ title }) => title.split(':')[0] ?? ''), NAME_COLUMN_MAX);
  for (const [index, { title, result }] of summaries.entries()) {
    const bypasses = proofs[index]?.bypasses ?? 0;
    out.push(`  ${stageCell(title.split(':')[0] ?? '')}  attacks in: ${String(result.summary.attacksIn).padStart(2)}   legitimate broken: ${result.summary.legitimateBroken}   bypass classes: ${bypasses.toLocaleString('en-US')}`);
  }
  out.push('');
  out.push('Next: export your own tenant with scripts/Export-EoplockSnapshot.ps1 and run');
  out.push('  npx eoplock audit eoplock-snapshot.json');
  out.push('  npx eoplock prove eoplock-snapshot.json --trace');
  out.push('  npx eoplock simulate eoplock-snapshot.json --corpus builtin --trace');
  io.stdout(`${out.join('\n')}\n`);
  return 0;
}
