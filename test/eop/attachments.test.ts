/**
 * Transport-rule attachment conditions (New-TransportRule, S18): evaluated over the attachments a transaction lists.
 * A message without attachments is a plain non-match for every one of them — never an incomplete verdict; what a listed
 * attachment does not say leaves the condition not evaluated.
 *
 * From S18: AttachmentExtensionMatchesWords "looks for words in the file name extensions of message attachments" and
 * "nested attachment extensions (files inside the original attachments) are also inspected"; AttachmentSizeOver "looks
 * for messages where any attachment is greater than the specified size" (B, KB, MB, GB, TB; Get-TransportRule shows it
 * as `10 MB (10,485,760 bytes)`); AttachmentNameMatchesPatterns "looks for text patterns in the file name of message
 * attachments by using regular expressions".
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decide } from '../../src/eop/decide.js';
import { InputError } from '../../src/errors.js';
import { quantifiedBytes } from '../../src/eop/rule-predicates.js';
import type { Transaction, TransactionAttachment } from '../../src/eop/types.js';
import { parseScenarios } from '../../src/scenarios/load.js';
import { rule, tenant } from '../helpers/tenant.js';

function tx(attachments?: TransactionAttachment[]): Transaction {
  return {
    clientIp: '198.51.100.77',
    helo: 'mail.example',
    mailFrom: 'billing@fabrikam.example',
    rcptTo: ['user@contoso.com'],
    headers: [
      { name: 'From', value: 'Billing <billing@fabrikam.example>' },
      { name: 'Subject', value: 'Invoice' },
    ],
    ...(attachments ? { attachments } : {}),
  };
}

const ATTACHMENT_CONDITIONS: Record<string, unknown> = {
  AttachmentExtensionMatchesWords: ['exe', 'js'],
  AttachmentNameMatchesPatterns: ['^invoice'],
  AttachmentSizeOver: '10 MB (10,485,760 bytes)',
  AttachmentContainsWords: ['password'],
  AttachmentMatchesPatterns: ['\\d{16}'],
  AttachmentHasExecutableContent: true,
  AttachmentIsPasswordProtected: true,
  AttachmentIsUnsupported: true,
  AttachmentProcessingLimitExceeded: true,
  AttachmentPropertyContainsWords: ['Classification:Secret'],
};

/** The one rule's evaluation, and the reply. */
function run(conditions: Record<string, unknown>, attachments?: TransactionAttachment[]) {
  const snapshot = tenant({ rules: [rule({ Name: 'Attachment rule', ...conditions, RejectMessageReasonText: 'blocked attachment' })] });
  const verdict = decide(snapshot, tx(attachments));
  const evaluation = verdict.rules.find((entry) => entry.name === 'Attachment rule');
  assert.ok(evaluation, 'the rule was evaluated');
  return { verdict, evaluation };
}

describe('a message without attachments (the transaction lists none)', () => {
  for (const [parameter, value] of Object.entries(ATTACHMENT_CONDITIONS)) {
    test(`${parameter} is a plain non-match, not "not evaluated"`, () => {
      for (const attachments of [undefined, []]) {
        const { verdict, evaluation } = run({ [parameter]: value }, attachments);
        assert.equal(evaluation.matched, false);
        assert.deepEqual(evaluation.notEvaluated, []);
        assert.match(evaluation.reasons.join('\n'), /no attachments/);
        assert.equal(verdict.action, 'accept', 'the rule does not reject');
        assert.doesNotMatch((verdict.incompleteReasons ?? []).join('\n'), /Attachment rule|Attachment/);
        assert.ok(!verdict.trace.some((step) => /could not be evaluated/.test(step.detail)), 'no step says the rule could not be evaluated');
      }
    });
  }

  test('an ExceptIf attachment condition does not match either, so the rule applies', () => {
    const snapshot = tenant({ rules: [rule({ Name: 'Quarantine unless big', ExceptIfAttachmentSizeOver: '5 MB', Quarantine: true })] });
    const verdict = decide(snapshot, tx());
    assert.equal(verdict.disposition, 'quarantine');
    assert.equal(verdict.rules[0]?.matched, true);
  });
});

