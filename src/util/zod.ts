/**
 * How eoplock parses with zod. On a schema's first parse, zod compiles a parser for it with `new Function` (its JIT):
 * for a command that parses one document per schema (a snapshot, a profile, a scenario file) that costs more than it
 * saves (4 to 9 ms of every start on the bundled snapshot, measured: bench/README.md). So a schema's first parse in the
 * process goes without it, and the parses after it (an audit of many snapshots) have it, each a little faster. Per
 * parse, not through `z.config`, which would set every zod in the process, a library's host included.
 */
import type { $ZodIssue, ParseContext } from 'zod/v4/core';

const WITHOUT_JIT: ParseContext<$ZodIssue> = Object.freeze({ jitless: true });
/** Schemas that have parsed a document already. */
const parsedBefore = new WeakSet<object>();

/** The options of a parse with `schema`: without zod's JIT the first time, with it after. */
export function parseOptions(schema: object): ParseContext<$ZodIssue> | undefined {
  if (parsedBefore.has(schema)) return undefined;
  parsedBefore.add(schema);
  return WITHOUT_JIT;
}
