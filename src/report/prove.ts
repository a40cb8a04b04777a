/**
 * Renderers for `eoplock prove`: text, JSON and SARIF over one ProofResult (src/prove/types.ts). They compute
 * nothing. In text, values from the snapshot go through `visible()`; JSON and SARIF keep them exact.
 */
import { styleText } from 'node:util';
import type { Log, ReportingDescriptor, Result as SarifResult } from 'sarif';
import { CATALOGUE } from '../audit/catalogue.js';
import { ASSUMPTIONS } from '../eop/assumptions.js';
import { citedSourceIds, sourceFooter, SOURCES } from '../eop/sources.js';
import type { Transaction, Verdict } from '../eop/types.js';
import type { ProofFinding, ProofResult } from '../prove/types.js';
import { visible } from '../util/display.js';

/** What a representative's replay over real SMTP to the lab showed (`--replay`). */
export interface ReplayOutcome {
  /** The finding's key. */
  key: string;
  /** The reply code the emulator gave the representative. */
  expected: number;
  /** The reply code the lab gave over SMTP, or null when no conversation took place. */
  observed: number | null;
  /** The command the reply answered (`RCPT TO`, `DATA`, `end of DATA`), when known. */
  command: string | null;
  status: 'same' | 'different' | 'failed';
  /** Why the replay failed, or what may explain a difference. */
  note?: string;
}

export interface ProveReport {
  result: ProofResult;
  /** The snapshot file, as given on the command line. */
  file: string;
  /** Assumptions that differ from the defaults (`--assume`). */
  assumptionOverrides: Record<string, string>;
  /** Every combination of the uncertain assumptions was searched (`--all-assumptions`). */
  allAssumptions: boolean;
  /** The gateway the search compared against, in one line. */
  gateway: string;
  replay?: ReplayOutcome[];
}

export interface ProveTextOptions {
  color: boolean;
  trace: boolean;
}

type Style = Parameters<typeof styleText>[0];

const count = (n: number) => n.toLocaleString('en-US');
const plural = (n: number, one: string, many = `${one}s`) => `${count(n)} ${n === 1 ? one : many}`;

/** `84 ms`, `1.2 s`. */
export function duration(milliseconds: number): string {
  return milliseconds < 1000 ? `${Math.round(milliseconds)} ms` : `${(milliseconds / 1000).toFixed(1)} s`;
}

/** The proof in one line: `0 bypasses in 12,345 classes (84 ms)`. */
export function proofHeadline(result: Pick<ProofResult, 'bypasses' | 'classes' | 'milliseconds' | 'stopped'>): string {
  if (result.stopped) {
    return `search stopped after ${duration(result.milliseconds)}: ${plural(result.bypasses, 'bypass', 'bypasses')} in the first ${count(result.classes)} of ${plural(result.stopped.of, 'class', 'classes')} — not a proof`;
  }
  return `${plural(result.bypasses, 'bypass', 'bypasses')} in ${plural(result.classes, 'class', 'classes')} (${duration(result.milliseconds)})`;
}

function headerValues(headers: Transaction['headers']): [string, string][] {
  if (!headers) return [];
  if (Array.isArray(headers)) return headers.map((field) => [field.name, field.value]);
  return Object.entries(headers).flatMap(([name, value]) => (Array.isArray(value) ? value.map((item): [string, string] => [name, item]) : [[name, value]]));
}

/** A transaction in one line: `198.51.100.7, no TLS, MAIL FROM <ceo@contoso.com>, From ceo@contoso.com, RCPT alice@contoso.com`. */
export function transactionLine(transaction: Transaction): string {
  const parts: string[] = [visible(transaction.clientIp)];
  if (!transaction.tls) parts.push('no TLS');
  else if (!transaction.tls.certificate) parts.push('TLS without a certificate');
  else {
    const certificate = transaction.tls.certificate;
    const names = [certificate.subject, ...(certificate.san ?? []).map((name) => `DNS:${name}`)].filter(Boolean);
    parts.push(`TLS certificate ${visible(names.join(' '))}`);
  }
  parts.push(`MAIL FROM <${visible(transaction.mailFrom)}>`);
  const fields = headerValues(transaction.headers);
  const from = fields.find(([name]) => name.toLowerCase() === 'from');
  parts.push(from ? `From ${visible(from[1])}` : 'no From header');
  parts.push(`RCPT ${visible(transaction.rcptTo.join(', '))}`);
  const others = fields.filter(([name]) => name.toLowerCase() !== 'from');
  if (others.length > 0) parts.push(`headers ${others.map(([name, value]) => `${visible(name)}: ${visible(value)}`).join('; ')}`);
  const auth = transaction.authentication;
  if (auth) {
    const dkim = (auth.dkim ?? []).map((signature) => `DKIM ${signature.result} (${visible(signature.domain)})`);
    parts.push(`SPF ${visible(String(auth.spf))}${dkim.length > 0 ? `, ${dkim.join(', ')}` : ', no DKIM signature'}`);
  }
  return parts.join(', ');
}

