/**
 * Snapshots that are bad input in ways a parser can trip over: nesting deep enough to exhaust a recursive walk,
 * `/Date(…)/` values outside what a date can hold, syntax errors after deep nesting, huge objects. Each is exit 2
 * with the file and the place, quickly; never exit 70.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { InputError } from '../../src/errors.js';
import { lineLocator } from '../../src/snapshot/locate.js';
import { parseJsonText, parseSnapshot } from '../../src/snapshot/parse.js';
import { undoQuirks } from '../../src/snapshot/quirks.js';
import { cli, tempFolder } from '../helpers/cli.js';

const { file } = tempFolder('eoplock-hostile-snapshot-');
const example = JSON.parse(await readFile('examples/contoso-exposed.json', 'utf8')) as Record<string, unknown>;

/** The example with `marker` (a JSON string) replaced by raw text: for values JSON.stringify cannot write. */
function exampleWith(set: (document: Record<string, any>) => void, raw: Record<string, string> = {}): string {
  const document = structuredClone(example) as Record<string, any>;
  set(document);
  let text = JSON.stringify(document, null, 2);
  for (const [marker, replacement] of Object.entries(raw)) text = text.replace(JSON.stringify(marker), replacement);
  return text;
}

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/** The InputError parseSnapshot(parseJsonText(text)) throws, as `where: message`. */
function refusal(text: string): string {
  try {
    parseSnapshot(parseJsonText(text));
  } catch (error) {
    assert.ok(error instanceof InputError, `not an InputError: ${(error as Error).stack}`);
    return `${error.where}: ${error.message}`;
  }
  assert.fail('the snapshot was accepted');
}

describe('deep nesting', () => {
  for (const depth of [5_000, 100_000]) {
    test(`a value nested ${depth.toLocaleString('en')} deep: exit 2 naming the JSON path, quickly`, { timeout: 10_000 }, async () => {
      const snapshot = await file(`deep-${depth}.json`, exampleWith((d) => (d.OrganizationConfig.Extra = 'DEEP'), { DEEP: nested(depth) }));
      for (const argv of [['audit', snapshot], ['plan', snapshot, '--out', `${snapshot}.plan`], ['audit', snapshot, '--format', 'sarif']]) {
        const started = performance.now();
        const result = await cli(...argv);
        assert.equal(result.code, 2, result.stderr);
        assert.match(result.stderr, /^eoplock: error: \S+deep-\d+\.json: at OrganizationConfig\.Extra(\[0\]){62}: objects and arrays are nested more than 64 levels deep/);
        assert.doesNotMatch(result.stderr, /internal error|^ {4}at /m);
        assert.ok(performance.now() - started < 2_000, `${argv[0]}: ${performance.now() - started} ms`);
      }
    });
  }

  test('the whole document at the root, 100,000 deep', { timeout: 10_000 }, () => {
    const started = performance.now();
    assert.match(refusal(`{"Meta": ${nested(100_000)}}`), /^Meta(\[0\]){63}: objects and arrays are nested more than 64 levels deep/);
    assert.match(refusal(`{"Meta": ${'{"a": '.repeat(100_000)}1${'}'.repeat(100_000)}}`), /^Meta(\.a){63}: objects and arrays are nested more than 64 levels deep/);
    assert.ok(performance.now() - started < 2_000, `${performance.now() - started} ms`);
  });

  test('64 levels are fine; the 65th is refused', () => {
    const at = (depth: number) => exampleWith((d) => (d.OrganizationConfig.Extra = 'DEEP'), { DEEP: nested(depth) });
    // The document, the OrganizationConfig object and 62 lists in Extra: 64 levels.
    assert.doesNotThrow(() => parseSnapshot(parseJsonText(at(62))));
    assert.throws(() => parseSnapshot(parseJsonText(at(63))), InputError);
  });

  test('a syntax error after 100,000 levels names its line and column (no YAML parse of the text)', { timeout: 10_000 }, () => {
    const started = performance.now();
    // V8 names no position for this error, so the place is found by walking the text.
    assert.equal(refusal(`{\n"Meta": ${'['.repeat(100_000)}tru${']'.repeat(100_000)}}`), 'line 2, column 100009: not valid JSON: unexpected token \']\'');
    assert.equal(refusal(`{\n"Meta": ${nested(100_000).slice(0, -1)}}`), 'line 2, column 200008: not valid JSON: expected \',\' or \']\' after array element');
    assert.ok(performance.now() - started < 2_000, `${performance.now() - started} ms`);
  });

  test('a deep value in a REST type annotation (removed, not walked) is described, not stringified', () => {
    const { notes } = undoQuirks(JSON.parse(exampleWith((d) => (d.OrganizationConfig['Name@odata.type'] = 'DEEP'), { DEEP: nested(20_000) })));
    assert.ok(notes.some((note) => note.kind === 'type-annotation-removed' && note.detail === '(a list)'));
  });
});

