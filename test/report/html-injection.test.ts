/**
 * The HTML report with hostile values (no browser needed): markup in a name stays text, and the inline JSON cannot
 * end its <script> element early, whatever it holds (`</script>`, `<!--`, U+2028/U+2029).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { htmlShell } from '../../src/report/html/render.js';
import { cli, tempFolder } from '../helpers/cli.js';
import { hostileSnapshot } from './hostile-snapshot.js';

const temp = tempFolder('eoplock-html-injection-');
const MARKUP = '</script><script>alert(1)</script><!--<img src=x onerror=alert(2)>\u2028\u2029';

/** The text of the one <script type="application/json" id="report-data"> element. */
function reportData(html: string): string {
  const match = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html);
  assert.ok(match, 'the data element is there');
  return match[1] as string;
}

describe('HTML report injection', () => {
  test('inline JSON cannot break out of its element and reads back exactly', () => {
    const data = { topSources: [{ clientIp: MARKUP, messages: 1 }], days: [MARKUP] };
    const html = htmlShell(MARKUP, '<p>body</p>', data, '/* chart */', '/* page */');
    const text = reportData(html);
    assert.doesNotMatch(text, /<\/script|<!--|<script/i);
    assert.doesNotMatch(text, /[\u2028\u2029]/);
    assert.deepEqual(JSON.parse(text), data);
    assert.equal(html.match(/<script/g)?.length, 3, 'the data, Chart.js and the page script: no other');
    assert.ok(html.includes('<title>&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;!--&lt;img src=x onerror=alert(2)&gt;'), 'the title is text');
  });

  test('names with markup in a snapshot stay text in the report', async () => {
    const file = await temp.file('markup.json', JSON.stringify(hostileSnapshot({ connector: `From SEG ${MARKUP}`, rule: `Rule ${MARKUP}`, tenant: `Contoso ${MARKUP}` })));
    const out = join(temp.path(), 'report.html');
    const result = await cli('report', file, '--out', out);
    assert.equal(result.code, 0, result.stderr);
    const html = await readFile(out, 'utf8');
    assert.equal(html.match(/<script/g)?.length, 3, 'no script element from a name');
    assert.doesNotMatch(html, /<img|alert\(1\)<\/script>/);
    assert.ok(html.includes('Contoso &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;'), 'the tenant is shown as text');
    assert.ok(html.includes('From SEG &lt;/script&gt;'), 'the connector is shown as text');
    JSON.parse(reportData(html));
  });
});
