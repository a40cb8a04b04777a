/**
 * Bundles the command line for a fast start: `npm run build` runs tsc (dist/, the library and its types) and then this
 * script, which writes dist/cli-bundle/ from dist/cli/main.js with esbuild. bin/eoplock.js runs the bundle.
 *
 * Why: Node's ESM loader pays for every file it resolves, reads and compiles. The command line is about 150 project
 * modules, and `zod` alone loads about 160 files, 128 of them error-message translations eoplock never uses. Bundled,
 * a single `eoplock audit` starts in about two thirds of the time (bench/cli.ts measures it; bench/README.md has the
 * figures).
 *
 * - Code splitting keeps the lazy loading of src/cli/main.ts: each command's import() becomes its own chunk, so
 *   `--version` and `--help` still load no command, and MSAL, SMTP, mailauth, Chart.js… load only where used.
 * - Only small, pure packages on the common path are bundled (INLINE below); every other package stays external and
 *   is loaded from node_modules as before (several read their own files relative to themselves).
 * - commander's top-level `require('node:child_process')` (for executable subcommands, which eoplock has none of)
 *   becomes a load on first use.
 * - zod's `locales` (an index of every language's error messages) is replaced by English alone: eoplock writes its
 *   own messages and never selects a zod locale. `z.locales.en` stays; no other language is reachable.
 * - The bundle sits two levels below the package root, like dist/cli/, so paths the sources resolve from
 *   `import.meta.url` (`../../package.json`, `../../examples/`, `../../scripts/`) still point where they did.
 */
import { build } from 'esbuild';
import { readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = join(root, 'dist', 'cli', 'main.js');
const outdir = join(root, 'dist', 'cli-bundle');
/** Packages compiled into the bundle: pure JavaScript, no files of their own, loaded by the common commands. */
const INLINE = new Set(['zod', 'commander', 'ipaddr.js']);

/** The package a bare import names (`zod/v4/core` → `zod`, `@azure/msal-node` → `@azure/msal-node`). */
const packageOf = (specifier) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');

/** @type {import('esbuild').Plugin} */
const packages = {
  name: 'eoplock-packages',
  setup(context) {
    context.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('node:') || !INLINE.has(packageOf(args.path))) return { path: args.path, external: true };
      return undefined;
    });
    // commander requires node:child_process at the top of lib/command.js for executable subcommands (`git-style`
    // commands in separate files), which eoplock does not have. Loading it (and node:net, streams…) costs about 3 ms on
    // every start, `--version` included: it is loaded on first use instead. The build fails if the line changes.
    context.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, async (args) => {
      const line = "const childProcess = require('node:child_process');";
      const source = await readFile(args.path, 'utf8');
      if (!source.includes(line)) throw new Error(`bundle-cli: ${args.path} no longer has the line ${line}`);
      const lazy = "const childProcess = { spawn: (...rest) => require('node:child_process').spawn(...rest) };";
      return { contents: source.replace(line, lazy), loader: 'js' };
    });
    context.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(join(dirname(args.path), 'en.js'))};\n`,
      loader: 'js',
    }));
  },
};

await rm(outdir, { recursive: true, force: true });
const result = await build({
  // The worker threads' modules too (the message-trace reader's, the class search's): a worker loads its bundle and the
  // chunks it shares with the command, not the ~100 modules of dist/ one by one (src/util/workers.ts finds them).
  entryPoints: { main: entry, 'read-worker': join(root, 'dist', 'trace', 'read-worker.js'), 'search-worker': join(root, 'dist', 'prove', 'search-worker.js') },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  plugins: [packages],
  // commander is CommonJS: its require() calls of Node's modules need a real require in an ES module.
  banner: { js: "import { createRequire as __eoplockCreateRequire } from 'node:module'; const require = __eoplockCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
if (result.errors.length > 0 || result.warnings.length > 0) {
  process.stderr.write(`bundle-cli: ${result.errors.length} errors, ${result.warnings.length} warnings\n`);
  process.exit(1);
}
