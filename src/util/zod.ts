/**
 * zod as eoplock uses it: every module that makes schemas imports it from here. Each schema parses a document or two
 * per command (a snapshot, a profile, a scenario file), so zod's JIT, which compiles a parser with `new Function` on a
 * schema's first parse, costs more than it saves: about 10 ms of every command's start on the bundled snapshot, and
 * no faster on a second parse. Without it, no code is made from strings either.
 */
import * as z from 'zod';

z.config({ jitless: true });

export { z };
