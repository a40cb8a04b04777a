/**
 * Scale: tens of thousands of scenarios run in memory proportional to the input, the report written as the
 * verdicts come; the written report is exactly the whole-result one; a failure part-way leaves no file behind.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { builtinCorpus } from '../../src/corpus/builtin.js';
import { resolveAssumptions } from '../../src/eop/assumptions.js';
import { renderSimulationText, type SimulationResult } from '../../src/report/simulate.js';
import { parseScenarios } from '../../src/scenarios/load.js';
import { runCorpus, runScenarios } from '../../src/simulate/run.js';
import { loadSnapshotFile } from '../../src/snapshot/load.js';
import { cli, tempFolder } from '../helpers/cli.js';

const temp = tempFolder('eoplock-scenarios-scale-');
const LOCKED = 'examples/contoso-locked.json';

/** Scenarios of every kind the locked tenant sees: the gateway, on-premises, spoofs, IPv6; some expectations fail. */
function scenarios(count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => {
    const kind = i % 5;
    return {
      name: `scenario ${i}`,
      clientIp: kind === 0 ? '203.0.113.10' : kind === 1 ? `198.51.100.${100 + (i % 100)}` : kind === 2 ? `2001:db8::${(i % 0xffff).toString(16)}` : '192.0.2.25',
      helo: 'mx.example',
      ...(kind === 0 ? { tls: { certificate: { subject: 'CN=mx1.seg.example.net' } } } : {}),
      mailFrom: kind === 3 ? 'scanner@contoso.com' : `sender${i}@fabrikam.example`,
      rcptTo: [`user${i}@contoso.com`],
      headers: { From: `Sender <sender${i}@fabrikam.example>`, Subject: `Message ${i}` },
      ...(i % 3 === 0 ? { expect: { action: kind === 0 || kind === 3 ? 'accept' : 'reject' } } : {}),
    };
  });
}

interface JsonReport extends Omit<SimulationResult, 'results'> {
  results: { name: string; verdict: { trace: unknown[] }; expectation: { met: boolean } | null }[];
}

describe('45,000 scenarios', () => {
  test('run through simulate --format json --out, with bounded memory', { timeout: 60_000 }, async () => {
    const file = await temp.file('many.json', JSON.stringify({ scenarios: scenarios(45_000) }));
    const out = join(temp.path(), 'many-report.json');
    const before = process.memoryUsage().heapUsed;
    let peak = before;
    // Sampled while the report is written (between writes), where the whole result used to be held at once.
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 2);
    const result = await cli('simulate', LOCKED, '--scenarios', file, '--format', 'json', '--out', out);
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().heapUsed);
    assert.equal(result.stderr, '');
    assert.equal(result.stdout, '');
    const report = JSON.parse(await readFile(out, 'utf8')) as JsonReport;
    assert.equal(report.results.length, 45_000);
    assert.equal(report.summary.total, 45_000);
    assert.equal(report.summary.expectationsMet + report.summary.expectationsFailed, 15_000);
    assert.equal(report.results[44_999]?.name, 'scenario 44999');
    assert.ok(report.results.every((entry) => entry.verdict.trace.length > 0));
    assert.equal(result.code, report.summary.expectationsFailed > 0 ? 1 : 0);
    // Holding every verdict and the whole report text took over 600 MB here; written as it comes, about 70 MB.
    const growth = (peak - before) / 2 ** 20;
    assert.ok(growth < 250, `the heap grew by ${growth.toFixed(0)} MB`);
  });
});

