/**
 * A verdict that depends on what eoplock does not emulate — spoof intelligence's implicit (compauth) verdict, content
 * filtering — or could not evaluate carries that in `incomplete` and `incompleteReasons`, and the simulate text report
 * does not show it as final. Facts: S26 (implicit failures use the spoof intelligence action; "Implicit email
 * authentication checks aren't used" when spoof intelligence is off), S25 (compauth), S18 (SetSCL is an input to
 * filtering), docs/emulator.md "Not emulated".
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decide } from '../../src/eop/decide.js';
import type { Transaction } from '../../src/eop/types.js';
import { renderSimulationText, type SimulationResult } from '../../src/report/simulate.js';
import { loadSnapshotFile } from '../../src/snapshot/load.js';
import { rule, tenant } from '../helpers/tenant.js';

const exposed = (await loadSnapshotFile('examples/contoso-exposed.json')).snapshot;

/** A spoof of an outside domain with no DMARC record: compauth's implicit failure (reason 001, S24). */
const implicitSpoof: Transaction = {
  clientIp: '198.51.100.77',
  mailFrom: 'billing@vendor.example',
  rcptTo: ['alice@contoso.com'],
  headers: [{ name: 'From', value: 'Billing <billing@vendor.example>' }],
  authentication: { spf: 'softfail', dmarcRecord: null },
};

function report(entries: { name: string; transaction: Transaction; verdict: ReturnType<typeof decide> }[]): string {
  const result: SimulationResult = {
    snapshot: { file: 'contoso-exposed.json', tenant: 'Contoso' },
    mode: 'scenarios',
    assumptionOverrides: {},
    results: entries.map((entry) => ({ ...entry, expectation: null })),
    summary: { total: entries.length, expectationsMet: 0, expectationsFailed: 0, attacksIn: 0, attacksStopped: 0, legitimateBroken: 0, legitimateDelivered: 0, incomplete: entries.filter((entry) => entry.verdict.incomplete).length },
  };
  return renderSimulationText(result, { color: false, trace: false });
}

describe('verdicts that depend on what is not emulated', () => {
  test('every incomplete verdict says why; a complete one carries no reasons', () => {
    const verdict = decide(exposed, implicitSpoof);
    assert.equal(verdict.incomplete, true);
    assert.ok((verdict.incompleteReasons ?? []).length > 0);
    const plain = decide(tenant(), { clientIp: '198.51.100.77', mailFrom: 'a@fabrikam.example', rcptTo: ['alice@contoso.com'] });
    assert.equal(plain.incomplete, false);
    assert.equal(plain.incompleteReasons, undefined);
  });

  test('a rule predicate eoplock does not evaluate is named in the reasons', () => {
    // A directory attribute of the sender (S21) is not in a snapshot: the rule is reported, never guessed.
    const snapshot = tenant({ rules: [rule({ Name: 'VIP senders', SenderADAttributeContainsWords: ['Department:Board'], Quarantine: true })] });
    const verdict = decide(snapshot, { clientIp: '198.51.100.77', mailFrom: 'a@fabrikam.example', rcptTo: ['alice@contoso.com'] });
    assert.equal(verdict.incomplete, true);
    assert.deepEqual(verdict.incompleteReasons, ['transport rule "VIP senders" uses a predicate eoplock does not evaluate (SenderADAttributeContainsWords): its actions are not applied']);
  });

  test('the simulate text report shows such a verdict as not final, with its reasons, and the summary counts it', () => {
    const verdict = decide(exposed, implicitSpoof);
    const text = report([{ name: 'Implicit spoof', transaction: implicitSpoof, verdict }]);
    assert.match(text, /accept → deliver, no connector — not final:\n/);
    assert.match(text, /\n {6}spoof intelligence's implicit \(compauth\) verdict is not emulated/);
    assert.match(text, /1 verdict\(s\) not final: they depend on what eoplock does not evaluate or emulate/);
    assert.doesNotMatch(text, /incomplete: a rule could not be evaluated/);
  });

  test('a final verdict is shown without the note', () => {
    const verdict = decide(tenant(), { clientIp: '198.51.100.77', mailFrom: 'a@fabrikam.example', rcptTo: ['alice@contoso.com'] });
    const text = report([{ name: 'Plain', transaction: { clientIp: '198.51.100.77', mailFrom: 'a@fabrikam.example', rcptTo: ['alice@contoso.com'] }, verdict }]);
    assert.match(text, /accept → deliver, no connector\n/);
    assert.doesNotMatch(text, /not final/);
  });

  test('reasons from the snapshot reach the terminal with control characters made visible', () => {
    const verdict = { ...decide(exposed, implicitSpoof), incompleteReasons: ['policy "A\u001b[31mB" may apply'] };
    const text = report([{ name: 'Hostile', transaction: implicitSpoof, verdict }]);
    assert.ok(!text.includes('\u001b'), 'no raw escape character');
  });
});