/** A verdict in one line: `accept → deliver via "Partner A" (Partner, by ip)` / `reject 550 5.7.51 at RCPT`. */
export function proofVerdictLine(verdict: Verdict): string {
  const reply = verdict.action === 'reject' ? `reject ${verdict.code} ${visible(verdict.enhanced)} at ${verdict.stage.toUpperCase()}` : `accept → ${verdict.disposition}`;
  const connector = verdict.connector ? `via "${visible(verdict.connector.name)}" (${verdict.connector.type}, by ${verdict.connector.matchedBy})` : 'no connector';
  return `${reply}, ${connector}`;
}

/**
 * The assumption values a finding exists under, shortest first: when the combinations are every combination of some
 * values per assumption, each assumption with the values it takes (`partner-authas=Anonymous`; an assumption that
 * takes every value it has is left out); otherwise each combination in turn (`a=x, b=y; or a=z, b=y`).
 */
export function onlyUnderText(onlyUnder: NonNullable<ProofFinding['onlyUnder']>): string {
  const ids = [...new Set(onlyUnder.flatMap((values) => Object.keys(values)))];
  const taken = new Map(ids.map((id) => [id, [...new Set(onlyUnder.map((values) => String((values as Record<string, unknown>)[id])))]]));
  const product = [...taken.values()].reduce((size, values) => size * values.length, 1);
  const distinct = new Set(onlyUnder.map((values) => ids.map((id) => String((values as Record<string, unknown>)[id])).join('\u0000'))).size;
  if (product === distinct) {
    const parts = ids.flatMap((id) => {
      const values = taken.get(id) ?? [];
      const all = Object.keys(ASSUMPTIONS.find((entry) => entry.id === id)?.values ?? {});
      if (all.length > 0 && all.every((value) => values.includes(value))) return [];
      return [`${id}=${values.join(' or ')}`];
    });
    if (parts.length > 0) return parts.join(', ');
  }
  return onlyUnder.map((values) => Object.entries(values).map(([id, value]) => `${id}=${String(value)}`).join(', ') || 'the defaults').join('; or ');
}

const SECTIONS: { kind: ProofFinding['kind']; heading: string; mark: string; style: Style }[] = [
  { kind: 'bypass', heading: 'Bypasses: accepted by EOP for delivery without passing the gateway', mark: '✗', style: 'red' },
  { kind: 'broken-legitimate', heading: 'Broken legitimate paths: from the gateway or an allowed source, and refused', mark: '✗', style: 'red' },
  { kind: 'shared-gateway-infrastructure', heading: 'Shared gateway infrastructure: what the restriction trusts is shared with other customers of the gateway service', mark: '!', style: 'yellow' },
];

