/**
 * The HTML report opened in a real browser (the one test/helpers/browser.ts finds) driven by playwright-core. Checks the sections, the
 * numbers, the charts and the mail-flow SVG, that no request leaves the page, that filtering findings works by
 * clicking, and that the console stays clean. A screenshot goes to test-artifacts/ (not committed).
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { resolveAssumptions } from '../../src/eop/assumptions.js';
import { defaultPlan } from '../../src/plan/plan.js';
import { inferProfile } from '../../src/profile/profile.js';
import { escapeHtml } from '../../src/report/html/render.js';
import { loadSnapshotFile } from '../../src/snapshot/load.js';
import { findBrowser } from '../helpers/browser.js';
import { cli, tempFolder } from '../helpers/cli.js';

const temp = tempFolder('eoplock-report-');
const found = await findBrowser();
/** The reason browser tests skip (no browser anywhere), or false. */
const skip = 'skip' in found ? found.skip : false;
let browser: Browser;

before(async () => {
  if ('name' in found) browser = await found.launch();
});
after(async () => {
  await browser?.close();
});

test(`the browser: ${'name' in found ? found.name : 'none'}`, { skip }, () => {
  assert.match(browser.version(), /^\d+\.\d+\./);
});

interface Opened {
  page: Page;
  requests: string[];
  problems: string[];
}

async function open(file: string): Promise<Opened> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const requests: string[] = [];
  const problems: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  await page.goto(pathToFileURL(resolve(file)).href, { waitUntil: 'load' });
  return { page, requests, problems };
}

const visibleFindings = (page: Page) => page.locator('.finding:not(.hidden)').count();