describe('/Date(…)/ values', () => {
  for (const [value, ok] of [
    ['/Date(8640000000000001)/', false],
    ['/Date(-8640000000000001)/', false],
    ['/Date(1e400)/', false],
    ['/Date(abc)/', false],
    ['/Date(99999999999999999999)/', false],
    ['/Date()/', false],
    ['/Date(8640000000000000)/', true],
    ['/Date(-8640000000000000+0100)/', true],
    ['/Date(1700000000000)/', true],
  ] as const) {
    test(`${value}: ${ok ? 'converted' : 'exit 2 naming the field'}`, async () => {
      const text = exampleWith((d) => (d.OrganizationConfig.WhenChanged = value));
      if (ok) {
        const { snapshot } = parseSnapshot(parseJsonText(text));
        assert.equal((snapshot.OrganizationConfig[0] as Record<string, unknown>).WhenChanged, new Date(Number(/-?\d+/.exec(value)?.[0])).toISOString());
        return;
      }
      const snapshot = await file('date.json', text);
      const result = await cli('audit', snapshot);
      assert.equal(result.code, 2, result.stderr);
      assert.equal(
        result.stderr,
        `eoplock: error: ${snapshot}: at OrganizationConfig.WhenChanged: "${value}" is not a date as Windows PowerShell writes one: ` +
          'expected /Date(milliseconds since 1970)/ within ±8640000000000000 ms, optionally with an offset such as +0100\n',
      );
    });
  }

  test('other text that merely starts with /Date( is left alone', () => {
    const { snapshot } = parseSnapshot(parseJsonText(exampleWith((d) => (d.OrganizationConfig.Note = '/Date(soon'))));
    assert.equal((snapshot.OrganizationConfig[0] as Record<string, unknown>).Note, '/Date(soon');
  });
});

describe('keys', () => {
  test('a key named __proto__ stays an ordinary key and sets no prototype', () => {
    const { document } = undoQuirks(JSON.parse('{"Meta": {"eoplockSnapshot": 1}, "OrganizationConfig": {"__proto__": {"RejectDirectSend": true}}}'));
    const org = (document.OrganizationConfig as Record<string, unknown>[])[0] as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(org), Object.prototype);
    assert.equal(org.RejectDirectSend, undefined);
  });

  test('SARIF lines for a snapshot with an object of 200,000 keys: linear (no pairwise key check)', { timeout: 10_000 }, () => {
    const text = exampleWith((d) => (d.OrganizationConfig.Extra = Object.fromEntries(Array.from({ length: 200_000 }, (_, i) => [`k${i}`, i]))));
    const started = performance.now();
    const locate = lineLocator(text);
    assert.ok(performance.now() - started < 5_000, `${performance.now() - started} ms`);
    const lines = text.split('\n');
    const line = locate('InboundConnector[1].SenderIPAddresses');
    assert.match(lines[line - 1] ?? '', /"SenderIPAddresses": \[/);
    assert.match(lines[locate('OrganizationConfig[0].Extra.k199999') - 1] ?? '', /"k199999": 199999/);
  });
});

test('enum tables are looked up by their own keys only: "constructor", "toString" and "__proto__" are ordinary properties', () => {
  const text = exampleWith((d) => Object.assign(d.TransportRule[0], { constructor: 1, toString: 2, hasOwnProperty: 3 }));
  const { snapshot } = parseSnapshot(parseJsonText(text.replace('"Priority":', '"__proto__": 4, "Priority":')));
  const first = snapshot.TransportRule[0] as Record<string, unknown>;
  assert.equal(first.toString, 2);
  assert.throws(() => parseSnapshot(parseJsonText(exampleWith((d) => (d.TransportRule[0].State = 7)))), /State is the number 7, which is not a known State value/);
  assert.throws(() => parseSnapshot(parseJsonText(exampleWith((d) => (d.TransportRule[0].State = 0.5)))), /State is the number 0\.5/);
});
