/**
 * The rule sections that say who a policy applies to: AntiPhishRule, HostedContentFilterRule, and the preset security
 * policies' EOPProtectionPolicyRule and ATPProtectionPolicyRule (Get-EOPProtectionPolicyRule: State Enabled or
 * Disabled, "The State property … indicates whether the rule is Enabled or Disabled"). The real shapes come from the
 * ScubaGear sample export (test/fixtures/snapshots/scubagear-preset-rules.json; source in test/eop/policy-scope.test.ts).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { InputError } from '../../src/errors.js';
import { parseSnapshot } from '../../src/snapshot/parse.js';

type Raw = Record<string, unknown>;
const BASE = { Meta: { eoplockSnapshot: 1 }, OrganizationConfig: {}, AcceptedDomain: [{ DomainName: 'contoso.com', DomainType: 'Authoritative' }] };
const parse = (sections: Raw) => parseSnapshot({ ...BASE, ...sections });
const rules = JSON.parse(readFileSync('test/fixtures/snapshots/scubagear-preset-rules.json', 'utf8')) as Raw;

describe('policy rule sections', () => {
  test('a section the export could not read is null; an empty one is an empty list', () => {
    const absent = parse({}).snapshot;
    for (const section of ['AntiPhishRule', 'HostedContentFilterRule', 'EOPProtectionPolicyRule', 'ATPProtectionPolicyRule'] as const) {
      assert.equal(absent[section], null, section);
    }
    assert.deepEqual(parse({ EOPProtectionPolicyRule: [] }).snapshot.EOPProtectionPolicyRule, []);
  });

  test('the real export parses: RuleVersion kept, dates converted, a null condition read as no values', () => {
    const { snapshot, notes } = parse(rules);
    assert.deepEqual(snapshot.EOPProtectionPolicyRule?.map((rule) => [rule.Name, rule.State, rule.Priority, rule.RecipientDomainIs]), [
      ['Strict Preset Security Policy', 'Enabled', 0, ['badpeople.r.us']],
      ['Standard Preset Security Policy', 'Enabled', 1, []],
    ]);
    assert.deepEqual((snapshot.EOPProtectionPolicyRule?.[1] as Raw | undefined)?.RuleVersion, { Major: 14, Minor: 0, Build: 0, Revision: 0, MajorRevision: 0, MinorRevision: 0 });
    assert.ok(notes.some((note) => note.path === 'EOPProtectionPolicyRule[0].WhenChanged' && note.kind === 'date-converted'));
  });

  test('Windows PowerShell 5.1: State as a number, one object instead of an array, a flattened list', () => {
    const { snapshot, notes } = parse({
      ATPProtectionPolicyRule: { Name: 'Strict Preset Security Policy', State: 1, Priority: 0, SentToMemberOf: 'Executive Board', RecipientDomainIs: 'contoso.com fabrikam.com' },
    });
    const [rule] = snapshot.ATPProtectionPolicyRule ?? [];
    assert.equal(rule?.State, 'Disabled');
    assert.deepEqual(rule?.SentToMemberOf, ['Executive Board'], 'a group name keeps its space');
    assert.deepEqual(rule?.RecipientDomainIs, ['contoso.com', 'fabrikam.com']);
    assert.ok(notes.some((note) => note.path === 'ATPProtectionPolicyRule' && note.kind === 'wrapped-in-array'));
    assert.ok(notes.some((note) => note.path === 'ATPProtectionPolicyRule[0].State' && note.detail === '1 → Disabled'));
  });

  test('State absent is Enabled (the cmdlets\' default)', () => {
    assert.equal(parse({ AntiPhishRule: [{ Name: 'r', AntiPhishPolicy: 'p' }] }).snapshot.AntiPhishRule?.[0]?.State, 'Enabled');
  });

  const refused: { name: string; sections: Raw; where: string }[] = [
    { name: 'a State the cmdlet does not write', sections: { EOPProtectionPolicyRule: [{ Name: 'x', State: 'On' }] }, where: 'EOPProtectionPolicyRule[0].State' },
    { name: 'a negative Priority', sections: { HostedContentFilterRule: [{ Name: 'x', Priority: -1 }] }, where: 'HostedContentFilterRule[0].Priority' },
    { name: 'a control character in a group name', sections: { AntiPhishRule: [{ Name: 'x', SentToMemberOf: ['Exec\u001b[2J'] }] }, where: 'AntiPhishRule[0].SentToMemberOf[0]' },
    { name: 'a condition that is not a list of text', sections: { AntiPhishRule: [{ Name: 'x', ExceptIfSentTo: [{ Name: 'a' }] }] }, where: 'AntiPhishRule[0].ExceptIfSentTo[0]' },
  ];
  for (const row of refused) {
    test(`refused with the JSON path: ${row.name}`, () => {
      assert.throws(() => parse(row.sections), (error: unknown) => error instanceof InputError && error.where === row.where);
    });
  }
});
