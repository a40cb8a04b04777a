/**
 * No raw control character in generated PowerShell: a value holding one is written as a parenthesised concatenation
 * of verbatim parts and `[char]0xNN` casts, whose value is exactly the input (checked by a small evaluator of those
 * forms and by the tree-sitter PowerShell grammar); comments show control characters as visible escapes; and the plan
 * for a tenant whose connector or rule names carry CR/LF or ESC writes .ps1 files with no control character.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Language, Parser, type Node } from 'web-tree-sitter';
import { SINGLE_QUOTES, psComment, psHashtable, psString, psValue } from '../../src/plan/powershell.js';
import { cli, tempFolder } from '../helpers/cli.js';

const require = createRequire(import.meta.url);
await Parser.init();
const parser = new Parser();
parser.setLanguage(await Language.load(require.resolve('tree-sitter-powershell/tree-sitter-powershell.wasm')));

/** C0 (TAB, CR and LF included), DEL, C1, U+2028 and U+2029. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const CONTROLS = [...Array.from({ length: 0x20 }, (_, code) => code), ...Array.from({ length: 0x21 }, (_, i) => 0x7f + i), 0x2028, 0x2029].map((code) =>
  String.fromCharCode(code),
);
const isQuote = (character: string | undefined) => character !== undefined && (SINGLE_QUOTES as readonly string[]).includes(character);

/**
 * The value of what psString emits, read strictly: `'…'` (a doubled single-quote character stands for one), or
 * `(part + part + …)` whose parts are such literals or `[char]0xNN`/`[char]0xNNNN`. Anything else throws.
 */
function evaluate(expression: string): string {
  let at = 0;
  const literal = (): string => {
    assert.ok(isQuote(expression[at]), `a quoted part at ${at}: ${expression}`);
    at++;
    let out = '';
    for (;;) {
      const character = expression[at];
      assert.ok(character !== undefined, `unterminated literal: ${expression}`);
      if (isQuote(character)) {
        if (!isQuote(expression[at + 1])) {
          at++;
          return out;
        }
        out += expression[at + 1];
        at += 2;
      } else {
        out += character;
        at++;
      }
    }
  };
  const cast = (): string => {
    const match = /^\[char\]0x([0-9A-F]{2}|[0-9A-F]{4})(?![0-9A-Za-z])/.exec(expression.slice(at));
    assert.ok(match, `a [char]0xNN part at ${at}: ${expression}`);
    at += match[0].length;
    return String.fromCharCode(Number.parseInt(match[1] as string, 16));
  };
  if (expression[0] !== '(') {
    const value = literal();
    assert.equal(at, expression.length, `one literal: ${expression}`);
    return value;
  }
  at = 1;
  let value = literal();
  while (expression.startsWith(' + ', at)) {
    at += 3;
    value += expression[at] === '[' ? cast() : literal();
  }
  assert.equal(expression.slice(at), ')', `a closing parenthesis: ${expression}`);
  return value;
}

function walk(node: Node, visit: (node: Node) => boolean | void): void {
  if (visit(node) === false) return;
  for (const child of node.children) if (child) walk(child, visit);
}

/**
 * How the tree-sitter grammar reads `source`: whether it has an error, its commands, and the value of the one string
 * expression in it (verbatim literals and [char] casts in document order), refusing anything that could run or
 * expand (variables, subexpressions, double-quoted strings, other casts).
 */
function grammarRead(source: string): { hasError: boolean; commands: number; value: string } {
  const tree = parser.parse(source);
  assert.ok(tree);
  let commands = 0;
  let value = '';
  walk(tree.rootNode, (node) => {
    if (node.type === 'command') commands++;
    assert.ok(!['expandable_string_literal', 'sub_expression', 'script_block', 'invokation_expression', 'member_access'].includes(node.type), `${node.type} in ${source}`);
    if (node.type === 'variable') assert.match(node.text, /^\$(x|true|false|null)$/, source);
    if (node.type === 'string_literal') {
      assert.ok(isQuote(node.text[0]), `verbatim: ${source}`);
      value += evaluate(node.text);
      return false;
    }
    if (node.type === 'cast_expression' && node.text.startsWith('[ordered]@{')) return true;
    if (node.type === 'cast_expression') {
      assert.match(node.text, /^\[char\]0x[0-9A-F]+$/, source);
      value += evaluate(`('' + ${node.text})`);
      return false;
    }
    return true;
  });
  return { hasError: tree.rootNode.hasError, commands, value };
}

