/**
 * The audit as JSON, SARIF 2.1.0 and JUnit XML. Renderers over the result model; they compute nothing.
 */
import type { Log, ReportingDescriptor, Result as SarifResult } from 'sarif';
import { XMLBuilder } from 'fast-xml-parser';
import { CATALOGUE } from '../audit/catalogue.js';
import type { AuditResult, Evidence, Finding, Severity } from '../audit/model.js';
import { SOURCES } from '../eop/sources.js';
import { visible } from '../util/display.js';
import { controlLabel, controlTag, foundText } from './controls.js';

/** One tenant: the result itself. Several: `{ "tenants": [...] }`. */
export function renderAuditJson(results: readonly AuditResult[]): string {
  const body = results.length === 1 ? results[0] : { tenants: results };
  return `${JSON.stringify(body, null, 2)}\n`;
}

const SARIF_LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { high: 'error', medium: 'warning', low: 'note' };
/** GitHub code scanning's security-severity scale (0–10). */
const SECURITY_SEVERITY: Record<Severity, string> = { high: '8.0', medium: '5.0', low: '2.0' };

function ruleName(title: string): string {
  return title
    .replace(/[^A-Za-z0-9 ]+/g, ' ')
    .split(/\s+/)
    .filter(Boolean)
    .map((word) => word[0]?.toUpperCase() + word.slice(1))
    .join('');
}

function evidenceText(evidence: Evidence): string {
  const found = foundText(evidence, (value) => JSON.stringify(value) ?? String(value));
  const value = found !== null ? ` (${evidence.absent ? found : `found ${found}`}${evidence.expected ? `, expected ${evidence.expected}` : ''})` : '';
  return `${evidence.message}${value}`;
}

/** The control mappings as Markdown lines for a rule's help, each marked when it is not an exact match. */
function controlsMarkdown(meta: (typeof CATALOGUE)[number]): string {
  if (meta.controls.length === 0) return '';
  return `\n\n**Controls**\n\n${meta.controls.map((control) => `- ${controlLabel(control)}`).join('\n')}`;
}

export function renderAuditSarif(results: readonly AuditResult[], version: string): string {
  const rules: ReportingDescriptor[] = CATALOGUE.map((meta) => ({
    id: meta.id,
    name: ruleName(meta.title),
    shortDescription: { text: meta.title },
    fullDescription: { text: meta.why },
    help: {
      text: `${meta.why}\n\nFix:\n${meta.fix}`,
      markdown: `${meta.why}\n\n**Fix**\n\n\`\`\`powershell\n${meta.fix}\n\`\`\`\n\n${meta.sources
        .map((id) => SOURCES[id])
        .filter((source) => source !== undefined)
        .map((source) => `- [${source.title}](${source.url})`)
        .join('\n')}${controlsMarkdown(meta)}`,
    },
    ...(meta.sources[0] && SOURCES[meta.sources[0]] ? { helpUri: SOURCES[meta.sources[0]]?.url } : {}),
    defaultConfiguration: { level: SARIF_LEVEL[meta.severity] },
    properties: {
      tags: ['security', 'email', ...meta.controls.map(controlTag)],
      'security-severity': SECURITY_SEVERITY[meta.severity],
      precision: 'high',
      controls: meta.controls,
    },
  }));
  const ruleIndex = new Map(CATALOGUE.map((meta, index) => [meta.id, index]));
  const sarifResults: SarifResult[] = [];
  for (const result of results) {
    for (const finding of result.findings) {
      if (finding.status !== 'fail') continue;
      const items = finding.evidence.length > 0 ? finding.evidence : [{ path: '(snapshot)', message: finding.summary } as Evidence];
      for (const evidence of items) sarifResults.push(sarifResult(result, finding, evidence, ruleIndex.get(finding.id) ?? 0));
    }
  }
  const log: Log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'eoplock', version, semanticVersion: version, rules } },
        artifacts: results.map((result) => ({ location: { uri: result.file } })),
        results: sarifResults,
        columnKind: 'unicodeCodePoints',
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}

function sarifResult(result: AuditResult, finding: Finding, evidence: Evidence, index: number): SarifResult {
  const tenant = result.tenant ? `${result.tenant}: ` : '';
  return {
    ruleId: finding.id,
    ruleIndex: index,
    level: SARIF_LEVEL[finding.severity],
    message: { text: `${tenant}${finding.title} — ${evidenceText(evidence)}` },
    locations: [
      {
        physicalLocation: {
          artifactLocation: { uri: result.file },
          region: { startLine: evidence.line ?? 1 },
        },
        logicalLocations: [{ fullyQualifiedName: evidence.path, kind: 'member' }],
      },
    ],
    partialFingerprints: { 'eoplock/v1': `${result.tenant ?? result.file}|${finding.id}|${evidence.path}` },
    properties: { tenant: result.tenant, severity: finding.severity, controls: finding.controls.map(controlLabel) },
  };
}

/**
 * Characters XML 1.0 does not allow, even as character references: C0 controls but TAB, LF and CR, U+FFFE/U+FFFF,
 * and unpaired surrogates (the `u` flag makes a surrogate pair one character, so only a lone half matches).
 */
const XML_ILLEGAL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF\uD800-\uDFFF]/gu;
/**
 * Text for JUnit XML: the exact value, but for the characters XML cannot hold, which are written as visible escapes
 * (`\e`, `\0`, `\x07`, `\ud800`) so the document stays well-formed and the reader still sees what was there. The
 * builder escapes `&`, `<`, `>` and quotes.
 */
export const xmlSafe = (text: string): string =>
  text.replace(XML_ILLEGAL, (character) => {
    const shown = visible(character);
    return shown !== character ? shown : `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });

export function renderAuditJunit(results: readonly AuditResult[]): string {
  const suites = results.map((result) => {
    const cases = result.findings.map((finding) => {
      const testcase: Record<string, unknown> = {
        '@_classname': `eoplock.${finding.severity}`,
        '@_name': xmlSafe(`${finding.id} ${finding.title}`),
        '@_file': xmlSafe(result.file),
      };
      if (finding.status === 'fail') {
        testcase.failure = {
          '@_message': xmlSafe(finding.summary),
          '@_type': finding.severity,
          '#text': xmlSafe(
            [
              ...finding.evidence.map((evidence) => `${evidence.path}: ${evidenceText(evidence)}`),
              `Fix: ${finding.remediation}`,
              ...finding.controls.map((control) => `Control: ${controlLabel(control)}`),
            ].join('\n'),
          ),
        };
      } else if (finding.status === 'not-applicable') {
        testcase.skipped = { '@_message': xmlSafe(finding.summary) };
      }
      return testcase;
    });
    return {
      '@_name': xmlSafe(`${result.tenant ?? 'tenant'} (${result.file})`),
      '@_tests': result.findings.length,
      '@_failures': result.summary.failed,
      '@_skipped': result.summary.notApplicable,
      '@_errors': 0,
      testcase: cases,
    };
  });
  const builder = new XMLBuilder({ ignoreAttributes: false, format: true, suppressEmptyNode: true });
  const body = builder.build({
    testsuites: {
      '@_name': 'eoplock audit',
      '@_tests': results.reduce((sum, result) => sum + result.findings.length, 0),
      '@_failures': results.reduce((sum, result) => sum + result.summary.failed, 0),
      testsuite: suites,
    },
  }) as string;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
}
