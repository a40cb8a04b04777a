/**
 * Builds the row-key kernel (wasm/row-keys.ts, AssemblyScript) into dist/trace/row-keys.wasm, where
 * src/trace/row-kernel.ts loads it from (`npm run build` runs this after tsc). SIMD is on: Node 20's V8 has it.
 */
import asc from 'assemblyscript/asc';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
await mkdir(`${root}dist/trace`, { recursive: true });
const { error, stderr } = await asc.main(
  ['wasm/row-keys.ts', '--optimizeLevel', '3', '--runtime', 'stub', '--enable', 'simd', '--noAssert', '--outFile', 'dist/trace/row-keys.wasm'],
  { stdout: process.stdout, stderr: process.stderr, baseDir: root },
);
if (error) {
  console.error(`building wasm/row-keys.ts failed: ${error.message}\n${stderr.toString()}`);
  process.exit(1);
}