const HOSTILE = ["'", '\u2018', '\u2019', '\u201A', '\u201B', '"', '`', '$(', ')', '(', ';', '#', '<#', '#>', '[char]', '+', ' + ', '0x1B', 'a', 'é', '中', '@(', "'; Remove-Item C:\\ -Recurse; '"];
const hostile = fc
  .array(fc.oneof(fc.constantFrom(...CONTROLS), fc.constantFrom(...HOSTILE), fc.string({ maxLength: 3, unit: 'grapheme' })), { maxLength: 12 })
  .map((parts) => parts.join(''));

describe('psString with control characters', () => {
  test('each class is written as a [char] cast between verbatim parts', () => {
    const cases: [string, string][] = [
      ['\u0000', '0x00'],
      ['\t', '0x09'],
      ['\n', '0x0A'],
      ['\r', '0x0D'],
      ['\u001b', '0x1B'],
      ['\u001f', '0x1F'],
      ['\u007f', '0x7F'],
      ['\u0080', '0x80'],
      ['\u0085', '0x85'],
      ['\u009b', '0x9B'],
      ['\u009f', '0x9F'],
      ['\u2028', '0x2028'],
      ['\u2029', '0x2029'],
    ];
    for (const [character, code] of cases) assert.equal(psString(`a${character}b`), `('a' + [char]${code} + 'b')`, code);
    assert.equal(psString('x\r\n'), "('x' + [char]0x0D + [char]0x0A)");
  });

  test('a value starting with a control character starts with an empty quoted part (so + joins text, not codes)', () => {
    assert.equal(psString('\u001b[31m'), "('' + [char]0x1B + '[31m')");
    assert.equal(psString('\n'), "('' + [char]0x0A)");
  });

  test('every control character: none left in the output, the value exact', () => {
    for (const character of CONTROLS) {
      for (const value of [character, `a${character}`, `${character}b`, `'${character}'`]) {
        const out = psString(value);
        assert.doesNotMatch(out, CONTROL, JSON.stringify(value));
        assert.equal(evaluate(out), value);
      }
    }
    const all = CONTROLS.join('');
    assert.equal(evaluate(psString(all)), all);
  });

  test('single and curly quotes are still doubled inside the parts; double quotes and backticks are not', () => {
    assert.equal(psString("O'Brien\u001b‘x’ ‚y‛\n\"`z"), "('O''Brien' + [char]0x1B + '‘‘x’’ ‚‚y‛‛' + [char]0x0A + '\"`z')");
  });

  test('a value without control characters is one verbatim literal, as before', () => {
    assert.equal(psString("O'Brien\u00a0‘x’"), "'O''Brien\u00a0‘‘x’’'");
    assert.equal(psString(''), "''");
    fc.assert(
      fc.property(
        hostile.filter((value) => !CONTROL.test(value)),
        (value) => {
          const out = psString(value);
          assert.equal(out, `'${value.replace(/['\u2018\u2019\u201A\u201B]/g, (quote) => quote + quote)}'`);
        },
      ),
      { numRuns: 1_000 },
    );
  });

  test('the evaluator refuses what psString must not emit: it can fail', () => {
    assert.throws(() => evaluate("'a' + 'b'"));
    assert.throws(() => evaluate("('a' + $x)"));
    assert.throws(() => evaluate("('a' + [char]0x1b)"));
    assert.throws(() => evaluate("('a'"));
    assert.notEqual(evaluate("('a' + [char]0x0A)"), 'a\r');
  });

  test('hostile strings with control characters: no control character out, the exact value back (evaluator and grammar, 5,000 cases)', () => {
    fc.assert(
      fc.property(hostile, (value) => {
        const out = psString(value);
        assert.doesNotMatch(out, CONTROL);
        assert.equal(evaluate(out), value);
        const source = `Set-Thing -Name ${out}`;
        const read = grammarRead(source);
        assert.equal(read.hasError, false, source);
        assert.equal(read.commands, 1, `one command: ${source}`);
        assert.equal(read.value, value);
      }),
      { numRuns: 5_000 },
    );
  });

  test('valid wherever the plan puts a string: assignment, argument, @() list, hashtable, [ordered] hashtable', () => {
    fc.assert(
      fc.property(hostile, hostile, (a, b) => {
        const forms: [string, string][] = [
          [`$x = ${psString(a)}`, a],
          [`Write-Host ${psString(a)}`, a],
          [`Get-Thing -Identity ${psString(a)} -Confirm:$false`, a],
          [`$x = ${psValue([a, b])}`, a + b],
          [`Set-Thing -Names ${psValue([a, b])}`, a + b],
          [`$x = ${psHashtable({ Name: a, Comments: b, Enabled: true })}`, a + b],
          [`$x = ([ordered]${psHashtable({ Name: a, Comments: b })})`, a + b],
        ];
        for (const [source, value] of forms) {
          const read = grammarRead(source);
          assert.equal(read.hasError, false, source);
          assert.ok(read.commands <= 1, source);
          assert.equal(read.value, value, source);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('psComment', () => {
  test('every control character becomes a visible escape; CR and LF too', () => {
    assert.equal(psComment('a\r\nb'), '# a\\x0D\\x0Ab');
    assert.equal(psComment('\u001b[31m\u0000\t\u007f\u0085\u2028\u2029'), '# \\x1B[31m\\x00\\x09\\x7F\\x85\\u2028\\u2029');
    for (const character of CONTROLS) {
      const out = psComment(`x${character}y`);
      assert.doesNotMatch(out, CONTROL);
      assert.match(out, /^# x\\(x[0-9A-F]{2}|u[0-9A-F]{4})y$/);
    }
  });

  test('block comment markers are still neutralised; plain text unchanged', () => {
    assert.equal(psComment('a <# b #> c'), '# a # b # c');
    assert.equal(psComment("New-TransportRule 'x'"), "# New-TransportRule 'x'");
  });

  test('a hostile comment is one comment line: the next line is still the one command', () => {
    fc.assert(
      fc.property(hostile, (value) => {
        const out = psComment(value);
        assert.doesNotMatch(out, CONTROL);
        const tree = parser.parse(`${out}\nSet-Thing`);
        assert.ok(tree);
        let commands = 0;
        walk(tree.rootNode, (node) => void (node.type === 'command' && commands++));
        assert.equal(tree.rootNode.hasError, false, out);
        assert.equal(commands, 1, out);
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('the plan for names with control characters (the fuzz cases conn-name-inject and tr-name-inject)', () => {
  const folder = tempFolder('eoplock-ps-');
  const CONNECTOR_NAME = 'x"; Remove-Item -Recurse C:\\ ; "$(calc)\' `n\r\nWrite-Host pwned #';
  const RULE_NAME = 'x\'; Remove-Item C:\\ -Recurse; \'$(calc)`"\u001b[31m';

  async function planFor(name: string, change: (snapshot: Record<string, { Name: string; Identity?: string }[]>) => void): Promise<Record<string, string>> {
    const snapshot = JSON.parse(await readFile('examples/contoso-exposed.json', 'utf8')) as Record<string, { Name: string; Identity?: string }[]>;
    change(snapshot);
    const input = await folder.file(`${name}.json`, JSON.stringify(snapshot, null, 2));
    const out = join(folder.path(), name);
    const run = await cli('plan', input, '--out', out, '--accept-broken', '--prove-time-limit', '5');
    assert.equal(run.code, 0, run.stderr);
    const scripts: Record<string, string> = {};
    const read = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await read(path);
        else if (entry.name.endsWith('.ps1')) scripts[relative(out, path)] = await readFile(path, 'utf8');
      }
    };
    await read(out);
    return scripts;
  }

  function check(scripts: Record<string, string>, name: string): void {
    const withName = Object.entries(scripts).filter(([, content]) => content.includes(`$identity = ${psString(name)}\n`));
    assert.ok(withName.length >= 2, `the name reaches an apply and a verify script: ${Object.keys(scripts).join(', ')}`);
    for (const [file, content] of Object.entries(scripts)) {
      const lines = content.split('\n');
      lines.forEach((line, index) => assert.doesNotMatch(line, CONTROL, `${file}:${index + 1}`));
      const tree = parser.parse(content);
      assert.ok(tree);
      assert.equal(tree.rootNode.hasError, false, file);
    }
    for (const [file, content] of withName) {
      const line = content.split('\n').find((text) => text.startsWith('$identity = ('));
      assert.ok(line, file);
      assert.equal(evaluate(line.slice('$identity = '.length)), name, file);
    }
  }

  test('a connector named with CR LF', async () => {
    const scripts = await planFor('conn-name-inject', (snapshot) => {
      const connector = snapshot.InboundConnector?.[1];
      assert.ok(connector);
      connector.Name = CONNECTOR_NAME;
      connector.Identity = CONNECTOR_NAME;
    });
    check(scripts, CONNECTOR_NAME);
  });

  test('a transport rule named with ESC', async () => {
    const scripts = await planFor('tr-name-inject', (snapshot) => {
      const rule = snapshot.TransportRule?.[0];
      assert.ok(rule);
      rule.Name = RULE_NAME;
    });
    check(scripts, RULE_NAME);
  });
});
