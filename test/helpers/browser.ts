/**
 * The browser the tests drive through playwright-core, looked for in this order:
 *
 * 1. `EOPLOCK_BROWSER`: an executable named explicitly. When it is set but names no executable file, that is an
 *    error (the tests fail and say so) rather than a quiet fall back to another browser.
 * 2. An installed Chrome or Chromium at the usual paths (/usr/bin/chromium, /usr/bin/chromium-browser,
 *    /usr/bin/google-chrome, /usr/bin/google-chrome-stable, the macOS application folders).
 * 3. playwright-core's `channel: 'chrome'`: Google Chrome where its installer puts it on this platform.
 * 4. The Chromium inside the npm package `@sparticuz/chromium` (a dev dependency; Linux x64), unpacked once into
 *    `node_modules/.cache/eoplock-chromium-<version>/` — inside the project, never a shared temporary folder where
 *    another user could plant an executable at a predictable name.
 *
 * Only when none of these is there do the browser tests skip, with a reason that lists what was looked for.
 * `node --import tsx test/helpers/browser.ts` prints the browser the tests will use.
 */
import { constants, existsSync } from 'node:fs';
import { access, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The project's own cache folder (npm's convention), owned by whoever installed the project. */
const PROJECT_CACHE = fileURLToPath(new URL('../../node_modules/.cache/', import.meta.url));
import { chromium, type Browser, type LaunchOptions } from 'playwright-core';

export const BROWSER_VARIABLE = 'EOPLOCK_BROWSER';

export const SYSTEM_BROWSERS: readonly string[] = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
];

/** Flags for a desktop Chrome/Chromium: nothing that phones home, no GPU, no sandbox (CI runs as root). */
const SYSTEM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const DROPPED_NPM_FLAGS = ['--single-process', '--disable-web-security'];

export interface FoundBrowser {
  /** What will run, e.g. `/usr/bin/chromium` or `@sparticuz/chromium 143.0.4 (/tmp/…/chromium)`. */
  name: string;
  launch(): Promise<Browser>;
}

export interface NoBrowser {
  /** The reason the browser tests skip: every place looked at and what was found there. */
  skip: string;
}

export interface FinderOptions {
  env?: NodeJS.ProcessEnv;
  systemPaths?: readonly string[];
  /** Try playwright-core's `channel: 'chrome'` (costs one launch attempt). */
  channel?: boolean;
  /** Use the npm-shipped Chromium when nothing else is found. */
  npmChromium?: boolean;
  platform?: NodeJS.Platform;
  arch?: string;
  /** Where the npm-shipped Chromium is unpacked (a folder per version is made inside). */
  cacheRoot?: string;
}

/** '' when `path` is an executable file, else what is wrong with it. */
async function checkExecutable(path: string): Promise<string> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return 'absent';
  if (!info.isFile()) return 'not a file';
  return access(path, constants.X_OK).then(
    () => '',
    () => 'not executable',
  );
}

function system(name: string, options: LaunchOptions): FoundBrowser {
  return { name, launch: () => chromium.launch({ ...options, args: SYSTEM_ARGS, headless: true }) };
}

/** Finds a browser; throws only when `EOPLOCK_BROWSER` is set and names no executable file. */
export async function findBrowser(options: FinderOptions = {}): Promise<FoundBrowser | NoBrowser> {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const arch = options.arch ?? process.arch;
  const lookedFor: string[] = [];

  const explicit = env[BROWSER_VARIABLE];
  if (explicit) {
    const problem = await checkExecutable(explicit);
    if (problem) throw new Error(`${BROWSER_VARIABLE}=${explicit}: ${problem}; point it at a Chrome/Chromium executable, or unset it to let the tests find one`);
    return system(explicit, { executablePath: explicit });
  }
  lookedFor.push(`${BROWSER_VARIABLE} (not set)`);

  const paths = options.systemPaths ?? SYSTEM_BROWSERS;
  for (const path of paths) {
    const problem = await checkExecutable(path);
    if (!problem) return system(path, { executablePath: path });
    lookedFor.push(`${path} (${problem})`);
  }

  if (options.channel ?? true) {
    const tried = await chromium.launch({ channel: 'chrome', args: SYSTEM_ARGS, headless: true }).then(
      async (browser) => {
        await browser.close();
        return '';
      },
      (error: Error) => error.message.split('\n')[0] ?? 'not found',
    );
    if (tried === '') return system(`playwright-core channel 'chrome'`, { channel: 'chrome' });
    lookedFor.push(`playwright-core channel 'chrome' (${tried.replace(/^[^:]*:\s*/, '')})`);
  }

  if (options.npmChromium ?? true) {
    const npm = await npmChromium(platform, arch, options.cacheRoot ?? PROJECT_CACHE);
    if ('name' in npm) return npm;
    lookedFor.push(npm.skip);
  }

  return { skip: `no browser found; looked for ${lookedFor.join(', ')}` };
}

