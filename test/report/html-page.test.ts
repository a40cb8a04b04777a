/**
 * The HTML report as a change board and a phone read it (issue 19, "The page"), in the browser the tests find:
 * first things first (verdict, top actions, what the plan breaks, findings, proof), the tiles equal to the JSON
 * output and to the grid's columns, a printed PDF that holds every script and every finding, no horizontal scrolling
 * at 390 px with a legible mail-flow picture, links for every reference, and charts that show their counts.
 * Screenshots (1440 px and 390 px, light and dark) go to test-artifacts/.
 */
import { isSpfCandidate } from '../../src/corpus/builtin.js';
import assert from 'node:assert/strict';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { AuditResult } from '../../src/audit/model.js';
import { runAudit } from '../../src/audit/run.js';
import { resolveAssumptions } from '../../src/eop/assumptions.js';
import { SOURCES } from '../../src/eop/sources.js';
import { defaultPlan } from '../../src/plan/plan.js';
import { renderPlan } from '../../src/plan/render.js';
import { inferProfile } from '../../src/profile/profile.js';
import type { FilledFix } from '../../src/report/html/fix.js';
import { findingFixes, mailFlowFacts, planChanges, topActions } from '../../src/report/html/model.js';
import { loadSnapshotFile } from '../../src/snapshot/load.js';
import { findBrowser } from '../helpers/browser.js';
import { cli, tempFolder } from '../helpers/cli.js';
import { pdfText } from './html-pdf-text.js';

const temp = tempFolder('eoplock-report-page-');
const found = await findBrowser();
const skip = 'skip' in found ? found.skip : false;
let browser: Browser;

before(async () => {
  if ('name' in found) browser = await found.launch();
});
after(async () => {
  await browser?.close();
});

const EXPOSED = 'examples/contoso-exposed.json';
const TRACE = 'examples/traces/contoso-message-trace.csv';

/** Placeholders of the catalogue's fixes that eoplock can fill from the snapshot and the profile. */
const FILLABLE = ['<gateway connector>', '<missing address>', '<gateway certificate name>', '<rule>', '<safety-net rule>', '<gateway addresses>', '<every gateway address>', '<gateway IPs>', '<policy>', '<domain>', '<snapshot>'];

async function open(file: string, width: number, colorScheme: 'light' | 'dark' = 'light'): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width, height: 900 }, colorScheme });
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  await page.goto(pathToFileURL(resolve(file)).href, { waitUntil: 'load' });
  return { page, problems };
}

/** A string expression evaluated in the page (the tests compile without DOM types). */
const evaluate = <T>(page: Page, expression: string) => page.evaluate(expression) as Promise<T>;

