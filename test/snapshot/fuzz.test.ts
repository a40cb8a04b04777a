/**
 * Fuzzing the snapshot format through the CLI: the example snapshots with values replaced by hostile ones (deep
 * nesting, wrong types, control characters, huge numbers, `/Date(…)/` strings, truncation markers, repeated keys).
 * `audit` and `plan` must end with exit 0, 1 or 2, print no stack trace, report a failure as one line naming the
 * file, and write no --out on exit 2.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { cli, tempFolder } from '../helpers/cli.js';

const { file, path: folder } = tempFolder('eoplock-snapshot-fuzz-');
const examples = await Promise.all(['exposed', 'partial', 'locked'].map(async (name) => JSON.parse(await readFile(`examples/contoso-${name}.json`, 'utf8')) as unknown));

/** Every path in a document down to `depth` levels, for choosing what to replace. */
function pathsOf(value: unknown, depth = 4, path: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (path.length > 0) out.push(path);
  if (path.length >= depth) return out;
  if (Array.isArray(value)) value.forEach((item, index) => pathsOf(item, depth, [...path, index], out));
  else if (value !== null && typeof value === 'object') for (const [key, item] of Object.entries(value)) pathsOf(item, depth, [...path, key], out);
  return out;
}
const paths = examples.map((example) => pathsOf(example));

/** Raw JSON text for values JSON.stringify cannot write: it stands in the document as a marker string. */
const raw = (text: string) => ({ raw: text });

const hostileValue = fc.oneof(
  fc.nat(3_000).map((depth) => raw(`${'['.repeat(depth)}${']'.repeat(depth)}`)),
  fc.nat(200).map((depth) => raw(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`)),
  fc.constantFrom(raw('1e400'), raw('-1e400'), raw('123456789012345678901234567890'), raw('-0'), raw('{"a": 1, "a": [2]}'), raw('{"__proto__": {"Name": "x"}}')),
  fc.constantFrom(null, true, false, 0, -1, 1.5, 2 ** 53 + 1, '', 'x', [], {}, [null], [{ x: 1 }, 7], [['a']], { x: 1 }),
  fc.constantFrom('/Date(8640000000000001)/', '/Date(-8640000000000001)/', '/Date(abc)/', '/Date(1e400)/', '/Date()/', '/Date(1700000000000)/', '/Date(1700000000000+0100)/'),
  fc.constantFrom('System.Object[]', '@{Name=x}', 'Microsoft.Exchange.Data.MultiValuedProperty`1[System.String]', 'Deserialized.System.Object'),
  fc.string({ maxLength: 20, unit: fc.constantFrom('\u0000', '\u001b', '\r', '\n', '\u2028', '\u202e', '\u0085', "'", '"', '`', '$', ';', ',', ' ', 'a', '*', '.', '1') }),
  fc.array(fc.string({ maxLength: 8, unit: fc.constantFrom('\u0000', '\n', ',', ' ', 'a', '1', '.', '/', ':', '*') }), { maxLength: 3 }),
  fc.jsonValue({ maxDepth: 3 }),
);

/** Replaces the value at `path` (a copy of the document is changed). */
function setAt(document: unknown, path: readonly (string | number)[], value: unknown): void {
  let target = document as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) target = target[key] as Record<string | number, unknown>;
  target[path.at(-1) as string | number] = value;
}

test('fuzz: hostile snapshots never crash audit or plan', { timeout: 120_000 }, async () => {
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.nat(examples.length - 1),
      fc.array(fc.tuple(fc.nat(), hostileValue), { minLength: 1, maxLength: 3 }),
      fc.option(fc.tuple(fc.nat(), fc.constantFrom('"Name": 1, ', '"Enabled": "x", ', '"RejectDirectSend": null, ', '"Priority": 1e400, '))),
      fc.constantFrom('audit', 'audit-sarif', 'plan'),
      async (which, mutations, duplicate, command) => {
        const document = structuredClone(examples[which]);
        const choices = paths[which] as (string | number)[][];
        const rawTexts: string[] = [];
        for (const [pick, value] of mutations) {
          const path = choices[pick % choices.length] as (string | number)[];
          const isRaw = value !== null && typeof value === 'object' && 'raw' in value && typeof value.raw === 'string';
          try {
            setAt(document, path, isRaw ? `\u0000raw${rawTexts.push(value.raw as string) - 1}` : value);
          } catch {
            // The path went through a value an earlier mutation replaced.
          }
        }
        let text = JSON.stringify(document, null, 2).replace(/"\\u0000raw(\d+)"/g, (_, index: string) => rawTexts[Number(index)] as string);
        if (duplicate) {
          // A key the object already has, written again before the others: JSON.parse keeps the last.
          const [pick, insert] = duplicate;
          const braces = [...text.matchAll(/\{\n/g)].map((match) => match.index);
          const at = braces[pick % braces.length];
          if (at !== undefined) text = `${text.slice(0, at + 2)}${insert}${text.slice(at + 2)}`;
        }
        run++;
        const snapshot = await file(`snapshot-${run}.json`, text);
        const out = join(folder(), `out-${run}`);
        const argv =
          command === 'plan'
            ? ['plan', snapshot, '--out', out]
            : ['audit', snapshot, '--format', command === 'audit' ? 'json' : 'sarif', '--out', out];
        const result = await cli(...argv);
        assert.ok([0, 1, 2].includes(result.code), `exit ${result.code}: ${result.stderr}`);
        assert.doesNotMatch(result.stderr, /^ {4}at |internal error/m, result.stderr);
        if (result.code === 2) {
          assert.equal(existsSync(out), false, 'no --out on exit 2');
          assert.match(result.stderr, /^eoplock: error: [^\n]*\n$/, result.stderr);
          assert.ok(result.stderr.includes(snapshot), result.stderr);
        }
      },
    ),
    { numRuns: 60, seed: 20_260_513 },
  );
});
