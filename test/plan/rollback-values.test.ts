/**
 * A rollback restores the old values exactly or is not written: a snapshot value that has no exact PowerShell form
 * (an object, a list holding something other than text) is refused at load (exit 2, no plan folder), and the
 * PowerShell renderer refuses such a value rather than turning it into text.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { InputError } from '../../src/errors.js';
import { DEFAULT_RULE_NAME } from '../../src/plan/plan.js';
import { psHashtable, psParameters, psValue, type PsValue } from '../../src/plan/powershell.js';
import { inverse, rollbackOps } from '../../src/plan/rollback.js';
import type { Snapshot } from '../../src/snapshot/parse.js';
import { cli, tempFolder } from '../helpers/cli.js';
import { rule, tenant } from '../helpers/tenant.js';

const { file, path: folder } = tempFolder('eoplock-rollback-values-');
const exposed = JSON.parse(await readFile('examples/contoso-exposed.json', 'utf8')) as Record<string, any>;
const locked = JSON.parse(await readFile('examples/contoso-locked.json', 'utf8')) as Record<string, any>;

/** contoso-exposed with eoplock's own safety-net rule already there (the plan then corrects it with Set-TransportRule). */
function exposedWithOwnRule(properties: Record<string, unknown>): Record<string, any> {
  const document = structuredClone(exposed);
  document.TransportRule.push({ Name: DEFAULT_RULE_NAME, Priority: document.TransportRule.length, State: 'Enabled', Mode: 'Audit', ...properties });
  return document;
}

async function planOf(name: string, document: unknown, ...flags: string[]) {
  const snapshot = await file(`${name}.json`, JSON.stringify(document, null, 2));
  const out = join(folder(), `${name}-plan`);
  return { snapshot, out, result: await cli('plan', snapshot, '--out', out, ...flags) };
}

describe('eoplock plan on a snapshot with values a rollback cannot restore: exit 2 naming the value, no --out', () => {
  const ownRule = exposed.TransportRule.length;
  const cases: [string, Record<string, any>, string][] = [
    ['ExceptIfSenderIpRanges: [{"x":1},7]', exposedWithOwnRule({ ExceptIfSenderIpRanges: [{ x: 1 }, 7] }), `TransportRule[${ownRule}].ExceptIfSenderIpRanges[0]`],
    ['ExceptIfSenderIpRanges: [null]', exposedWithOwnRule({ ExceptIfSenderIpRanges: [null] }), `TransportRule[${ownRule}].ExceptIfSenderIpRanges[0]`],
    ['ExceptIfSenderIpRanges: a list in a list', exposedWithOwnRule({ ExceptIfSenderIpRanges: [['203.0.113.10']] }), `TransportRule[${ownRule}].ExceptIfSenderIpRanges[0]`],
    ['ExceptIfSenderIpRanges: a number', exposedWithOwnRule({ ExceptIfSenderIpRanges: 7 }), `TransportRule[${ownRule}].ExceptIfSenderIpRanges`],
    ['ExceptIfHeaderContainsWords: [true]', exposedWithOwnRule({ ExceptIfHeaderContainsWords: [true] }), `TransportRule[${ownRule}].ExceptIfHeaderContainsWords[0]`],
    ['ExceptIfHeaderContainsMessageHeader: an object', exposedWithOwnRule({ ExceptIfHeaderContainsMessageHeader: { a: 1 } }), `TransportRule[${ownRule}].ExceptIfHeaderContainsMessageHeader`],
    ['RejectMessageReasonText: a list', exposedWithOwnRule({ RejectMessageReasonText: ['x'] }), `TransportRule[${ownRule}].RejectMessageReasonText`],
    ['RejectMessageEnhancedStatusCode: a number', exposedWithOwnRule({ RejectMessageEnhancedStatusCode: 5.71 }), `TransportRule[${ownRule}].RejectMessageEnhancedStatusCode`],
    ['Quarantine: "yes"', exposedWithOwnRule({ Quarantine: 'yes' }), `TransportRule[${ownRule}].Quarantine`],
    ['FromScope: an object', exposedWithOwnRule({ FromScope: { x: 1 } }), `TransportRule[${ownRule}].FromScope`],
    ['Priority: a fraction', exposedWithOwnRule({ Priority: 1.5 }), `TransportRule[${ownRule}].Priority`],
  ];
  {
    const document = structuredClone(locked);
    document.TransportRule[0].ExceptIfSenderIpRanges = [{ x: 1 }, 7];
    cases.push(['the adopted safety net\'s ExceptIfSenderIpRanges: [{"x":1},7]', document, 'TransportRule[0].ExceptIfSenderIpRanges[0]']);
  }
  {
    const document = structuredClone(exposed);
    document.InboundConnector[0].SenderIPAddresses = [{ x: 1 }];
    cases.push(['a connector\'s SenderIPAddresses: [{"x":1}]', document, 'InboundConnector[0].SenderIPAddresses[0]']);
  }
  cases.forEach(([name, document, where], index) => {
    test(name, async () => {
      const { snapshot, out, result } = await planOf(`odd-${index}`, document, '--seg-ip', '203.0.113.10', '--seg-ip', '203.0.113.11', '--seg-ip', '198.51.100.0/28', '--seg-ip', '203.0.113.99');
      assert.equal(result.code, 2, result.stdout + result.stderr);
      assert.equal(result.stderr.split('\n').length, 2, result.stderr);
      assert.ok(result.stderr.startsWith(`eoplock: error: ${snapshot}: at ${where}: `), result.stderr);
      assert.equal(existsSync(out), false, 'no plan folder');
      assert.deepEqual((await readdir(folder())).filter((entry) => entry.startsWith(`.odd-${index}-plan`)), [], 'no staging folder left');
    });
  });
});

