/**
 * Scenario files: YAML and JSON, raw header blocks through postal-mime, and expectations.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
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

describe('envelope fields', () => {
  const scenario = (fields: string) => `scenarios:\n  - name: x\n    clientIp: 192.0.2.1\n${fields}`;

  test('odd senders for spoof tests are kept as written: a display name, no domain, the null sender', async () => {
    for (const mailFrom of ['"CEO <ceo@contoso.com>"', '"postmaster"', '""', '"ceo@contoso.com."']) {
      const [parsed] = await parseScenarios(scenario(`    mailFrom: ${mailFrom}\n    rcptTo: u@contoso.com\n    helo: "[192.0.2.1]"\n`));
      assert.equal(parsed?.transaction.mailFrom, JSON.parse(mailFrom));
    }
  });

  for (const [name, fields, where, message] of [
    ['CRLF in mailFrom', '    mailFrom: "a@b.example\\r\\nDATA"\n    rcptTo: u@contoso.com\n', 'mailFrom (line 4', /"a@b\.example\\r\\nDATA" holds a control character/],
    ['NUL in mailFrom', '    mailFrom: "a@b.example\\0"\n    rcptTo: u@contoso.com\n', 'mailFrom (line 4', /holds a control character/],
    ['LF in a recipient', '    mailFrom: a@b.example\n    rcptTo: ["u@contoso.com", "v@contoso.com\\nDATA"]\n', 'rcptTo[1] (line 5', /is not an email address/],
    ['a recipient that is no mailbox', '    mailFrom: a@b.example\n    rcptTo: "Alice <alice@contoso.com>"\n', 'rcptTo[0] (line 5', /is not an email address/],
    ['ESC in helo', '    helo: "mx\\e[2J"\n    mailFrom: a@b.example\n    rcptTo: u@contoso.com\n', 'helo (line 4', /"mx\\e\[2J" is not a HELO name/],
    ['a space in helo', '    helo: "mx one"\n    mailFrom: a@b.example\n    rcptTo: u@contoso.com\n', 'helo (line 4', /is not a HELO name/],
  ] as const) {
    test(`${name} is refused with the path and line, the value escaped`, async () => {
      await assert.rejects(parseScenarios(scenario(fields), 's.yaml'), (error: unknown) => {
        assert.ok(error instanceof InputError, String(error));
        assert.equal(error.file, 's.yaml');
        assert.ok(error.where?.startsWith(`scenarios[0].${where}`), error.where);
        assert.match(error.message, message);
        assert.doesNotMatch(error.message, /[\r\n\u0000\u001b]/);
        return true;
      });
    });
  }

  test('examples/scenarios.yaml stays valid', async () => {
    const scenarios = await parseScenarios(await readFile('examples/scenarios.yaml', 'utf8'), 'examples/scenarios.yaml');
    assert.ok(scenarios.length > 5);
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
