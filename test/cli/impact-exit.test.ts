/**
 * `eoplock impact` exits 1 when a source in the data would break after the change, 0 when none would (text and
 * JSON); `--help` says so next to the other exit codes.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { cli, tempFolder } from '../helpers/cli.js';

const temp = tempFolder('eoplock-impact-exit-');
const SNAPSHOT = 'examples/contoso-exposed.json';
const TRACE = 'examples/traces/contoso-message-trace.csv';
const GATEWAY = /"(203\.0\.113\.1[01]|198\.51\.100\.([0-9]|1[0-5]))"/;

/** The bundled trace with only the rows the gateway relayed (the header lines kept). */
async function gatewayOnlyTrace(): Promise<string> {
  const lines = (await readFile(TRACE, 'utf8')).split(/\r?\n/);
  const kept = lines.filter((line, index) => index < 2 || (line.split('","')[8] !== undefined && GATEWAY.test(`"${line.split('","')[8]}"`)));
  assert.ok(kept.length > 10, 'the example has gateway rows');
  return temp.file('gateway-only.csv', `${kept.join('\r\n')}\r\n`);
}

describe('impact exit codes', () => {
  test('exit 1 when a source would break, in text and JSON', async () => {
    const text = await cli('impact', SNAPSHOT, TRACE);
    const json = await cli('impact', SNAPSHOT, TRACE, '--format', 'json');
    const groups = (JSON.parse(json.stdout) as { groups: unknown[] }).groups;
    assert.ok(groups.length > 0, 'the example trace has breaking sources');
    assert.match(text.stdout, new RegExp(`Would break \\(${groups.length} source\\(s\\)\\)`));
    assert.equal(text.code, 1, text.stderr);
    assert.equal(json.code, 1, json.stderr);
  });

  test('exit 0 when nothing in the data would break', async () => {
    const trace = await gatewayOnlyTrace();
    const json = await cli('impact', SNAPSHOT, trace, '--format', 'json');
    const result = JSON.parse(json.stdout) as { groups: unknown[]; acceptedNow: number };
    assert.deepEqual(result.groups, []);
    assert.ok(result.acceptedNow > 0, 'the gateway rows were evaluated');
    assert.equal(json.code, 0, json.stderr);
    const text = await cli('impact', SNAPSHOT, trace);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /Nothing in these data would break/);
  });

  test('--help documents exit 1 next to 0 and 2', async () => {
    const help = await cli('impact', '--help');
    assert.match(help.stdout.replace(/\s+/g, ' '), /Exit code 0 when nothing in the data would break, 1 when a source would .*2 on bad input/);
  });
});
