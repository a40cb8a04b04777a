/**
 * `plan --out DIR`: the folder is built in a fresh private sibling (mkdtemp) and renamed into place. A link planted
 * at the old predictable staging name or at DIR is never followed; a failure keeps the existing folder and leaves
 * nothing behind.
 */
import assert from 'node:assert/strict';
import { lstat, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { writeFolder } from '../../src/cli/plan.js';
import { InputError } from '../../src/errors.js';
import { cli, tempFolder } from '../helpers/cli.js';

const temp = tempFolder('eoplock-plan-folder-');
let folders = 0;
async function folder(): Promise<string> {
  const path = join(temp.path(), `case-${++folders}`);
  await mkdir(path);
  return path;
}

describe('plan --out DIR', () => {
  test('a link planted at the old staging name is left alone and what it points to is untouched', async () => {
    const dir = await folder();
    const victim = join(dir, 'victim');
    await mkdir(victim);
    await writeFile(join(victim, 'keep.txt'), 'precious\n');
    await symlink(victim, join(dir, `.plan.${process.pid}.tmp`));
    const result = await cli('plan', 'examples/contoso-exposed.json', '--out', join(dir, 'plan'));
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await readdir(victim), ['keep.txt']);
    assert.equal(await readFile(join(victim, 'keep.txt'), 'utf8'), 'precious\n');
    const plan = await lstat(join(dir, 'plan'));
    assert.ok(plan.isDirectory() && !plan.isSymbolicLink());
    assert.ok((await readdir(join(dir, 'plan'))).includes('PLAN.md'));
    assert.deepEqual((await readdir(dir)).sort(), [`.plan.${process.pid}.tmp`, 'plan', 'victim'].sort(), 'no staging folder left');
  });

  test('a new folder gets the permissions mkdir gives; --force replaces it with no sibling left behind', { skip: process.platform === 'win32' }, async () => {
    const dir = await folder();
    const out = join(dir, 'plan');
    assert.equal((await cli('plan', 'examples/contoso-exposed.json', '--out', out)).code, 0);
    await mkdir(join(dir, 'reference'));
    assert.equal((await stat(out)).mode & 0o777, (await stat(join(dir, 'reference'))).mode & 0o777, 'not the 0700 of mkdtemp');
    await writeFile(join(out, 'stale.txt'), 'from before');
    const again = await cli('plan', 'examples/contoso-exposed.json', '--out', out, '--force');
    assert.equal(again.code, 0, again.stderr);
    assert.ok(!(await readdir(out)).includes('stale.txt'), 'replaced as a whole');
    assert.deepEqual((await readdir(dir)).sort(), ['plan', 'reference']);
  });

  test('--out that is a symbolic link is refused (exit 2), and nothing changes', async () => {
    const dir = await folder();
    const real = join(dir, 'real');
    await mkdir(real);
    await writeFile(join(real, 'keep.txt'), 'precious\n');
    await symlink(real, join(dir, 'plan'));
    const result = await cli('plan', 'examples/contoso-exposed.json', '--out', join(dir, 'plan'), '--force');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^eoplock: error: .*plan: at --out: is a symbolic link; give the folder itself\n$/);
    assert.deepEqual(await readdir(real), ['keep.txt']);
    assert.deepEqual((await readdir(dir)).sort(), ['plan', 'real']);
  });

  test('a failure while building keeps the existing folder and removes the staging folder', async () => {
    const dir = await folder();
    const out = join(dir, 'plan');
    await mkdir(out);
    await writeFile(join(out, 'PLAN.md'), 'the old plan\n');
    // "a/b" makes a folder "a"; the file "a" then cannot be created.
    await assert.rejects(writeFolder(out, { 'a/b': 'x', a: 'y' }, true), (error: unknown) => error instanceof InputError && error.file === out);
    assert.equal(await readFile(join(out, 'PLAN.md'), 'utf8'), 'the old plan\n');
    assert.deepEqual(await readdir(dir), ['plan']);
  });
});
