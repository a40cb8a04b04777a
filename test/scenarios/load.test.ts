/**
 * Scenario files: YAML and JSON, raw header blocks through postal-mime, and expectations.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decide } from '../../src/eop/decide.js';
import { InputError } from '../../src/errors.js';
import { checkExpectation } from '../../src/scenarios/expect.js';
import { parseScenarios } from '../../src/scenarios/load.js';
import { tenant } from '../helpers/tenant.js';

describe('parseScenarios', () => {
  test('a raw header block is unfolded and decoded (postal-mime)', async () => {
    const [scenario] = await parseScenarios(
      'scenarios:\n  - name: x\n    clientIp: 192.0.2.1\n    mailFrom: a@b.example\n    rcptTo: u@contoso.com\n    headers: |\n      From: =?utf-8?q?J=C3=B6rg?=\n       <joerg@contoso.com>\n      Subject: hi\n',
    );
    assert.deepEqual(scenario?.transaction.headers, [
      { name: 'From', value: '=?utf-8?q?J=C3=B6rg?= <joerg@contoso.com>' },
      { name: 'Subject', value: 'hi' },
    ]);
    assert.deepEqual(scenario?.transaction.rcptTo, ['u@contoso.com']);
  });

  test('JSON is accepted, and tls: true means TLS without a certificate', async () => {
    const [scenario] = await parseScenarios(
      JSON.stringify({ scenarios: [{ name: 'j', clientIp: '192.0.2.1', tls: true, mailFrom: '', rcptTo: ['u@contoso.com'], headers: { From: 'a@b.example' } }] }),
    );
    assert.deepEqual(scenario?.transaction.tls, {});
    assert.deepEqual(scenario?.transaction.headers, { From: 'a@b.example' });
  });

  test('an unknown key is an error naming the path and line', async () => {
    await assert.rejects(
      parseScenarios('scenarios:\n  - name: x\n    clientIp: 192.0.2.1\n    mailFrom: a@b.example\n    rcptTo: [u@contoso.com]\n    expct: {}\n', 's.yaml'),
      (error: unknown) => error instanceof InputError && error.file === 's.yaml' && /scenarios\[0\] \(line 2/.test(error.where ?? ''),
    );
  });

  test('an empty scenario list is an error', async () => {
    await assert.rejects(parseScenarios('scenarios: []\n'), /no scenarios/);
  });
});

describe('checkExpectation', () => {
  const verdict = decide(tenant({ rejectDirectSend: true }), { clientIp: '198.51.100.9', mailFrom: 'ceo@contoso.com', rcptTo: ['u@contoso.com'] });

  test('met when every named field matches', () => {
    assert.deepEqual(checkExpectation(verdict, { action: 'reject', code: 550, enhanced: '5.7.68', stage: 'rcpt', connector: null }), { met: true, diffs: [] });
  });

  test('each differing field is listed with expected and actual', () => {
    assert.deepEqual(checkExpectation(verdict, { action: 'accept', enhanced: '5.7.51', connector: 'SEG' })?.diffs, [
      { field: 'action', expected: 'accept', actual: 'reject' },
      { field: 'enhanced', expected: '5.7.51', actual: '5.7.68' },
      { field: 'connector', expected: 'SEG', actual: null },
    ]);
  });

  test('no expectation gives null', () => {
    assert.equal(checkExpectation(verdict, undefined), null);
  });
});
