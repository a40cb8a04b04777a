/**
 * The emulator's core stays pure and platform-free: src/eop and the parsing it shares with the header and DNS readers
 * (src/mail) import no Node.js module and nothing from src/dns or src/headers — directly, or through any module they
 * load. (The IO edges — DNS lookups, SPF through mailauth — live in src/dns/authenticate.ts.)
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const CORE = ['src/eop', 'src/mail'];
const FORBIDDEN_FOLDERS = ['src/dns/', 'src/headers/'];
const BUILTINS = new Set(builtinModules);

/** The modules a file loads at run time: imports and re-exports (not `import type`), and dynamic imports. */
function runtimeSpecifiers(source: string): string[] {
  const found: string[] = [];
  const statement = /(?:^|\n)\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]/g;
  for (const match of source.matchAll(statement)) {
    if (match[2]) continue; // import type / export type
    const clause = (match[3] ?? '').trim();
    // `import { type A, type B } from` loads nothing either.
    if (/^\{[^}]*\}$/.test(clause) && clause.slice(1, -1).split(',').every((part) => part.trim() === '' || part.trim().startsWith('type '))) continue;
    found.push(match[4] as string);
  }
  for (const match of source.matchAll(/(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g)) found.push(match[1] as string);
  for (const match of source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push(match[1] as string);
  return found;
}

const isBuiltin = (specifier: string) => specifier.startsWith('node:') || BUILTINS.has(specifier.split('/')[0] as string);

async function coreFiles(): Promise<string[]> {
  const files: string[] = [];
  for (const folder of CORE) {
    for (const name of await readdir(join(root, folder))) if (name.endsWith('.ts')) files.push(`${folder}/${name}`);
  }
  return files;
}

describe('the emulator core is pure', () => {
  test('src/eop and src/mail import no node: module and nothing from src/dns or src/headers', async () => {
    const files = await coreFiles();
    assert.ok(files.includes('src/eop/decide.ts') && files.includes('src/mail/received.ts'), files.join(', '));
    const problems: string[] = [];
    for (const file of files) {
      const source = await readFile(join(root, file), 'utf8');
      for (const specifier of runtimeSpecifiers(source)) {
        const target = specifier.startsWith('.') ? relative(root, resolve(dirname(join(root, file)), specifier)) : specifier;
        if (isBuiltin(specifier) || FORBIDDEN_FOLDERS.some((folder) => target.startsWith(folder))) problems.push(`${file} imports ${specifier}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  test('nor does any module they load, however deep', async () => {
    const seen = new Set<string>();
    const problems: string[] = [];
    const queue = await coreFiles();
    while (queue.length > 0) {
      const file = queue.pop() as string;
      if (seen.has(file)) continue;
      seen.add(file);
      const source = await readFile(join(root, file), 'utf8');
      for (const specifier of runtimeSpecifiers(source)) {
        if (isBuiltin(specifier)) problems.push(`${file} imports ${specifier}`);
        if (!specifier.startsWith('.')) continue;
        const target = relative(root, resolve(dirname(join(root, file)), specifier)).replace(/\.js$/, '.ts');
        if (FORBIDDEN_FOLDERS.some((folder) => target.startsWith(folder))) problems.push(`${file} imports ${target}`);
        queue.push(target);
      }
    }
    assert.ok(seen.size > 15, `${seen.size} modules followed`);
    assert.deepEqual(problems, []);
  });

  test('the scan sees the imports it is meant to refuse', () => {
    assert.deepEqual(runtimeSpecifiers("import { createRequire } from 'node:module';\nimport type { X } from '../dns/x.js';\nimport { type Y } from './y.js';\nexport * from '../headers/lines.js';\nconst z = await import('fs');"), ['node:module', '../headers/lines.js', 'fs']);
    assert.ok(isBuiltin('fs') && isBuiltin('node:fs') && !isBuiltin('ipaddr.js'));
  });
});
