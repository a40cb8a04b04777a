/**
 * Worker threads on a module of the project (the class search's, the message-trace reader's). The same module is
 * TypeScript under tsx (the tests) and JavaScript when built; the CLI bundle, two levels below the package root like
 * dist/cli/, finds the built module in dist/.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, type ResourceLimits } from 'node:worker_threads';

/**
 * The worker module `name` in the source folder `folder` (`prove`, `trace`): `../<folder>/<name>.ts` from here under
 * tsx, `.js` when built (from dist/util/), the worker's bundle `<name>.js` from the CLI bundle's chunk in
 * dist/cli-bundle/ (else `../<folder>/<name>.js` from there); null when it is not there.
 */
export function workerModule(folder: string, name: string): URL | null {
  const here = import.meta.url;
  // From the CLI bundle: the worker's own bundle beside it (scripts/bundle-cli.mjs), which loads far fewer files.
  if (/\/cli-bundle\/[^/]*$/.test(here)) {
    const bundled = new URL(`./${name}.js`, here);
    if (existsSync(fileURLToPath(bundled))) return bundled;
  }
  const url = new URL(`../${folder}/${name}.${here.endsWith('.ts') ? 'ts' : 'js'}`, here);
  return existsSync(fileURLToPath(url)) ? url : null;
}

/** Starts a worker on `module`: a TypeScript module needs tsx's loader registered in the worker too. */
export function startWorker(module: URL, workerData: unknown, resourceLimits: ResourceLimits): Worker {
  const source = module.pathname.endsWith('.ts')
    ? `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(module.href)}); })`
    : module;
  return new Worker(source, { eval: typeof source === 'string', workerData, execArgv: [], resourceLimits });
}
