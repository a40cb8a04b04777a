/**
 * PLAN.md is the document a change board reads: a CR/LF, ESC or `|` in a connector, rule, source or tenant name
 * must not write a line of its own or add a table column. expected-after.json and the PowerShell keep the exact
 * value (the PowerShell through its own quoting).
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { resolveAssumptions } from '../../src/eop/assumptions.js';
import { buildPlan, DEFAULT_CONNECTOR_NAME, DEFAULT_RULE_NAME } from '../../src/plan/plan.js';
import { psString } from '../../src/plan/powershell.js';
import { renderPlan } from '../../src/plan/render.js';
import { inferProfile } from '../../src/profile/profile.js';
import { parseSnapshot } from '../../src/snapshot/parse.js';
import { cli, tempFolder } from '../helpers/cli.js';
import { FORGED_CONNECTOR, FORGED_RULE, FORGED_TENANT, hostileName, hostileSnapshot, RAW_CONTROL } from '../report/hostile-snapshot.js';

const temp = tempFolder('eoplock-plan-md-');
const SOURCE = 'Scanner\r\n# forged source | z |\u001b[8m';

/** The cells of a Markdown table row the way GFM splits it: `\` escapes the next character, `|` ends a cell. */
function cellCount(row: string): number {
  let count = 1;
  for (let i = 0; i < row.length; i++) {
    if (row[i] === '\\') i++;
    else if (row[i] === '|') count++;
  }
  return count;
}

/** Every table in a Markdown text keeps its header's column count. */
function assertTables(markdown: string): number {
  let header = 0;
  let rows = 0;
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('|')) {
      header = 0;
      continue;
    }
    if (header === 0) header = cellCount(line);
    else {
      assert.equal(cellCount(line), header, `a row with a different column count: ${line}`);
      rows++;
    }
  }
  return rows;
}

function planMd(snapshotJson: Record<string, unknown>, source = 'Scanner'): string {
  const { snapshot } = parseSnapshot(snapshotJson);
  const plan = buildPlan(snapshot, inferProfile(snapshot), {
    allowDirectSend: [{ ip: '192.0.2.25', name: source }],
    safetyNet: 'reject',
    ruleName: DEFAULT_RULE_NAME,
    connectorName: DEFAULT_CONNECTOR_NAME,
    assumptions: resolveAssumptions(),
  });
  return renderPlan(plan, '')['PLAN.md'] ?? '';
}

describe('PLAN.md with hostile names', () => {
  test('no forged line, no raw control character, tables keep their columns; JSON and PowerShell keep the exact names', async () => {
    const file = join(temp.path(), 'hostile.json');
    await writeFile(file, JSON.stringify(hostileSnapshot()));
    const out = join(temp.path(), 'plan');
    const result = await cli('plan', file, '--out', out, '--allow-direct-send', `192.0.2.25=${SOURCE}`);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout, RAW_CONTROL, 'the summary on stdout');
    assert.doesNotMatch(result.stdout, /^# forged/m);

    const markdown = await readFile(join(out, 'PLAN.md'), 'utf8');
    assert.doesNotMatch(markdown, RAW_CONTROL);
    assert.doesNotMatch(markdown, /^#+ forged/m, 'a name wrote a heading of its own');
    assert.ok(assertTables(markdown) >= 8, 'the expectation tables are there');
    // The names are there, escaped where they were put.
    assert.ok(markdown.includes('# Lockdown plan for Contoso\\r\\n# forged tenant\\e[2J'));
    assert.ok(markdown.includes('| inbound connector "From SEG\\r\\n# forged heading \\| x \\|\\e]0;pwned\\x07\\u2028" | RestrictDomainsToIPAddresses | false | true |'));
    assert.ok(markdown.includes('| transport rule "Block outside\\r\\n# forged rule \\| x \\| y \\|\\0\\u202e" | State | Enabled | Disabled |'), 'the replaced safety net, in a table row');
    assert.ok(markdown.includes('| Direct Send from Scanner\\r\\n# forged source \\| z \\|\\e[8m (192.0.2.25) |'));
    assert.ok(markdown.includes('via From SEG\\r\\n# forged heading \\| x \\|\\e]0;pwned\\x07\\u2028 |'));
    assert.ok(markdown.includes('- Note: The existing rule "Block outside\\r\\n# forged rule | x | y |\\0\\u202e" is a second safety net (FromScope NotInOrganization'));

    const after = JSON.parse(await readFile(join(out, 'expected-after.json'), 'utf8')) as { InboundConnector: { Name: string }[]; TransportRule: { Name: string }[]; Meta: { tenant: string } };
    assert.ok(after.InboundConnector.some((connector) => connector.Name === FORGED_CONNECTOR));
    assert.ok(after.InboundConnector.some((connector) => connector.Name === SOURCE));
    assert.ok(after.TransportRule.some((rule) => rule.Name === FORGED_RULE));
    assert.equal(after.Meta.tenant, FORGED_TENANT);
    // The PowerShell keeps the exact value inside its single-quoted literal; a comment naming it stays one line.
    const connectors = await readFile(join(out, '02-connectors.ps1'), 'utf8');
    assert.ok(connectors.includes(`$identity = ${psString(FORGED_CONNECTOR)}\n`));
    assert.doesNotMatch(connectors, RAW_CONTROL);
    // When the script runs, a name it prints goes through Format-EoplockShown (control characters as \xNN) first.
    assert.match(connectors, /^function Format-EoplockShown \{/m);
    assert.doesNotMatch(connectors, /(Write-Host|ShouldProcess\(|\+=) "[^"]*\$identity/, 'every printed name is escaped');
    assert.match(connectors, /Write-Host \(Format-EoplockShown "(created|changed|unchanged): inbound connector \$identity/);
    assert.match(connectors, /^# 2\. Set-InboundConnector \('From SEG' \+ \[char\]0x0D \+ \[char\]0x0A \+ '# forged heading \| x \|'/m);
  });

  test('fuzz: any names leave PLAN.md with no raw control character, the same line count and whole tables', { timeout: 60_000 }, () => {
    const baseline = planMd(hostileSnapshot({ connector: 'From SEG', rule: 'Block outside', tenant: 'Contoso' })).split('\n').length;
    fc.assert(
      fc.property(hostileName, hostileName, hostileName, hostileName, (connector, rule, tenant, source) => {
        const markdown = planMd(hostileSnapshot({ connector, rule, tenant }), source);
        assert.doesNotMatch(markdown, RAW_CONTROL);
        assert.equal(markdown.split('\n').length, baseline);
        assertTables(markdown);
      }),
      { numRuns: 40 },
    );
  });
});