test('restorable old values are restored exactly: text, lists of text, true/false, whole numbers', async () => {
  const { out, result } = await planOf(
    'exact',
    exposedWithOwnRule({
      ExceptIfSenderIpRanges: ["192.0.2.1", "it's"],
      ExceptIfHeaderContainsWords: [],
      Quarantine: true,
      FromScope: 'NotInOrganization',
      RejectMessageReasonText: null,
      StopRuleProcessing: false,
    }),
    // The rule quarantines: the plan asks for reject, so Quarantine changes and its rollback restores $true.
    '--safety-net',
    'reject',
  );
  assert.equal(result.code, 0, result.stderr);
  const rollback = await readFile(join(out, 'rollback', '01-safety-net-audit.ps1'), 'utf8');
  assert.match(rollback, /ExceptIfSenderIpRanges = @\('192\.0\.2\.1', 'it''s'\)|-ExceptIfSenderIpRanges @\('192\.0\.2\.1', 'it''s'\)/);
  assert.match(rollback, /Quarantine = \$true|-Quarantine \$true/);
  assert.match(rollback, /FromScope = 'NotInOrganization'|-FromScope 'NotInOrganization'/);
  assert.match(rollback, /StopRuleProcessing = \$false|-StopRuleProcessing \$false/);
  assert.match(rollback, /Priority = 4|-Priority 4/);
  assert.doesNotMatch(rollback, /object Object/);
});

describe('rollback of values that bypassed validation (the second guard)', () => {
  /** A parsed tenant whose first rule then gets `properties` as they are, as if validation had let them through. */
  const withRule = (properties: Record<string, unknown>): Snapshot => {
    const snapshot = tenant({ rules: [rule({ Name: 'net', Priority: 0 })] });
    Object.assign(snapshot.TransportRule[0] as object, properties);
    return snapshot;
  };
  const set = (parameters: Record<string, PsValue>) => ({ cmdlet: 'Set-TransportRule', identity: 'net', parameters }) as const;

  for (const [name, value, where] of [
    ['an object', { x: 1 }, 'TransportRule[0].ExceptIfSenderIpRanges'],
    ['a list holding an object', [{ x: 1 }, 7], 'TransportRule[0].ExceptIfSenderIpRanges[0]'],
    ['a list holding a number', ['203.0.113.10', 7], 'TransportRule[0].ExceptIfSenderIpRanges[1]'],
    ['a list holding null', [null], 'TransportRule[0].ExceptIfSenderIpRanges[0]'],
    ['a fraction', 1.5, 'TransportRule[0].ExceptIfSenderIpRanges'],
    ['a number too large to be exact', 2 ** 60, 'TransportRule[0].ExceptIfSenderIpRanges'],
  ] as const) {
    test(`${name} is refused with its path, never written as text`, () => {
      assert.throws(
        () => rollbackOps(withRule({ ExceptIfSenderIpRanges: value }), [set({ ExceptIfSenderIpRanges: ['203.0.113.10'] })]),
        (error: unknown) => error instanceof InputError && error.where === where && /cannot restore/.test(error.message),
      );
    });
  }

  test('text, lists of text, booleans, whole numbers and absent values come back as they were', () => {
    const before = withRule({ ExceptIfSenderIpRanges: ['203.0.113.10'], Quarantine: false, RejectMessageReasonText: "O'Brien", SetSCL: -1 });
    const undo = inverse(before, set({ ExceptIfSenderIpRanges: ['198.51.100.1'], Quarantine: true, RejectMessageReasonText: 'x', SetSCL: 5, FromScope: 'NotInOrganization' }));
    assert.deepEqual(undo, {
      cmdlet: 'Set-TransportRule',
      identity: 'net',
      parameters: { ExceptIfSenderIpRanges: ['203.0.113.10'], Quarantine: false, RejectMessageReasonText: "O'Brien", SetSCL: -1, FromScope: null },
    });
  });

  test('Set-TransportRule -Enabled (stored as State) rolls back to -Enabled $true/$false, not to the text of State', () => {
    assert.deepEqual(inverse(withRule({ State: 'Disabled' }), set({ Enabled: true })), {
      cmdlet: 'Set-TransportRule',
      identity: 'net',
      parameters: { Enabled: false },
    });
  });
});

describe('psValue refuses what has no exact PowerShell literal', () => {
  test('list items that are not text, true/false or whole numbers', () => {
    for (const item of [{ x: 1 }, null, undefined, ['a'], 1.5, Number.NaN, Infinity, 2 ** 60, 1n, Symbol('s'), () => 1]) {
      assert.throws(() => psValue([item] as unknown as PsValue), TypeError, String(item));
      assert.throws(() => psParameters({ Names: ['ok', item] as unknown as PsValue }), TypeError);
      assert.throws(() => psHashtable({ Names: [item] as unknown as PsValue }), TypeError);
    }
  });

  test('single values likewise; text, booleans and whole numbers are exact literals', () => {
    for (const value of [{ x: 1 }, undefined, 1.5, Number.NaN, -Infinity, 2 ** 60, 1n]) assert.throws(() => psValue(value as unknown as PsValue), TypeError);
    assert.equal(psValue(['a', 7, true, false, -3] as unknown as PsValue), "@('a', 7, $true, $false, -3)");
    assert.equal(psValue(Number.MAX_SAFE_INTEGER), '9007199254740991');
    assert.equal(psValue(-0), '0');
    assert.equal(psValue([]), '@()');
  });
});