describe('the report page, first things first', { skip }, () => {
  let file = '';
  let json: AuditResult;
  let snapshot: Record<string, Record<string, unknown>[]>;
  let page: Page;
  let problems: string[];
  before(async () => {
    file = join(temp.path(), 'report.html');
    const report = await cli('report', EXPOSED, '--trace', TRACE, '--out', file);
    assert.equal(report.code, 0, report.stderr);
    const audit = await cli('audit', EXPOSED, '--format', 'json');
    json = JSON.parse(audit.stdout) as AuditResult;
    snapshot = JSON.parse(await readFile(EXPOSED, 'utf8')) as Record<string, Record<string, unknown>[]>;
    ({ page, problems } = await open(file, 1440));
  });
  after(() => page?.close());

  test('the order: the verdict, the top actions, what the plan would break, the findings, the proof', async () => {
    const order = ['overall-verdict', 'actions', 'breaks', 'findings', 'proof'];
    const tops = await evaluate<number[]>(page, `${JSON.stringify(order)}.map((id) => document.getElementById(id).getBoundingClientRect().top)`);
    for (let index = 1; index < tops.length; index++) assert.ok((tops[index - 1] as number) < (tops[index] as number), `${order[index - 1]} before ${order[index]}: ${tops.join(', ')}`);
    const sections = await evaluate<string[]>(page, `Array.from(document.querySelectorAll('main > section')).map((section) => section.id)`);
    assert.deepEqual(sections.slice(0, 4), ['actions', 'breaks', 'findings', 'proof']);
    assert.deepEqual(problems, []);
  });

  test('the top three actions are the most severe failed checks, with commands that name this tenant', async () => {
    const actions = page.locator('#actions ol.actions > li');
    assert.equal(await actions.count(), 3);
    const failedHigh = json.findings.filter((finding) => finding.status === 'fail' && finding.severity === 'high' && !finding.evidence.every((item) => item.path.startsWith('proof')));
    assert.ok(failedHigh.length >= 3, 'the example has three high-severity configuration findings');
    for (let index = 0; index < 3; index++) {
      const finding = failedHigh[index] as AuditResult['findings'][number];
      const item = actions.nth(index);
      assert.equal(await item.getAttribute('data-finding'), finding.id);
      const command = (await item.locator('pre code').textContent()) ?? '';
      for (const placeholder of FILLABLE) assert.ok(!command.includes(placeholder), `${finding.id}: ${command}`);
      // Each connector the finding's evidence points at is named in its command.
      for (const evidence of finding.evidence) {
        const at = /^InboundConnector\[(\d+)\]/.exec(evidence.path);
        if (at && finding.remediation.includes('<gateway connector>')) assert.ok(command.includes(`'${String(snapshot.InboundConnector?.[Number(at[1])]?.Name)}'`), command);
      }
      if (finding.remediation.includes('<gateway addresses>')) assert.ok(command.includes(json.profile.ips.join(',')), command);
    }
    const text = await page.locator('body').innerText();
    for (const placeholder of FILLABLE) assert.ok(!text.includes(placeholder), `the page shows ${placeholder}`);
  });

  test('tiles, the grid and the JSON output agree', async () => {
    const { summary } = json;
    assert.equal(await page.locator('#attacks-in').innerText(), `${summary.attacksIn} / ${summary.attacksTotal}`);
    assert.equal(await page.locator('#legitimate-broken').innerText(), `${summary.legitimateBroken} / ${summary.legitimateTotal}`);
    assert.equal(await page.locator('#checks-failed').innerText(), String(summary.failed));
    assert.equal(await page.locator('#checks-passed').innerText(), String(summary.passed));
    assert.equal(await page.locator('#checks-not-applicable').innerText(), String(summary.notApplicable));
    for (const severity of ['high', 'medium', 'low'] as const) assert.equal(await page.locator(`#severity-counts tr[data-severity="${severity}"] .n`).innerText(), String(summary.failedBySeverity[severity]));
    const column = (kind: string, which: number, outcome: string) => page.locator(`#corpus-grid tbody tr[data-kind="${kind}"] td:nth-child(${which})[data-outcome="${outcome}"]`).count();
    assert.equal(await page.locator('#corpus-grid tbody tr[data-kind="attack"]').count(), summary.attacksTotal);
    assert.equal(await page.locator('#corpus-grid tbody tr[data-kind="legitimate"]').count(), summary.legitimateTotal);
    assert.equal(await column('attack', 2, 'got-in'), summary.attacksIn);
    assert.equal(await column('legitimate', 2, 'broken'), summary.legitimateBroken);
    const brokenAfter = await column('legitimate', 3, 'broken');
    assert.equal(await page.locator('#legitimate-broken-after').innerText(), `${brokenAfter} / ${summary.legitimateTotal}`);
    assert.equal(await page.locator('#attacks-in-after').innerText(), `${await column('attack', 3, 'got-in')} / ${summary.attacksTotal}`);
    // What the plan would break says the same numbers as the column: known senders apart from the Direct Send sources
    // only SPF suggests (the plan's candidates, as PLAN.md counts them).
    const legitimate = json.proof.filter((entry) => entry.kind === 'legitimate');
    const candidateIds = new Set(legitimate.filter((entry) => isSpfCandidate(entry.id)).map((entry) => entry.id));
    const candidatesBroken = await page.locator('#corpus-grid tbody tr[data-kind="legitimate"]').evaluateAll(
      (rows, ids) => rows.filter((row) => ids.includes(row.getAttribute('data-id') ?? '') && row.querySelector('td:nth-child(3)')?.getAttribute('data-outcome') === 'broken').length,
      [...candidateIds],
    );
    const knownTotal = legitimate.length - candidateIds.size;
    const knownBroken = brokenAfter - candidatesBroken;
    assert.match(await page.locator('#breaks-corpus').innerText(), knownBroken === 0 ? new RegExp(`^No known legitimate path of the corpus breaks after the plan \\(0 of ${knownTotal}\\)`) : new RegExp(`^${knownBroken} of ${knownTotal} known legitimate paths break`));
    assert.equal(await page.locator('#breaks-candidates li').count(), candidatesBroken);
    assert.equal(await page.locator('#candidates-broken-after').count(), candidatesBroken > 0 ? 1 : 0);
  });

  test('the proof grid gives one reason per row and the full trace on demand', async () => {
    const rows = page.locator('#corpus-grid tbody tr');
    const count = await rows.count();
    assert.equal(count, json.proof.length);
    const first = rows.first();
    assert.equal(await first.locator('details ol.trace li').first().isVisible(), false, 'the trace is collapsed');
    await first.locator('details summary').click();
    assert.ok((await first.locator('details ol.trace li').count()) >= (json.proof[0]?.verdict.trace.length ?? 1));
    assert.equal(await first.locator('details ol.trace li').first().isVisible(), true);
  });

  test('every Microsoft Learn reference, source id and control id shown is a link', async () => {
    await page.getByRole('button', { name: 'All checks' }).click();
    for (const finding of json.findings) {
      const details = page.locator(`details.finding[data-id="${finding.id}"]`);
      for (const reference of finding.references) {
        if (reference.url.startsWith('https://learn.microsoft.com/')) assert.ok((await details.locator(`a[href="${reference.url}"]`).count()) >= 1, `${finding.id}: ${reference.url}`);
        const source = SOURCES[reference.id];
        if (source) assert.ok((await details.locator(`a[href="${source.url}"]`).count()) >= 1, `${finding.id}: source ${reference.id}`);
      }
      const text = (await details.textContent()) ?? '';
      const links = await evaluate<string[]>(page, `Array.from(document.querySelectorAll('details.finding[data-id=${JSON.stringify(finding.id)}] a')).map((a) => a.textContent)`);
      for (const control of finding.controls) {
        const name = `${control.framework} ${control.id}`;
        assert.ok(links.includes(name) || text.includes(`${name} (no public address`), `${finding.id}: ${name}`);
      }
    }
    const learn = await page.locator('a[href^="https://learn.microsoft.com/"]').count();
    assert.ok(learn > 0);
    await page.getByRole('button', { name: 'Failed', exact: true }).click();
  });

  test('charts show their counts, as bars', async () => {
    const perDay = await evaluate<{ type: string; plugins: string[]; label: string; values: number[] }>(
      page,
      `(() => { const c = document.getElementById('chart-per-day').chart; return { type: c.config.type, plugins: c.config.plugins.map((p) => p.id), label: c.data.datasets[0].label, values: c.data.datasets[0].data }; })()`,
    );
    assert.equal(perDay.type, 'bar');
    assert.deepEqual(perDay.plugins, ['counts']);
    const total = perDay.values.reduce((sum, value) => sum + value, 0);
    assert.ok(perDay.label.includes(`(${total} in all)`), perDay.label);
    assert.match(await page.locator('#trace h3').first().innerText(), new RegExp(`\\(${total} in all\\)`));
    assert.equal(await page.locator('#trace-bypassed').innerText(), String(total));
    const sources = await evaluate<string[]>(page, `document.getElementById('chart-sources').chart.config.plugins.map((p) => p.id)`);
    assert.deepEqual(sources, ['counts']);
    assert.equal(await page.locator('canvas#chart-severity').count(), 0, 'three numbers, not a doughnut');
  });

  test('printed to PDF: every script, every finding, the change tables and the link addresses', async () => {
    const scripts = await evaluate<string[]>(page, `Array.from(document.querySelectorAll('#plan details.script code')).map((code) => code.textContent)`);
    const changes = await evaluate<string[][]>(page, `Array.from(document.querySelectorAll('#plan table.changes tbody tr')).map((row) => Array.from(row.cells).map((cell) => cell.textContent))`);
    assert.ok(scripts.length >= 8, `${scripts.length} scripts`);
    assert.ok(changes.length > 0, 'PLAN.md change rows');
    const pdf = await page.pdf({ format: 'A4', printBackground: true });
    const text = pdfText(pdf);
    // Lines wrap in print: compare without white space.
    const squeeze = (value: string) => value.normalize('NFKC').replace(/\s+/g, '');
    const printed = squeeze(text);
    for (const script of scripts) assert.ok(printed.includes(squeeze(script)), `a script is missing from the PDF: ${script.slice(0, 80)}`);
    for (const finding of json.findings) {
      assert.ok(printed.includes(squeeze(`${finding.id} ${finding.title}`)), `${finding.id} is missing from the PDF`);
      assert.ok(printed.includes(squeeze(finding.summary)), `${finding.id}'s summary is missing from the PDF`);
    }
    for (const row of changes) assert.ok(printed.includes(squeeze(row.join(''))), `change row missing: ${row.join(' | ')}`);
    assert.ok(printed.includes(squeeze('<https://learn.microsoft.com/')), 'link addresses are printed');
    // The print opened the sections for itself and closed them again.
    assert.equal(await evaluate<number>(page, `document.querySelectorAll('details.script[open]').length`), 0);
  });

  test('print CSS alone shows collapsed content and starts sections on new pages', async () => {
    await page.emulateMedia({ media: 'print' });
    const hidden = await evaluate<number>(page, `Array.from(document.querySelectorAll('details pre, .finding p')).filter((el) => el.getClientRects().length === 0).length`);
    assert.equal(hidden, 0);
    assert.equal(await evaluate<string>(page, `getComputedStyle(document.getElementById('findings')).breakBefore`), 'page');
    await page.emulateMedia({ media: 'screen' });
  });
});

