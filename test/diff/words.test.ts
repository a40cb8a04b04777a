/**
 * The word diff is exact (both texts come back from its pieces) and marks only what changed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { diffWords, MAX_ALIGNED_EDITS, similarity, type WordPiece } from '../../src/diff/words.js';

const beforeText = (pieces: WordPiece[]) => pieces.map((piece) => (piece.kind === 'same' ? piece.text : piece.removed)).join('');
const afterText = (pieces: WordPiece[]) => pieces.map((piece) => (piece.kind === 'same' ? piece.text : piece.added)).join('');

test('the pieces give both texts back, and no two neighbours are both shared text', () => {
  const word = fc.constantFrom('a', 'b', 'c', 'v=spf1', '~all', '-all', 'include:x', ' ', '  ', '\t', 'p=none;');
  const text = fc.array(word, { maxLength: 30 }).map((parts) => parts.join(''));
  fc.assert(
    fc.property(text, text, (before, after) => {
      const pieces = diffWords(before, after);
      assert.equal(beforeText(pieces), before);
      assert.equal(afterText(pieces), after);
      for (let index = 1; index < pieces.length; index++) assert.ok(!(pieces[index - 1]?.kind === 'same' && pieces[index]?.kind === 'same'));
      for (const piece of pieces) if (piece.kind === 'changed') assert.ok(piece.removed !== '' || piece.added !== '');
      if (before === after) assert.ok(pieces.every((piece) => piece.kind === 'same'));
    }),
    { numRuns: 500 },
  );
});

test('one changed word is the only change', () => {
  assert.deepEqual(diffWords('v=spf1 ip4:192.0.2.25 ~all', 'v=spf1 ip4:192.0.2.25 -all'), [
    { kind: 'same', text: 'v=spf1 ip4:192.0.2.25 ' },
    { kind: 'changed', removed: '~all', added: '-all' },
  ]);
  assert.deepEqual(diffWords('a b c', 'a x y c'), [
    { kind: 'same', text: 'a ' },
    { kind: 'changed', removed: 'b', added: 'x y' },
    { kind: 'same', text: ' c' },
  ]);
});

test('texts too long to align still come back exactly, as one changed run in the middle', () => {
  const count = MAX_ALIGNED_EDITS + 10;
  const before = ['start', ...Array.from({ length: count }, (_, index) => `a${index}`), 'end'].join(' ');
  const after = ['start', ...Array.from({ length: count }, (_, index) => `b${index}`), 'end'].join(' ');
  const pieces = diffWords(before, after);
  assert.equal(beforeText(pieces), before);
  assert.equal(afterText(pieces), after);
  assert.equal(pieces.filter((piece) => piece.kind === 'changed').length, 1);
});

test('similarity: 1 for equal texts, 0 for nothing shared', () => {
  assert.equal(similarity('v=spf1 -all', 'v=spf1 -all'), 1);
  assert.equal(similarity('MS=ms1', 'v=spf1 -all'), 0);
  assert.ok(similarity('v=spf1 include:a include:b ~all', 'v=spf1 include:a include:b -all') > 0.5);
});