describe('the HTML report of the exposed example, with message trace', { skip }, () => {
  let file = '';
  let opened: Opened;
  before(async () => {
    file = join(temp.path(), 'report.html');
    const result = await cli('report', 'examples/contoso-exposed.json', '--trace', 'examples/traces/contoso-message-trace.csv', '--out', file);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Wrote .*report\.html \(\d+ KB\)/);
    opened = await open(file);
  });
  after(() => opened?.page.close());

  test('is one self-contained file under 1 MB that makes no request beyond itself', async () => {
    const html = await readFile(file, 'utf8');
    assert.ok(Buffer.byteLength(html) < 1024 * 1024, `${Buffer.byteLength(html)} bytes`);
    assert.doesNotMatch(html, /<(script|link|img)[^>]+(src|href)=["']?https?:/i);
    assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
    assert.deepEqual(opened.requests, [pathToFileURL(resolve(file)).href]);
    assert.deepEqual(opened.problems, []);
  });

  test('shows the tenant, the verdict, the numbers and every section', async () => {
    const { page } = opened;
    assert.match(await page.locator('h1').innerText(), /Contoso Ltd/);
    assert.match(await page.locator('#overall-verdict').innerText(), /Exposed: 8 of 8 attacks accepted by EOP without passing the gateway; 4 high-severity/);
    assert.equal(await page.locator('#attacks-in').innerText(), '8 / 8');
    assert.equal(await page.locator('#checks-failed').innerText(), '12');
    for (const id of ['actions', 'breaks', 'findings', 'proof', 'trace', 'plan']) assert.equal(await page.locator(`section#${id}`).count(), 1, id);
    for (const id of ['summary', 'corpus']) assert.equal(await page.locator(`#${id}`).count(), 1, id);
    assert.equal(await page.locator('#corpus tbody tr[data-kind="attack"]').count(), 8);
    assert.match(await page.locator('#corpus tbody tr[data-kind="attack"]').first().innerText(), /accepted by EOP[\s\S]*blocked/);
    // What "accepted" shows, and what it does not: EOP's content filtering runs afterwards and is not emulated.
    assert.match(await page.locator('#corpus > p').innerText(), /content filtering .* is not emulated/);
    assert.doesNotMatch(await page.locator('body').innerText(), /reach(es)? a mailbox|gets? in\b/i);
    assert.equal(await page.locator('#bypass-path').getAttribute('data-open'), 'true');
    assert.match(await page.locator('#impact').innerText(), /192\.0\.2\.25/);
    // One block per phase of the plan the report builds with the defaults.
    const { snapshot } = await loadSnapshotFile('examples/contoso-exposed.json');
    assert.equal(await page.locator('#plan .phase').count(), defaultPlan(snapshot, inferProfile(snapshot), resolveAssumptions()).phases.length);
  });

  test('marks partial mappings with their reason, and links each reference', async () => {
    const { page } = opened;
    // EOPL-018 fails on the exposed tenant: Maester MT.1043 is exact, CIS 6.2.2 and ORCA-118-x are partial (catalogue.ts).
    const finding = page.locator('details.finding[data-id="EOPL-018"]');
    assert.equal(await finding.locator('.relation[data-relation="partial"]').count(), 3);
    assert.match((await finding.textContent()) ?? '', /CIS 6\.2\.2 \(partial: CIS: no rule allow-lists[\s\S]*Maester MT\.1043/);
    assert.equal(await finding.locator('a[href="https://learn.microsoft.com/powershell/module/exchangepowershell/new-transportrule"]').count(), 1);
  });

  test('draws the two trace charts with Chart.js, and the failed checks as numbers', async () => {
    const { page } = opened;
    for (const id of ['chart-per-day', 'chart-sources']) {
      // A string expression: the test is compiled without DOM types.
      const drawn = (await page.evaluate(`(() => { const c = document.getElementById(${JSON.stringify(id)}); return c && c.chart ? { width: c.width, points: c.chart.data.datasets[0].data.length } : null; })()`)) as { width: number; points: number } | null;
      assert.ok(drawn && drawn.width > 0 && drawn.points > 0, `${id}: ${JSON.stringify(drawn)}`);
    }
    const severity = await page.evaluate(`Array.from(document.querySelectorAll('#severity-counts .n')).map((cell) => Number(cell.textContent))`);
    assert.deepEqual(severity, [4, 5, 3]);
  });

  test('filters findings by clicking and by searching', async () => {
    const { page } = opened;
    assert.equal(await visibleFindings(page), 12, 'failed checks by default');
    await page.getByRole('button', { name: 'High', exact: true }).click();
    assert.equal(await visibleFindings(page), 4);
    assert.equal(await page.getByRole('button', { name: 'High', exact: true }).getAttribute('aria-pressed'), 'true');
    await page.getByRole('button', { name: 'All checks' }).click();
    const all = await page.locator('.finding').count();
    assert.equal(await visibleFindings(page), all);
    assert.ok(all > 12);
    await page.locator('#finding-search').fill('EOPL-001');
    assert.equal(await visibleFindings(page), 1);
    assert.match(await page.locator('#finding-count').innerText(), /^1 shown$/);
    await page.locator('#finding-search').fill('');
    await page.keyboard.press('Tab');
    await page.getByRole('button', { name: 'Failed', exact: true }).focus();
    await page.keyboard.press('Enter');
    assert.equal(await visibleFindings(page), 12, 'the filter works from the keyboard');
  });

  test('prints to PDF with every section and no toolbar, and follows dark mode', async () => {
    const { page } = opened;
    await page.emulateMedia({ media: 'print' });
    assert.equal(await page.locator('.toolbar').isVisible(), false);
    const pdf = await page.pdf({ format: 'A4' });
    assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
    assert.ok(pdf.length > 50_000, `${pdf.length} bytes`);
    await page.emulateMedia({ media: 'screen', colorScheme: 'dark' });
    assert.equal(await page.evaluate('getComputedStyle(document.body).backgroundColor'), 'rgb(13, 17, 23)');
    await page.emulateMedia({ media: 'screen', colorScheme: 'light' });
    assert.equal(await page.evaluate('getComputedStyle(document.body).backgroundColor'), 'rgb(255, 255, 255)');
  });

  test('a screenshot for people to look at', async () => {
    await mkdir('test-artifacts', { recursive: true });
    await opened.page.screenshot({ path: 'test-artifacts/report-exposed.png', fullPage: true });
    assert.ok((await stat('test-artifacts/report-exposed.png')).size > 10_000);
  });
});

describe('the HTML report of the locked example', () => {
  test('says locked down, draws the bypass closed, and escapes what the snapshot says', { skip }, async () => {
    const file = join(temp.path(), 'locked.html');
    const result = await cli('audit', 'examples/contoso-locked.json', '--format', 'html', '--out', file);
    assert.equal(result.code, 0, result.stderr);
    const { page, problems, requests } = await open(file);
    assert.match(await page.locator('#overall-verdict').innerText(), /Locked down/);
    assert.equal(await page.locator('#bypass-path').getAttribute('data-open'), 'false');
    assert.equal(await page.locator('section#trace').count(), 0, 'no trace given, no trace section');
    assert.equal(requests.length, 1);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('text from the snapshot cannot inject markup', async () => {
    assert.equal(escapeHtml('<script>alert(1)</script> & "x"'), '&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;');
  });
});

describe('impact and monitor --format html', () => {
  test('write the same page with their data; monitor needs --snapshot and exits 1 on bypasses', async () => {
    const trace = 'examples/traces/contoso-message-trace.csv';
    const impact = await cli('impact', 'examples/contoso-exposed.json', trace, '--format', 'html');
    assert.equal(impact.code, 1, impact.stderr); // sources would break, as in text and JSON
    assert.match(impact.stdout, /^<!doctype html>[\s\S]*<table id="impact"[^>]*>[\s\S]*192\.0\.2\.25/);
    const monitor = await cli('monitor', trace, '--snapshot', 'examples/contoso-exposed.json', '--format', 'html');
    assert.equal(monitor.code, 1);
    assert.match(monitor.stdout, /id="chart-per-day"/);
    const bare = await cli('monitor', trace, '--seg-ip', '203.0.113.10', '--format', 'html');
    assert.equal(bare.code, 2);
    assert.match(bare.stderr, /--format html needs --snapshot/);
  });
});

describe('eoplock dmarc --format html', { skip }, () => {
  test('the same page shell: no requests, a clean console, the chart and the tables', async () => {
    const file = join(temp.path(), 'dmarc.html');
    const result = await cli('dmarc', 'test/fixtures/dmarc-aggregate/aggregate', '--seg-ip', '199.230.200.36', '--format', 'html', '--out', file);
    assert.equal(result.code, 1, result.stderr);
    const { page, problems, requests } = await open(file);
    assert.deepEqual(problems, []);
    assert.equal(requests.length, 1);
    assert.equal(await page.locator('#messages').innerText(), '2433');
    assert.match(await page.locator('#overall-verdict').innerText(), /message\(s\) failing DMARC from sources that are neither the gateway nor Microsoft 365/);
    assert.equal(await page.locator('#sources tr[data-class="gateway"]').count(), 1);
    const bars = await page.evaluate(`document.getElementById('chart-dmarc-days').chart.data.datasets.length`);
    assert.equal(bars, 2);
    await page.close();
  });
});

describe('report bad input', () => {
  test('a missing snapshot and a folder that is not a plan exit 2 with the file named, and write nothing', async () => {
    const out = join(temp.path(), 'never.html');
    const missing = await cli('report', 'nope.json', '--out', out);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nope\.json/);
    const notPlan = await cli('report', 'examples/contoso-exposed.json', '--plan', 'examples', '--out', out);
    assert.equal(notPlan.code, 2);
    assert.match(notPlan.stderr, /examples: not a plan folder/);
    await assert.rejects(stat(out));
    const several = await cli('audit', 'examples/contoso-exposed.json', 'examples/contoso-locked.json', '--format', 'html');
    assert.equal(several.code, 2);
    assert.match(several.stderr, /--format html reports on one snapshot, got 2/);
  });
});
