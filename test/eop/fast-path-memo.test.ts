/**
 * What the compiled fast path remembers per value (src/eop/compile.ts, compiled-rules.ts): the bounded memo, and the
 * verdicts' rule lists shared between messages that change the same rules the same way. A remembered answer must be
 * the answer: the same transaction decided again, or after other transactions filled and cleared the tables, gets the
 * verdict it got first, and that verdict equals the traced one (but the trace and the rules' reasons).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compile } from '../../src/eop/compile.js';
import { Memo } from '../../src/eop/compiled-rules.js';
import type { Transaction, Verdict } from '../../src/eop/types.js';
import { parseSnapshot } from '../../src/snapshot/parse.js';

const comparable = (verdict: Verdict) => ({ ...verdict, trace: [], rules: verdict.rules.map((rule) => ({ ...rule, reasons: [] })) });

describe('Memo', () => {
  test('answers what was set, and starts again past its bound', () => {
    const memo = new Memo<number>(3);
    for (const [key, value] of [['a', 1], ['b', 2], ['c', 3]] as const) assert.equal(memo.set(key, value), value);
    assert.deepEqual(['a', 'b', 'c', 'd'].map((key) => memo.get(key)), [1, 2, 3, undefined]);
    memo.set('d', 4);
    assert.deepEqual(['a', 'b', 'c', 'd'].map((key) => memo.get(key)), [undefined, undefined, undefined, 4]);
  });
});

describe('rule lists shared between verdicts', () => {
  // One rule for each of two sender domains, then fourteen that an external sender to contoso.com matches (more changed
  // rules than one number can spell in base 2·(rules + 1) below 2^53: the lists of two senders differ in their first
  // changed rule only), one that stops processing, and one that never matches.
  const matching = Array.from({ length: 14 }, (_, index) => ({ Name: `Tag ${index}`, Priority: index + 1, FromScope: 'NotInOrganization', RecipientDomainIs: ['contoso.com'], SetSCL: index }));
  const snapshot = parseSnapshot({
    Meta: { eoplockSnapshot: 1, tenant: 'Contoso' },
    OrganizationConfig: { RejectDirectSend: false },
    AcceptedDomain: [{ DomainName: 'contoso.com', DomainType: 'Authoritative' }, { DomainName: 'fabrikam.com', DomainType: 'Authoritative' }],
    InboundConnector: [],
    TransportRule: [
      { Name: 'Partner one', Priority: 0, SenderDomainIs: ['partner.example'], SetSCL: 1 },
      { Name: 'Partner two', Priority: 0, SenderDomainIs: ['partner2.example'], SetSCL: 2 },
      ...matching,
      { Name: 'Stop for fabrikam', Priority: 15, RecipientDomainIs: ['fabrikam.com'], StopRuleProcessing: true },
      { Name: 'Never', Priority: 16, SenderDomainIs: ['nowhere.example'], Quarantine: true },
    ],
  }).snapshot;
  const tx = (rcptTo: string[], mailFrom = 'a@partner.example'): Transaction => ({ clientIp: '192.0.2.10', mailFrom, rcptTo, headers: [{ name: 'From', value: mailFrom }] });

  test('equal to the traced verdict, the same on every call, and read only', () => {
    const policy = compile(snapshot);
    const senders = ['a@partner.example', 'a@partner2.example', 'b@contoso.com'];
    for (const transaction of senders.flatMap((sender) => [tx(['x@contoso.com'], sender), tx(['x@fabrikam.com'], sender), tx(['x@contoso.com', 'y@fabrikam.com'], sender)])) {
      const first = policy.decide(transaction);
      const again = policy.decide(transaction);
      assert.deepEqual(comparable(first), comparable(policy.decide(transaction, { trace: true })), `${transaction.mailFrom} → ${transaction.rcptTo.join(', ')}`);
      assert.deepEqual(again, first);
      assert.ok(Object.isFrozen(again.rules) || again.rules !== first.rules, 'a shared list is frozen');
    }
    const external = policy.decide(tx(['x@contoso.com']));
    assert.equal(external.rules.filter((rule) => rule.matched === true).length, 15);
    assert.equal(external.scl, 13);
    const stopped = policy.decide(tx(['x@fabrikam.com']));
    assert.deepEqual(stopped.rules.map((rule) => rule.name), ['Partner one', 'Partner two', ...matching.map((rule) => rule.Name), 'Stop for fabrikam']);
    assert.deepEqual(policy.decide(tx(['x@contoso.com'], 'a@partner2.example')).rules.map((rule) => rule.matched).slice(0, 2), [false, true]);
  });

  test('the same verdicts after many other senders and recipients filled the per-value tables', () => {
    const policy = compile(snapshot);
    const probe = tx(['x@contoso.com']);
    const before = policy.decide(probe);
    for (let index = 0; index < 60_000; index++) policy.decide(tx([`u${index}@contoso.com`], `s${index}@partner${index % 7}.example`));
    assert.deepEqual(policy.decide(probe), before);
    assert.deepEqual(comparable(policy.decide(probe)), comparable(policy.decide(probe, { trace: true })));
  });
});