interface SparticuzChromium {
  args: string[];
  executablePath(input?: string): Promise<string>;
}

/** The Chromium inside `@sparticuz/chromium`, unpacked once per version (under a lock: test files run in parallel). */
async function npmChromium(platform: NodeJS.Platform, arch: string, cacheRoot: string): Promise<FoundBrowser | NoBrowser> {
  const label = '@sparticuz/chromium';
  if (platform !== 'linux' || arch !== 'x64') return { skip: `${label} (ships Linux x64 only; this is ${platform} ${arch})` };
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve(label);
  } catch {
    return { skip: `${label} (not installed: npm ci installs it with the dev dependencies)` };
  }
  const version = await packageVersion(entry, label);
  const sparticuz = ((await import(label)) as { default: SparticuzChromium }).default;
  const folder = join(cacheRoot, `eoplock-chromium-${version}`);
  const executable = join(folder, 'chromium');
  const fontsConf = join(folder, 'fonts.conf');
  await mkdir(cacheRoot, { recursive: true });
  await withLock(`${folder}.lock`, async () => {
    if (existsSync(join(folder, '.complete'))) return;
    // A folder without the marker is a half-done unpack: start over.
    await rm(folder, { recursive: true, force: true });
    await mkdir(folder, { recursive: true });
    // The package unpacks into os.tmpdir(), which reads TMPDIR; its paths are all taken before the first await.
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = folder;
    let unpacking: Promise<string>;
    try {
      unpacking = sparticuz.executablePath();
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    const unpacked = await unpacking;
    if (unpacked !== executable) throw new Error(`${label} unpacked to ${unpacked}, expected ${executable}`);
    // The package's own fonts.conf names /tmp/fonts; this one names the fonts it brought, then the system's.
    await writeFile(
      fontsConf,
      `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n  <dir>${join(folder, 'fonts')}</dir>\n  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n  <cachedir>${join(folder, 'fonts-cache')}</cachedir>\n</fontconfig>\n`,
    );
    await writeFile(join(folder, '.complete'), `${version}\n`);
  });
  // The package's flags are made for serverless sandboxes. Two are left out here: with --single-process, closing
  // the last page ends the browser; --disable-web-security would loosen the same-origin rules the report tests rely on.
  const args = sparticuz.args.filter((flag) => !DROPPED_NPM_FLAGS.includes(flag));
  return {
    name: `${label} ${version} (${executable})`,
    launch: () => chromium.launch({ executablePath: executable, args, headless: true, env: { ...process.env, FONTCONFIG_FILE: fontsConf } }),
  };
}

/** The version in the package.json of the package `name` that holds the file `entry` (its exports hide package.json). */
async function packageVersion(entry: string, name: string): Promise<string> {
  for (let folder = dirname(entry); folder !== dirname(folder); folder = dirname(folder)) {
    const text = await readFile(join(folder, 'package.json'), 'utf8').catch(() => '');
    if (!text) continue;
    const manifest = JSON.parse(text) as { name?: string; version?: string };
    if (manifest.name === name && manifest.version) return manifest.version;
  }
  throw new Error(`${name}: no package.json above ${entry}`);
}

/** Runs `work` holding a lock folder; a lock older than two minutes is taken to be left by a killed process. */
async function withLock(lock: string, work: () => Promise<void>): Promise<void> {
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = await stat(lock).then((info) => Date.now() - info.mtimeMs, () => 0);
      if (age > 120_000) await rm(lock, { recursive: true, force: true });
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  try {
    await work();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const found = await findBrowser();
  if ('name' in found) {
    const browser = await found.launch();
    console.log(`Browser for the tests: ${found.name}, version ${browser.version()}`);
    await browser.close();
  } else {
    console.log(`Browser tests will skip: ${found.skip}`);
  }
}
