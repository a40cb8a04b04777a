#!/usr/bin/env node
// The eoplock command. It runs dist/cli-bundle/ (built by `npm run build`, which `npm ci` runs through `prepare`:
// tsc, then scripts/bundle-cli.mjs, which says why the command line is bundled).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli-bundle/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('eoplock: error: dist/ is missing; run "npm run build" (or "npm ci") in the eoplock folder first\n');
  process.exit(2);
}
// A closed pipe (`eoplock … | head`) ends output quietly instead of crashing.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
