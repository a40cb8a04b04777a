/**
 * Errors and notes on the terminal: a file name, a flag value or a value from a file with ESC, CR/LF, NUL or U+2028
 * is shown escaped, and an error stays one line (`eoplock: error: FILE: at WHERE: MESSAGE`). The process streams
 * add terminalSafe() as a last line of defence, exact data (JSON) is written byte for byte, and progress redraws
 * keep their `\r`.
 */
import assert from 'node:assert/strict';
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { emit, processIo, progressBar, redrawSafe, showProgress, type Io } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { InputError } from '../../src/errors.js';
import { cli, tempFolder } from '../helpers/cli.js';

const temp = tempFolder('eoplock-terminal-');
const HOSTILE = '\u001b]0;pwned\u0007\r\nforged\u0000\u2028\u202e\u001b[31mred';
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/;

/** One line ending in a newline, with no raw control character in it. */
function assertOneSafeLine(stderr: string, pattern?: RegExp): void {
  assert.ok(stderr.endsWith('\n'), JSON.stringify(stderr));
  const lines = stderr.slice(0, -1).split('\n');
  // Commander adds its "(run "eoplock --help" for usage)" hint as a line of its own.
  const first = lines[0] ?? '';
  assert.ok(lines.length === 1 || (lines.length === 2 && lines[1]?.startsWith('(run "eoplock --help"')), JSON.stringify(stderr));
  assert.doesNotMatch(first, RAW_CONTROL, JSON.stringify(stderr));
  if (pattern) assert.match(first, pattern);
}

