/**
 * File IO for the CLI edge: reading text in the encodings PowerShell writes, and writing files atomically.
 */
import { lstat, open, readFile, rename, unlink, writeFile, type FileHandle } from 'node:fs/promises';
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

/** An {@link InputError} naming `file` for a failure to open or read it. */
export function readError(error: unknown, file: string): InputError {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const reason =
    code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, not a file' : code === 'EACCES' ? 'permission denied' : `cannot be read (${code ?? String(error)})`;
  return new InputError(reason, { file });
}

/** Reads a text file; a missing or unreadable file is an {@link InputError} naming it. */
export async function readTextFile(file: string): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw readError(error, file);
  }
  return decodeText(bytes, file);
}

/**
 * The name of a temporary sibling of `file`: hidden, unpredictable (96 bits from the Web Crypto random source, which
 * loads node:crypto only when a file is written, not on every command's start), and short enough for any file system.
 */
export function temporarySibling(file: string, suffix = 'tmp'): string {
  const random = Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(12))).toString('hex');
  return join(dirname(file), `.${basename(file).slice(0, 64)}.${random}.${suffix}`);
}

/** An {@link InputError} for a file that cannot be written, when the cause is the path or the file system. */
export function writeError(error: unknown, file: string): unknown {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== 'string') return error;
  const reason: Record<string, string> = {
    ENOENT: 'cannot be written: the folder does not exist',
    ENOTDIR: 'cannot be written: a part of the path is not a folder',
    EISDIR: 'cannot be written: it is a folder',
    EACCES: 'cannot be written: permission denied',
    EPERM: 'cannot be written: permission denied',
    EROFS: 'cannot be written: read-only file system',
    ENOSPC: 'cannot be written: no space left on the device',
    EDQUOT: 'cannot be written: disk quota exceeded',
    ENAMETOOLONG: 'cannot be written: the name is too long',
    EBUSY: 'cannot be written: the file is busy',
    EXDEV: 'cannot be written: not on the same file system as its folder',
  };
  return new InputError(reason[code] ?? `cannot be written (${code})`, { file });
}

/**
 * Writes a file through a temporary sibling and a rename, so readers never see a partial file. The temporary file
 * has an unpredictable name and is created exclusively (`wx`: O_CREAT|O_EXCL, which also refuses a symbolic link
 * planted at that name), written, flushed to disk and renamed over `file`. Replacing a symbolic link at `file`
 * replaces the link, never what it points to. An existing file keeps its permissions (the temporary file is private
 * until then); a new one gets the usual permissions of the process (0666 less the umask). On any failure the
 * temporary file is removed and `file` is left as it was. Errors of the path or the file system are
 * {@link InputError}s naming `file`.
 */
export async function writeFileAtomic(file: string, content: string | Uint8Array | Iterable<string> | AsyncIterable<string>): Promise<void> {
  const existing = await lstat(file).catch(() => null);
  const keepMode = existing?.isFile() ? existing.mode & 0o7777 : null;
  let temporary = '';
  let handle: FileHandle | undefined;
  /** While the content is being produced, an error of its own (reading an input, say) is not a write error. */
  let producing = false;
  try {
    for (let attempt = 0; ; attempt++) {
      temporary = temporarySibling(file);
      try {
        handle = await open(temporary, 'wx', keepMode === null ? 0o666 : 0o600);
        break;
      } catch (error) {
        // A name taken by chance (or planted): another random name, a few times.
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 4) {
          temporary = '';
          throw error;
        }
      }
    }
    // Pieces (an iterable of strings) are written as they come; an error while producing them removes the file.
    producing = true;
    await writeFile(handle, content, typeof content === 'string' ? 'utf8' : undefined);
    producing = false;
    if (keepMode !== null) await handle.chmod(keepMode);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temporary, file);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    if (temporary) await unlink(temporary).catch(() => undefined);
    throw producing && (error as NodeJS.ErrnoException | null)?.syscall !== 'write' ? error : writeError(error, file);
  }
}
