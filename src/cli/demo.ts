/**
 * `eoplock demo` (what `npm start` runs): the builtin corpus against the bundled example tenant before, halfway
 * through (the guide as written), and after a correct lockdown; under each, the class search ("eoplock prove").
 */
import { styleText } from 'node:util';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { runAudit } from '../audit/run.js';
import { SEVERITIES } from '../audit/model.js';
import { ATTACK_ACCEPTED, builtinCorpus } from '../corpus/builtin.js';
import { inferProfile } from '../profile/profile.js';
import { buildPlan, DEFAULT_CONNECTOR_NAME, DEFAULT_RULE_NAME, defaultPlan } from '../plan/plan.js';
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
    const width = [0, 1, 2].map((column) => Math.max(...rows.map((row) => row[column]?.length ?? 0)));
    return rows.map((row) => {
      const ok = row[3].startsWith(row[2].split(' (')[0] ?? '');
      return `  ${ok ? paint('green', '✓') : paint('red', '✗')} ${row[0].padEnd(width[0] ?? 0)}  ${row[1].padEnd(width[1] ?? 0)}  expected ${row[2].padEnd(width[2] ?? 0)}  got ${row[3]}`;
    });
  } finally {
    await lab.close(0);
  }
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
    // Columns as wide as this stage's longest name and outcome, so that the verdicts line up.
    const nameWidth = Math.max(...result.results.map((entry) => visible(entry.name).length));
    const labelWidth = Math.max(...result.results.map((entry) => (entry.outcome ? outcomeLabel(entry.outcome) : '').length));
    for (const entry of result.results) {
      const bad = entry.outcome === 'got-in' || entry.outcome === 'broken';
      const label = entry.outcome ? outcomeLabel(entry.outcome) : '';
      const mark = bad ? paint('red', '✗') : paint('green', '✓');
      const kind = entry.kind === 'attack' ? 'attack' : 'legit ';
      out.push(`  ${mark} ${kind}  ${visible(entry.name).padEnd(nameWidth)} ${paint(bad ? 'red' : 'green', label.padEnd(labelWidth))} ${paint('dim', verdictLine(entry.verdict))}`);
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
    for (const finding of causes.slice(0, 3)) out.push(`      ${paint('red', '✗')} ${visible(finding.cause)} — ${finding.classes.toLocaleString('en-US')} class(es)`);
    if (causes.length > 3) out.push(paint('dim', `      … and ${causes.length - 3} more: eoplock prove examples/${stage.file} --trace`));
    out.push('');
  }
  out.push(paint('bold', '4. The audit: what to fix, with proof'));
  out.push('  "eoplock audit" runs 36 checks on each snapshot and uses the corpus above as proof. The gateway is inferred from the');
  out.push('  snapshot (its SenderDomains * Partner connector and the MX records).');
  for (const stage of [STAGES[0], STAGES[2]]) {
    if (!stage) continue;
    const file = join(folder, stage.file);
    const { snapshot } = await loadSnapshotFile(file);
    const audit = runAudit(snapshot, inferProfile(snapshot), { file, assumptions });
    const s = audit.summary;
    out.push('');
    out.push(
      `  ${stage.file}: ${paint(s.failed > 0 ? 'red' : 'green', `${s.failed} failed`)} ` +
        `(${SEVERITIES.map((severity) => `${s.failedBySeverity[severity]} ${severity}`).join(', ')}), ${s.passed} passed, ${s.notApplicable} not applicable`,
    );
    for (const finding of audit.findings.filter((entry) => entry.status === 'fail' && entry.severity !== 'low')) {
      out.push(`    ${paint('red', '✗')} ${finding.id} [${finding.severity}] ${finding.title}`);
      out.push(paint('dim', `        ${visible(finding.summary)}`));
    }
    if (s.failed === 0) out.push(`    ${paint('green', '✓')} every check passes: exit code 0`);
  }
  out.push('');
  out.push('  Full reports: eoplock audit examples/contoso-exposed.json [--format json|sarif|junit]');
  out.push('');

  out.push(paint('bold', '5. The plan: the exposed tenant, locked down in four phases'));
  out.push('  "eoplock plan examples/contoso-exposed.json --out plan --allow-direct-send \'192.0.2.25=Office scanners\'" writes idempotent');
  out.push('  PowerShell for each phase, an exact rollback and a read-only verification for each, and PLAN.md. What it changes:');
  {
    const file = join(folder, 'contoso-exposed.json');
    const { snapshot } = await loadSnapshotFile(file);
    const plan = buildPlan(snapshot, inferProfile(snapshot), {
      allowDirectSend: [{ ip: '192.0.2.25', name: 'Office scanners (192.0.2.25)' }],
      safetyNet: 'reject',
      ruleName: DEFAULT_RULE_NAME,
      connectorName: DEFAULT_CONNECTOR_NAME,
      assumptions,
    });
    for (const phase of plan.phases) {
      const attacks = phase.expected.filter((entry) => entry.kind === 'attack');
      const legit = phase.expected.filter((entry) => entry.kind === 'legitimate');
      const inside = attacks.filter((entry) => entry.outcome === 'got-in').length;
      const broken = legit.filter((entry) => entry.outcome === 'broken').length;
      out.push(`  ${phase.id}: ${phase.title}`);
      for (const op of phase.ops) out.push(paint('dim', `      ${op.cmdlet} ${visible('name' in op ? op.name : 'identity' in op ? op.identity : '')} ${'parameters' in op ? Object.keys(op.parameters).join(', ') : ''}`));
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
    const after = defaultPlan(snapshot, profile, assumptions).after;
    const analysis = new ImpactAnalysis(snapshot, after, profile, assumptions);
    const trace = join(folder, 'traces', 'contoso-message-trace.csv');
    const summary = await readTrace(trace, { onRecord: (record) => analysis.add(record) });
    const result = analysis.finish();
    out.push(`  ${summary.records} messages read (${summary.malformed} malformed row skipped); ${result.acceptedNow} accepted today, ${result.breaking} refused after the change:`);
    for (const group of result.groups) {
      out.push(`    ${paint('red', '✗')} ${visible(group.clientIp).padEnd(17)} as ${visible(group.senderDomain).padEnd(18)} ${String(group.messages).padStart(2)} message(s) → ${visible(group.reason)}   e.g. ${visible(JSON.stringify(group.subjects[0] ?? ''))}`);
    }
    out.push('  The scanner and the invoicing service send as contoso.com: name them with --allow-direct-send and they keep working;');
    out.push('  the CRM service should send through the gateway; the last one is the spoof the lockdown is for.');
  }
  out.push('');

  out.push(paint('bold', '7. The lab: the guide\'s three tests over real SMTP'));
  out.push('  "eoplock lab examples/contoso-locked.json --gateway-listen …" runs an SMTP server on loopback whose every reply comes from');
  out.push('  the emulator, with a gateway hop in front; "eoplock probe" talks to it (MAIL FROM and RCPT TO only, no DATA).');
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

  if (options.report !== false) {
    const target = options.report ?? 'eoplock-report.html';
    const file = join(folder, 'contoso-exposed.json');
    const { snapshot } = await loadSnapshotFile(file);
    const { htmlReport } = await import('./report.js');
    const { html } = await htmlReport(snapshot, file, inferProfile(snapshot), { traces: [join(folder, 'traces', 'contoso-message-trace.csv')], assumptions });
    await writeFileAtomic(target, html);
    out.push(paint('bold', '9. The report'));
    out.push(`  Wrote ${visible(resolve(target))} (${Math.round(Buffer.byteLength(html) / 1024)} KB): the exposed tenant as one self-contained HTML page`);
    out.push('  (mail-flow picture, corpus now and after the plan, findings, charts from the message trace). Open it in a browser.');
    out.push('');
  }

  out.push(paint('bold', 'Summary'));
  for (const [index, { title, result }] of summaries.entries()) {
    const bypasses = proofs[index]?.bypasses ?? 0;
    out.push(`  ${title.split(':')[0]?.padEnd(12)} attacks in: ${String(result.summary.attacksIn).padStart(2)}   legitimate broken: ${result.summary.legitimateBroken}   bypass classes: ${bypasses.toLocaleString('en-US')}`);
  }
  out.push('');
  out.push('Next: export your own tenant with scripts/Export-EoplockSnapshot.ps1 and run');
  out.push('  npx eoplock audit eoplock-snapshot.json');
  out.push('  npx eoplock prove eoplock-snapshot.json --trace');
  out.push('  npx eoplock simulate eoplock-snapshot.json --corpus builtin --trace');
  io.stdout(`${out.join('\n')}\n`);
  return 0;
}
