/**
 * scripts/Export-EoplockSnapshot.ps1, checked without PowerShell: parsed with the tree-sitter PowerShell grammar
 * (a parser nobody here wrote), then its commands are read from the syntax tree.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import { Language, Parser, type Node } from 'web-tree-sitter';
import { CMDLET_SECTIONS } from '../../src/snapshot/quirks.js';

const require = createRequire(import.meta.url);
const SCRIPT = 'scripts/Export-EoplockSnapshot.ps1';

async function parseScript() {
  await Parser.init();
  const language = await Language.load(require.resolve('tree-sitter-powershell/tree-sitter-powershell.wasm'));
  const parser = new Parser();
  parser.setLanguage(language);
  const source = await readFile(SCRIPT, 'utf8');
  const tree = parser.parse(source);
  if (!tree) throw new Error('no tree');
  return { tree, source };
}

function walk(node: Node, visit: (node: Node) => void): void {
  visit(node);
  for (const child of node.children) if (child) walk(child, visit);
}

describe('Export-EoplockSnapshot.ps1', async () => {
  const { tree, source } = await parseScript();
  const commands = new Set<string>();
  const functions = new Set<string>();
  walk(tree.rootNode, (node) => {
    if (node.type === 'command_name') commands.add(node.text);
    if (node.type === 'function_name') functions.add(node.text);
  });

  test('parses as PowerShell without syntax errors', () => {
    const errors: string[] = [];
    walk(tree.rootNode, (node) => {
      if (node.type === 'ERROR' || node.isMissing) errors.push(`line ${node.startPosition.row + 1}: ${node.text.slice(0, 60)}`);
    });
    assert.deepEqual(errors, []);
  });

  test('calls only read-only Exchange cmdlets, and every one the snapshot format names', () => {
    // PowerShell's own commands that change nothing outside the script.
    const engine = new Set(['Set-StrictMode', 'New-Object', 'Write-Progress', 'Write-Warning', 'Write-Verbose', 'Write-Host', 'Write-Output', 'Write-Error']);
    const exchange = [...commands].filter((name) => /^[A-Z][a-z]+-[A-Z]/.test(name) && !functions.has(name) && !engine.has(name));
    const verbs = new Set(exchange.map((name) => name.split('-')[0]));
    for (const verb of ['Set', 'Remove', 'Enable', 'Disable', 'Update', 'Start', 'Stop', 'Add']) {
      assert.ok(!verbs.has(verb), `no ${verb}- cmdlet: ${exchange.filter((n) => n.startsWith(`${verb}-`)).join(', ')}`);
    }
    assert.deepEqual(exchange.filter((name) => name.startsWith('New-')), []);
    assert.ok(!exchange.some((name) => /MessageTrace/i.test(name)), 'message trace is not read');
    for (const section of CMDLET_SECTIONS) assert.ok(source.includes(`Get-${section}`), `reads Get-${section}`);
  });

  test('writes the format version and the Depth the loader needs', () => {
    assert.match(source, /eoplockSnapshot\s*=\s*1/);
    assert.match(source, /ConvertTo-Json[^\n]*-Depth\s+10/);
  });
});
