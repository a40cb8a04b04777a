/**
 * Probe results as text, JSON, JUnit and SARIF.
 */
import { XMLBuilder } from 'fast-xml-parser';
import type { Log } from 'sarif';
import type { ProbeResult } from '../probe/probe.js';
import { visible } from '../util/display.js';

export interface ProbeRun {
  name: string;
  from: string;
  to: string[];
  expect: string | null;
  why?: string;
  result: ProbeResult;
  /** null when there was no expectation. */
  passed: boolean | null;
}

export interface ProbeReport {
  host: string;
  port: number;
  snapshot: string | null;
  /** `--send`: a test message was offered with DATA where the envelope was accepted. */
  send?: boolean;
  runs: ProbeRun[];
}

function outcomeText(run: ProbeRun): string {
  const { result } = run;
  if (result.failure) return `no SMTP answer: ${result.failure.message}`;
  const outcome = result.outcome;
  if (!outcome) return 'no reply';
  return `${outcome.action} at ${outcome.stage.toUpperCase()}: ${outcome.code}${outcome.enhanced ? ` ${outcome.enhanced}` : ''} ${outcome.text}`.trim();
}

/** The reply at DATA, when a run got that far (only with --send: the envelope-only probe never sends it). */
function dataReply(run: ProbeRun): { code: number } | undefined {
  return run.result.steps.find((step) => step.stage === 'data');
}

/**
 * The closing line: what --send delivered. A test message is delivered when the server answered 2xx at the end of DATA;
 * "No message was delivered" is said only when none was, with the reason (no --send, nothing got to DATA, or every
 * message was refused there).
 */
function deliveryLine(report: ProbeReport): string {
  const atData = report.runs.filter((run) => dataReply(run) !== undefined);
  const accepted = atData.filter((run) => {
    const code = dataReply(run)?.code ?? 0;
    return code >= 200 && code < 300;
  });
  const refused = atData.length - accepted.length;
  if (accepted.length > 0) {
    const tests = accepted.length === 1 ? 'one test message was' : `${accepted.length} test messages were`;
    const recipients = [...new Set(accepted.flatMap((run) => run.to))].map(visible).join(', ');
    return `--send: ${tests} accepted at DATA (subject "eoplock verification probe (test message)", to ${recipients})${refused > 0 ? `, ${refused} refused at DATA` : ''}.`;
  }
  if (refused > 0) return `No message was delivered: --send was given, and ${refused === 1 ? 'the test' : `all ${refused} tests`} that reached DATA ${refused === 1 ? 'was' : 'were'} refused there.`;
  if (report.send) return 'No message was delivered: --send was given, but no test was accepted up to DATA.';
  return 'No message was delivered: the probe stops after RCPT TO unless --send is given.';
}

/** Text for people: every value from the input, the snapshot or the server is passed through `visible()`. */
export function renderProbeText(report: ProbeReport): string {
  const lines = [`eoplock probe — ${visible(report.host)}:${report.port}${report.snapshot ? ` (tests from ${visible(report.snapshot)})` : ''}`];
  for (const run of report.runs) {
    const mark = run.passed === null ? '•' : run.passed ? '✓' : '✗';
    lines.push(`${mark} ${visible(run.name)}`);
    lines.push(`    MAIL FROM:<${visible(run.from)}> RCPT TO:<${run.to.map(visible).join('>,<')}>${run.result.tls ? ' over TLS' : ''}`);
    lines.push(`    ${visible(outcomeText(run))}`);
    if (run.expect) lines.push(`    expected ${visible(run.expect)}${run.passed ? '' : ' — NOT MET'}${run.why ? ` (${visible(run.why)})` : ''}`);
  }
  const judged = report.runs.filter((run) => run.passed !== null);
  if (judged.length > 0) lines.push(`${judged.filter((run) => run.passed).length} passed, ${judged.filter((run) => !run.passed).length} failed`);
  lines.push(deliveryLine(report));
  return `${lines.join('\n')}\n`;
}

export function renderProbeJson(report: ProbeReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

const XML_ILLEGAL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;
const xml = (text: string) => text.replace(XML_ILLEGAL, '\uFFFD');

export function renderProbeJunit(report: ProbeReport): string {
  const cases = report.runs.map((run) => {
    const testcase: Record<string, unknown> = { '@_classname': 'eoplock.probe', '@_name': xml(run.name) };
    if (run.result.failure) testcase.error = { '@_message': xml(run.result.failure.message), '@_type': run.result.failure.kind };
    else if (run.passed === false) testcase.failure = { '@_message': xml(`expected ${run.expect}, got ${outcomeText(run)}`), '#text': xml(run.result.steps.map((s) => `${s.command} → ${s.code} ${s.enhanced ?? ''} ${s.text}`).join('\n')) };
    return testcase;
  });
  const body = new XMLBuilder({ ignoreAttributes: false, format: true, suppressEmptyNode: true }).build({
    testsuites: {
      testsuite: {
        '@_name': xml(`eoplock probe ${report.host}:${report.port}`),
        '@_tests': report.runs.length,
        '@_failures': report.runs.filter((run) => run.passed === false && !run.result.failure).length,
        '@_errors': report.runs.filter((run) => run.result.failure).length,
        testcase: cases,
      },
    },
  }) as string;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
}

export function renderProbeSarif(report: ProbeReport, version: string): string {
  const log: Log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'eoplock',
            version,
            semanticVersion: version,
            rules: [
              {
                id: 'EOPL-PROBE',
                name: 'SmtpProbeOutcome',
                shortDescription: { text: 'The tenant endpoint answers a probe as expected' },
                fullDescription: { text: 'An SMTP probe (MAIL FROM and RCPT TO, no DATA) got a reply other than the one expected for the lockdown.' },
                help: { text: 'Compare the reply with the expected one; run eoplock audit and eoplock simulate on a fresh snapshot to see why.' },
                defaultConfiguration: { level: 'error' },
              },
            ],
          },
        },
        results: report.runs
          .filter((run) => run.passed === false || run.result.failure)
          .map((run) => ({
            ruleId: 'EOPL-PROBE',
            ruleIndex: 0,
            level: 'error' as const,
            message: { text: `${run.name}: expected ${run.expect ?? 'an SMTP conversation'}, got ${outcomeText(run)}` },
            ...(report.snapshot ? { locations: [{ physicalLocation: { artifactLocation: { uri: report.snapshot }, region: { startLine: 1 } } }] } : {}),
          })),
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}
