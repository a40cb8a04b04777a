/** `--time-limit` / `--prove-time-limit`: a positive number of seconds, checked, and a stop function for a search. */
import { InputError } from '../errors.js';
import { visible } from '../util/display.js';

/** `--prove-time-limit`'s default, in seconds: the class search of `plan`, `report` and `audit --prove`. */
export const DEFAULT_PROVE_TIME_LIMIT = '60';

/** The value in milliseconds; a clear error naming `option` for anything but a positive number of seconds. */
export function parseTimeLimit(value: string, option = '--time-limit'): number {
  const seconds = Number(value.trim());
  if (value.trim() === '' || !Number.isFinite(seconds) || seconds <= 0) {
    throw new InputError(`expected a positive number of seconds, got "${visible(value)}"`, { where: option });
  }
  return seconds * 1000;
}

/** A `stop` for ProofOptions: true once `milliseconds` have passed since it was made. */
export function stopAfter(milliseconds: number): () => boolean {
  const started = Date.now();
  return () => Date.now() - started >= milliseconds;
}
