/**
 * Header reading against hostile input: one line rule everywhere (a bare CR ends a line for every reader), parsers
 * that stay linear on inputs built to make them quadratic, the header size limit as bad input (exit 2), bounded reads
 * of large files, and values with control characters escaped in the text report.
 */
import assert from 'node:assert/strict';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import headerParser from 'mailauth/lib/parse-dkim-headers.js';
import { parseReceived } from 'mailauth/lib/parse-received.js';
import { headersCommand, renderHeaders } from '../../src/cli/headers.js';
import { InputError } from '../../src/errors.js';
import { analyseHeaders, senderIp } from '../../src/headers/analyse.js';
import { parseAuthenticationResults } from '../../src/headers/auth-results.js';
import { MAX_HEADER_BYTES, parseHeaderBlock, readMessageHeaders, splitHeaderLines, splitMessage, unfoldHeaderValue } from '../../src/headers/parse.js';
import { readReceived } from '../../src/headers/received.js';
import { cli, tempFolder } from '../helpers/cli.js';

const temp = tempFolder('eoplock-headers-hostile-');
const names = (fields: { name: string }[]) => fields.map((field) => field.name.toLowerCase());
/** Characters that must not reach a terminal raw (TAB and the newlines eoplock writes itself are fine). */
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

describe('one line rule', () => {
  test('CRLF, bare LF and bare CR each end a line; splitMessage ends the header at the first empty line', () => {
    assert.deepEqual(splitHeaderLines('a\r\nb\nc\rd\r\re'), ['a', 'b', 'c', 'd', '', 'e']);
    assert.deepEqual(splitMessage('A: 1\r\rbody\r\n'), { header: 'A: 1', body: 'body\r\n', ended: true });
    assert.deepEqual(splitMessage('A: 1\r\nB: 2\n\nbody'), { header: 'A: 1\r\nB: 2', body: 'body', ended: true });
    assert.deepEqual(splitMessage('\r\nbody'), { header: '', body: 'body', ended: true });
    assert.deepEqual(splitMessage('A: 1\r\nB: 2'), { header: 'A: 1\r\nB: 2', body: '', ended: false });
    assert.equal(unfoldHeaderValue('a\r\n b\rc\nd'), 'a b c d');
  });

  test('parseHeaderBlock (the lab, scenarios) and readMessageHeaders (headers) see the same fields after a bare CR', async () => {
    const block = 'Subject: hi\rX-MS-Exchange-Organization-AuthAs: Internal\r\nFrom: a@fabrikam.example';
    const parsed = await parseHeaderBlock(block);
    const read = (await readMessageHeaders(block)).fields;
    assert.deepEqual(names(parsed), ['subject', 'x-ms-exchange-organization-authas', 'from']);
    assert.deepEqual(read, parsed);
    assert.equal(parsed[0]?.value, 'hi');
  });

  test('a Received value with raw line ends is read as unfolded', () => {
    const line = readReceived('from mail.fabrikam.example ([192.0.2.80])\r\n\tby mx1.seg.example.net\rwith ESMTPS; Mon, 9 Jun 2025 07:41:20 +0000');
    assert.equal(line?.fromIp, '192.0.2.80');
    assert.equal(line?.byHost, 'mx1.seg.example.net');
    assert.equal(line?.with, 'ESMTPS');
  });
});

