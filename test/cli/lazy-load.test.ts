/**
 * What each command loads: the command line defines every command eagerly (so --help lists them all) and loads a
 * command's code, and the libraries it needs, only when that command runs. Each case runs the CLI in its own process
 * with a module loader hook that lists every file loaded (ESM and CommonJS), then checks which of eoplock's
 * dependencies were among them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { tempFolder } from '../helpers/cli.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const temp = tempFolder('eoplock-lazy-');
const dependencies = Object.keys((JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies);

let registered: string | null = null;
async function register(): Promise<string> {
  if (registered) return registered;
  const hooks = await temp.file(
    'hooks.mjs',
    `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  if (url.startsWith('file:')) appendFileSync(process.env.EOPLOCK_TEST_LOADS, url + '\\n');
  return next(url, context);
}
`,
  );
  registered = await temp.file(
    'register.mjs',
    `import { appendFileSync } from 'node:fs';
import Module, { register } from 'node:module';
import { pathToFileURL } from 'node:url';
register(${JSON.stringify(pathToFileURL(hooks).href)});
const load = Module._load;
Module._load = function (request, parent, isMain) {
  const exports = load.apply(this, arguments);
  try {
    const file = Module._resolveFilename(request, parent, isMain);
    if (file.startsWith('/')) appendFileSync(process.env.EOPLOCK_TEST_LOADS, pathToFileURL(file).href + '\\n');
  } catch {}
  return exports;
};
// Node's own modules (no file: URL): listed when the process ends.
process.on('exit', () => {
  const builtins = process.moduleLoadList.filter((entry) => entry.startsWith('NativeModule ') && !entry.startsWith('NativeModule internal/'));
  appendFileSync(process.env.EOPLOCK_TEST_LOADS, builtins.map((entry) => 'node:' + entry.slice('NativeModule '.length) + '\\n').join(''));
});
`,
  );
  return registered;
}

let counter = 0;
/**
 * Runs `eoplock <argv>` in its own process — the sources through tsx, or with `installed` the command a user runs
 * (bin/eoplock.js, the bundle in dist/cli-bundle/) — and returns its output and the files it loaded.
 */
async function loads(...argv: string[]): Promise<{ stdout: string; project: string[]; packages: string[]; files: string[]; builtins: string[] }> {
  return loadsVia('sources', argv);
}
async function loadsVia(via: 'sources' | 'installed', argv: string[]): Promise<{ stdout: string; project: string[]; packages: string[]; files: string[]; builtins: string[] }> {
  const list = join(temp.path(), `loads-${counter++}.txt`);
  await writeFile(list, '');
  const script = `const { main } = await import(${JSON.stringify(pathToFileURL(join(root, 'src/cli/main.ts')).href)}); process.exitCode = await main(${JSON.stringify(argv)});`;
  const args = via === 'sources' ? ['--import', 'tsx', '--import', pathToFileURL(await register()).href, '--input-type=module', '-e', script] : ['--import', pathToFileURL(await register()).href, 'bin/eoplock.js', ...argv];
  const { stdout } = await run(process.execPath, args, {
    cwd: root,
    env: { ...process.env, EOPLOCK_TEST_LOADS: list, NO_COLOR: '1' },
  }).catch((error: { code: number; stdout: string; stderr: string }) => {
    // Exit 1 means findings (audit, simulate): the command ran.
    if (error.code === 1) return { stdout: error.stdout };
    throw new Error(`eoplock ${argv.join(' ')}: exit ${error.code}\n${error.stderr}`);
  });
  const lines = [...new Set((await readFile(list, 'utf8')).split('\n').filter(Boolean))];
  const builtins = lines.filter((line) => line.startsWith('node:')).sort();
  const files = lines.filter((line) => line.startsWith('file:')).map((url) => relative(root, fileURLToPath(url)));
  const packages = new Set(files.map((file) => /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1]).filter((name): name is string => name !== undefined));
  return {
    stdout,
    files,
    project: files.filter((file) => file.startsWith('src/')).sort(),
    packages: dependencies.filter((name) => packages.has(name)).sort(),
    builtins,
  };
}

