/**
 * Running the CLI in process with captured output, and a temporary folder for test files.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { main } from '../../src/cli/main.js';

export async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), color: false, progress: false });
  return { code, stdout, stderr };
}

/** A temporary folder for the current test file, removed afterwards; `file(name, content)` writes into it. */
export function tempFolder(prefix: string): { path: () => string; file: (name: string, content: string) => Promise<string> } {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  return {
    path: () => dir,
    file: async (name, content) => {
      const path = join(dir, name);
      await writeFile(path, content);
      return path;
    },
  };
}
