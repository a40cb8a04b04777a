/**
 * Injection safety of generated PowerShell, proven with a parser nobody here wrote: for any hostile string, the
 * tree-sitter PowerShell grammar reads `Set-Thing -Name <quoted>` as exactly one command whose one argument is a
 * single verbatim string literal, and that literal's value is the input.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Language, Parser, type Node } from 'web-tree-sitter';
import { SINGLE_QUOTES, psComment, psString, psValue } from '../../src/plan/powershell.js';

const require = createRequire(import.meta.url);
await Parser.init();
const language = await Language.load(require.resolve('tree-sitter-powershell/tree-sitter-powershell.wasm'));
const parser = new Parser();
parser.setLanguage(language);

function walk(node: Node, visit: (node: Node) => void): void {
  visit(node);
  for (const child of node.children) if (child) walk(child, visit);
}

/** The value of a verbatim string as PowerShell reads it: a doubled single-quote character stands for itself. */
function verbatimValue(literal: string): string {
  const body = literal.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if ((SINGLE_QUOTES as readonly string[]).includes(c)) {
      i++;
      out += body[i] ?? '';
    } else out += c;
  }
  return out;
}

function parseArgument(source: string): { commands: Node[]; strings: Node[]; hasError: boolean } {
  const tree = parser.parse(source);
  assert.ok(tree);
  const commands: Node[] = [];
  const strings: Node[] = [];
  walk(tree.rootNode, (node) => {
    if (node.type === 'command') commands.push(node);
    if (node.type === 'string_literal' || node.type === 'expandable_string_literal' || node.type === 'verbatim_string_characters') strings.push(node);
  });
  return { commands, strings: strings.filter((node) => node.type === 'string_literal' || node.type === 'expandable_string_literal'), hasError: tree.rootNode.hasError };
}

const HOSTILE = ["'", '\u2018', '\u2019', '\u201A', '\u201B', '"', '\u201C', '\u201D', '\u201E', '`', '$', '$(', ')', '${', '}', ';', '\n', '\r\n', '#', '<#', '#>', '|', '&', '@', '-', '\u2013', '\u2014', '\u2015', ' ', 'a', 'Z', '0', 'é', '中', '\t', '@(', '[', ']', "'; Remove-Item C:\\ -Recurse; '", '$(Invoke-Expression x)', '`n'];
const hostile = fc.array(fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ maxLength: 4, unit: 'grapheme' })), { maxLength: 12 }).map((parts) => parts.join(''));
/** Control and bidirectional characters: psString writes a string holding one as a concatenation (test/plan/powershell.test.ts). */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
/** The hostile strings that are one verbatim literal. */
const hostileText = hostile.filter((value) => !CONTROL.test(value));

describe('psString', () => {
  test('any hostile string is exactly one verbatim string argument with the same value (10,000 cases)', () => {
    fc.assert(
      fc.property(hostileText, (input) => {
        const source = `Set-Thing -Name ${psString(input)}`;
        const { commands, strings, hasError } = parseArgument(source);
        assert.equal(hasError, false, source);
        assert.equal(commands.length, 1, `one command: ${source}`);
        assert.equal(strings.length, 1, `one string: ${source}`);
        const literal = strings[0] as Node;
        assert.equal(literal.type, 'string_literal');
        assert.ok(literal.text.startsWith("'"), 'verbatim (single-quoted), so nothing is expanded');
        assert.equal(verbatimValue(literal.text), input);
      }),
      { numRuns: 10_000 },
    );
  });

  test('without doubling, a quote would end the string: the oracle can fail', () => {
    const naive = `Set-Thing -Name '${"x'; Remove-Item C:\\ ; '"}'`;
    const { commands } = parseArgument(naive);
    assert.ok(commands.length > 1, 'the naive form injects a second command');
  });

  test('every PowerShell single quote is doubled, the double quotes are not', () => {
    assert.equal(psString("O'Brien ‘x’ ‚y‛ \"z\""), "'O''Brien ‘‘x’’ ‚‚y‛‛ \"z\"'");
  });
});

describe('psValue', () => {
  test('lists, booleans, null and whole numbers', () => {
    assert.equal(psValue(['a', "b'c"]), "@('a', 'b''c')");
    assert.equal(psValue(true), '$true');
    assert.equal(psValue(null), '$null');
    assert.equal(psValue(0), '0');
    assert.throws(() => psValue(1.5));
  });

  test('a list of hostile strings parses as one array of the same strings', () => {
    fc.assert(
      fc.property(fc.array(hostileText, { minLength: 1, maxLength: 4 }), (items) => {
        const source = `Set-Thing -Names ${psValue(items)}`;
        const { commands, strings, hasError } = parseArgument(source);
        assert.equal(hasError, false, source);
        assert.equal(commands.length, 1);
        assert.deepEqual(strings.map((node) => verbatimValue(node.text)), items);
      }),
      { numRuns: 1_000 },
    );
  });
});

test('psComment never opens a block comment or a new line', () => {
  fc.assert(
    fc.property(hostile, (input) => {
      const source = `${psComment(input)}\nSet-Thing`;
      const { commands, hasError } = parseArgument(source);
      assert.equal(hasError, false);
      assert.equal(commands.length, 1);
    }),
    { numRuns: 2_000 },
  );
});