describe('the report written as it comes', () => {
  test('is exactly the whole-result report, in JSON and text, for scenarios and the corpus', async () => {
    const { snapshot } = await loadSnapshotFile(LOCKED);
    const context = { snapshot, file: LOCKED, assumptions: resolveAssumptions({ 'attribution-reject-stage': 'data' }), assumptionOverrides: { 'attribution-reject-stage': 'data' } };
    const file = await temp.file('some.json', JSON.stringify({ scenarios: scenarios(300) }));
    const whole = {
      scenarios: runScenarios(context, await parseScenarios(await readFile(file, 'utf8'), file), file),
      corpus: runCorpus(context, builtinCorpus(snapshot)),
    };
    const json = (result: SimulationResult) =>
      `${JSON.stringify({ snapshot: result.snapshot, mode: result.mode, assumptionOverrides: result.assumptionOverrides, summary: result.summary, results: result.results.map((entry) => ({ name: entry.name, ...(entry.kind ? { kind: entry.kind, outcome: entry.outcome } : {}), transaction: entry.transaction, verdict: entry.verdict, expectation: entry.expectation })) }, null, 2)}\n`;
    for (const mode of ['scenarios', 'corpus'] as const) {
      const source = mode === 'scenarios' ? ['--scenarios', file] : ['--corpus', 'builtin'];
      const args = ['simulate', LOCKED, ...source, '--assume', 'attribution-reject-stage=data'];
      assert.equal((await cli(...args, '--format', 'json')).stdout, json(whole[mode]), `${mode} JSON`);
      assert.equal((await cli(...args, '--trace')).stdout, renderSimulationText(whole[mode], { color: false, trace: true }), `${mode} text`);
      const out = join(temp.path(), `${mode}.txt`);
      await cli(...args, '--out', out);
      assert.equal(await readFile(out, 'utf8'), renderSimulationText(whole[mode], { color: false, trace: false }), `${mode} text file`);
    }
  });

  test('a bad scenario part-way: exit 2, one line naming it, and no report file (or its temporary file) left', async () => {
    const many = scenarios(3000);
    many[2500] = { ...many[2500], clientIp: '203.0.113.999' };
    const file = await temp.file('bad-late.json', JSON.stringify({ scenarios: many }));
    for (const format of ['json', 'text']) {
      const folder = join(temp.path(), `out-${format}`);
      await mkdir(folder);
      const out = join(folder, 'report');
      const result = await cli('simulate', LOCKED, '--scenarios', file, '--format', format, '--out', out);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /^eoplock: error: .*bad-late\.json: at scenarios\[2500\]\.clientIp.*203\.0\.113\.999/);
      assert.equal(result.stderr.trim().split('\n').length, 1);
      assert.equal(existsSync(out), false);
      assert.deepEqual(await readdir(folder), []);
    }
  });
});

describe('hostile scenario values through the streamed report (seeded)', () => {
  const text = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.constantFrom('\u001b[31mred', 'a\r\nInjected: line', '\u2028', '\u202etxt.exe', '\u0000', 'x'.repeat(5000)),
  );
  const scenario = fc.record({
    name: fc.oneof(text.filter((value) => value.length > 0), fc.constant('ok')),
    clientIp: fc.oneof(fc.constantFrom('203.0.113.10', '2001:db8::1', '::ffff:192.0.2.25', '999.1.1.1', ' 192.0.2.25 ', '[2001:db8::2]'), text),
    mailFrom: fc.oneof(fc.constantFrom('', 'ceo@contoso.com', '<ceo@contoso.com>'), text),
    rcptTo: fc.oneof(fc.constant(['user@contoso.com']), fc.array(fc.constantFrom('user@contoso.com', 'x@fabrikam.example'), { minLength: 1, maxLength: 600 })),
    headers: fc.option(fc.dictionary(fc.constantFrom('From', 'Subject', 'X-MS-Exchange-Organization-AuthAs'), text), { nil: undefined }),
    expect: fc.option(fc.record({ action: fc.constantFrom('accept', 'reject') }), { nil: undefined }),
  });

  test('exit 0, 1 or 2; no stack trace; a failure is one line naming the file and leaves no --out file', { timeout: 60_000 }, async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(scenario, { minLength: 1, maxLength: 4 }), fc.constantFrom('json', 'text'), async (list, format) => {
        run += 1;
        const file = await temp.file(`fuzz-${run}.json`, JSON.stringify({ scenarios: list }));
        const out = join(temp.path(), `fuzz-${run}.out`);
        const result = await cli('simulate', LOCKED, '--scenarios', file, '--format', format, '--out', out);
        assert.ok([0, 1, 2].includes(result.code), `exit ${result.code}: ${result.stderr}`);
        assert.doesNotMatch(result.stderr, /\n\s+at |internal error/);
        if (result.code === 2) {
          assert.equal(result.stderr.trim().split('\n').length, 1);
          assert.match(result.stderr, new RegExp(`fuzz-${run}\\.json`));
          assert.equal(existsSync(out), false);
        } else {
          assert.equal(result.stderr, '');
          assert.ok(existsSync(out));
        }
      }),
      { numRuns: 80, seed: 45_000 },
    );
  });
});