describe('linear parsing (each of these took from 15 s to minutes before)', () => {
  test('60,000 blank lines inside a pasted header: one repair note for the run', { timeout: 10_000 }, async () => {
    const { fields, warnings } = await readMessageHeaders(`Subject: hi\n${'\n'.repeat(60_000)}From: a@b.example\n`, 'paste.txt');
    assert.deepEqual(names(fields), ['subject', 'from']);
    assert.deepEqual(warnings, ['paste.txt lines 2-60001: blank lines inside the header ignored (pasted headers?)']);
    const pasted = await readMessageHeaders('Subject: hi\n\nFrom: a@b.example\n'.repeat(30), 'paste.txt');
    assert.equal(pasted.warnings.length, 21, 'twenty listed, the rest counted');
    assert.equal(pasted.warnings.at(-1), 'paste.txt: 10 more repair(s) of the same kinds not listed');
    const body = await readMessageHeaders(`Subject: hi\n${'\n'.repeat(60_000)}Hello\nFrom: a@b.example\n`);
    assert.deepEqual(names(body.fields), ['subject'], 'the blank lines end the header when the body follows');
  });

  test('a long run of line ends at the end of a header block (CRLF, LF, bare CR)', { timeout: 10_000 }, async () => {
    for (const end of ['\r\n', '\n', '\r']) {
      const fields = await parseHeaderBlock(`Subject: hi${end.repeat(200_000)} x`);
      assert.deepEqual(fields, [{ name: 'Subject', value: 'hi' }]);
    }
    assert.deepEqual(await parseHeaderBlock(`Subject: hi${'\r\n'.repeat(200_000)}`), [{ name: 'Subject', value: 'hi' }]);
  });

  test('Received with 300,000 unknown clauses, and a date of 200,000 open parentheses', { timeout: 10_000 }, () => {
    const line = readReceived(`from a.example ([192.0.2.1]) ${'b '.repeat(300_000)}by mx.example`);
    assert.equal(line?.fromHost, 'a.example');
    assert.equal(line?.byHost, 'mx.example');
    const fields = [
      { name: 'Received', value: `from b.example by c.outlook.com; Mon, 9 Jun 2025 07:41:22 +0000 ${'('.repeat(200_000)}` },
      { name: 'Received', value: `from a.example ([192.0.2.1]) by b.example; ${'('.repeat(200_000)}` },
    ];
    assert.equal(analyseHeaders(fields).hops.length, 2);
  });

  test('Authentication-Results with 200,000 empty parts, and a skip-listing value of 250,000 "ip=["', { timeout: 10_000 }, () => {
    const fields = [
      { name: 'Authentication-Results', value: `spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=a.example;${'a=1;;'.repeat(200_000)}compauth=pass reason=100` },
      { name: 'X-MS-Exchange-SkipListedInternetSender', value: 'ip=['.repeat(250_000) },
    ];
    const analysis = analyseHeaders(fields);
    assert.equal(analysis.authenticationResults[0]?.spf?.senderIp, '192.0.2.1');
    assert.equal(analysis.authenticationResults[0]?.compauth?.reason, '100');
    assert.equal(senderIp('ip=['.repeat(250_000)), null);
    assert.equal(senderIp('ip=[192.0.2.80];domain=mail.fabrikam.com'), '192.0.2.80');
  });
});

