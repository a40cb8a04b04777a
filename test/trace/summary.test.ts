/**
 * The impact summary (`eoplock queries --for impact`) read back by `eoplock impact`: a generated EmailEvents sample
 * summarised the way the KQL query does, exported as CSV and as the API's JSON, gives the same breaking sources as the
 * raw rows; so does the PowerShell summary of a message trace. Each row counts as its Messages.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import { Language, Parser, type Node } from 'web-tree-sitter';
import { DEFAULT_ASSUMPTIONS } from '../../src/eop/assumptions.js';
import { buildPlan, DEFAULT_CONNECTOR_NAME, DEFAULT_RULE_NAME } from '../../src/plan/plan.js';
import { inferProfile } from '../../src/profile/profile.js';
import { loadSnapshotFile } from '../../src/snapshot/load.js';
import { ImpactAnalysis, type ImpactResult } from '../../src/trace/impact.js';
import { BypassMonitor } from '../../src/trace/monitor.js';
import { buildQueries } from '../../src/trace/queries.js';
import { readTrace, type ReadSummary } from '../../src/trace/read.js';
import type { TraceRecord } from '../../src/trace/records.js';
import { SUMMARY_COLUMNS } from '../../src/trace/summary.js';
import { cli, tempFolder } from '../helpers/cli.js';
import { EMAIL_EVENTS_SCHEMA, emailEventsSample, messageTraceSample, summariseLikeKql, summariseLikePowerShell, toApiJson, toCsv } from './email-events.js';

const exposed = (await loadSnapshotFile('examples/contoso-exposed.json')).snapshot;
const profile = inferProfile(exposed);
const after = buildPlan(exposed, profile, { allowDirectSend: [], safetyNet: 'reject', ruleName: DEFAULT_RULE_NAME, connectorName: DEFAULT_CONNECTOR_NAME }).after;
const folder = tempFolder('eoplock-summary-');

async function impactOf(file: string): Promise<{ result: ImpactResult; summary: ReadSummary }> {
  const analysis = new ImpactAnalysis(exposed, after, profile, DEFAULT_ASSUMPTIONS);
  const summary = await readTrace(file, { onRecord: (record) => analysis.add(record) });
  return { result: analysis.finish(), summary };
}

/** What impact says of the sources that break: everything but the sampled subjects and recipients. */
function breaking(result: ImpactResult) {
  const groups = [...result.groups].sort((a, b) => `${a.clientIp} ${a.senderDomain} ${a.reason}`.localeCompare(`${b.clientIp} ${b.senderDomain} ${b.reason}`));
  return groups.map((g) => ({ clientIp: g.clientIp, senderDomain: g.senderDomain, reason: g.reason, messages: g.messages, firstSeen: g.firstSeen, lastSeen: g.lastSeen, directSend: g.directSend, suggestion: g.suggestion }));
}

/** The message counts that do not depend on outbound rows (the summary leaves those out). */
function inboundCounts(result: ImpactResult) {
  return { evaluated: result.evaluated, acceptedNow: result.acceptedNow, refusedNow: result.refusedNow, breaking: result.breaking, noSourceIp: result.skipped.noSourceIp, notForTenant: result.skipped.notForTenant };
}

const EMAIL_EVENTS_COLUMNS = EMAIL_EVENTS_SCHEMA.map(([name]) => name);

describe('impact summary round trip', () => {
  for (const seed of [1, 2, 3]) {
    test(`EmailEvents sample ${seed}: the KQL summary as CSV and as API JSON breaks the same sources as the raw rows`, async () => {
      const rows = emailEventsSample(seed, 3000);
      const raw = await impactOf(await folder.file(`raw-${seed}.csv`, toCsv(rows, EMAIL_EVENTS_COLUMNS)));
      assert.equal(raw.summary.format, 'email-events');
      assert.equal(raw.summary.records, rows.length);
      const summaryRows = summariseLikeKql(rows);
      assert.ok(summaryRows.length < rows.length / 3, `${summaryRows.length} summary rows for ${rows.length} messages`);
      assert.ok(raw.result.groups.length >= 3, 'the sample has several breaking sources');
      for (const [name, text] of [
        [`summary-${seed}.csv`, toCsv(summaryRows, SUMMARY_COLUMNS)],
        [`summary-${seed}.json`, toApiJson(summaryRows)],
      ] as const) {
        const read = await impactOf(await folder.file(name, text));
        assert.equal(read.summary.format, 'impact-summary', name);
        assert.equal(read.summary.records, summaryRows.length, name);
        assert.equal(read.summary.malformed, 0, JSON.stringify(read.summary.examples));
        assert.deepEqual(breaking(read.result), breaking(raw.result), name);
        assert.deepEqual(inboundCounts(read.result), inboundCounts(raw.result), name);
        assert.ok(read.result.limits.some((limit) => limit.includes('summary row')), 'the report says the rows were summaries');
      }
    });
  }

  test('the PowerShell summary of a message trace breaks the same sources as the trace', async () => {
    const rows = messageTraceSample(7, 3000);
    const traceColumns = ['Received', 'SenderAddress', 'RecipientAddress', 'Subject', 'FromIP', 'Status', 'MessageTraceId'];
    const raw = await impactOf(await folder.file('trace.csv', toCsv(rows, traceColumns)));
    assert.equal(raw.summary.format, 'message-trace');
    const script = buildQueries({ gatewayIps: [], acceptedDomains: [], days: 10 }).find((q) => q.id === 'ps-impact-summary');
    // The columns the script exports, in its order.
    const exported = /^\$columns = @\((.*)\)$/m.exec(script?.text ?? '')?.[1]?.split(', ').map((name) => name.replace(/^'|'$/g, '')) ?? [];
    assert.match(script?.text ?? '', /Select-Object -Property \$columns \| Export-Csv/);
    assert.deepEqual(exported, SUMMARY_COLUMNS.filter((column) => column !== 'Connectors' && column !== 'EmailDirection'));
    const summaryRows = summariseLikePowerShell(rows);
    // Windows PowerShell 5.1's Export-Csv writes a BOM; -NoTypeInformation leaves out the #TYPE line.
    const read = await impactOf(await folder.file('ps-summary.csv', `\ufeff${toCsv(summaryRows, exported)}`));
    assert.equal(read.summary.format, 'impact-summary');
    assert.equal(read.summary.malformed, 0, JSON.stringify(read.summary.examples));
    assert.ok(raw.result.groups.length >= 3);
    assert.deepEqual(breaking(read.result), breaking(raw.result));
    assert.deepEqual({ ...inboundCounts(read.result), records: read.result.records }, { ...inboundCounts(raw.result), records: raw.result.records });
  });
});

