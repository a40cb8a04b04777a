/**
 * A snapshot's first parse goes without zod's JIT (src/util/zod.ts): no code made from strings (`new Function`), and
 * zod's process-wide settings left as they were (a library's host may use zod too). In a file of its own: zod compiles
 * a schema's parser on its first parse in a process, and this test must be that first parse.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { parseSnapshot } from '../../src/snapshot/parse.js';

test('a first snapshot is parsed without code made from strings, and zod is not set for the whole process', async () => {
  const text = await readFile('examples/contoso-exposed.json', 'utf8');
  const made: unknown[][] = [];
  const original = globalThis.Function;
  globalThis.Function = new Proxy(original, {
    construct(target, args: unknown[]) {
      made.push(args);
      return Reflect.construct(target, args) as object;
    },
  });
  let parsed: ReturnType<typeof parseSnapshot>;
  try {
    parsed = parseSnapshot(JSON.parse(text));
  } finally {
    globalThis.Function = original;
  }
  assert.ok(parsed.snapshot.InboundConnector.length > 0, 'the snapshot was parsed');
  assert.equal(made.length, 0, `code made from strings: ${made.length}`);
  assert.notEqual((globalThis as { __zod_globalConfig?: { jitless?: boolean } }).__zod_globalConfig?.jitless, true);
});
