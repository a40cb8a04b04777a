/**
 * walkJsonText: the JSON walker behind error lines (snapshots, data files) and SARIF lines. It must agree with
 * JSON.parse on what is JSON, name paths as the parsed value has them, and stay linear and iterative.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { lineAndColumn, locateJsonPath, walkJsonText, type JsonPathSegment } from '../../src/util/json-text.js';

/** Every path of a parsed value, in document order (what the walker must report). */
function paths(value: unknown, path: JsonPathSegment[] = [], out: string[] = []): string[] {
  out.push(JSON.stringify(path));
  if (Array.isArray(value)) value.forEach((item, index) => paths(item, [...path, index], out));
  else if (value !== null && typeof value === 'object') for (const [key, item] of Object.entries(value)) paths(item, [...path, key], out);
  return out;
}

const parses = (text: string) => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

describe('walkJsonText', () => {
  test('reports every value of valid JSON with its path, in order, and no problem', () => {
    fc.assert(
      fc.property(fc.json(), fc.boolean(), (text, valid) => {
        const seen: string[] = [];
        assert.equal(walkJsonText(text, { valid, onValue: (path) => void seen.push(JSON.stringify(path)) }), null);
        assert.deepEqual(seen, paths(JSON.parse(text)));
      }),
      { numRuns: 500 },
    );
  });

  test('finds a problem exactly when JSON.parse refuses the text (mutated JSON)', () => {
    fc.assert(
      fc.property(fc.json(), fc.nat(), fc.string({ maxLength: 3, unit: fc.constantFrom('{', '}', '[', ']', '"', '\\', ',', ':', '0', '-', '.', 'e', 't', ' ', '\n', '\u0001', 'u', 'x') }), fc.nat(3), (text, position, insert, remove) => {
        const at = position % (text.length + 1);
        const mutated = text.slice(0, at) + insert + text.slice(at + remove);
        const problem = walkJsonText(mutated);
        assert.equal(problem === null, parses(mutated), `${JSON.stringify(mutated)}: ${JSON.stringify(problem)}`);
      }),
      { numRuns: 3_000 },
    );
  });

  test('places the problem where the text stops being JSON', () => {
    assert.deepEqual(walkJsonText('{"a": [1, 2, {"b": tru}]}'), { offset: 19, message: 'unexpected character "t"', path: ['a', 2, 'b'] });
    assert.equal(walkJsonText('[1, 2')?.message, 'unexpected end of the text');
    assert.equal(walkJsonText('"a\u0001"')?.offset, 2);
    assert.equal(walkJsonText('[1] x')?.offset, 4);
  });

  test('refuses nesting past the limit and repeated keys, when asked', () => {
    assert.deepEqual(walkJsonText('[[[[1]]]]', { maxNesting: 3 }), { offset: 3, message: 'nested more than 3 levels deep', path: [0, 0, 0] });
    assert.equal(walkJsonText('[[[1]]]', { maxNesting: 3 }), null);
    assert.equal(walkJsonText('{"a": 1, "\\u0061": 2}', { uniqueKeys: true })?.message, 'the key "a" appears twice in one object');
    assert.equal(walkJsonText('{"a": 1, "a": 2}'), null);
    assert.equal(walkJsonText('[{"a": 1}, {"a": 2}]', { uniqueKeys: true }), null);
  });

  test('any depth is walked without recursion: 200,000 levels', { timeout: 10_000 }, () => {
    const depth = 200_000;
    assert.equal(walkJsonText('['.repeat(depth) + ']'.repeat(depth)), null);
    assert.equal(walkJsonText('['.repeat(depth) + ']'.repeat(depth - 1))?.message, 'unexpected end of the text');
  });

  test('linear in the number of keys of one object (a set, not pairwise comparison)', { timeout: 10_000 }, () => {
    const text = `{${Array.from({ length: 100_000 }, (_, index) => `"k${index}": ${index}`).join(',')}}`;
    assert.equal(walkJsonText(text, { uniqueKeys: true, valid: true }), null);
    assert.match(walkJsonText(`${text.slice(0, -1)}, "k99999": 0}`, { uniqueKeys: true })?.message ?? '', /"k99999" appears twice/);
  });
});

test('locateJsonPath finds the value, or the longest part of the path that exists', () => {
  const text = '{\n  "a": [1,\n    2, {"b": true}],\n  "c": null\n}';
  assert.deepEqual(lineAndColumn(text, locateJsonPath(text, ['a', 2, 'b']) ?? -1), { line: 3, column: 14 });
  assert.deepEqual(lineAndColumn(text, locateJsonPath(text, ['a', 2, 'missing']) ?? -1), { line: 3, column: 8 });
  assert.deepEqual(lineAndColumn(text, locateJsonPath(text, ['c']) ?? -1), { line: 4, column: 8 });
  assert.equal(locateJsonPath(text, ['nothing']), 0);
});
