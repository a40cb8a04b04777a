/**
 * Showing untrusted values to people: visible(), markdownCell(), markdownCode(), terminalSafe().
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { hasControl, markdownCell, markdownCode, terminalSafe, visible } from '../../src/util/display.js';

/** Every character visible() must escape. */
const UNSAFE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/;

/** Strings mixing ordinary text with control, separator and bidi characters. */
const hostile = fc.string({
  unit: fc.oneof(
    fc.constantFrom('a', 'Z', ' ', '|', '`', '\\', '#', '\t', 'é', '😀'),
    fc.integer({ min: 0, max: 0x1f }).map((code) => String.fromCharCode(code)),
    fc.integer({ min: 0x7f, max: 0x9f }).map((code) => String.fromCharCode(code)),
    fc.constantFrom('\u2028', '\u2029', '\u202a', '\u202e', '\u2066', '\u2069', '\u200e', '\u200f', '\u061c', '\u001b[31m', '\u001b]0;title\u0007'),
  ),
  maxLength: 40,
});

describe('visible', () => {
  test('writes CR, LF, ESC and NUL by name and other controls as \\xNN or \\uNNNN', () => {
    assert.equal(visible('a\r\nb'), 'a\\r\\nb');
    assert.equal(visible('\u001b]0;pwned\u0007'), '\\e]0;pwned\\x07');
    assert.equal(visible('x\u0000y'), 'x\\0y');
    assert.equal(visible('\u0085\u009b'), '\\x85\\x9b');
    assert.equal(visible('line\u2028sep\u2029'), 'line\\u2028sep\\u2029');
    assert.equal(visible('\u202eevil\u2066\u200f\u061c'), '\\u202eevil\\u2066\\u200f\\u061c');
    assert.equal(visible('\u007f'), '\\x7f');
  });

  test('keeps TAB and ordinary text, returning the same string', () => {
    const plain = 'From SEG\t— Ünïcödé 😀 | `x` \\n';
    assert.equal(visible(plain), plain);
    assert.equal(hasControl(plain), false);
    assert.equal(hasControl('a\u2028'), true);
  });

  test('leaves no character that moves the cursor or reorders text, and is idempotent', () => {
    fc.assert(
      fc.property(hostile, (value) => {
        const shown = visible(value);
        assert.doesNotMatch(shown, UNSAFE);
        assert.equal(visible(shown), shown);
        assert.equal(hasControl(value), shown !== value);
      }),
      { numRuns: 300 },
    );
  });
});

describe('markdownCell', () => {
  /** Cells of a table row the way GFM splits it: `\` escapes the next character, an unescaped `|` ends a cell. */
  const cells = (row: string) => {
    const out: string[] = [];
    let cell = '';
    for (let i = 0; i < row.length; i++) {
      const character = row[i] as string;
      if (character === '\\' && i + 1 < row.length) {
        cell += character + row[i + 1];
        i++;
      } else if (character === '|') {
        out.push(cell);
        cell = '';
      } else cell += character;
    }
    out.push(cell);
    return out;
  };

  test('escapes | and the backslashes before it, writes TAB as a space, and controls visibly', () => {
    assert.equal(markdownCell('a | b'), 'a \\| b');
    assert.equal(markdownCell('a\\|b'), 'a\\\\\\|b');
    assert.equal(markdownCell('a\\b'), 'a\\b');
    assert.equal(markdownCell('x\ty'), 'x y');
    assert.equal(markdownCell('r\r\n| x |'), 'r\\r\\n\\| x \\|');
    assert.equal(markdownCell('end\\'), 'end\\');
  });

  test('a row of cells keeps its column count whatever the values', () => {
    fc.assert(
      fc.property(hostile, hostile, (a, b) => {
        const row = `| ${markdownCell(a)} | ${markdownCell(b)} |`;
        assert.equal(cells(row).length, 4, row);
        assert.doesNotMatch(row, UNSAFE);
      }),
      { numRuns: 300 },
    );
  });

  test('is linear in a long run of backslashes', { timeout: 10_000 }, () => {
    const started = performance.now();
    const value = `${'\\'.repeat(200_000)}x${'\\'.repeat(200_000)}|`;
    const cell = markdownCell(value);
    assert.ok(cell.endsWith('\\|'));
    assert.equal(cell.length, 200_000 + 1 + 400_000 + 2);
    assert.ok(performance.now() - started < 2_000);
  });
});

describe('markdownCode', () => {
  test('a fence longer than any backtick run in the value, padded when the value starts or ends with one', () => {
    assert.equal(markdownCode('Name'), '`Name`');
    assert.equal(markdownCode('a`b'), '``a`b``');
    assert.equal(markdownCode('`x``'), '``` `x`` ```');
    assert.equal(markdownCode(''), '` `');
    assert.equal(markdownCode('a\nb'), '`a\\nb`');
  });
});

describe('terminalSafe', () => {
  test("keeps eoplock's newlines and SGR colours, escapes every other control", () => {
    const own = '\u001b[1meoplock\u001b[22m\n\u001b[31m✗\u001b[39m done\n';
    assert.equal(terminalSafe(own), own);
    assert.equal(terminalSafe('a\rb\u001b]0;t\u0007\u001b[2J\u2028'), 'a\\rb\\e]0;t\\x07\\e[2J\\u2028');
  });

  test('with colour: false escapes SGR sequences too (text that has no colour of its own)', () => {
    assert.equal(terminalSafe("error: unknown option '\u001b[8mhidden'\n", { colour: false }), "error: unknown option '\\e[8mhidden'\n");
  });

  test('leaves only newlines and SGR sequences as controls', () => {
    fc.assert(
      fc.property(hostile, (value) => {
        const safe = terminalSafe(value).replace(/\u001b\[[0-9;]*m/g, '').replace(/\n/g, '');
        assert.doesNotMatch(safe, UNSAFE);
        assert.doesNotMatch(terminalSafe(value, { colour: false }).replace(/\n/g, ''), UNSAFE);
      }),
      { numRuns: 300 },
    );
  });
});
