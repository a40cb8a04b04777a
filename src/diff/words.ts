/**
 * Word-level differences between two texts (TXT records, rule texts, reject reasons), so that a long value is shown
 * whole with the changed words marked instead of cut off. Pure.
 *
 * The alignment is jsdiff's (`diff`, Myers' O(ND) algorithm over the words and the whitespace between them), with
 * its edit length bounded; {@link diffWords} is exact: the pieces put back together give both texts unchanged.
 */
import { diffArrays } from 'diff';

/** Text both sides share, or a run where the before side had `removed` and the after side has `added`. */
export type WordPiece = { kind: 'same'; text: string } | { kind: 'changed'; removed: string; added: string };

/**
 * Above this many edits (words removed plus words added, once the shared start and end are set aside) the middle is
 * reported as one changed run instead of being aligned word by word: Myers' algorithm takes time proportional to the
 * words times the edits, and no real record or rule text comes near it (a 255-character TXT string has at most 128
 * words).
 */
export const MAX_ALIGNED_EDITS = 2_000;

/** Words and the whitespace between them, in order; joined they give the text back. */
export function words(text: string): string[] {
  return text.match(/\s+|\S+/g) ?? [];
}

export function diffWords(before: string, after: string): WordPiece[] {
  const left = words(before);
  const right = words(after);
  let start = 0;
  while (start < left.length && start < right.length && left[start] === right[start]) start++;
  let endLeft = left.length;
  let endRight = right.length;
  while (endLeft > start && endRight > start && left[endLeft - 1] === right[endRight - 1]) {
    endLeft--;
    endRight--;
  }
  const ops: { kind: 'same' | 'removed' | 'added'; text: string }[] = [];
  for (let index = 0; index < start; index++) ops.push({ kind: 'same', text: left[index] as string });
  alignMiddle(left.slice(start, endLeft), right.slice(start, endRight), ops);
  for (let index = endLeft; index < left.length; index++) ops.push({ kind: 'same', text: left[index] as string });
  return group(ops);
}

/** The two word lists aligned (jsdiff), as same/removed/added operations (removed first in a run). */
function alignMiddle(left: string[], right: string[], ops: { kind: 'same' | 'removed' | 'added'; text: string }[]): void {
  const changes = left.length === 0 || right.length === 0 ? undefined : diffArrays(left, right, { maxEditLength: MAX_ALIGNED_EDITS });
  if (!changes) {
    for (const text of left) ops.push({ kind: 'removed', text });
    for (const text of right) ops.push({ kind: 'added', text });
    return;
  }
  for (const change of changes) {
    const kind = change.added ? 'added' : change.removed ? 'removed' : 'same';
    for (const text of change.value) ops.push({ kind, text });
  }
}

/**
 * Operations into pieces: consecutive changes become one run, and whitespace alone between two changes joins them
 * (`[-a b-]{+x y+}` reads better than `[-a-]{+x+} [-b-]{+y+}`).
 */
function group(ops: { kind: 'same' | 'removed' | 'added'; text: string }[]): WordPiece[] {
  const pieces: WordPiece[] = [];
  let removed = '';
  let added = '';
  let changing = false;
  const flush = () => {
    if (changing) pieces.push({ kind: 'changed', removed, added });
    removed = '';
    added = '';
    changing = false;
  };
  for (let index = 0; index < ops.length; index++) {
    const op = ops[index] as (typeof ops)[number];
    if (op.kind === 'same') {
      const next = ops[index + 1];
      if (changing && next !== undefined && next.kind !== 'same' && /^\s+$/.test(op.text)) {
        removed += op.text;
        added += op.text;
        continue;
      }
      flush();
      const last = pieces[pieces.length - 1];
      if (last?.kind === 'same') last.text += op.text;
      else pieces.push({ kind: 'same', text: op.text });
      continue;
    }
    changing = true;
    if (op.kind === 'removed') removed += op.text;
    else added += op.text;
  }
  flush();
  return pieces;
}

/** How much of the two texts is shared, from 0 (nothing) to 1 (equal), by characters of the shared words. */
export function similarity(before: string, after: string): number {
  if (before.length + after.length === 0) return 1;
  let shared = 0;
  for (const piece of diffWords(before, after)) if (piece.kind === 'same') shared += piece.text.length;
  return (2 * shared) / (before.length + after.length);
}
