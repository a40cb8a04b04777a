/**
 * `eoplock report --trace` with an impact summary (`eoplock queries --for impact`, exported from Defender or by the
 * PowerShell paging script): the summary's rows feed "what the plan breaks"; the bypass charts, which need the
 * messages themselves, are left out and the page says why. Before, the monitor refused the file and no report was written.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { SUMMARY_COLUMNS } from '../../src/trace/summary.js';
import { cli, tempFolder } from '../helpers/cli.js';
import { EMAIL_EVENTS_SCHEMA, emailEventsSample, summariseLikeKql, toCsv } from '../trace/email-events.js';

const temp = tempFolder('eoplock-report-summary-');
const EXPOSED = 'examples/contoso-exposed.json';
const EMAIL_EVENTS_COLUMNS = EMAIL_EVENTS_SCHEMA.map(([name]) => name);

describe('report --trace with an impact summary', () => {
  test('the report is written; the summary counts toward what the plan breaks, and the page says the charts need messages', async () => {
    const rows = emailEventsSample(4, 2000);
    const summary = await temp.file('summary.csv', toCsv(summariseLikeKql(rows), SUMMARY_COLUMNS));
    const out = join(temp.path(), 'report.html');
    const result = await cli('report', EXPOSED, '--trace', summary, '--out', out);
    assert.equal(result.code, 0, result.stderr);
    const html = await readFile(out, 'utf8');
    assert.match(html, /<p id="trace-summary-note" class="muted">\d+ row\(s\) of an impact summary/);
    assert.doesNotMatch(html, /id="chart-per-day"/, 'no per-day chart from summary rows');
    const impact = /<table id="impact"[\s\S]*?<\/table>/.exec(html)?.[0] ?? '';
    assert.ok((impact.match(/<tr><td data-label="Source">/g) ?? []).length > 0, 'the summary names the sources that break');
  });

  test('with message rows as well, the charts come from the messages and the note says what the summary rows did', async () => {
    const rows = emailEventsSample(5, 1000);
    const summary = await temp.file('summary-mixed.csv', toCsv(summariseLikeKql(rows), SUMMARY_COLUMNS));
    const raw = await temp.file('events.csv', toCsv(rows, EMAIL_EVENTS_COLUMNS));
    const out = join(temp.path(), 'report-mixed.html');
    const result = await cli('report', EXPOSED, '--trace', raw, '--trace', summary, '--out', out);
    assert.equal(result.code, 0, result.stderr);
    const html = await readFile(out, 'utf8');
    assert.match(html, /<b id="trace-bypassed">\d+<\/b>/);
    assert.match(html, /id="trace-summary-note"/);
  });
});
