/**
 * Benchmark: how long the eoplock command takes to start and finish, as whole processes through `node bin/eoplock.js`
 * (the built and bundled dist/cli-bundle/, as a user runs it): `--version`, a single `audit`, and `simulate --corpus builtin`.
 *
 * Peer, in the same run and interleaved with them: `node -e 0`, bare Node's start. Goals: `--version` within 2.5× of
 * bare Node; a single audit under 0.25 s median.
 *
 * Also counts the files each command loads (project modules and node_modules, through a module loader hook, in one
 * extra untimed run each); `--list` prints them.
 *
 *   npm run bench:cli                      # 15 runs of each, median; builds dist/ first when src/ is newer
 *   npm run bench:cli -- --runs 30 --list
 *   npm run bench:cli -- --bin /elsewhere/eoplock/bin/eoplock.js   # time another build (e.g. an older checkout)
 *   npm run bench:cli -- --against /elsewhere/eoplock/bin/eoplock.js   # and another build in the same, interleaved run
 *
 * On a shared machine the spread between runs is larger than most changes: compare builds with --against (each
 * round runs every command of both builds), not across separate runs.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '15' }, list: { type: 'boolean', default: false }, bin: { type: 'string' }, against: { type: 'string' } },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: expected a whole number of at least 1, got ${values.runs}`);
const root = fileURLToPath(new URL('..', import.meta.url));
const bin = values.bin ? resolve(values.bin) : join(root, 'bin', 'eoplock.js');

/** The newest modification time of the .ts files under `dir`. */
function newest(dir: string): number {
  let time = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts')) time = Math.max(time, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return time;
}

// bin/eoplock.js runs dist/cli-bundle/: build it when it is missing or older than src/.
if (!values.bin) {
  const entry = join(root, 'dist', 'cli-bundle', 'main.js');
  if (!existsSync(entry) || statSync(entry).mtimeMs < newest(join(root, 'src'))) {
    console.log('dist/ is missing or older than src/: npm run build');
    const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
    if (build.status !== 0) throw new Error(`npm run build failed (exit ${build.status})`);
  }
}

interface Case {
  name: string;
  args: string[];
  /** Exit codes that mean the command ran as it should (1: findings). */
  codes: number[];
}
const cases: Case[] = [
  { name: 'node -e 0', args: ['-e', '0'], codes: [0] },
  { name: 'eoplock --version', args: [bin, '--version'], codes: [0] },
  { name: 'eoplock audit examples/contoso-exposed.json', args: [bin, 'audit', 'examples/contoso-exposed.json'], codes: [0, 1] },
  { name: 'eoplock simulate examples/contoso-locked.json --corpus builtin', args: [bin, 'simulate', 'examples/contoso-locked.json', '--corpus', 'builtin'], codes: [0, 1] },
];
// --against: the same commands through another build, in the same rounds (the goals stay those of the first build).
const against = values.against ? resolve(values.against) : null;
if (against) {
  if (!existsSync(against)) throw new Error(`--against: no such file ${against}`);
  for (const entry of cases.slice(1)) cases.push({ name: `${entry.name} [against]`, args: [against, ...entry.args.slice(1)], codes: entry.codes });
}

function run(args: readonly string[], env: NodeJS.ProcessEnv = process.env): { seconds: number; status: number | null; stderr: string } {
  const start = performance.now();
  const result = spawnSync(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  return { seconds: (performance.now() - start) / 1000, status: result.status, stderr: result.stderr };
}

const median = (numbers: readonly number[]) => {
  const sorted = [...numbers].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

// The files a command loads: an ESM load hook (in the loader thread) and CommonJS's Module._load, each appending the
// file to a list named by an environment variable.
const work = mkdtempSync(join(tmpdir(), 'eoplock-bench-cli-'));
try {
  writeFileSync(
    join(work, 'hooks.mjs'),
    `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  if (url.startsWith('file:')) appendFileSync(process.env.EOPLOCK_BENCH_LOADS, url + '\\n');
  return next(url, context);
}
`,
  );
  writeFileSync(
    join(work, 'register.mjs'),
    `import { appendFileSync } from 'node:fs';
import Module, { register } from 'node:module';
import { pathToFileURL } from 'node:url';
register(${JSON.stringify(pathToFileURL(join(work, 'hooks.mjs')).href)});
const load = Module._load;
Module._load = function (request, parent, isMain) {
  const exports = load.apply(this, arguments);
  try {
    const file = Module._resolveFilename(request, parent, isMain);
    if (file.startsWith('/')) appendFileSync(process.env.EOPLOCK_BENCH_LOADS, pathToFileURL(file).href + '\\n');
  } catch {}
  return exports;
};
`,
  );
  const loaded = (args: readonly string[]): string[] => {
    const list = join(work, 'loads.txt');
    writeFileSync(list, '');
    const result = run(['--import', pathToFileURL(join(work, 'register.mjs')).href, ...args], { ...process.env, EOPLOCK_BENCH_LOADS: list });
    if (result.status === null) throw new Error(`${args.join(' ')}: no exit code`);
    const hook = pathToFileURL(work).href;
    return [...new Set(readFileSync(list, 'utf8').split('\n').filter((url) => url !== '' && !url.startsWith(hook)))].map((url) => relative(root, fileURLToPath(url)));
  };

  console.log(`node ${process.version}, ${runs} runs of each command (interleaved), ${bin === join(root, 'bin', 'eoplock.js') ? 'bin/eoplock.js' : bin}${against ? `; [against]: ${against}` : ''}`);
  const times = cases.map(() => [] as number[]);
  run(cases[1]?.args ?? []); // warm the file cache once
  for (let round = 0; round < runs; round++) {
    cases.forEach((entry, index) => {
      const result = run(entry.args);
      if (result.status === null || !entry.codes.includes(result.status)) {
        throw new Error(`${entry.name}: exit ${result.status}, expected ${entry.codes.join(' or ')}\n${result.stderr}`);
      }
      times[index]?.push(result.seconds);
    });
  }

  const medians = times.map(median);
  const peer = medians[0] as number;
  const width = Math.max(...cases.map((entry) => entry.name.length));
  for (const [index, entry] of cases.entries()) {
    const files = index === 0 ? [] : loaded(entry.args);
    const packages = new Set(files.filter((file) => file.includes('node_modules/')).map((file) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1]));
    const counts = index === 0 ? '' : `  ${String(files.length).padStart(4)} files loaded (${packages.size} packages)`;
    const all = times[index] as number[];
    console.log(
      `${entry.name.padEnd(width)}  median ${(medians[index] as number).toFixed(3)} s  (min ${Math.min(...all).toFixed(3)}, max ${Math.max(...all).toFixed(3)})  ${((medians[index] as number) / peer).toFixed(2)}× node -e 0${counts}`,
    );
    if (values.list && files.length > 0) for (const file of files) console.log(`    ${file}`);
  }
  const version = (medians[1] as number) / peer;
  const audit = medians[2] as number;
  console.log(`goal --version within 2.5× of node -e 0: ${version.toFixed(2)}× (${version <= 2.5 ? 'met' : 'NOT met'})`);
  console.log(`goal single audit under 0.25 s median: ${audit.toFixed(3)} s (${audit < 0.25 ? 'met' : 'NOT met'})`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