export function renderProveText(report: ProveReport, options: ProveTextOptions): string {
  const paint = (style: Style, text: string) => (options.color ? styleText(style, text, { validateStream: false }) : text);
  const { result } = report;
  const lines: string[] = [];
  lines.push(paint('bold', `eoplock prove — ${visible(result.snapshot.tenant ?? 'tenant')} (${visible(report.file)})`));
  lines.push(`Gateway: ${visible(report.gateway)}`);
  const overrides = Object.entries(report.assumptionOverrides);
  if (overrides.length > 0) lines.push(`assumptions changed: ${visible(overrides.map(([id, value]) => `${id}=${value}`).join(', '))}`);
  if (report.allAssumptions) lines.push('searched under every combination of the uncertain assumptions ("eoplock assumptions")');
  lines.push('');
  lines.push(paint(result.bypasses > 0 ? 'red' : result.stopped ? 'yellow' : 'green', paint('bold', proofHeadline(result))));
  lines.push(
    result.brokenLegitimate === 0
      ? paint('green', 'no legitimate path is refused')
      : paint('red', `${plural(result.brokenLegitimate, 'class', 'classes')} from the gateway or an allowed source refused`),
  );

  const replayed = new Map((report.replay ?? []).map((outcome) => [outcome.key, outcome]));
  for (const section of SECTIONS) {
    const findings = result.findings.filter((finding) => finding.kind === section.kind);
    if (findings.length === 0) continue;
    lines.push('', paint('bold', section.heading));
    for (const finding of findings) {
      lines.push(`${paint(section.style, section.mark)} ${visible(finding.cause)} — ${plural(finding.classes, 'class', 'classes')}`);
      lines.push(`    ${transactionLine(finding.representative.transaction)}`);
      lines.push(`    → ${proofVerdictLine(finding.representative.verdict)}`);
      if (finding.onlyUnder && finding.onlyUnder.length > 0) lines.push(paint('yellow', `    only under: ${visible(onlyUnderText(finding.onlyUnder))}`));
      if (finding.remedy) lines.push(`    narrowed by: ${visible(finding.remedy)}`);
      if (finding.sources.length > 0) lines.push(paint('dim', `    sources: ${visible(finding.sources.join(', '))}`));
      const replay = replayed.get(finding.key);
      if (replay) lines.push(replayLine(replay, paint));
      if (options.trace) lines.push(...traceLines(finding.representative.verdict).map((line) => paint('dim', line)));
    }
  }

  if (report.replay) {
    const different = report.replay.filter((outcome) => outcome.status !== 'same').length;
    lines.push('', different === 0 ? paint('green', `replay: the lab gave every one of ${report.replay.length} representatives the same reply over SMTP`) : paint('red', `replay: ${different} of ${report.replay.length} representatives got another reply (or none) from the lab`));
  }

  if (result.limits.length > 0) {
    lines.push('', paint('bold', 'Limits of the proof'));
    for (const limit of result.limits) lines.push(`  - ${visible(limit)}`);
  }
  if (!options.trace && result.findings.length > 0) lines.push('', paint('dim', "Run with --trace to see each representative's decision steps and their sources."));
  const cited = new Set([...result.findings.flatMap((finding) => finding.sources), ...citedSourceIds(lines.join('\n'))]);
  const footer = sourceFooter([...cited].filter((id) => id in SOURCES));
  if (footer.length > 0) lines.push('', ...footer.map((line) => paint('dim', line)));
  return `${lines.join('\n')}\n`;
}

function replayLine(outcome: ReplayOutcome, paint: (style: Style, text: string) => string): string {
  const where = outcome.command ? ` at ${visible(outcome.command)}` : '';
  const note = outcome.note ? ` (${visible(outcome.note)})` : '';
  if (outcome.status === 'same') return paint('green', `    replay: the lab replied ${outcome.observed}${where}, as decided${note}`);
  if (outcome.status === 'failed') return paint('red', `    replay: no reply to compare${note}`);
  return paint('red', `    replay: the lab replied ${outcome.observed}${where}, the emulator decided ${outcome.expected}${note}`);
}

function traceLines(verdict: Verdict): string[] {
  const lines: string[] = [];
  for (const step of verdict.trace) {
    const cited = [...step.sources, ...(step.assumptions ?? []).map((id) => `assume:${id}`)].join(' ');
    lines.push(`      [${step.step}] ${visible(step.detail)}  (${cited})`);
  }
  for (const rule of verdict.rules) {
    const state = rule.matched === null ? 'not evaluated' : rule.matched ? 'matched' : 'no match';
    lines.push(`      rule "${visible(rule.name)}" (priority ${rule.priority}, ${visible(String(rule.mode))}): ${state}; action: ${visible(String(rule.actionTaken))}`);
  }
  return lines;
}

/** The report as JSON: the result as it is (values exact), the file, the options that shaped it, and any replay. */
export function renderProveJson(report: ProveReport): string {
  const body = {
    file: report.file,
    gateway: report.gateway,
    assumptionOverrides: report.assumptionOverrides,
    allAssumptions: report.allAssumptions,
    headline: proofHeadline(report.result),
    ...report.result,
    ...(report.replay ? { replay: report.replay } : {}),
  };
  return `${JSON.stringify(body, null, 2)}\n`;
}

/** SARIF rule ids: a bypass is EOPL-090's failure, a broken path EOPL-091's; shared infrastructure has its own rule. */
export const PROVE_RULE: Record<ProofFinding['kind'], string> = {
  bypass: 'EOPL-090',
  'broken-legitimate': 'EOPL-091',
  'shared-gateway-infrastructure': 'EOPL-PROVE-SHARED-GATEWAY',
};
const LEVEL: Record<ProofFinding['kind'], 'error' | 'warning'> = { bypass: 'error', 'broken-legitimate': 'error', 'shared-gateway-infrastructure': 'warning' };
const SECURITY_SEVERITY: Record<ProofFinding['kind'], string> = { bypass: '8.0', 'broken-legitimate': '8.0', 'shared-gateway-infrastructure': '5.0' };