const COMMANDS = ['simulate', 'audit', 'prove', 'plan', 'drift', 'diff', 'lab', 'probe', 'impact', 'monitor', 'queries', 'dns', 'headers', 'report', 'dmarc', 'pull', 'demo', 'assumptions'];
/** The modules the command line itself needs: parsing, help, output and the exit-code mapping. */
const CORE = ['src/cli/io.ts', 'src/cli/main.ts', 'src/cli/profile-options.ts', 'src/cli/version.ts', 'src/errors.ts', 'src/mail/dmarc.ts', 'src/plan/names.ts', 'src/util/display.ts', 'src/util/files.ts'];

describe('commands load only what they use', () => {
  test('--version loads the command line alone, and commander of the dependencies', async () => {
    const result = await loads('--version');
    assert.match(result.stdout, /^\d+\.\d+\.\d+\n$/);
    assert.deepEqual(result.project, CORE);
    assert.deepEqual(result.packages, ['commander']);
  });

  test('--help lists every command with its description, and loads no command', async () => {
    const result = await loads('--help');
    for (const name of COMMANDS) assert.match(result.stdout, new RegExp(`^  ${name}\\b.* {2,}\\S`, 'm'), name);
    assert.deepEqual(result.project, CORE);
    assert.deepEqual(result.packages, ['commander']);
  });

  test('a command\'s --help shows its options and help text, and loads no command', async () => {
    const result = await loads('plan', '--help');
    const text = result.stdout.replace(/\s+/g, ' '); // the help wraps at the terminal's width
    assert.match(text, /--rule-name <name> name of the safety-net transport rule \(default: "eoplock - Block mail not from the gateway"\)/);
    assert.match(text, /--connector-name <name> name of the gateway connector, when one has to be created \(default: "eoplock - From the gateway"\)/);
    assert.match(result.stdout, /--seg-ip <address>/);
    assert.match(result.stdout, /Phases \(each with a script/);
    assert.deepEqual(result.project, CORE);
  });

  test('audit loads neither MSAL, SMTP, mailauth, YAML, the HTML report nor the machine formats', async () => {
    const result = await loads('audit', 'examples/contoso-exposed.json');
    assert.match(result.stdout, /Contoso/);
    // tldts: EOPL-090/091 search every class (src/prove), DMARC's organisational domain among them (src/mail/dmarc.ts).
    assert.deepEqual(result.packages, ['commander', 'ipaddr.js', 'zod']);
    assert.ok(result.project.includes('src/cli/audit.ts'));
    for (const file of ['src/cli/report.ts', 'src/report/audit-formats.ts', 'src/trace/read.ts', 'src/lab/certificates.ts', 'src/dns/authenticate.ts', 'src/prove/prove.ts', 'src/prove/classes.ts']) {
      assert.ok(!result.project.includes(file), `${file} loaded`);
    }
  });

  test('audit --prove loads the class search, and only then', async () => {
    const result = await loads('audit', 'examples/contoso-locked.json', '--prove');
    assert.match(result.stdout, /EOPL-090/);
    assert.ok(result.project.includes('src/prove/prove.ts'), 'the search is loaded for --prove');
  });

  test('audit --format junit loads fast-xml-parser, and only then', async () => {
    const result = await loads('audit', 'examples/contoso-exposed.json', '--format', 'junit');
    assert.match(result.stdout, /<testsuites/);
    assert.deepEqual(result.packages, ['commander', 'fast-xml-parser', 'ipaddr.js', 'zod']);
  });

  test('simulate --corpus builtin loads no YAML (scenario files only) and no SMTP', async () => {
    const result = await loads('simulate', 'examples/contoso-locked.json', '--corpus', 'builtin');
    assert.match(result.stdout, /attack/i);
    assert.deepEqual(result.packages, ['commander', 'ipaddr.js', 'zod']);
  });

  test('simulate --scenarios loads YAML', async () => {
    const result = await loads('simulate', 'examples/contoso-locked.json', '--scenarios', 'examples/scenarios.yaml');
    assert.ok(result.packages.includes('yaml'), result.packages.join(', '));
    assert.ok(!result.packages.includes('smtp-server') && !result.packages.includes('@azure/msal-node'), result.packages.join(', '));
  });
});

describe('the installed command (bin/eoplock.js) runs the bundle and keeps the lazy loading', () => {
  // npm test builds dist/ (tsc, then scripts/bundle-cli.mjs) before the tests run.
  const bundled = (files: string[]) => files.filter((file) => file.startsWith('dist/'));

  test('--version loads the bundle\'s entry and no package from node_modules', async () => {
    const result = await loadsVia('installed', ['--version']);
    assert.match(result.stdout, /^\d+\.\d+\.\d+\n$/);
    assert.ok(bundled(result.files).every((file) => file.startsWith('dist/cli-bundle/')), bundled(result.files).join(', '));
    assert.ok(result.files.includes('dist/cli-bundle/main.js'));
    assert.deepEqual(result.packages, [], 'commander is compiled into the bundle');
    assert.ok(!result.files.some((file) => file.startsWith('node_modules/')), result.files.join(', '));
  });

  test('audit runs from the bundle: zod (English messages only), commander and ipaddr.js inside it, no command it does not run', async () => {
    const result = await loadsVia('installed', ['audit', 'examples/contoso-exposed.json']);
    assert.match(result.stdout, /Contoso/);
    assert.match(result.stdout, /EOPL-001/);
    assert.deepEqual(result.packages, []);
    assert.ok(!result.files.some((file) => file.startsWith('node_modules/') || file.startsWith('dist/cli/')), result.files.join(', '));
    const versionFiles = (await loadsVia('installed', ['--version'])).files.length;
    assert.ok(result.files.length > versionFiles, 'the audit loads its own chunks on demand');
    // Node's modules it has no use for: processes (commander's executable subcommands), DNS, crypto. (node:net is
    // not among them: Node loads it for a standard output that is a pipe, as here.)
    for (const name of ['node:child_process', 'node:dns', 'node:dns/promises', 'node:crypto']) {
      assert.ok(!result.builtins.includes(name), `${name} loaded`);
    }
    assert.ok(result.builtins.includes('node:fs'), 'the list of Node\'s modules is read');
  });

  test('audit --live-dns loads node:dns (and only such a command does)', async () => {
    const result = await loadsVia('installed', ['audit', 'examples/contoso-exposed.json', '--live-dns', '--resolver', '127.0.0.1:9']);
    assert.ok(result.builtins.includes('node:dns/promises'), result.builtins.join(', '));
  });

  test('a validation error from the bundled zod reads as before (the snapshot names the field)', async () => {
    const file = await temp.file('bad.json', JSON.stringify({ Meta: { eoplockSnapshot: 2 } }));
    const failure = await run(process.execPath, ['bin/eoplock.js', 'audit', file], { cwd: root }).then(
      () => null,
      (error: { code: number; stderr: string }) => error,
    );
    assert.ok(failure);
    assert.equal(failure.code, 2);
    assert.match(failure.stderr, /Meta\.eoplockSnapshot must be 1/);
    assert.doesNotMatch(failure.stderr, /\n\s+at /, 'no stack trace');
    // zod's own wording, from the one locale the bundle keeps (English).
    const typed = await temp.file('typed.json', JSON.stringify({ Meta: { eoplockSnapshot: 1, tenant: 5 } }));
    const second = await run(process.execPath, ['bin/eoplock.js', 'audit', typed], { cwd: root }).then(
      () => null,
      (error: { code: number; stderr: string }) => error,
    );
    assert.equal(second?.code, 2);
    assert.match(second?.stderr ?? '', /at Meta\.tenant: Invalid input: expected string, received number/);
  });

  test('audit --format junit loads fast-xml-parser from node_modules, and only then', async () => {
    const result = await loadsVia('installed', ['audit', 'examples/contoso-exposed.json', '--format', 'junit']);
    assert.match(result.stdout, /<testsuites/);
    assert.deepEqual(result.packages, ['fast-xml-parser']);
  });
});
