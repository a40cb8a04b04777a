/**
 * JSON or YAML data files validated with a zod schema. YAML is a superset of JSON, so one parser serves both and
 * gives line numbers for both. Errors name the file, the path and the line.
 */
import { LineCounter, isNode, parseDocument } from 'yaml';
import type { z } from 'zod';
import { InputError, formatPath } from '../errors.js';

export function parseDataFile<Schema extends z.ZodType>(text: string, schema: Schema, file?: string): z.output<Schema> {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineOf = (offset: number | undefined): string | undefined => {
    if (offset === undefined) return undefined;
    const { line, col } = lineCounter.linePos(offset);
    return `line ${line}, column ${col}`;
  };
  if (document.errors.length > 0) {
    const error = document.errors[0];
    throw new InputError(`not valid YAML or JSON: ${error?.message.split('\n')[0] ?? 'parse error'}`, {
      file,
      where: lineOf(error?.pos[0]),
    });
  }
  const parsed = schema.safeParse(document.toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = (issue?.path ?? []) as (string | number)[];
    let node: unknown = document.getIn(path, true);
    for (let depth = path.length - 1; !isNode(node) && depth >= 0; depth--) node = document.getIn(path.slice(0, depth), true);
    const line = isNode(node) ? lineOf(node.range?.[0]) : undefined;
    throw new InputError(issue?.message ?? 'invalid file', { file, where: `${formatPath(path)}${line ? ` (${line})` : ''}` });
  }
  return parsed.data;
}