const SHARED_RULE = {
  title: 'The gateway restriction trusts infrastructure the gateway service shares with its other customers',
  why:
    'The connector restriction accepts mail from address ranges or a certificate name the gateway vendor uses for all its ' +
    'customers: mail relayed through another customer of the same service meets it without passing your gateway policy ' +
    '(the 2024 EchoSpoofing relay abuse).',
  fix: 'Restrict the gateway connector to a tenant-specific certificate name or connector the vendor offers, or add a safety-net rule keyed on a tenant-specific header the gateway stamps.',
};

function sarifRules(): ReportingDescriptor[] {
  const kinds = Object.keys(PROVE_RULE) as ProofFinding['kind'][];
  return kinds.map((kind) => {
    const meta = CATALOGUE.find((entry) => entry.id === PROVE_RULE[kind]);
    const title = meta?.title ?? SHARED_RULE.title;
    const why = meta?.why ?? SHARED_RULE.why;
    const fix = meta?.fix ?? SHARED_RULE.fix;
    const sources = (meta?.sources ?? []).map((id) => SOURCES[id]).filter((source) => source !== undefined);
    return {
      id: PROVE_RULE[kind],
      name: kind.replace(/(^|-)(\w)/g, (_match, _dash: string, letter: string) => letter.toUpperCase()),
      shortDescription: { text: title },
      fullDescription: { text: why },
      help: { text: `${why}\n\nFix:\n${fix}`, markdown: `${why}\n\n**Fix**\n\n${fix}${sources.map((source) => `\n- [${source.title}](${source.url})`).join('')}` },
      ...(sources[0] ? { helpUri: sources[0].url } : {}),
      defaultConfiguration: { level: LEVEL[kind] },
      properties: { tags: ['security', 'email'], 'security-severity': SECURITY_SEVERITY[kind], precision: 'high' },
    };
  });
}

/** SARIF 2.1.0: one result per finding, located in the snapshot file, fingerprinted by tenant, kind and cause key. */
export function renderProveSarif(reports: readonly ProveReport[], version: string): string {
  const rules = sarifRules();
  const index = new Map(rules.map((rule, position) => [rule.id, position]));
  const results: SarifResult[] = reports.flatMap((report) =>
    report.result.findings.map((finding): SarifResult => {
      const ruleId = PROVE_RULE[finding.kind];
      const tenant = report.result.snapshot.tenant ? `${report.result.snapshot.tenant}: ` : '';
      const only = finding.onlyUnder && finding.onlyUnder.length > 0 ? ` (only under ${onlyUnderText(finding.onlyUnder)})` : '';
      return {
        ruleId,
        ruleIndex: index.get(ruleId) ?? 0,
        level: LEVEL[finding.kind],
        message: { text: `${tenant}${finding.cause} — ${finding.classes} class(es), e.g. ${transactionLine(finding.representative.transaction)} → ${proofVerdictLine(finding.representative.verdict)}${only}` },
        locations: [
          {
            physicalLocation: { artifactLocation: { uri: report.file }, region: { startLine: 1 } },
            logicalLocations: [{ fullyQualifiedName: finding.key, kind: 'member' }],
          },
        ],
        partialFingerprints: { 'eoplock/prove/v1': `${report.result.snapshot.tenant ?? report.file}|${finding.kind}|${finding.key}` },
        properties: {
          tenant: report.result.snapshot.tenant,
          kind: finding.kind,
          classes: finding.classes,
          transaction: finding.representative.transaction,
          ...(finding.onlyUnder ? { onlyUnder: finding.onlyUnder } : {}),
          ...(finding.remedy ? { remedy: finding.remedy } : {}),
          sources: finding.sources,
        },
      };
    }),
  );
  const log: Log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'eoplock', version, semanticVersion: version, rules } },
        artifacts: reports.map((report) => ({ location: { uri: report.file } })),
        results,
        columnKind: 'unicodeCodePoints',
        // A search stopped before the end (--time-limit) did not do what it was asked: not a proof.
        invocations: [
          {
            executionSuccessful: reports.every((report) => !report.result.stopped),
            toolExecutionNotifications: reports
              .filter((report) => report.result.stopped)
              .map((report) => ({ level: 'warning' as const, message: { text: `${report.file}: ${proofHeadline(report.result)}` } })),
          },
        ],
        properties: {
          proofs: reports.map((report) => ({
            file: report.file,
            tenant: report.result.snapshot.tenant,
            classes: report.result.classes,
            ...(report.result.stopped ? { of: report.result.stopped.of, stopped: true } : {}),
            bypasses: report.result.bypasses,
            brokenLegitimate: report.result.brokenLegitimate,
            milliseconds: report.result.milliseconds,
          })),
        },
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}
