/**
 * The message trace's fast path gives what the general one gives:
 *   - canonical ISO times taken without Date.parse for each row: the same as Date.parse says, whatever the order;
 *   - CSV records made by column position (and, transient, in one object) equal toRecord's through a getter;
 *   - columns the impact does not read are skipped by the scanner, line breaks in them still counted;
 *   - byte ranges read with ASCII chunks copied and others decoded, characters cut at chunk ends included;
 *   - the first part read straight into the analysis: the analysis goes back when the reading in parts fails, also
 *     after other files; groups with many recipients merge as in one piece.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after as afterAll, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { DEFAULT_ASSUMPTIONS } from '../../src/eop/assumptions.js';
import { InputError } from '../../src/errors.js';
import { buildPlan, DEFAULT_CONNECTOR_NAME, DEFAULT_RULE_NAME } from '../../src/plan/plan.js';
import { inferProfile } from '../../src/profile/profile.js';
import { loadSnapshotFile } from '../../src/snapshot/load.js';
import { ImpactAnalysis, MAX_COUNTED_RECIPIENTS } from '../../src/trace/impact.js';
import { readInParts } from '../../src/trace/parts.js';
import { readTrace, readTraceText } from '../../src/trace/read.js';
import { columnGetter, csvColumns, csvRecords, MalformedRow, parseTime, toRecord, type TraceRecord } from '../../src/trace/records.js';
import { MAX_RECORD } from '../../src/trace/tokenize.js';

describe('canonical times', () => {
  test('a 24-character ISO time is taken exactly when Date.parse takes it, in any order', () => {
    const two = (max: number) => fc.integer({ min: 0, max }).map((value) => String(value).padStart(2, '0'));
    const time = fc
      .tuple(fc.constantFrom('2026', '1999', '0000', '9999'), two(14), two(33), two(26), two(62), two(62), fc.integer({ min: 0, max: 999 }), fc.constantFrom('', 'x'))
      .map(([year, month, day, hour, minute, second, ms, junk]) => `${year}-${month}-${day}T${hour}:${minute}:${second}.${String(ms).padStart(3, '0')}Z`.replace(junk ? /\.(\d)/ : /^$/, junk ? '.x' : ''));
    fc.assert(
      fc.property(fc.array(time, { minLength: 1, maxLength: 20 }), (times) => {
        for (const text of times) assert.equal(parseTime(text), Number.isNaN(Date.parse(text)) ? null : text, text);
      }),
      { numRuns: 500, seed: 31 },
    );
    // Hour 24 is Date.parse's alone to judge; the next time in the same hour as a valid one is still checked.
    assert.equal(parseTime('2026-11-01T24:00:00.000Z'), '2026-11-01T24:00:00.000Z');
    assert.equal(parseTime('2026-11-01T24:00:01.000Z'), null);
    assert.equal(parseTime('2026-11-01T09:00:00.000Z'), '2026-11-01T09:00:00.000Z');
    assert.equal(parseTime('2026-11-01T09:60:00.000Z'), null);
    assert.equal(parseTime('2026-11-01T09:00:60.000Z'), null);
    assert.equal(parseTime('2026-11-01T09:00:00.00xZ'), null);
  });
});

describe('CSV records by column position', () => {
  const header = ['Received', 'SenderAddress', 'RecipientAddress', 'Subject', 'Status', 'ToIP', 'FromIP', 'Size', 'MessageId', 'fromip'];
  const value = fc.constantFrom('', ' ', '<>', ' a@x.example ', 'a@x.example;b@y.example', 'a@x.example, b@y.example', 'nobody', '192.0.2.1', ' 2001:db8::1 ', 'not-an-ip', '2026-11-24T09:00:00.000Z', '11/24/2026 9:14:03 AM', 'Delivered');
  const outcome = (make: () => TraceRecord): unknown => {
    try {
      return { ...make() };
    } catch (error) {
      if (error instanceof MalformedRow) return { malformed: error.message };
      throw error;
    }
  };

  test('the same records as toRecord, transient or not (the time then unparsed), with or without optional columns', () => {
    for (const columns of [header, header.filter((name) => name !== 'Subject' && name !== 'Status')]) {
      const getter = columnGetter(columns);
      const make = csvRecords(columns, 'message-trace');
      const transient = csvRecords(columns, 'message-trace', true);
      fc.assert(
        fc.property(fc.array(value, { minLength: columns.length, maxLength: columns.length }), fc.nat(1000), (values, index) => {
          const expected = outcome(() => toRecord(getter(values), 'message-trace', 'f.csv', index));
          assert.deepEqual(outcome(() => make(values, 'f.csv', index)), expected);
          const fast = outcome(() => transient(values, 'f.csv', index)) as TraceRecord;
          if ('time' in fast) fast.time = parseTime(fast.time);
          assert.deepEqual(fast, expected);
        }),
        { numRuns: 400, seed: 32 },
      );
    }
  });

  test('the columns read: those a message trace record is made of, the first always; all of them for other formats', () => {
    assert.deepEqual(csvColumns(header, 'message-trace'), [true, true, true, true, true, false, true, false, false, false]);
    assert.deepEqual(csvColumns(['MessageId', ...header], 'message-trace')?.slice(0, 2), [true, true]);
    assert.equal(csvColumns(header, 'email-events'), null);
  });
});

describe('skipped columns', () => {
  const HEADER = 'Received,SenderAddress,MessageId,RecipientAddress,FromIP,Subject';
  const row = (id: string, subject: string) => `2026-11-24T09:00:00Z,a@x.example,${id},alice@contoso.com,192.0.2.25,${subject}`;

  test('a skipped column with quotes and line breaks: the rows csv-parse reads, and the lines counted after a hand-over', async () => {
    const body = [row('"<a\r\nb""c>"', 's1'), row('"<d\ne>"', '"two\nlines"'), row('x"y', 's3'), `${row('z', 'x'.repeat(MAX_RECORD))}`].join('\r\n');
    const rows: [number, string | null][] = [];
    const text = `${HEADER}\r\n${body}\r\n`;
    await assert.rejects(
      readTraceText('f.csv', (async function* () { yield text.slice(0, 1000); yield text.slice(1000); })(), (record) => rows.push([record.row, record.subject])),
      (error: unknown) => error instanceof InputError && error.where === 'line 8',
    );
    // The rows before the long one, as csv-parse reads them.
    const expected = (parse(body.slice(0, body.lastIndexOf('\r\n')), { record_delimiter: ['\r\n', '\n'], relax_quotes: true }) as string[][]).map((values, k) => [k + 1, values[5]]);
    assert.deepEqual(rows, expected);
  });
});

const exposed = (await loadSnapshotFile('examples/contoso-exposed.json')).snapshot;
const profile = inferProfile(exposed);
const planned = buildPlan(exposed, profile, { allowDirectSend: [], safetyNet: 'reject', ruleName: DEFAULT_RULE_NAME, connectorName: DEFAULT_CONNECTOR_NAME }).after;
const analysis = () => new ImpactAnalysis(exposed, planned, profile, DEFAULT_ASSUMPTIONS);

/** The impact of files read one after the other into one analysis: in one piece, or in `parts` parts where they can. */
async function impact(files: string[], parts?: number) {
  const result = analysis();
  const summaries = [];
  for (const file of files) summaries.push(await readTrace(file, { onRecord: (record) => result.add(record), ...(parts ? { impact: result, splitAbove: 0, parts } : {}) }));
  return { summaries, result: result.finish() };
}