describe('the Received and Authentication-Results readers', () => {
  test('read every Received value as mailauth does (random token soup)', () => {
    const token = fc.constantFrom('from ', 'by ', 'with ', 'id ', 'for ', 'FROM ', 'envelope-from ', 'x ', 'y', '(', ')', '"', "'", '\\', ';', ' ', '\t', 'a', 'b.c', '[192.0.2.1]', '(10.1.2.3)', 'q=1');
    fc.assert(
      fc.property(fc.array(token, { maxLength: 30 }), (tokens) => {
        const value = tokens.join('');
        const reference = parseReceived(`Received: ${value}`);
        const line = readReceived(value);
        assert.ok(reference && line);
        assert.deepEqual(
          [line.fromHost, line.fromComment, line.byHost, line.with, line.timestamp],
          [reference.from?.value || null, reference.from?.comment?.split(/\s+/)[0] ?? null, reference.by?.value || null, reference.with?.value || null, reference.timestamp?.trim() || null],
          JSON.stringify(value),
        );
      }),
      { numRuns: 500 },
    );
  });

  test('read real Authentication-Results as mailauth did', () => {
    for (const value of [
      'spf=fail (sender IP is 198.18.7.7) smtp.mailfrom=contoso.com; dkim=none (message not signed) header.d=none;dmarc=fail action=none header.from=contoso.com;compauth=fail reason=601',
      'mx.google.com; dkim=pass header.i=@fabrikam.com header.s=s1 header.b=abc; spf=pass (google.com: domain of a@fabrikam.com designates 192.0.2.1 as permitted sender) smtp.mailfrom=a@fabrikam.com; dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=fabrikam.com',
      'spf=pass (sender IP is 192.0.2.80) smtp.mailfrom=fabrikam.com; dkim=pass (signature was verified) header.d=fabrikam.com;dmarc=pass action=none header.from=fabrikam.com;compauth=pass reason=100',
    ]) {
      const { parsed } = headerParser(`Authentication-Results: ${value}`);
      const ours = parseAuthenticationResults(value);
      const method = (name: string) => ours.methods.find((entry) => entry.method === name);
      assert.equal(ours.authservId, typeof parsed.value === 'string' ? parsed.value : null);
      for (const name of ['spf', 'dmarc', 'compauth']) {
        const theirs = parsed[name] as { value: string; comment?: string; reason?: string; action?: string } | undefined;
        assert.equal(method(name)?.result, theirs?.value, name);
        assert.equal(method(name)?.comment || undefined, theirs?.comment, name);
      }
      assert.equal(method('spf')?.properties.get('smtp.mailfrom'), (parsed.spf as { smtp?: { mailfrom?: string } }).smtp?.mailfrom);
      assert.equal(method('dmarc')?.properties.get('header.from'), (parsed.dmarc as { header?: { from?: string } }).header?.from);
      const dkim = parsed.dkim as { value: string; header?: { d?: string } }[];
      assert.deepEqual(ours.methods.filter((entry) => entry.method === 'dkim').map((entry) => [entry.result, entry.properties.get('header.d')]), dkim.map((entry) => [entry.value, entry.header?.d]));
    }
  });

  test('property names from the header build no objects (no prototype pollution)', () => {
    const fields = [{ name: 'Authentication-Results', value: 'spf=pass __proto__.polluted=yes constructor.prototype.polluted=yes; dkim=pass __proto__.dkim=1' }];
    const analysis = analyseHeaders(fields);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(({} as Record<string, unknown>).dkim, undefined);
    assert.equal(analysis.authenticationResults[0]?.spf?.result, 'pass');
  });
});