describe('the report page on a phone', { skip }, () => {
  let file = '';
  before(async () => {
    file = join(temp.path(), 'phone.html');
    const report = await cli('report', EXPOSED, '--trace', TRACE, '--out', file);
    assert.equal(report.code, 0, report.stderr);
  });

  for (const scheme of ['light', 'dark'] as const) {
    test(`no horizontal scrolling at 390 px and a legible mail flow (${scheme})`, async () => {
      const { page, problems } = await open(file, 390, scheme);
      assert.ok((await evaluate<number>(page, 'document.documentElement.scrollWidth')) <= 390);
      await page.getByRole('button', { name: 'All checks' }).click();
      await evaluate(page, `document.querySelectorAll('details').forEach((d) => { d.open = true; })`);
      assert.ok((await evaluate<number>(page, 'document.documentElement.scrollWidth')) <= 390, 'with every section open');
      assert.equal(await page.locator('svg.flow-horizontal').isVisible(), false);
      assert.equal(await page.locator('svg.flow-vertical').isVisible(), true);
      const sizes = await evaluate<number[]>(page, `Array.from(document.querySelectorAll('svg.flow-vertical text')).map((t) => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)`);
      assert.ok(sizes.length >= 6);
      for (const size of sizes) assert.ok(size >= 11, `a label ${size.toFixed(1)} px high`);
      assert.deepEqual(problems, []);
      await page.close();
    });
  }
});

