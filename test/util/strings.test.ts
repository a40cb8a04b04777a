/**
 * own(): the same string, which does not keep the larger string it was cut from alive (the trace reader keeps fields
 * of large chunks of text beyond the chunk). Memory is measured after a full collection, against the cut strings kept
 * as they are (which do keep their chunks: the measurement can tell).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { own } from '../../src/util/strings.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap growth (MB) from keeping `keep` of a 20-character slice of each of 40 strings of 4 MB. */
function retained(keep: (slice: string) => string): number {
  gc();
  const before = process.memoryUsage().heapUsed;
  const kept: string[] = [];
  for (let k = 0; k < 40; k++) {
    const chunk = `${String(k).repeat(4_000_000 / String(k).length)}scanner@contoso.com,192.0.2.25`;
    kept.push(keep(chunk.slice(4_000_000 - 5, 4_000_000 + 15)));
  }
  gc();
  const growth = (process.memoryUsage().heapUsed - before) / 1e6;
  assert.equal(kept.length, 40);
  return growth;
}

describe('own', () => {
  test('is the same text, short or long, any characters', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (text) => assert.equal(own(text), text)));
    for (const text of ['', 'a', '192.0.2.25', 'x'.repeat(12), 'x'.repeat(13), 'ümlaut@bücher.example', '\u{1F600}'.repeat(20)]) assert.equal(own(text), text);
  });

  test('is one flat string: a 20-character copy costs its own bytes, not a slice and the copy it points into', () => {
    const big = 'recipient@contoso.example,'.repeat(4000);
    /** Heap bytes per kept copy of 20-character slices of `big`, made by `copy`. */
    const perCopy = (copy: (text: string) => string): number => {
      gc();
      const before = getHeapStatistics().used_heap_size;
      const copies = Array.from({ length: 50_000 }, (_, k) => copy(big.slice(k, k + 20)));
      gc();
      assert.equal(copies[3], big.slice(3, 23));
      return (getHeapStatistics().used_heap_size - before) / copies.length;
    };
    // A flat string of 20 one-byte characters is 40 bytes and its slot in the list 8; a slice (32 bytes) of a copy one
    // character longer (40 more) is 80. Measured side by side, so that what else the heap does weighs on both.
    const owned = perCopy(own);
    const sliced = perCopy((text) => `${text} `.slice(0, -1));
    assert.ok(owned + 20 < sliced, `own() ${owned.toFixed(0)} bytes a copy, a slice of a copy ${sliced.toFixed(0)}`);
  });

  test('keeps no larger string alive (the slices kept as they are do)', () => {
    const asCut = retained((slice) => slice);
    const owned = retained(own);
    assert.ok(asCut > 100, `the measurement tells: the slices kept ${asCut.toFixed(0)} MB`);
    assert.ok(owned < 5, `own() kept ${owned.toFixed(1)} MB`);
  });
});