describe('a message whose attachments are listed', () => {
  test('an extension listed in AttachmentExtensionMatchesWords matches, in any case', () => {
    const { verdict, evaluation } = run({ AttachmentExtensionMatchesWords: ['exe'] }, [{ name: 'Invoice.EXE', size: 4096 }]);
    assert.equal(evaluation.matched, true);
    assert.equal(verdict.enhanced, '5.7.1');
    assert.equal(verdict.text, 'blocked attachment');
  });

  test('other extensions do not match', () => {
    const { verdict, evaluation } = run({ AttachmentExtensionMatchesWords: ['exe'] }, [{ name: 'invoice.pdf' }, { name: 'logo.png' }]);
    assert.equal(evaluation.matched, false);
    assert.equal(verdict.incomplete, false);
  });

  test('an archive whose files are not listed leaves the extension condition not evaluated (Exchange looks inside)', () => {
    const { verdict, evaluation } = run({ AttachmentExtensionMatchesWords: ['exe'] }, [{ name: 'invoice.zip' }]);
    assert.equal(evaluation.matched, null);
    assert.deepEqual(evaluation.notEvaluated, ['AttachmentExtensionMatchesWords']);
    assert.equal(verdict.incomplete, true);
  });

  test('the files listed inside an archive are inspected', () => {
    assert.equal(run({ AttachmentExtensionMatchesWords: ['exe'] }, [{ name: 'invoice.zip', files: [{ name: 'invoice.pdf' }] }]).evaluation.matched, false);
    assert.equal(run({ AttachmentExtensionMatchesWords: ['exe'] }, [{ name: 'invoice.zip', files: [{ name: 'setup.exe' }] }]).evaluation.matched, true);
  });

  test('AttachmentSizeOver compares each attachment with the limit; an unknown size is not evaluated', () => {
    assert.equal(run({ AttachmentSizeOver: '10 MB (10,485,760 bytes)' }, [{ name: 'big.iso', size: 20 * 1024 * 1024 }]).evaluation.matched, true);
    assert.equal(run({ AttachmentSizeOver: '10 MB (10,485,760 bytes)' }, [{ name: 'small.pdf', size: 10_485_760 }]).evaluation.matched, false);
    assert.equal(run({ AttachmentSizeOver: '10MB' }, [{ name: 'unknown.pdf' }]).evaluation.matched, null);
  });

  test('AttachmentNameMatchesPatterns is a case-insensitive regular expression over the file names', () => {
    assert.equal(run({ AttachmentNameMatchesPatterns: ['^invoice_\\d+\\.pdf$'] }, [{ name: 'INVOICE_42.pdf' }]).evaluation.matched, true);
    assert.equal(run({ AttachmentNameMatchesPatterns: ['^invoice_\\d+\\.pdf$'] }, [{ name: 'report.pdf' }]).evaluation.matched, false);
  });

  test('conditions on attachment content are not evaluated when there are attachments', () => {
    const { verdict, evaluation } = run({ AttachmentHasExecutableContent: true }, [{ name: 'report.pdf', size: 100 }]);
    assert.equal(evaluation.matched, null);
    assert.match(evaluation.reasons.join('\n'), /needs the content/);
    assert.equal(verdict.incomplete, true);
  });
});

describe('a transaction that does not say (message trace, a lab message whose body was not read)', () => {
  test('attachments: "unknown" leaves every attachment condition not evaluated, as before', () => {
    for (const [parameter, value] of Object.entries(ATTACHMENT_CONDITIONS)) {
      const snapshot = tenant({ rules: [rule({ Name: 'Attachment rule', [parameter]: value, RejectMessageReasonText: 'x' })] });
      const verdict = decide(snapshot, { ...tx(), attachments: 'unknown' });
      assert.equal(verdict.rules[0]?.matched, null, parameter);
      assert.match(verdict.rules[0]?.reasons.join('\n') ?? '', /does not say whether the message has attachments/);
      assert.equal(verdict.incomplete, true);
    }
  });
});

describe('ByteQuantifiedSize values (S18: B, KB, MB, GB, TB)', () => {
  test('as Get-TransportRule shows them and as they are typed', () => {
    assert.equal(quantifiedBytes('10 MB (10,485,760 bytes)'), 10_485_760);
    assert.equal(quantifiedBytes('512KB'), 524_288);
    assert.equal(quantifiedBytes('1.5 GB'), 1_610_612_736);
    assert.equal(quantifiedBytes('2048'), 2048);
    assert.equal(quantifiedBytes(2048), 2048);
    assert.throws(() => quantifiedBytes('ten megabytes'), /not a size/);
  });
});

describe('scenario files', () => {
  test('list attachments with name, size and the files inside', async () => {
    const [scenario] = await parseScenarios(
      'scenarios:\n  - name: zip\n    clientIp: 198.51.100.77\n    mailFrom: a@fabrikam.example\n    rcptTo: user@contoso.com\n' +
        '    attachments: [{ name: invoice.zip, size: 2048, files: [{ name: setup.exe }] }]\n',
    );
    assert.deepEqual(scenario?.transaction.attachments, [{ name: 'invoice.zip', size: 2048, files: [{ name: 'setup.exe' }] }]);
  });

  test('refuse an attachment property they do not know, naming it', async () => {
    await assert.rejects(
      parseScenarios('scenarios:\n  - name: x\n    clientIp: 198.51.100.77\n    mailFrom: a@b.example\n    rcptTo: u@contoso.com\n    attachments: [{ filename: a.exe }]\n'),
      (error: unknown) => error instanceof InputError && /attachments\[0\]/.test(error.describe()) && /filename/.test(error.describe()),
    );
  });
});
