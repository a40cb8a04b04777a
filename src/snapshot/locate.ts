/**
 * Where a JSON path lies in a snapshot file (its line), for reports that point into files (SARIF). One walk over the
 * text records where each value starts (iterative and linear: see walkJsonText); paths are then looked up. Paths
 * name the normalised document; where the file held a single object that was wrapped in an array, the `[0]` is
 * skipped.
 */
import { parsePath } from '../errors.js';
import { walkJsonText, type JsonPathSegment } from '../util/json-text.js';

/** Values deeper than this are not indexed: findings point at properties of cmdlet objects, a few levels down. */
const INDEXED_DEPTH = 8;

const keyOf = (path: readonly JsonPathSegment[]) => path.map((segment) => (typeof segment === 'number' ? `[${segment}]` : `.${JSON.stringify(segment)}`)).join('');

export function lineLocator(text: string): (path: string) => number {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const starts = new Map<string, number>();
  walkJsonText(body, {
    onValue: (path, offset) => {
      if (path.length <= INDEXED_DEPTH) starts.set(keyOf(path), offset);
    },
  });
  // Lines are counted once, in order of offset, rather than from the start of the text for each lookup.
  const newlines: number[] = [];
  for (let at = body.indexOf('\n'); at !== -1; at = body.indexOf('\n', at + 1)) newlines.push(at);
  const lineOf = (offset: number): number => {
    let low = 0;
    let high = newlines.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((newlines[middle] as number) < offset) low = middle + 1;
      else high = middle;
    }
    return low + 1;
  };
  return (path) => {
    const segments = parsePath(path);
    for (let length = Math.min(segments.length, INDEXED_DEPTH + 1); length > 0; length--) {
      const prefix = segments.slice(0, length);
      for (const candidate of [prefix, prefix.filter((segment, index) => !(index === 1 && segment === 0))]) {
        const offset = starts.get(keyOf(candidate));
        if (offset !== undefined) return lineOf(offset);
      }
    }
    return 1;
  };
}
