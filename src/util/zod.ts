/**
 * How eoplock parses with zod: every document once (a snapshot, a profile, a scenario file), so without zod's JIT,
 * which compiles a parser with `new Function` on a schema's first parse and costs more than it saves here (about 10 ms
 * of every command's start on the bundled snapshot, and no faster on a second parse). Per parse, not through
 * `z.config`: that setting is global to every zod in the process, a library's host included.
 */
import type { ParseContext } from 'zod/v4/core';

export const PARSE_ONCE = Object.freeze({ jitless: true } as const satisfies ParseContext<never>);
