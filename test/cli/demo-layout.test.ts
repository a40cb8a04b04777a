/**
 * The demo's layout: columns as wide as the longest name up to a maximum, longer names cut with a visible marker, the
 * count of failed findings when not all are shown, and the DMARC step on the bundled example.
 */
import assert from 'node:assert/strict';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { column, cut, CUT_MARKER, NAME_COLUMN_MAX } from '../../src/cli/demo.js';
import { cli, tempFolder } from '../helpers/cli.js';

const temp = tempFolder('eoplock-demo-layout-');
const LONG_NAME = `Office scanners on the second floor behind the print server ${'and the copier room '.repeat(4)}(192.0.2.25)`;
const OUTCOMES = /(ACCEPTED BY EOP|blocked|accepted for delivery|QUARANTINED|REFUSED|kept from the mailbox)/;

describe('columns', () => {
  test('a column is as wide as its longest value, at most the maximum; a longer value is cut and marked', () => {
    const cell = column(['ab', 'abcd'], 10);
    assert.equal(cell('ab'), 'ab  ');
    assert.equal(cell('abcd'), 'abcd');
    const capped = column(['short', 'x'.repeat(30)], 12);
    assert.equal(capped('short').length, 12);
    assert.equal(capped('x'.repeat(30)), `${'x'.repeat(12 - CUT_MARKER.length)}${CUT_MARKER}`);
    assert.equal(cut('abc', 3), 'abc');
    assert.equal(cut('abcd', 3), `ab${CUT_MARKER}`);
  });
});

describe('eoplock demo layout', () => {
  test('long connector names: the outcome column lines up in every stage, names cut with a marker; findings counted; DMARC step', async () => {
    const folder = join(temp.path(), 'examples');
    await cp('examples', folder, { recursive: true });
    for (const name of ['contoso-partial.json', 'contoso-locked.json']) {
      const file = join(folder, name);
      await writeFile(file, (await readFile(file, 'utf8')).replaceAll('"Office scanners (192.0.2.25)"', JSON.stringify(LONG_NAME)));
    }
    const result = await cli('demo', '--examples', folder, '--report', join(temp.path(), 'report.html'));
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.split('\n');

    // Each stage's corpus rows: "  ✓ attack  NAME OUTCOME VERDICT", the outcome at the same column in every row.
    const stages = ['1. Exposed', '2. Partial', '3. Locked'].map((title) => lines.findIndex((line) => line.startsWith(title)));
    assert.ok(stages.every((index) => index >= 0), 'three stages');
    let sawLongName = false;
    for (const start of stages) {
      const rows: string[] = [];
      for (let index = start + 1; lines[index]?.startsWith('  ✓ ') || lines[index]?.startsWith('  ✗ '); index++) rows.push(lines[index] as string);
      assert.ok(rows.length >= 10, `corpus rows after ${lines[start]}`);
      const columns = rows.map((row) => row.search(OUTCOMES));
      assert.ok(columns.every((at) => at > 0), rows.join('\n'));
      assert.equal(new Set(columns).size, 1, `outcomes line up:\n${rows.join('\n')}`);
      const nameStart = '  ✓ attack  '.length;
      for (const row of rows) assert.ok((columns[0] as number) - 1 - nameStart <= NAME_COLUMN_MAX, row);
      const long = rows.find((row) => row.includes('through "Office scanners on'));
      if (long) {
        sawLongName = true;
        assert.ok(long.includes(CUT_MARKER), long);
        assert.ok(!long.includes('(192.0.2.25)'), 'the end of the long name is cut');
      }
    }
    assert.ok(sawLongName, 'the long connector name appears in a corpus row');

    // "N of M failed findings shown", from the audit's own counts.
    const audit = JSON.parse((await cli('audit', join(folder, 'contoso-exposed.json'), '--format', 'json')).stdout) as { findings: { status: string; severity: string }[] };
    const failed = audit.findings.filter((finding) => finding.status === 'fail');
    const shown = failed.filter((finding) => finding.severity !== 'low');
    assert.ok(shown.length < failed.length, 'the example has low findings the demo leaves out');
    assert.match(result.stdout, new RegExp(`\\n    ${shown.length} of ${failed.length} failed findings shown`));
    assert.match(result.stdout, /"eoplock audit" runs \d+ checks/);
    assert.match(result.stdout, new RegExp(`"eoplock audit" runs ${audit.findings.length} checks`));

    // The DMARC step reads the bundled report as the command does.
    const dmarc = JSON.parse((await cli('dmarc', join(folder, 'dmarc'), '--format', 'json')).stdout) as { reports: number; records: number; messages: number };
    assert.match(result.stdout, new RegExp(`9\\. DMARC reports[^\\n]*\\n[\\s\\S]*?  ${dmarc.reports} report\\(s\\), ${dmarc.records} record\\(s\\), ${dmarc.messages} message\\(s\\)`));
    assert.match(result.stdout, /10\. The report\n  Wrote /);
  });
});