describe('errors with hostile file names and values', () => {
  test('InputError.describe escapes the file, the place and the message', () => {
    const error = new InputError(`bad value "${HOSTILE}"`, { file: `a${HOSTILE}.json`, where: `X[${JSON.stringify(HOSTILE)}]` });
    const line = error.describe();
    assert.doesNotMatch(line, RAW_CONTROL);
    assert.equal(line.split('\n').length, 1);
    assert.ok(line.startsWith('a\\e]0;pwned\\x07\\r\\nforged\\0\\u2028\\u202e\\e[31mred.json: at X['), line);
    assert.ok(line.endsWith('bad value "\\e]0;pwned\\x07\\r\\nforged\\0\\u2028\\u202e\\e[31mred"'), line);
  });

  test('a file name: no such file, for every command that reads one', async () => {
    const name = join(temp.path(), `missing${HOSTILE}.json`);
    for (const argv of [
      ['audit', name],
      ['simulate', name, '--corpus', 'builtin'],
      ['plan', name, '--out', join(temp.path(), 'never')],
      ['drift', name],
      ['report', name, '--out', join(temp.path(), 'never.html')],
    ]) {
      const result = await cli(...argv);
      assert.equal(result.code, 2, `${argv[0]}: ${result.stderr}`);
      assertOneSafeLine(result.stderr, /^eoplock: error: .*missing\\e\]0;pwned\\x07\\r\\nforged\\0\\u2028\\u202e\\e\[31mred\.json: /);
      assert.equal(result.stdout, '');
    }
    await assert.rejects(access(join(temp.path(), 'never')));
    await assert.rejects(access(join(temp.path(), 'never.html')));
  });

  test('a file name that exists, with a control character in it, and bad content quoted in the message', async () => {
    const file = await temp.file('bad\u001b[2J\u2028.json', `{"Meta": "\u001b]0;pwned\u0007\r\n# forged\u2028`);
    const result = await cli('audit', file);
    assert.equal(result.code, 2);
    assertOneSafeLine(result.stderr, /bad\\e\[2J\\u2028\.json/);
  });

  test('flag values quoted in messages', async () => {
    const cases: [string[], RegExp][] = [
      [['audit', 'examples/contoso-locked.json', '--seg-ip', HOSTILE], /at --seg-ip: /],
      [['dns', `a${HOSTILE}.com`], /is not a domain name/],
      [['simulate', 'examples/contoso-locked.json', '--corpus', HOSTILE], /unknown corpus/],
      [['plan', 'examples/contoso-locked.json', '--out', join(temp.path(), 'p'), '--allow-direct-send', `=${HOSTILE}`], /expected IP=NAME/],
      [['simulate', 'examples/contoso-locked.json', '--corpus', 'builtin', '--assume', `x${HOSTILE}=y`], /./],
    ];
    for (const [argv, pattern] of cases) {
      const result = await cli(...argv);
      assert.equal(result.code, 2, `${argv.join(' ')}: ${result.stderr}`);
      assertOneSafeLine(result.stderr, pattern);
      assert.ok(result.stderr.includes('\\e]0;pwned\\x07\\r\\nforged\\0\\u2028\\u202e\\e[31mred'), result.stderr);
    }
  });

  test("Commander's own errors: unknown option, invalid choice", async () => {
    const unknown = await cli('audit', 'examples/contoso-locked.json', `--x${HOSTILE}`);
    assert.equal(unknown.code, 2);
    assertOneSafeLine(unknown.stderr, /^error: unknown option '--x\\e\]0;pwned\\x07\\r\\nforged\\0\\u2028\\u202e\\e\[31mred'$/);
    const choice = await cli('audit', 'examples/contoso-locked.json', '--format', HOSTILE);
    assert.equal(choice.code, 2);
    assertOneSafeLine(choice.stderr, /argument '\\e\]0;pwned.*' is invalid/);
  });

  test('an internal error message is escaped too, and stays an internal error (exit 70)', async () => {
    let stderr = '';
    const io: Io = {
      stdout: () => {
        throw new Error(`write failed${HOSTILE}`);
      },
      stderr: (text) => void (stderr += text),
      color: false,
      progress: false,
    };
    assert.equal(await main(['assumptions'], io), 70);
    const [first, second, ...rest] = stderr.split('\n');
    assert.equal(first, 'eoplock: internal error: write failed\\e]0;pwned\\x07\\r\\nforged\\0\\u2028\\u202e\\e[31mred');
    assert.match(second ?? '', /This is a bug in eoplock/);
    assert.deepEqual(rest, ['']);
  });
});

describe('the streams', () => {
  /** Runs `body` with process.stdout.write and process.stderr.write captured. */
  function captured(body: () => void): { stdout: string; stderr: string } {
    const out = { stdout: '', stderr: '' };
    const writes = { stdout: process.stdout.write, stderr: process.stderr.write };
    process.stdout.write = ((chunk: string) => ((out.stdout += chunk), true)) as typeof process.stdout.write;
    process.stderr.write = ((chunk: string) => ((out.stderr += chunk), true)) as typeof process.stderr.write;
    try {
      body();
    } finally {
      process.stdout.write = writes.stdout;
      process.stderr.write = writes.stderr;
    }
    return out;
  }

  test('human text is made terminal-safe (own colours and newlines kept), exact data is not, a redraw keeps its \\r', () => {
    const io = processIo();
    const json = `${JSON.stringify({ name: 'a\u2028b\u0085' })}\n`;
    const out = captured(() => {
      io.stdout(`\u001b[1mok\u001b[22m ${HOSTILE}\n`);
      io.data?.(json);
      io.stderr(`eoplock: note ${HOSTILE}\n`);
      showProgress(io, progressBar('audit', 1, 2));
      showProgress(io, `\rreading ${HOSTILE}`);
    });
    // The writers cannot tell a newline of a value from one of eoplock's (that is visible()'s job where values are
    // put into lines): they keep newlines and SGR sequences and escape everything else.
    assert.equal(out.stdout, `\u001b[1mok\u001b[22m \\e]0;pwned\\x07\\r\nforged\\0\\u2028\\u202e\u001b[31mred\n${json}`);
    assert.equal(out.stderr, `eoplock: note \\e]0;pwned\\x07\\r\nforged\\0\\u2028\\u202e\u001b[31mred\n\raudit ${'█'.repeat(15)}${'░'.repeat(15)} 1/2\rreading \\e]0;pwned\\x07\\r\nforged\\0\\u2028\\u202e\u001b[31mred`);
  });

  test('redrawSafe keeps only the leading carriage returns', () => {
    assert.equal(redrawSafe('\r50%\r\u001b[2J'), '\r50%\\r\\e[2J');
    assert.equal(redrawSafe('plain\n'), 'plain\n');
  });

  test('emit: text formats through the human writer and terminalSafe() in a file, data byte for byte', async () => {
    const seen: string[] = [];
    const io: Io = { stdout: (text) => void seen.push(`human:${text}`), stderr: () => undefined, data: (text) => void seen.push(`data:${text}`), color: false, progress: false };
    await emit(io, '{"a":"\u2028"}\n', undefined);
    await emit(io, 'text\n', undefined, { human: true });
    assert.deepEqual(seen, ['data:{"a":"\u2028"}\n', 'human:text\n']);
    const exact = join(temp.path(), 'exact.json');
    await emit(io, '{"a":"\u2028\u0085"}\n', exact);
    const human = join(temp.path(), 'human.txt');
    await emit(io, `x ${HOSTILE}\n`, human, { human: true });
    assert.equal(await readFile(exact, 'utf8'), '{"a":"\u2028\u0085"}\n');
    assert.equal(await readFile(human, 'utf8'), 'x \\e]0;pwned\\x07\\r\nforged\\0\\u2028\\u202e\u001b[31mred\n');
  });

  test('audit --format json on stdout keeps U+2028 exactly (no terminal escaping of data)', async () => {
    const snapshot = JSON.parse((await readFile('examples/contoso-locked.json', 'utf8')).replace(/^\uFEFF/, '')) as { Meta: { tenant: string } };
    snapshot.Meta.tenant = 'Contoso\u2028Ltd';
    const file = join(temp.path(), 'u2028.json');
    await writeFile(file, JSON.stringify(snapshot));
    const result = await cli('audit', file, '--format', 'json', '--fail-on', 'none');
    assert.equal(result.code, 0, result.stderr);
    assert.ok(result.stdout.includes('"tenant": "Contoso\u2028Ltd"'), 'raw U+2028 in JSON');
  });
});
