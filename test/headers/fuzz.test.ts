/**
 * `eoplock headers` on generated hostile input: random bytes, and header-like text mixing real fields with CR, LF,
 * NUL, ESC, bidi controls, folds, comments and quotes. Whatever the input: exit 0, 1 or 2, never a stack trace; a
 * failure is one line naming the file and leaves no --out file; the text report carries no raw control character.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { cli, tempFolder } from '../helpers/cli.js';

const temp = tempFolder('eoplock-headers-fuzz-');
/** Control characters that must not reach a terminal raw (TAB and eoplock's own newlines excepted). */
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

const piece = fc.constantFrom(
  'Received: from mail.fabrikam.example ([192.0.2.80]) by mx1.seg.example.net with ESMTPS; Mon, 9 Jun 2025 07:41:18 +0000',
  'Received: from mx1.seg.example.net (203.0.113.10) by BN2PEPF000044A7.mail.protection.outlook.com (10.167.243.152) with Microsoft SMTP Server; Mon, 9 Jun 2025 07:41:20 +0000',
  'Authentication-Results: spf=fail (sender IP is 198.18.7.7) smtp.mailfrom=contoso.com; dkim=none (message not signed) header.d=none;dmarc=fail action=none header.from=contoso.com;compauth=fail reason=601',
  'X-Forefront-Antispam-Report: CIP:198.18.7.7;CTRY:NL;SCL:-1;SFV:SKN;IPV:CAL;DIR:INB;',
  'X-MS-Exchange-Organization-AuthAs: Internal',
  'X-MS-Exchange-SkipListedInternetSender: ip=[192.0.2.80];domain=mail.fabrikam.com',
  'From: CEO <ceo@contoso.com>',
  'Subject: ',
  'x',
  ':',
  ' ',
  '\t',
  '\r',
  '\n',
  '\r\n',
  '\r\n ',
  '\u0000',
  '\u001b[2J',
  '\u001b]0;title\u0007',
  '\u202e',
  '\u2028',
  '\u0085',
  '(',
  ')',
  '"',
  ';',
  '\\',
  '[',
  'ip=[',
  '\uFEFF',
);

/** An input: random bytes, or header-like text, as bytes. */
const input = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.array(piece, { maxLength: 40 }).map((pieces) => new Uint8Array(Buffer.from(pieces.join(''), 'utf8'))),
  fc.array(piece, { maxLength: 40 }).map((pieces) => new Uint8Array(Buffer.from(`\uFEFF${pieces.join('')}`, 'utf16le'))),
);

describe('eoplock headers on generated input', () => {
  test('exit 0, 1 or 2; no stack trace; one-line failures naming the file; no raw control characters out', { timeout: 60_000 }, async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(input, fc.constantFrom('text', 'json'), fc.boolean(), async (bytes, format, toFile) => {
        run++;
        const file = join(temp.path(), `in-${run}.eml`);
        const out = join(temp.path(), `out-${run}.txt`);
        await writeFile(file, bytes);
        const result = await cli('headers', file, '--format', format, ...(toFile ? ['--out', out] : []));
        assert.ok([0, 1, 2].includes(result.code), `exit ${result.code}: ${result.stderr}`);
        assert.doesNotMatch(result.stderr, /^ {4}at |internal error/m);
        if (result.code === 2) {
          assert.equal(result.stderr.split('\n').length, 2, `one line: ${result.stderr}`);
          assert.ok(result.stderr.startsWith(`eoplock: error: ${file}: `), result.stderr);
          assert.equal(existsSync(out), false, 'no --out file on bad input');
          return;
        }
        const report = toFile ? await readFile(out, 'utf8') : result.stdout;
        if (format === 'json') JSON.parse(report);
        else assert.doesNotMatch(report, RAW_CONTROL, report);
      }),
      { numRuns: 150, seed: 1313 },
    );
  });
});
