/**
 * Regenerates the example plans committed under examples/plans/ (the golden files test/plan/golden.test.ts compares
 * with). Run after a deliberate change to the plan output:  npm run golden
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { GOLDEN_PLANS, goldenFiles } from '../test/plan/golden-cases.js';

for (const example of GOLDEN_PLANS) {
  const folder = join('examples', 'plans', example.name);
  await rm(folder, { recursive: true, force: true });
  for (const [name, content] of Object.entries(await goldenFiles(example))) {
    await mkdir(dirname(join(folder, name)), { recursive: true });
    await writeFile(join(folder, name), content);
  }
  console.log(`wrote ${folder}`);
}