describe('the header size limit', () => {
  const over = `Subject: ${'a'.repeat(MAX_HEADER_BYTES)}\r\n\r\nbody\r\n`;

  test('readMessageHeaders and parseHeaderBlock refuse a header block over 1 MB as bad input', async () => {
    await assert.rejects(readMessageHeaders(over, 'big.eml'), (error: unknown) => error instanceof InputError && error.describe() === 'big.eml: at line 1: header block over 1 MB');
    await assert.rejects(parseHeaderBlock(`X: y\r\n${'Received: from a by b\r\n'.repeat(60_000)}`), (error: unknown) => error instanceof InputError && /header block over 1 MB/.test(error.message));
  });

  test('eoplock headers: a 3 MB header block (over postal-mime\'s 2 MB limit) exits 2 with the file and the line', { timeout: 10_000 }, async () => {
    const file = await temp.file('big-header.eml', `Received: from a by b\r\nSubject: ${'a'.repeat(3 * 1024 * 1024)}\r\n\r\nbody\r\n`);
    const result = await cli('headers', file, '--out', join(temp.path(), 'big-header.txt'));
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stderr, `eoplock: error: ${file}: at line 2: header block over 1 MB\n`);
    const folded = await temp.file('many-fields.eml', 'X-Test: 1\r\n'.repeat(200_000));
    const many = await cli('headers', folded);
    assert.equal(many.code, 2);
    assert.match(many.stderr, /many-fields\.eml: at line \d+: header block over 1 MB\n$/);
  });

  test('eoplock headers: a 50 MB message with a small header is read in bounded time; empty, blank, binary are exit 2', { timeout: 10_000 }, async () => {
    const file = join(temp.path(), 'fifty.eml');
    const handle = await open(file, 'w');
    await handle.write('Received: from a.example ([192.0.2.1]) by b.example; Mon, 9 Jun 2025 07:41:22 +0000\r\nSubject: big\r\n\r\n');
    const chunk = Buffer.alloc(1024 * 1024, 'x');
    for (let index = 0; index < 50; index++) await handle.write(chunk);
    await handle.close();
    const big = await cli('headers', file, '--format', 'json');
    assert.equal(big.code, 0, big.stderr);
    assert.equal((JSON.parse(big.stdout) as { subject: string }).subject, 'big');

    for (const [name, content, message] of [
      ['empty.eml', '', /empty\.eml: no header fields found/],
      ['blank.eml', '\r\n'.repeat(100_000), /blank\.eml: no header fields found/],
      ['blank-big.eml', '\n'.repeat(2 * MAX_HEADER_BYTES), /blank-big\.eml: no header fields in the first 1 MB/],
      ['binary.eml', Buffer.from(Array.from({ length: 4096 }, (_, index) => (index * 37) % 256)), /binary\.eml: the file is not valid UTF-8 or UTF-16 text/],
      ['nul.eml', '\u0000'.repeat(3 * MAX_HEADER_BYTES), /nul\.eml: at line 1: line 1 is not a header field/],
    ] as const) {
      const path = join(temp.path(), name);
      await writeFile(path, content);
      const result = await cli('headers', path);
      assert.equal(result.code, 2, `${name}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.split('\n').length, 2, 'one line');
    }
  });

  test('standard input is read up to the limit only; a cut UTF-8 character is not an encoding error', { timeout: 10_000 }, async () => {
    let out = '';
    const io = { stdout: (text: string) => void (out += text), stderr: () => undefined, color: false, progress: false };
    const head = Buffer.from('Subject: é\r\nFrom: a@b.example\r\n\r\n');
    const body = Buffer.alloc(MAX_HEADER_BYTES + 10 - head.length, 0xc3);
    for (let index = 1; index < body.length; index += 2) body[index] = 0xa9;
    const code = await headersCommand(io, '-', { segIp: [], format: 'json' }, async () => Buffer.concat([head, body]));
    assert.equal(code, 0);
    assert.equal((JSON.parse(out) as { subject: string }).subject, 'é');
    await assert.rejects(
      headersCommand(io, '-', { segIp: [], format: 'json' }, async () => Buffer.from(`Subject: ${'é'.repeat(MAX_HEADER_BYTES)}`)),
      (error: unknown) => error instanceof InputError && error.describe() === 'stdin: at line 1: header block over 1 MB',
    );
  });
});

describe('values with control characters in the text report', () => {
  test('ESC, CR, NUL and bidi controls in header values are shown escaped', async () => {
    const fields = [
      { name: 'Received', value: 'from evil\u001b[2J.example ([192.0.2.1]) by mx\u202e.outlook.com; Mon, 9 Jun 2025 07:41:22 +0000' },
      { name: 'Subject', value: 'hi\r\n  ✓ The Received chain shows the gateway\u0000' },
      { name: 'From', value: 'CEO <ceo@contoso.com>\u001b]0;owned\u0007' },
      { name: 'X-MS-Exchange-Organization-AuthAs', value: 'Anonymous\u001b[8m' },
      { name: 'Authentication-Results', value: 'spf=pass\u001b[1m (sender IP is 192.0.2.1) smtp.mailfrom=a.example; compauth=fail reason=601\u009b' },
      { name: 'X-Forefront-Antispam-Report', value: 'CIP:192.0.2.1;SCL:5\u001b[0m;SFV:SPM;' },
    ];
    const text = renderHeaders(analyseHeaders(fields), 'msg\u001b.eml', ['note\u001b[1m']);
    assert.doesNotMatch(text, RAW_CONTROL);
    assert.match(text, /Subject {2}hi\\r\\n {2}✓ The Received chain shows the gateway\\0/);
    assert.match(text, /evil\\e\[2J\.example/);
    assert.match(text, /AuthAs \/ AuthSource +Anonymous\\e\[8m/);
    assert.match(text, /^eoplock headers — msg\\e\.eml$/m);
  });
});