describe('the report page on a clean tenant', { skip }, () => {
  test('says there is nothing to do and nothing to chart instead of drawing empty boxes', async () => {
    const file = join(temp.path(), 'locked.html');
    // The example trace without the messages that did not come from the gateway's addresses: nothing bypassed it.
    const gateway = JSON.parse((await cli('audit', 'examples/contoso-locked.json', '--format', 'json')).stdout) as AuditResult;
    const lines = (await readFile(TRACE, 'utf8')).split('\n');
    const throughGateway = lines.filter((line, index) => index < 2 || gateway.profile.ips.some((ip) => line.includes(`,"${ip}",`)));
    assert.ok(throughGateway.length > 2 && throughGateway.length < lines.length);
    const trace = await temp.file('gateway-only.csv', throughGateway.join('\n'));
    const report = await cli('report', 'examples/contoso-locked.json', '--trace', trace, '--out', file);
    assert.equal(report.code, 0, report.stderr);
    const json = JSON.parse((await cli('audit', 'examples/contoso-locked.json', '--format', 'json')).stdout) as AuditResult;
    const { page, problems } = await open(file, 1440);
    assert.equal(await page.locator('canvas').count(), 0, 'no empty chart');
    assert.equal(await page.locator('#trace-bypassed').innerText(), '0');
    assert.match(await page.locator('#trace-empty').innerText(), /No message in the trace bypassed the gateway/);
    if (json.summary.failed === 0) {
      assert.match(await page.locator('#severity-counts').innerText(), /No check failed/);
      assert.match(await page.locator('#actions').innerText(), /Nothing: no check failed/);
    } else assert.equal(await page.locator('#actions ol.actions > li').count(), Math.min(3, json.findings.filter((finding) => finding.status === 'fail' && !finding.evidence.every((item) => item.path.startsWith('proof'))).length));
    assert.deepEqual(problems, []);
    await page.close();
  });
});

