/**
 * Where a JSON path lies in a snapshot file (its line), for reports that point into files (SARIF). JSON is YAML, so
 * the YAML parser's source ranges serve. Paths name the normalised document; where the file held a single object
 * that was wrapped in an array, the `[0]` is skipped.
 */
import { LineCounter, isNode, parseDocument } from 'yaml';
import { parsePath } from '../errors.js';

export function lineLocator(text: string): (path: string) => number {
  const lineCounter = new LineCounter();
  const document = parseDocument(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, { lineCounter, prettyErrors: false });
  return (path) => {
    const segments = parsePath(path);
    for (let length = segments.length; length > 0; length--) {
      const prefix = segments.slice(0, length);
      for (const candidate of [prefix, prefix.filter((segment, index) => !(index === 1 && segment === 0))]) {
        const node: unknown = document.getIn(candidate, true);
        if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
      }
    }
    return 1;
  };
}