describe('reading the summary', () => {
  const header = SUMMARY_COLUMNS.join(',');
  const row = (messages: string) => `192.0.2.25,,contoso.com,,contoso.com,,Inbound,${messages},2026-11-20T08:00:00Z,2026-11-29T17:30:00Z,Scan,scanner@contoso.com,,finance@contoso.com`;

  test('each row counts as its Messages, first and last seen from the row', async () => {
    const { result } = await impactOf(await folder.file('one.csv', `${header}\n${row('1234')}\n`));
    assert.equal(result.evaluated, 1234);
    assert.deepEqual(breaking(result), [
      { clientIp: '192.0.2.25', senderDomain: 'contoso.com', reason: '550 5.7.68', messages: 1234, firstSeen: '2026-11-20T08:00:00.000Z', lastSeen: '2026-11-29T17:30:00.000Z', directSend: true, suggestion: "--allow-direct-send '192.0.2.25=Direct Send from contoso.com (192.0.2.25)'" },
    ]);
  });

  test('a row without a usable count is malformed, reported and skipped', async () => {
    const { result, summary } = await impactOf(await folder.file('bad.csv', `${header}\n${row('')}\n${row('-3')}\n${row('2.5')}\n${row('0')}\n${row('7')}\n`));
    assert.equal(summary.records, 1);
    assert.equal(summary.malformed, 4);
    assert.deepEqual(summary.examples.map((example) => example.row), [1, 2, 3, 4]);
    assert.match(summary.examples[0]?.reason ?? '', /Messages/);
    assert.equal(result.evaluated, 7);
  });

  test('monitor refuses a summary: it needs the messages themselves', async () => {
    const file = await folder.file('for-monitor.csv', `${header}\n${row('5')}\n`);
    const monitor = new BypassMonitor(profile, exposed);
    await assert.rejects(readTrace(file, { onRecord: (record: TraceRecord) => monitor.add(record) }), /read by "eoplock impact"/);
    const viaCli = await cli('monitor', file, '--snapshot', 'examples/contoso-exposed.json');
    assert.equal(viaCli.code, 2, viaCli.stderr);
  });

  test('eoplock impact reads the summary and names its format', async () => {
    const file = await folder.file('cli.csv', `${header}\n${row('40')}\n`);
    const result = await cli('impact', 'examples/contoso-exposed.json', file, '--format', 'json');
    assert.notEqual(result.code, 2, result.stderr);
    const report = JSON.parse(result.stdout) as { inputs: ReadSummary[]; groups: { messages: number }[] };
    assert.equal(report.inputs[0]?.format, 'impact-summary');
    assert.deepEqual(report.groups.map((group) => group.messages), [40]);
  });
});

describe('eoplock queries --for impact', () => {
  test('needs no gateway, prints only the impact queries, in the language asked for', async () => {
    const both = await cli('queries', '--for', 'impact');
    assert.equal(both.code, 0, both.stderr);
    assert.match(both.stdout, /^EmailEvents$/m);
    assert.match(both.stdout, /Get-MessageTraceV2 @parameters/);
    assert.doesNotMatch(both.stdout, /ipv4_is_in_any_range|Start-HistoricalSearch/);
    const kql = await cli('queries', '--for', 'impact', '--kind', 'kql', '--days', '30');
    assert.match(kql.stdout, /Timestamp > ago\(30d\)/);
    assert.doesNotMatch(kql.stdout, /Get-MessageTraceV2/);
    const bypass = await cli('queries', '--kind', 'kql');
    assert.equal(bypass.code, 2, 'the bypass queries still need the gateway');
  });

  test('the PowerShell impact script parses with no error (tree-sitter PowerShell grammar)', async () => {
    const require = createRequire(import.meta.url);
    await Parser.init();
    const parser = new Parser();
    parser.setLanguage(await Language.load(require.resolve('tree-sitter-powershell/tree-sitter-powershell.wasm')));
    const script = buildQueries({ gatewayIps: [], acceptedDomains: [], days: 30 }).find((q) => q.id === 'ps-impact-summary')?.text ?? '';
    const tree = parser.parse(script);
    assert.ok(tree);
    const errors: string[] = [];
    const walk = (node: Node) => {
      if (node.type === 'ERROR' || node.isMissing) errors.push(`${node.startPosition.row + 1}: ${node.text.slice(0, 80)}`);
      for (const child of node.children) if (child) walk(child);
    };
    walk(tree.rootNode);
    assert.deepEqual(errors, []);
    assert.ok(script.includes('-StartingRecipientAddress') || script.includes("['StartingRecipientAddress']"));
  });
});
