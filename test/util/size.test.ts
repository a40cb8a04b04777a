import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InputError } from '../../src/errors.js';
import { parseByteSize } from '../../src/util/size.js';

describe('parseByteSize', () => {
  for (const [text, bytes] of [
    ['2000000', 2_000_000],
    ['64k', 65_536],
    ['512M', 512 * 1024 ** 2],
    ['1GB', 1024 ** 3],
    ['4 GiB', 4 * 1024 ** 3],
    [' 1.5g ', 1.5 * 1024 ** 3],
    ['2T', 2 * 1024 ** 4],
  ] as const) {
    test(`${JSON.stringify(text)} is ${bytes} bytes`, () => assert.equal(parseByteSize(text, '--x'), bytes));
  }
  for (const text of ['', 'lots', '0', '0.1', '-5M', '1P', '9999999999999999', '1\nGB', '1e9']) {
    test(`${JSON.stringify(text)} is refused at the option, shown escaped`, () => {
      assert.throws(
        () => parseByteSize(text, '--x'),
        (error: unknown) => error instanceof InputError && error.where === '--x' && !/[\n]/.test(error.describe()) && /is not a size in bytes/.test(error.message),
      );
    });
  }
});