const HEADER = '"Received","SenderAddress","RecipientAddress","Subject","Status","ToIP","FromIP","Size"';
const line = (values: string[]) => values.map((value) => `"${value.replace(/"/g, '""')}"`).join(',');

describe('reading in parts', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'eoplock-fast-'));
  afterAll(() => rm(folder, { recursive: true, force: true }));

  test('characters cut at the end of a chunk, and ASCII chunks after them, read as in one piece', async () => {
    // Rows of two-byte characters at every offset: chunk ends (16 KiB) fall inside characters, in both parts.
    const rows = Array.from({ length: 3000 }, (_, i) => line([`2026-11-24T09:${String(i % 60).padStart(2, '0')}:00.000Z`, `user${i % 7}@sender${i % 5}.example`, 'alice@contoso.com', `${'é'.repeat(i % 13)}${'a'.repeat(i % 3)}ü`, 'Delivered', '', `192.0.2.${i % 9}`, String(i)]));
    // Then rows of ASCII only: chunks after one that ended inside a character.
    for (let i = 0; i < 3000; i++) rows.push(line(['2026-11-25T09:00:00.000Z', `user@sender${i % 5}.example`, 'bob@contoso.com', 'plain', 'Delivered', '', `192.0.2.${i % 9}`, String(i)]));
    const file = join(folder, 'unicode.csv');
    await writeFile(file, `${HEADER}\r\n${rows.join('\r\n')}\r\n`);
    const whole = await impact([file]);
    assert.ok(whole.result.groups.some((group) => group.subjects.some((subject) => subject.includes('é'))));
    for (const parts of [2, 3]) {
      const inParts = analysis();
      assert.ok(await readInParts(file, inParts, { onRecord: () => assert.fail('no record one by one'), splitAbove: 0, parts }));
      assert.deepEqual(inParts.finish(), whole.result, `${parts} parts`);
    }
  });

  test('a byte that is no UTF-8 at the end of a chunk, ASCII after it: replaced where it is, as in one piece', async () => {
    // The first part's first chunk (16 KiB from the rows' start) ends with a lone lead byte; the next chunk is ASCII.
    const head = Buffer.from(`${HEADER}\r\n`);
    const filler: string[] = [];
    let size = 0;
    for (let i = 0; size < 15_000; i++) {
      filler.push(line(['2026-11-24T09:00:00.000Z', 'scanner@contoso.com', 'alice@contoso.com', 'filler', 'Delivered', '', '192.0.2.25', String(i)]));
      size += Buffer.byteLength(filler.at(-1) as string) + 2;
    }
    const before = Buffer.from(`${filler.join('\r\n')}\r\n"2026-11-24T09:00:00.000Z","odd@odd.example","alice@contoso.com","`);
    const pad = Buffer.alloc(16_383 - before.length, 'p');
    const after = Buffer.from(`after","Delivered","","192.0.2.99","1"\r\n${Array.from({ length: 2000 }, (_, i) => line(['2026-11-24T10:00:00.000Z', `u@s${i % 5}.example`, 'bob@contoso.com', 'ascii', 'Delivered', '', '192.0.2.26', '1'])).join('\r\n')}\r\n`);
    const file = join(folder, 'lone-byte.csv');
    await writeFile(file, Buffer.concat([head, before, pad, Buffer.from([0xc3]), after]));
    const whole = await impact([file]);
    assert.ok(whole.result.groups.some((group) => group.subjects.includes(`${'p'.repeat(pad.length)}\ufffdafter`)), 'the byte replaced in its place');
    const inParts = analysis();
    assert.ok(await readInParts(file, inParts, { onRecord: () => assert.fail('no record one by one'), splitAbove: 0, parts: 2 }));
    assert.deepEqual(inParts.finish(), whole.result);
  });

  test('a reading in parts that fails leaves the analysis as it was, also after other files', async () => {
    const first = join(folder, 'first.csv');
    await writeFile(first, `${HEADER}\r\n${Array.from({ length: 200 }, (_, i) => line(['2026-11-24T09:00:00.000Z', 'scanner@contoso.com', `u${i}@contoso.com`, `first ${i % 4}`, 'Delivered', '', '192.0.2.25', '1'])).join('\r\n')}\r\n`);
    // Every line feed after the first rows is inside one quoted subject: no cut can be proved, after the first part read.
    const second = join(folder, 'second.csv');
    const subject = Array.from({ length: 3000 }, (_, i) => `line ${i}`).join('\n');
    const before = Array.from({ length: 50 }, (_, i) => line(['2026-11-24T10:00:00.000Z', 'scanner@contoso.com', `v${i}@contoso.com`, 'second', 'Delivered', '', '192.0.2.26', '1']));
    await writeFile(second, `${HEADER}\r\n${before.join('\r\n')}\r\n${line(['2026-11-24T11:00:00.000Z', 'billing@saas.example', 'alice@contoso.com', subject, 'Delivered', '', '192.0.2.25', '1'])}\r\n`);
    const inParts = analysis();
    await readTrace(first, { onRecord: (record) => inParts.add(record) });
    assert.equal(await readInParts(second, inParts, { onRecord: () => assert.fail('no record one by one'), splitAbove: 0, parts: 3 }), null);
    assert.deepEqual(inParts.finish(), (await impact([first])).result, 'as after the first file');
    assert.deepEqual(await impact([first, second], 3), await impact([first, second]));
  });

  test('thousands of groups in every part (sent in several batches, merged in the file\'s order) as in one piece', async () => {
    const rows = Array.from({ length: 9000 }, (_, i) => line(['2026-11-24T09:00:00.000Z', `u${i % 3}@d${(i * 7919) % 6000}.example`, 'alice@contoso.com', `s${i % 4}`, 'Delivered', '', `192.0.2.${i % 3}`, '1']));
    const file = join(folder, 'groups.csv');
    await writeFile(file, `${HEADER}\r\n${rows.join('\r\n')}\r\n`);
    const whole = await impact([file]);
    assert.ok(whole.result.groups.length > 5000, `${whole.result.groups.length} groups`);
    for (const parts of [2, 3, 5]) assert.deepEqual(await impact([file], parts), whole, `${parts} parts`);
  });

  test('a group with many recipients (looked up by a map past 16) merges as in one piece', async () => {
    const rows = Array.from({ length: 4000 }, (_, i) => line([`2026-11-24T09:00:${String(i % 60).padStart(2, '0')}.000Z`, 'scanner@contoso.com', `User${(i * 7) % 40}@contoso.com${i % 3 === 0 ? `;x${i % 5}@contoso.com` : ''}`, `s${i % 5}`, 'Delivered', '', `192.0.2.${25 + (i % 2)}`, '1']));
    const file = join(folder, 'recipients.csv');
    await writeFile(file, `${HEADER}\r\n${rows.join('\r\n')}\r\n`);
    const whole = await impact([file]);
    assert.ok(whole.result.groups.some((group) => group.recipientCount > 16));
    // Each distinct recipient counts once, however many messages it got (User0 … User39 and x0 … x4 per source).
    for (const group of whole.result.groups) {
      const distinct = new Set<string>();
      for (let i = 0; i < 4000; i++) {
        if (`192.0.2.${25 + (i % 2)}` !== group.clientIp) continue;
        distinct.add(`user${(i * 7) % 40}@contoso.com`);
        if (i % 3 === 0) distinct.add(`x${i % 5}@contoso.com`);
      }
      assert.equal(group.recipientCount, distinct.size, group.clientIp);
      assert.equal(group.recipientCountIsLowerBound, undefined);
    }
    for (const parts of [2, 4]) assert.deepEqual(await impact([file], parts), whole, `${parts} parts`);
  });
});

test('a group tells its recipients apart up to a bound, then says its count is a lower bound', () => {
  const result = analysis();
  const group = result.group('192.0.2.1', 'sender.example', '550 5.7.68');
  const total = 5 + MAX_COUNTED_RECIPIENTS;
  for (let i = 0; i < total; i++) {
    result.addRecipient(group, `u${i}@contoso.com`);
    result.addRecipient(group, `u${i >> 1}@contoso.com`);
  }
  assert.equal(group.recipientCount, total, 'each distinct recipient once, the repeats not at all');
  assert.equal(group.recipientCountIsLowerBound, undefined);
  result.addRecipient(group, 'one-more@contoso.com');
  assert.equal(group.recipientCount, total);
  assert.equal(group.recipientCountIsLowerBound, true);
});
