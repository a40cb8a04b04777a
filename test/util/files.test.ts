/**
 * writeFileAtomic: an unpredictable temporary sibling created exclusively, then renamed over the target. A symbolic
 * link planted at the old predictable temporary name (or at the target) is never followed, concurrent writers never
 * mix, and a failure leaves the target as it was with no temporary file behind.
 */
import assert from 'node:assert/strict';
import { lstat, mkdir, readdir, readFile, stat, symlink, writeFile, chmod } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describe, test } from 'node:test';
import { InputError } from '../../src/errors.js';
import { temporarySibling, writeFileAtomic } from '../../src/util/files.js';
import { cli, tempFolder } from '../helpers/cli.js';

const temp = tempFolder('eoplock-files-');

/** A fresh folder inside the test's temporary folder. */
let folders = 0;
async function folder(): Promise<string> {
  const path = join(temp.path(), `case-${++folders}`);
  await mkdir(path);
  return path;
}

describe('writeFileAtomic', () => {
  test('a symbolic link planted at the old predictable temporary name is not followed', async () => {
    const dir = await folder();
    const victim = join(dir, 'victim.txt');
    await writeFile(victim, 'precious\n');
    const out = join(dir, 'report.txt');
    // The name the old code used: .NAME.<pid>.tmp
    await symlink(victim, join(dir, `.report.txt.${process.pid}.tmp`));
    await writeFileAtomic(out, 'the report\n');
    assert.equal(await readFile(victim, 'utf8'), 'precious\n');
    assert.ok((await lstat(out)).isFile(), '--out is a regular file, not a link');
    assert.equal(await readFile(out, 'utf8'), 'the report\n');
    assert.deepEqual((await readdir(dir)).sort(), [`.report.txt.${process.pid}.tmp`, 'report.txt', 'victim.txt'].sort());
  });

  test('through the CLI: audit --out with a planted link writes a regular file and leaves the link target alone', async () => {
    const dir = await folder();
    const victim = join(dir, 'victim.txt');
    await writeFile(victim, 'precious\n');
    const out = join(dir, 'audit.json');
    await symlink(victim, join(dir, `.audit.json.${process.pid}.tmp`));
    const result = await cli('audit', 'examples/contoso-locked.json', '--format', 'json', '--out', out);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await readFile(victim, 'utf8'), 'precious\n');
    assert.ok((await lstat(out)).isFile());
    assert.equal((JSON.parse(await readFile(out, 'utf8')) as { tenant: string }).tenant, 'Contoso Ltd');
    assert.equal((await readdir(dir)).length, 3, 'no temporary file left');
  });

  test('temporary names are unpredictable, and never the process id form', () => {
    const names = new Set(Array.from({ length: 50 }, () => temporarySibling('/x/out.json')));
    assert.equal(names.size, 50);
    for (const name of names) {
      assert.match(basename(name), /^\.out\.json\.[0-9a-f]{24}\.tmp$/);
      assert.ok(!name.includes(`.${process.pid}.`));
    }
    assert.ok(basename(temporarySibling(`/x/${'n'.repeat(300)}`)).length < 120, 'short enough for NAME_MAX');
  });

  test('a symbolic link at the target itself is replaced, not followed', async () => {
    const dir = await folder();
    const victim = join(dir, 'victim.txt');
    await writeFile(victim, 'precious\n');
    const out = join(dir, 'out.txt');
    await symlink(victim, out);
    await writeFileAtomic(out, 'new\n');
    assert.equal(await readFile(victim, 'utf8'), 'precious\n');
    assert.ok((await lstat(out)).isFile());
    assert.equal(await readFile(out, 'utf8'), 'new\n');
  });

  test('concurrent writers: the file is one whole version, and no temporary file remains', async () => {
    const dir = await folder();
    const out = join(dir, 'out.txt');
    const versions = Array.from({ length: 24 }, (_, index) => `${String(index).padStart(2, '0')}:${'x'.repeat(64 * 1024)}\n`);
    await Promise.all(versions.map((content) => writeFileAtomic(out, content)));
    assert.ok(versions.includes(await readFile(out, 'utf8')));
    assert.deepEqual(await readdir(dir), ['out.txt']);
  });

  test('an existing file keeps its permissions; a new one gets what writeFile gives', { skip: process.platform === 'win32' }, async () => {
    const dir = await folder();
    const existing = join(dir, 'secret.json');
    await writeFile(existing, 'old');
    await chmod(existing, 0o600);
    await writeFileAtomic(existing, 'new');
    assert.equal((await stat(existing)).mode & 0o777, 0o600);
    const reference = join(dir, 'reference');
    await writeFile(reference, '');
    const fresh = join(dir, 'fresh');
    await writeFileAtomic(fresh, 'x');
    assert.equal((await stat(fresh)).mode & 0o777, (await stat(reference)).mode & 0o777);
  });

  test('a failure is an InputError naming the file, leaves the target as it was, and no temporary file', async () => {
    const dir = await folder();
    const missing = join(dir, 'no-such-folder', 'out.txt');
    await assert.rejects(writeFileAtomic(missing, 'x'), (error: unknown) => error instanceof InputError && error.file === missing && /folder does not exist/.test(error.message));
    const target = join(dir, 'a-folder');
    await mkdir(target);
    await assert.rejects(writeFileAtomic(target, 'x'), (error: unknown) => error instanceof InputError && /is a folder/.test(error.message));
    assert.ok((await stat(target)).isDirectory());
    assert.deepEqual(await readdir(dir), ['a-folder']);
  });

  test('content given in pieces: an error while producing them is passed on as it is, and nothing is left', async () => {
    const dir = await folder();
    const out = join(dir, 'out.txt');
    await writeFile(out, 'before\n');
    async function* pieces() {
      yield 'one\n';
      throw Object.assign(new Error('the input went away'), { code: 'ENOENT', syscall: 'open' });
    }
    await assert.rejects(writeFileAtomic(out, pieces()), (error: unknown) => !(error instanceof InputError) && (error as Error).message === 'the input went away');
    assert.equal(await readFile(out, 'utf8'), 'before\n');
    assert.deepEqual(await readdir(dir), ['out.txt']);
  });

  test('through the CLI: --out into a missing folder exits 2 with one line naming it', async () => {
    const dir = await folder();
    const result = await cli('audit', 'examples/contoso-locked.json', '--out', join(dir, 'missing', 'out.txt'));
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^eoplock: error: .*missing\/out\.txt: cannot be written: the folder does not exist\n$/);
  });
});
