/**
 * Sizes given on the command line: `2000000`, `64k`, `512M`, `1GB`, `4 GiB` (K, M, G, T in powers of 1024).
 */
import { InputError } from '../errors.js';
import { visible } from './display.js';

const UNITS: Readonly<Record<string, number>> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** Bytes from a size; anything else (no number, zero, too large) is an {@link InputError} at `where` (the option). */
export function parseByteSize(text: string, where: string): number {
  const match = /^(\d{1,15}(?:\.\d{1,6})?) ?([kmgt]?)(?:i?b)?$/i.exec(text.trim());
  const bytes = match ? Math.floor(Number(match[1]) * (UNITS[(match[2] as string).toLowerCase()] as number)) : NaN;
  if (!(bytes > 0) || !Number.isSafeInteger(bytes)) throw new InputError(`"${visible(text)}" is not a size in bytes (for example 500MB, 1GB, 1048576)`, { where });
  return bytes;
}
