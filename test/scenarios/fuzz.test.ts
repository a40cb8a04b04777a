/**
 * Fuzzing the scenario file format: examples/scenarios.yaml with hostile values put into the envelope fields
 * (mailFrom, rcptTo, helo) and with hostile text spliced into the file. `simulate` never crashes, a refusal is one
 * line naming the file, and a refused file leaves no --out file. Control characters in mailFrom, rcptTo or helo, and
 * a recipient that is not an RFC 5321 mailbox, are always refused.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { hasControl } from '../../src/util/display.js';
import { isMailbox } from '../../src/util/smtp-syntax.js';
import { cli, tempFolder } from '../helpers/cli.js';

const { file, path } = tempFolder('eoplock-scenario-fuzz-');
const SNAPSHOT = 'examples/contoso-locked.json';

const hostilePiece = fc.constantFrom('\r\n', '\n', '\r', '\u0000', '\u001b[2J', '\u2028', '\u202e', '\t', ' ', '<', '>', '"', "'", ':', '#', '- ', '{', '[', '&a', '*a', '!!js/function', '\r\nDATA\r\n', 'é', '@', '');
const word = fc.constantFrom('a', 'ceo', 'contoso.com', 'user@contoso.com', 'x@fabrikam.example', '"q r"@contoso.com', 'mx1.seg.example.net', '');
const hostileValue = fc.array(fc.oneof(word, hostilePiece), { minLength: 1, maxLength: 5 }).map((parts) => parts.join(''));

interface Scenario {
  mailFrom: string;
  rcptTo: string[];
  helo?: string;
  [key: string]: unknown;
}

function checkRun(result: { code: number; stdout: string; stderr: string }, out: string, fileName: string): void {
  assert.ok([0, 1, 2].includes(result.code), `exit ${result.code}`);
  assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
  assert.doesNotMatch(result.stderr, /internal error/);
  if (result.code === 2) {
    const lines = result.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.ok(lines[0]?.startsWith(`eoplock: error: ${fileName}`), lines[0]);
    assert.doesNotMatch(result.stderr, /[\r\u0000\u001b\u2028\u202e]/, 'values in the message are escaped');
    assert.equal(existsSync(out), false, 'no --out file on exit 2');
  } else {
    assert.ok(existsSync(out));
  }
}

describe('fuzzing scenario files', () => {
  let original: { scenarios: Scenario[] };
  let text = '';
  before(async () => {
    text = await readFile('examples/scenarios.yaml', 'utf8');
    original = parse(text) as { scenarios: Scenario[] };
  });

  test('hostile envelope values: refused when they hold a control character or are no mailbox; never a crash', { timeout: 60_000 }, async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.constantFrom('mailFrom', 'rcptTo', 'helo'), hostileValue, fc.boolean(), async (pick, field, value, asJson) => {
        const document = structuredClone(original);
        const scenario = document.scenarios[pick % document.scenarios.length];
        assert.ok(scenario);
        if (field === 'rcptTo') scenario.rcptTo = [...scenario.rcptTo, value];
        else scenario[field] = value;
        const name = `s${runs++}.${asJson ? 'json' : 'yaml'}`;
        const input = await file(name, asJson ? JSON.stringify(document) : stringify(document));
        const out = join(path(), `${name}.out`);
        try {
          const result = await cli('simulate', SNAPSHOT, '-s', input, '--out', out);
          checkRun(result, out, input);
          const mustRefuse =
            hasControl(value) || value.includes('\t') || (field === 'rcptTo' && !isMailbox(value)) || (field === 'helo' && (value === '' || /\s/.test(value)));
          if (mustRefuse) {
            assert.equal(result.code, 2, `${JSON.stringify(value)} in ${field} was accepted`);
            assert.match(result.stderr, new RegExp(`at scenarios\\[\\d+\\]\\.${field}`));
          }
        } finally {
          await rm(out, { force: true });
        }
      }),
      { numRuns: 100, seed: 13 },
    );
  });

  test('hostile text spliced into the file: never a crash, errors in one line naming the file', { timeout: 60_000 }, async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(), hostilePiece), { minLength: 1, maxLength: 4 }), async (splices) => {
        let mutated = text;
        for (const [at, piece] of splices) {
          const offset = at % (mutated.length + 1);
          mutated = mutated.slice(0, offset) + piece + mutated.slice(offset);
        }
        const input = await file(`m${runs++}.yaml`, mutated);
        const out = join(path(), `m${runs}.out`);
        try {
          checkRun(await cli('simulate', SNAPSHOT, '-s', input, '--out', out), out, input);
        } finally {
          await rm(out, { force: true });
        }
      }),
      { numRuns: 100, seed: 13 },
    );
  });
});
