/**
 * `eoplock prove` on a terminal: one progress line, redrawn in place at most five times a second while a large space
 * is searched, and cleared before the closing bar. The bench tenant (bench/bench-tenant.ts: 461 billion classes) is
 * searched for a second under --time-limit.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { benchTenant } from '../../bench/bench-tenant.js';
import { main } from '../../src/cli/main.js';
import { tempFolder } from '../helpers/cli.js';

const temp = tempFolder('eoplock-prove-progress-');

test('the progress line: at most five redraws a second, each from the start of the line, then the closing bar', async () => {
  const file = await temp.file('bench-tenant.json', JSON.stringify(benchTenant().snapshot));
  const redraws: string[] = [];
  let stdout = '';
  const started = Date.now();
  const code = await main(['prove', file, '--time-limit', '1', '--format', 'json', '--out', join(temp.path(), 'proof.json')], {
    stdout: (text) => void (stdout += text),
    stderr: () => undefined,
    redraw: (text) => void redraws.push(text),
    color: false,
    progress: true,
  });
  const seconds = (Date.now() - started) / 1000;
  assert.equal(code, 1, stdout);
  const searching = redraws.filter((text) => /classes, \d+ s…/.test(text));
  assert.ok(searching.length >= 1, 'progress was shown');
  assert.ok(searching.length <= 5 * seconds + 2, `${searching.length} redraws in ${seconds.toFixed(1)} s`);
  for (const text of redraws) assert.match(text, /^\r/);
  assert.match(searching[0] ?? '', /^\rprove .*bench-tenant\.json: (<0\.1|\d+\.\d)% of 461,311,248,384 classes, \d+ s…/);
  // The bar comes last, after a redraw that blanks the longer progress text.
  assert.match(redraws.at(-1) ?? '', /^\rprove █+ 1\/1\n$/);
  assert.match(redraws.at(-2) ?? '', /^\r +\r$/);
});
