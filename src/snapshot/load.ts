/**
 * Loading a snapshot file: the IO edge around {@link parseSnapshot}.
 */
import { InputError } from '../errors.js';
import { readTextFile } from '../util/files.js';
import { parseJsonText, parseSnapshot, type ParsedSnapshot } from './parse.js';

export interface LoadedSnapshot extends ParsedSnapshot {
  file: string;
}

export async function loadSnapshotFile(file: string): Promise<LoadedSnapshot> {
  const text = await readTextFile(file);
  try {
    return { file, ...parseSnapshot(parseJsonText(text)) };
  } catch (error) {
    if (error instanceof InputError) throw error.inFile(file);
    throw error;
  }
}
