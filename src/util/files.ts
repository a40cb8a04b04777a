/**
 * File IO for the CLI edge: reading text in the encodings PowerShell writes, and writing files atomically.
 */
import { readFile, rename, writeFile, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../errors.js';

/**
 * Decodes text written by PowerShell or anything else: UTF-8 (with or without BOM) and UTF-16 LE/BE with a BOM
 * (Windows PowerShell 5.1's `Out-File` and `>` default). Invalid UTF-8 is refused rather than silently mangled.
 */
export function decodeText(bytes: Uint8Array, file?: string): string {
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes.subarray(2));
  const start = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(start));
  } catch {
    throw new InputError('the file is not valid UTF-8 or UTF-16 text', { file });
  }
}

/** Reads a text file; a missing or unreadable file is an {@link InputError} naming it. */
export async function readTextFile(file: string): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, not a file' : code === 'EACCES' ? 'permission denied' : `cannot be read (${code ?? String(error)})`;
    throw new InputError(reason, { file });
  }
  return decodeText(bytes, file);
}

/** Writes a file through a temporary sibling and a rename, so readers never see a partial file. */
export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const temporary = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  try {
    await writeFile(temporary, content, 'utf8');
    await rename(temporary, file);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}