describe('screenshots for people to look at', { skip }, () => {
  test('1440 px and 390 px, light and dark, in test-artifacts/', async () => {
    const file = join(temp.path(), 'shots.html');
    const report = await cli('report', EXPOSED, '--trace', TRACE, '--out', file);
    assert.equal(report.code, 0, report.stderr);
    await mkdir('test-artifacts', { recursive: true });
    for (const width of [1440, 390]) {
      for (const scheme of ['light', 'dark'] as const) {
        const { page } = await open(file, width, scheme);
        const path = `test-artifacts/report-${width}-${scheme}.png`;
        await page.screenshot({ path, fullPage: true });
        assert.ok((await stat(path)).size > 10_000);
        await page.close();
      }
    }
  });
});

describe('the page model, without a browser', () => {
  test('every failed finding’s fix names the tenant’s objects; only what the admin alone knows is left to supply', async () => {
    const { snapshot } = await loadSnapshotFile(EXPOSED);
    const profile = inferProfile(snapshot);
    const audit = runAudit(snapshot, profile, { file: EXPOSED, assumptions: resolveAssumptions() });
    const fixes = findingFixes(snapshot, audit, mailFlowFacts(snapshot, audit));
    const failed = audit.findings.filter((finding) => finding.status === 'fail');
    assert.deepEqual(Object.keys(fixes).sort(), failed.map((finding) => finding.id).sort());
    for (const finding of failed) {
      const fix = fixes[finding.id] as FilledFix;
      for (const placeholder of FILLABLE) assert.ok(!fix.text.includes(placeholder), `${finding.id}: ${fix.text}`);
      for (const placeholder of fix.toSupply) assert.ok(!FILLABLE.includes(placeholder) && fix.text.includes(placeholder), `${finding.id}: ${placeholder}`);
      // A fix for each of several policies: one line per policy the evidence names.
      if (finding.remediation.includes("'<policy>'")) {
        const policies = new Set(finding.evidence.map((item) => /^(AntiPhishPolicy|HostedContentFilterPolicy)\[(\d+)\]/.exec(item.path)).filter((match) => match !== null).map((match) => `${match[1]}:${match[2]}`));
        assert.equal(fix.text.split('\n').filter((line) => line.includes('-Identity')).length, policies.size, fix.text);
      }
    }
    assert.deepEqual(
      topActions(audit, fixes).map((action) => action.severity),
      ['high', 'high', 'high'],
    );
  });

  test("PLAN.md's change tables per phase: the rows of What changes, not the expected outcomes below them", async () => {
    const { snapshot } = await loadSnapshotFile(EXPOSED);
    const plan = defaultPlan(snapshot, inferProfile(snapshot), resolveAssumptions());
    const tables = planChanges(renderPlan(plan, '')['PLAN.md'] ?? '');
    for (const phase of plan.phases) {
      const rows = tables.get(phase.id) ?? [];
      if (phase.ops.length === 0) assert.equal(rows.length, 0, phase.id);
      else assert.ok(rows.length >= phase.ops.length, `${phase.id}: ${rows.length} rows for ${phase.ops.length} operations`);
      for (const row of rows) {
        assert.equal(row.length, 4, `${phase.id}: ${row.join(' | ')}`);
        // The expected-outcome table's second column is the corpus kind; a change row's is a property.
        assert.ok(!['attack', 'legitimate'].includes(row[1] as string), `${phase.id}: an expected outcome taken for a change: ${row.join(' | ')}`);
      }
    }
    assert.ok([...tables.values()].flat().length > 0);
  });
});
