/**
 * isInertRule: which transport rules can change nothing a verdict's kind or cause reads (the class search does not
 * tell inputs apart by them). Every action that changes a verdict (S18: reject, delete, quarantine, SCL, stop
 * processing), in either mode, and every predicate eoplock does not evaluate make a rule a reader.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_ASSUMPTIONS } from '../../src/eop/assumptions.js';
import { CompiledRules, isInertRule } from '../../src/eop/compiled-rules.js';
import type { TransportRule } from '../../src/snapshot/schema.js';

function inert(extra: Record<string, unknown>): boolean {
  const rule = { Name: 'R', Priority: 0, State: 'Enabled', Mode: 'Enforce', RecipientDomainIs: ['contoso.com'], ...extra } as unknown as TransportRule;
  const [compiled] = new CompiledRules([rule], DEFAULT_ASSUMPTIONS).rules;
  assert.ok(compiled);
  return isInertRule(compiled);
}

test('a rule whose actions eoplock does not emulate, on predicates it evaluates, is inert', () => {
  assert.equal(inert({ ApplyHtmlDisclaimerText: 'External', FromScope: 'NotInOrganization' }), true);
  assert.equal(inert({ PrependSubject: '[EXT] ', ExceptIfSenderIpRanges: ['203.0.113.0/24'] }), true);
  assert.equal(inert({ SetHeaderName: 'X-Tag', SetHeaderValue: '1', HeaderContainsMessageHeader: 'X-Campaign', HeaderContainsWords: ['spring'] }), true);
});

test('a rule that changes a verdict is a reader, in Enforce and in Audit mode', () => {
  for (const action of [{ SetSCL: -1 }, { SetSCL: 6 }, { SetSCL: 0 }, { Quarantine: true }, { DeleteMessage: true }, { RejectMessageReasonText: 'no' }, { RejectMessageEnhancedStatusCode: '5.7.1' }, { StopRuleProcessing: true }]) {
    assert.equal(inert(action), false, JSON.stringify(action));
    assert.equal(inert({ ...action, Mode: 'Audit' }), false, `${JSON.stringify(action)} in Audit mode`);
  }
});

test('a rule with a predicate eoplock does not evaluate is a reader (it makes verdicts incomplete)', () => {
  assert.equal(inert({ ApplyHtmlDisclaimerText: 'External', AnyOfRecipientAddressContainsWords: ['ceo'] }), false);
  assert.equal(inert({ ApplyHtmlDisclaimerText: 'External', ExceptIfAnyOfRecipientAddressContainsWords: ['ceo'] }), false);
});
