/**
 * The row-key kernel (wasm/row-keys.ts, src/trace/row-kernel.ts): reading a message trace from its bytes, counting
 * rows by the bytes of their key columns, gives what reading it as text row by row gives — the counts, the groups
 * with their order, subjects, recipients and times, and the malformed rows with their numbers. On generated traces
 * with every quirk of PowerShell's CSV and of hostile text, in the key columns too; with the kernel's table and event
 * list made tiny, so that both fill again and again; and where the kernel hands the rest of the file to the text
 * reading (a quote inside an unquoted field, a record longer than it reads).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after as afterAll, describe, test } from 'node:test';
import { DEFAULT_ASSUMPTIONS } from '../../src/eop/assumptions.js';
import { buildPlan, DEFAULT_CONNECTOR_NAME, DEFAULT_RULE_NAME } from '../../src/plan/plan.js';
import { inferProfile } from '../../src/profile/profile.js';
import { loadSnapshotFile } from '../../src/snapshot/load.js';
import type { Snapshot } from '../../src/snapshot/parse.js';
import { ImpactAnalysis } from '../../src/trace/impact.js';
import { readLimits, readTrace } from '../../src/trace/read.js';
import { parseTime } from '../../src/trace/records.js';
import { EventKind, INPUT_BYTES, kernelLimits, RowKernel, rowKernelAvailable, ScanStatus, timeText } from '../../src/trace/row-kernel.js';

const exposed = (await loadSnapshotFile('examples/contoso-exposed.json')).snapshot;
const profile = inferProfile(exposed);
const planned = buildPlan(exposed, profile, { allowDirectSend: [], safetyNet: 'reject', ruleName: DEFAULT_RULE_NAME, connectorName: DEFAULT_CONNECTOR_NAME }).after;

const folder = await mkdtemp(join(tmpdir(), 'eoplock-kernel-'));
afterAll(() => rm(folder, { recursive: true, force: true }));

/** Row by row, as text (the reference). */
async function asText(file: string, now: Snapshot = exposed, after: Snapshot = planned) {
  const analysis = new ImpactAnalysis(now, after, profile, DEFAULT_ASSUMPTIONS);
  const summary = await readTrace(file, { onRecord: (record) => analysis.add(record) });
  return { summary, result: analysis.finish() };
}

/** Records the kernel handed to the analysis to evaluate, and records read, over every reading through it. */
const evaluated = { records: 0, evaluations: 0 };

/** From the bytes, through the kernel, on the calling thread (one part). */
async function throughKernel(file: string, now: Snapshot = exposed, after: Snapshot = planned) {
  const analysis = new ImpactAnalysis(now, after, profile, DEFAULT_ASSUMPTIONS);
  const evaluate = analysis.evaluate.bind(analysis);
  analysis.evaluate = (record) => {
    evaluated.evaluations++;
    return evaluate(record);
  };
  const summary = await readTrace(file, { onRecord: () => assert.fail('no record is handed over one by one'), impact: analysis, parts: 1 });
  evaluated.records += summary.records;
  return { summary, result: analysis.finish() };
}

/** A hostile trace read through the kernel with some of its (or the reader's) bounds changed: the same as the text reading. */
async function sameWithLimits<T extends object>(name: string, trace: Buffer, limits: T, values: Partial<T>): Promise<void> {
  const file = join(folder, `${name}.csv`);
  await writeFile(file, trace);
  const text = await asText(file);
  const saved = { ...limits };
  try {
    Object.assign(limits, values);
    assert.deepEqual(await throughKernel(file), text);
  } finally {
    Object.assign(limits, saved);
  }
}

/** How many of the records read through the kernel from here on were evaluated one by one (not counted by key). */
async function evaluatedShare(reading: () => Promise<unknown>): Promise<number> {
  const before = { ...evaluated };
  await reading();
  return (evaluated.evaluations - before.evaluations) / Math.max(1, evaluated.records - before.records);
}

/** A random source (a linear congruential generator: the same file every run). */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

/**
 * A Get-MessageTraceV2 export with the quirks of PowerShell and of hostile text. Key columns (SenderAddress,
 * RecipientAddress, FromIP) hold addresses that differ in case, in their local part only, by a doubled quote, by
 * blanks around them, by bytes that are no UTF-8, lists, the null sender, no `@`, bad and missing IPs; subjects hold
 * line breaks and quotes; rows of another length, empty and blank lines, LF and CRLF line ends, unquoted fields.
 */
function hostileTrace(seed: number, rows: number): Buffer {
  const next = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const sources = ['203.0.113.10', '198.51.100.5', '192.0.2.25', '192.0.2.26', ' 192.0.2.25 ', '192.0.2.250', '2001:db8::25', '2001:DB8::25', '', 'not-an-ip', '300.1.1.1'];
  const senders = [
    'scanner@contoso.com',
    'printer@contoso.com',
    'Scanner@CONTOSO.COM',
    'billing@saas.example',
    'other@saas.example',
    'j.smith@partner.example',
    'ceo@contoso.com',
    ' ceo@contoso.com ',
    'orders@fabrikam.example',
    'a"b@fabrikam.example',
    'x@y@contoso.com',
    '<>',
    '',
    'no-at-sign',
    'contoso.com',
    'user@sub.contoso.com',
    'ümlaut@bücher.example',
  ];
  const recipients = ['alice@contoso.com', 'Bob@contoso.com', 'finance@CONTOSO.com', 'hr@contoso.com', 'x@elsewhere.example', 'alice@contoso.com;bob@contoso.com', 'x@elsewhere.example, bob@contoso.com', 'bob@contoso.com;x@elsewhere.example', 'nobody', '', ' ops@contoso.com '];
  const subjects = ['Invoice, November', 'Re: "contract" draft', 'two\r\nlines', 'a "\n" trap', '"\n"', 'scan', 'é ünïcode', '', ',', '""'];
  const quote = (value: string) => `"${value.replace(/"/g, '""')}"`;
  const parts: Buffer[] = [Buffer.from('#TYPE Deserialized.Microsoft.Exchange.Management.FfoReporting.MessageTraceResultV2\r\n"Received","SenderAddress","RecipientAddress","Subject","Status","ToIP","FromIP","Size"\r\n')];
  for (let i = 0; i < rows; i++) {
    const iso = new Date(Date.UTC(2026, 10, 1) + Math.floor(next() * 7 * 86_400_000)).toISOString();
    // ISO times the kernel reads as numbers, and texts near them that it leaves to parseTime.
    const time = pick([iso, iso, iso, '11/20/2026 9:14:03 AM', '', 'garbage', '2026-02-30T10:00:00.000Z', '0999-01-01T00:00:00.000Z', '2026-11-01T24:00:00.000Z', iso.replace('.', ','), ` ${iso}`, iso.slice(0, 23)]);
    const values = [time, pick(senders), pick(recipients), pick(subjects), 'Delivered', '', pick(sources), String(1000 + i)];
    const roll = next();
    let line: string;
    if (roll < 0.01) line = values.slice(0, 3).map(quote).join(',');
    else if (roll < 0.02) line = '   ';
    else if (roll < 0.03) line = '';
    // Unquoted where the values allow it, as hand-written files have them.
    else if (roll < 0.1) line = values.map((value) => (/[",\r\n]/.test(value) ? quote(value) : value)).join(',');
    else line = values.map(quote).join(',');
    const end = next() < 0.2 ? '\n' : '\r\n';
    // Bytes that are no UTF-8, inside a quoted key column.
    if (next() < 0.01) parts.push(Buffer.concat([Buffer.from(`"${values[0]}","bad`), Buffer.from([0xff, 0xc3]), Buffer.from(`@contoso.com","alice@contoso.com","s","Delivered","","192.0.2.25","1"${end}`)]));
    else parts.push(Buffer.from(line + end));
  }
  return Buffer.concat(parts);
}

describe('the row-key kernel reads what the text reading reads', () => {
  test('the kernel is built (npm run build) and available', () => {
    assert.ok(rowKernelAvailable(), 'dist/trace/row-keys.wasm is missing: run npm run build');
  });

  test('the bundled trace', async () => {
    const file = 'examples/traces/contoso-message-trace.csv';
    const text = await asText(file);
    assert.ok(text.result.breaking > 0);
    assert.deepEqual(await throughKernel(file), text);
  });

  test('the kernel reads the rows itself: a well-formed trace is evaluated once per key, not once per row', async () => {
    const lines = ['#TYPE Deserialized.Microsoft.Exchange.Management.FfoReporting.MessageTraceResultV2', '"Received","SenderAddress","RecipientAddress","Subject","Status","ToIP","FromIP","Size","MessageId"'];
    const sources = ['203.0.113.10', '198.51.100.5', '192.0.2.25', '192.0.2.26'];
    for (let i = 0; i < 4000; i++) {
      const time = `2026-11-24T09:${String(i % 60).padStart(2, '0')}:00Z`;
      lines.push(`"${time}","user${i % 97}@sender${i % 9}.example","${i % 2 ? 'alice' : 'bob'}@contoso.com","Report ""${i % 7}""","Delivered","","${sources[i % 4]}","${1000 + i}","<${i}@example>"`);
    }
    const file = join(folder, 'well-formed.csv');
    await writeFile(file, `${lines.join('\r\n')}\r\n`);
    const text = await asText(file);
    let result: unknown;
    const share = await evaluatedShare(async () => (result = await throughKernel(file)));
    assert.deepEqual(result, text);
    // 4 sources × 2 recipient domains (the sender domains are one class): a few evaluations in 4,000 rows.
    assert.ok(share < 0.01, `${(share * 100).toFixed(1)} % of the rows were evaluated one by one`);
  });

  test('hostile traces: every quirk in the key columns, malformed rows, bytes that are no UTF-8', async () => {
    for (const [seed, rows] of [[11, 4000], [12, 2500], [13, 300]] as const) {
      const file = join(folder, `hostile-${seed}.csv`);
      await writeFile(file, hostileTrace(seed, rows));
      const text = await asText(file);
      assert.ok(text.summary.malformed > 10 && text.result.groups.length > 5, 'malformed rows and several breaking groups');
      assert.ok(text.result.skipped.noSourceIp > 0 && text.result.skipped.notForTenant > 0, 'rows skipped for each reason');
      assert.deepEqual(await throughKernel(file), text, `seed ${seed}`);
    }
  });

  test('a table of 16 keys, 4 numbered values and 3 events a scan: each fills again and again, with the same result', async () => {
    await sameWithLimits('tiny-table', hostileTrace(21, 3000), kernelLimits, { slots: 32, events: 3, values: 8 });
  });

  test('two memos kept for the rows that break: the others get one each, with the same result', async () => {
    await sameWithLimits('few-memos', hostileTrace(23, 3000), readLimits, { memos: 2 });
  });

  test('a lookup that looks at one slot only: the table is emptied at every collision, with the same result', async () => {
    await sameWithLimits('short-probes', hostileTrace(22, 2000), kernelLimits, { slots: 64, probes: 1 });
  });

  test('where the kernel hands over (a quote in an unquoted field, a record over 64 KiB), the text reading goes on', async () => {
    const rows = hostileTrace(31, 1500).toString('latin1').split('\r\n');
    // Halfway: a stray quote in an unquoted field; further on, a subject longer than the kernel reads.
    rows.splice(700, 0, '2026-11-24T09:00:00Z,scan"ner@contoso.com,alice@contoso.com,s,Delivered,,192.0.2.25,1');
    const file = join(folder, 'handed-over.csv');
    await writeFile(file, Buffer.from(rows.join('\r\n'), 'latin1'));
    assert.deepEqual(await throughKernel(file), await asText(file));
    const long = join(folder, 'long-record.csv');
    rows.splice(300, 0, `"2026-11-24T09:00:00Z","scanner@contoso.com","alice@contoso.com","${'x'.repeat(70_000)}","Delivered","","192.0.2.25","1"`);
    await writeFile(long, Buffer.from(rows.join('\r\n'), 'latin1'));
    const text = await asText(long);
    assert.ok(text.summary.records > 500 && text.summary.malformed > 100, `${text.summary.records} records, ${text.summary.malformed} malformed`);
    assert.deepEqual(await throughKernel(long), text);
  });

  test('no line break after the last row; a header and no rows', async () => {
    const file = join(folder, 'no-final-break.csv');
    await writeFile(file, 'Received,SenderAddress,RecipientAddress,FromIP,Subject\r\n2026-11-24T09:00:00Z,scanner@contoso.com,alice@contoso.com,192.0.2.25,"last ""one"""');
    const text = await asText(file);
    assert.equal(text.summary.records, 1);
    assert.deepEqual(await throughKernel(file), text);
    const empty = join(folder, 'header-only.csv');
    await writeFile(empty, 'Received,SenderAddress,RecipientAddress,FromIP,Subject\r\n');
    assert.deepEqual(await throughKernel(empty), await asText(empty));
  });

  test('a policy scoped to recipients by address: the whole recipient address is part of the key', async () => {
    const scoped: Snapshot = { ...exposed, AntiPhishRule: [{ Name: 'VIP', State: 'Enabled', Priority: 0, SentTo: ['ceo@contoso.com'] }] } as Snapshot;
    assert.equal(new ImpactAnalysis(scoped, planned, profile, DEFAULT_ASSUMPTIONS).keyShape().wholeRecipient, true);
    assert.equal(new ImpactAnalysis(exposed, planned, profile, DEFAULT_ASSUMPTIONS).keyShape().wholeRecipient, false);
    const file = join(folder, 'scoped.csv');
    await writeFile(file, hostileTrace(41, 1500));
    assert.deepEqual(await throughKernel(file, scoped), await asText(file, scoped));
  });

  test('times as numbers: exactly the ISO times parseTime keeps as they are, given back by timeText, in the order of their texts', () => {
    /** Each text's time as the kernel reads it from a record's first column (-1: not one it reads). */
    const timesOf = (texts: readonly string[]): number[] => {
      const kernel = RowKernel.create(',', 2, 10, [{ position: 1, part: 'whole' }], [], -1, 0);
      assert.ok(kernel);
      const input = Buffer.from(texts.map((text, k) => `${text},${k}\n`).join(''), 'latin1');
      input.copy(kernel.memory, kernel.input);
      assert.equal(kernel.scan(0, input.length, true), ScanStatus.done);
      assert.equal(kernel.eventCount, texts.length);
      return texts.map((_, k) => kernel.eventTime(k));
    };
    const edges = [
      '2026-11-01T00:00:00.000Z',
      '0000-01-01T00:00:00.000Z',
      '0999-12-31T23:59:59.999Z',
      '9999-12-31T23:59:59.999Z',
      '2026-02-31T12:00:00.000Z', // day 31 of any month: Date.parse takes it, parseTime keeps the text
      '2026-13-01T00:00:00.000Z',
      '2026-00-01T00:00:00.000Z',
      '2026-01-00T00:00:00.000Z',
      '2026-01-32T00:00:00.000Z',
      '2026-11-01T24:00:00.000Z',
      '2026-11-01T23:60:00.000Z',
      '2026-11-01T23:00:60.000Z',
      '2026-11-01T00:00:00.00Z',
      '2026-11-01T00:00:00,000Z',
      '2026-11-01 00:00:00.000Z',
      '2026-11-01T00:00:00.000z',
      '2026/11/01T00:00:00.000Z',
      '2O26-11-01T00:00:00.000Z',
      '2026-11-01T00:00:00.0a0Z',
      ' 2026-11-01T00:00:00.000Z',
      '2026-11-01T00:00:00.000+00:00',
      '11/20/2026 9:14:03 AM',
      '',
    ];
    const texts = fc.sample(
      fc.oneof(
        fc.constantFrom(...edges),
        fc.date({ min: new Date(-62167219200000), max: new Date(Date.UTC(9999, 11, 31, 23, 59, 59, 999)), noInvalidDate: true }).map((date) => date.toISOString()),
        // Anything near the shape: digits and separators where they go, or not.
        fc.array(fc.constantFrom(...'0123456789-T:.Z '), { minLength: 24, maxLength: 24 }).map((chars) => chars.join('')),
      ),
      { numRuns: 3000, seed: 18 },
    ).concat(edges);
    const times = timesOf(texts);
    const read: [string, number][] = [];
    texts.forEach((text, k) => {
      const time = times[k] as number;
      if (time < 0) return;
      assert.equal(parseTime(text), text, `${text}: read as a number, so parseTime keeps it as it is`);
      assert.equal(timeText(time), text);
      read.push([text, time]);
    });
    // Every ISO time toISOString writes (4-digit years) is read.
    for (const text of texts) if (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(text) && !Number.isNaN(Date.parse(text)) && new Date(Date.parse(text)).toISOString() === text) assert.ok((times[texts.indexOf(text)] as number) >= 0, text);
    for (const text of ['2026-13-01T00:00:00.000Z', '2026-11-01T24:00:00.000Z', '2026-11-01T00:00:00,000Z', '2O26-11-01T00:00:00.000Z', '']) assert.equal(times[texts.lastIndexOf(text)], -1, text);
    assert.ok(read.length > 1000, `${read.length} read`);
    for (let k = 1; k < read.length; k++) {
      const [a, x] = read[k - 1] as [string, number];
      const [b, y] = read[k] as [string, number];
      assert.equal(Math.sign(x - y), a < b ? -1 : a > b ? 1 : 0, `${a} against ${b}`);
    }
  });

  test('a time given back by timeText is one flat text (groups keep two each: a text joined from parts is a tree several times its size)', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const times = Array.from({ length: 50_000 }, (_, k) => (((2026 * 16 + 11) * 32 + 1) * 32 + (k % 24)) * 2 ** 22 + (((k % 60) * 64 + (k % 60)) * 1024 + (k % 1000)));
    gc();
    const before = getHeapStatistics().used_heap_size;
    const texts = times.map(timeText);
    gc();
    const perText = (getHeapStatistics().used_heap_size - before) / texts.length;
    assert.equal(texts[1], '2026-11-01T01:01:01.001Z');
    // A flat text of 24 characters is 40 bytes and its slot in the list 4 to 8; one joined from its 14 parts, hundreds.
    assert.ok(perText < 80, `${perText.toFixed(0)} bytes a text`);
  });

  test('a tally counts the rows of a breaking key that have one of its values and an ISO time; every other row stays an event', () => {
    // Columns: time, source (the key), recipient (numbered).
    const kernel = RowKernel.create(',', 3, 10, [{ position: 1, part: 'whole' }], [], 2, 0);
    assert.ok(kernel);
    const scan = (rows: string[]): number[] => {
      const input = Buffer.from(rows.map((row) => `${row}\n`).join(''));
      input.copy(kernel.memory, kernel.input);
      assert.equal(kernel.scan(0, input.length, true), ScanStatus.done);
      return Array.from({ length: kernel.eventCount }, (_, k) => k);
    };
    const [first] = scan(['2026-11-24T09:00:00.000Z,192.0.2.25,alice@contoso.com']);
    const entry = kernel.eventEntry(first as number);
    kernel.setValue(entry, -6);
    const alice = scan(['2026-11-24T09:00:01.000Z,192.0.2.25,alice@contoso.com']);
    assert.equal(alice.length, 1, 'a breaking key: its rows are events');
    const aliceValue = kernel.eventValue(0);
    assert.equal(kernel.tallyOf(entry), -1);
    kernel.setTally(entry, 0);
    kernel.addTallyValue(0, aliceValue);
    assert.equal(scan(['2026-11-24T09:00:05.000Z,192.0.2.25,alice@contoso.com']).length, 1, 'a tally that does not take every subject, and has none (this kernel reads none)');
    kernel.setTally(entry, 0);
    kernel.takeEverySubject(0);
    kernel.addTallyValue(0, aliceValue);
    kernel.addTallyValue(0, aliceValue);
    const rows = [
      '2026-11-24T09:00:05.000Z,192.0.2.25,alice@contoso.com', // counted
      '2026-11-24T08:59:00.000Z,192.0.2.25,alice@contoso.com', // counted: the first time
      '2026-11-24T09:00:02.000Z,192.0.2.25,bob@contoso.com', // another value: an event
      '2026-11-24T09:30:00Z,192.0.2.25,alice@contoso.com', // a time the kernel does not read: an event
      '2026-11-24T09:10:00.000Z,192.0.2.26,alice@contoso.com', // another key: an event (new)
      '2026-11-24T09:20:00.000Z,192.0.2.25,alice@contoso.com', // counted: the last time
    ];
    const events = scan(rows);
    assert.deepEqual(events.map((k) => kernel.eventStart(k)), [2, 3, 4].map((row) => rows.slice(0, row).join('\n').length + 1));
    assert.equal(kernel.rows, rows.length, 'the counted rows are rows passed');
    assert.equal(kernel.tallyRows(0), 3);
    assert.equal(kernel.tallyEntry(0), entry);
    assert.equal(timeText(kernel.tallyFirst(0)), '2026-11-24T08:59:00.000Z');
    assert.equal(timeText(kernel.tallyLast(0)), '2026-11-24T09:20:00.000Z');
    // The table emptied: no tally, the key new again.
    kernel.takeHits(() => undefined);
    const again = scan(['2026-11-24T09:00:05.000Z,192.0.2.25,alice@contoso.com']);
    assert.equal(again.length, 1);
    assert.equal(kernel.eventKind(0), EventKind.new);
    assert.equal(kernel.tallyOf(kernel.eventEntry(0)), -1);
    assert.throws(() => kernel.setTally(kernel.eventEntry(0), kernel.tallyCapacity), /no tally/);
  });

  test('a tally that does not take every subject counts the rows of its subjects (by their bytes) only', () => {
    // Columns: time, source (the key), recipient (numbered), subject.
    const kernel = RowKernel.create(',', 4, 10, [{ position: 1, part: 'whole' }], [], 2, 0, 3);
    assert.ok(kernel);
    const scan = (rows: string[]): number => {
      const input = Buffer.from(rows.map((row) => `${row}\n`).join(''));
      input.copy(kernel.memory, kernel.input);
      assert.equal(kernel.scan(0, input.length, true), ScanStatus.done);
      return kernel.eventCount;
    };
    const row = (subject: string) => `2026-11-24T09:00:00.000Z,192.0.2.25,alice@contoso.com,${subject}`;
    scan([row('Scan')]);
    const entry = kernel.eventEntry(0);
    kernel.setValue(entry, -6);
    scan([row('Scan')]);
    assert.equal(kernel.eventSubject(0), -1, 'no tally: the subject is not numbered');
    kernel.setTally(entry, 0);
    kernel.addTallyValue(0, kernel.eventValue(0));
    assert.equal(scan([row('Scan')]), 1, 'no subject in the tally yet');
    const scanned = kernel.eventSubject(0);
    assert.ok(scanned >= 0);
    kernel.addTallySubject(0, scanned);
    // The field's bytes: quoted or not, the same value; a blank, a capital or a doubled quote, another.
    assert.equal(scan([row('Scan'), row('Scan '), row('scan'), row('"Scan"'), row('"Sc""an"'), row('Scan')]), 3, 'the same bytes only');
    assert.equal(kernel.tallyRows(0), 3);
    assert.notEqual(kernel.eventSubject(0), scanned);
    kernel.takeEverySubject(0);
    assert.equal(scan([row('Other'), row('')]), 0, 'every subject');
    assert.equal(kernel.tallyRows(0), 5);
  });

  test('Direct Send sources sending again and again: rows the kernel counts (by subject until the group has all it keeps), new recipients, subjects and odd times among them, as the text reading finds them', async () => {
    const line = (values: string[]) => values.map((value) => `"${value.replace(/"/g, '""')}"`).join(',');
    const at = (minute: number) => `2026-11-24T09:${String(minute).padStart(2, '0')}:00.000Z`;
    const row = (time: string, recipient: string, subject: string, source = '192.0.2.25') => line([time, 'scanner@contoso.com', recipient, subject, 'Delivered', '', source, '1']);
    const rows = [];
    // One subject for a hundred rows (the group not complete: each is an event), then three.
    for (let i = 0; i < 400; i++) rows.push(row(at(10 + (i % 40)), 'alice@contoso.com', i < 100 ? 'scan 0' : `scan ${i % 3}`));
    rows.push(row(at(5), 'alice@contoso.com', 'scan 0'), row(at(59), 'alice@contoso.com', 'late'), row('2026-11-24T09:01:00Z', 'alice@contoso.com', 'scan 1'));
    for (const name of ['bob', 'carol', 'Dave', 'erin', 'frank', 'BOB', 'gina', 'hal']) for (let i = 0; i < 30; i++) rows.push(row(at(20 + (i % 9)), `${name}@contoso.com`, `scan ${i % 4}`, i % 2 ? '192.0.2.25' : '192.0.2.26'));
    // A scanner with one subject (its group never has three): counted by subject; then another subject, and an empty one.
    for (let i = 0; i < 300; i++) rows.push(row(at(i % 60), i % 5 ? 'alice@contoso.com' : 'bob@contoso.com', 'Scanned from MFP', '192.0.2.27'));
    rows.push(row(at(30), 'alice@contoso.com', 'Report', '192.0.2.27'), row(at(31), 'alice@contoso.com', '', '192.0.2.27'), row(at(32), 'alice@contoso.com', 'Scanned from MFP', '192.0.2.27'));
    const file = join(folder, 'tallies.csv');
    await writeFile(file, `"Received","SenderAddress","RecipientAddress","Subject","Status","ToIP","FromIP","Size"\r\n${rows.join('\r\n')}\r\n`);
    const text = await asText(file);
    const group = text.result.groups.find((entry) => entry.clientIp === '192.0.2.25');
    assert.ok(group);
    assert.equal(group.messages, 403 + 4 * 30);
    assert.equal(group.recipientCount, 8, 'alice, bob, carol, dave, erin, frank, gina, hal');
    assert.equal(group.firstSeen, '2026-11-24T09:01:00.000Z');
    assert.equal(group.lastSeen, at(59));
    const scanner = text.result.groups.find((entry) => entry.clientIp === '192.0.2.27');
    assert.deepEqual(scanner?.subjects, ['Scanned from MFP', 'Report']);
    assert.equal(scanner?.messages, 303);
    // Events a few at a time: a tally the reader gives a key counts the rows of the scans after (the whole file is one
    // scan otherwise); then with one tally only.
    const saved = { ...kernelLimits };
    const counted = RowKernel.prototype.tallyRows;
    let tallied = 0;
    RowKernel.prototype.tallyRows = function (tally: number): number {
      const rows = counted.call(this, tally);
      tallied += rows;
      return rows;
    };
    try {
      // Every key of the three sources, or the first only.
      for (const [tallies, least] of [[saved.tallies, 800], [1, 400]] as const) {
        Object.assign(kernelLimits, { events: 4, tallies });
        tallied = 0;
        assert.deepEqual(await throughKernel(file), text, `${tallies} tallies`);
        assert.ok(tallied > least, `${tallied} rows counted by the kernel with ${tallies} tallies`);
      }
    } finally {
      Object.assign(kernelLimits, saved);
      RowKernel.prototype.tallyRows = counted;
    }
  });

  test('sender domains the configuration does not name are one key part; named ones, those below them and odd ones each their own', () => {
    const kernel = RowKernel.create(',', 2, 10, [{ position: 0, part: 'whole' }, { position: 1, part: 'sender' }], ['partner.example', 'contoso.com', 'Upper.Example', 'a"b.example']);
    assert.ok(kernel);
    const senders = [
      'a@x.example', // 0: the class of the others (new)
      'b@y.example', // 1: the same class
      'c@partner.example', // 2: named: its own
      'c2@partner.example', // 3: the same named domain
      'd@sub.partner.example', // 4: below a named one: its own
      'e@Y.EXAMPLE', // 5: upper case, not named: the class
      'f@PARTNER.example', // 6: upper case of a named one: its own (its bytes)
      'g@xpartner.example', // 7: ends like a named one, not at a dot: the class
      'h@partner.example.', // 8: a final dot: its own
      'i@partner.example>', // 9: a final `>`: its own
      'j@upper.example', // 10: named in upper case only (the configuration's strings come lower-case): the class
      'k@a"b.example', // 11: a quote: its own
      'l@bücher.example', // 12: not ASCII: its own
      'no-at-sign', // 13: whole
      `m@${'x'.repeat(300)}.example`, // 14: too long to look up: its own
      'n@example', // 15: no dot, not named: the class
    ];
    const input = Buffer.from(senders.map((sender) => `192.0.2.1,${sender.includes('"') ? `"${sender.replace(/"/g, '""')}"` : sender}\n`).join(''));
    input.copy(kernel.memory, kernel.input);
    assert.equal(kernel.scan(0, input.length, true), ScanStatus.done);
    assert.equal(kernel.eventCount, senders.length, 'every row is an event (no key has a count yet)');
    const kinds = senders.map((_, k) => kernel.eventKind(k));
    const entries = senders.map((_, k) => kernel.eventEntry(k));
    const same = (a: number, b: number) => entries[a] === entries[b];
    for (const k of [1, 5, 7, 10, 15]) {
      assert.ok(same(0, k), `${senders[k]} is in the class of ${senders[0]}`);
      assert.equal(kinds[k], EventKind.found);
    }
    assert.ok(same(2, 3) && kinds[3] === EventKind.found, 'one named domain: one key');
    for (const k of [2, 4, 6, 8, 9, 11, 12, 13, 14]) {
      assert.equal(kinds[k], EventKind.new, `${senders[k]} is a key of its own`);
      assert.equal(kernel.inOtherClass(entries[k] as number, 1), false);
    }
    assert.equal(kernel.inOtherClass(entries[0] as number, 1), true);
  });

  test('thousands of sender domains, each seen twice in any order: each is in the class or a key of its own as the first time', () => {
    // More domains than the kernel remembers answers for: answers are replaced, and each is worked out again the same.
    const kernel = RowKernel.create(',', 2, 10, [{ position: 0, part: 'whole' }, { position: 1, part: 'sender' }], ['partner.example']) as RowKernel;
    const next = random(61);
    const domains = Array.from({ length: 6000 }, (_, k) => {
      const roll = next();
      if (roll < 0.1) return `s${k}.partner.example`;
      if (roll < 0.2) return `S${k}.Example`;
      if (roll < 0.25) return `${'d'.repeat(60)}${k}.example`;
      return `sender${k}.example`;
    });
    const named = (domain: string) => domain === 'partner.example' || domain.endsWith('.partner.example');
    const rows = [...domains, ...domains].map((domain) => ({ domain, at: next() })).sort((a, b) => a.at - b.at).map(({ domain }) => domain);
    let classEntry = -1;
    let row = 0;
    // A thousand rows at a time: each piece fits the kernel's input region.
    for (let first = 0; first < rows.length; first += 1000) {
      const input = Buffer.from(rows.slice(first, first + 1000).map((domain) => `192.0.2.1,user@${domain}\n`).join(''));
      assert.ok(input.length <= INPUT_BYTES);
      input.copy(kernel.memory, kernel.input);
      for (let at = 0; at < input.length; ) {
        const status = kernel.scan(at, input.length, true);
        for (let k = 0; k < kernel.eventCount; k++, row++) {
          const domain = rows[row] as string;
          const entry = kernel.eventEntry(k);
          if (named(domain.toLowerCase())) assert.notEqual(entry, classEntry, `${domain} is a key of its own`);
          else if (classEntry < 0) classEntry = entry;
          else assert.equal(entry, classEntry, `${domain} is in the class`);
          assert.equal(kernel.inOtherClass(entry, 1), !named(domain.toLowerCase()), domain);
        }
        at = kernel.position;
        if (status === ScanStatus.done) break;
      }
    }
    assert.equal(row, rows.length);
  });

  test('a tenant that names sender domains: named, below named and other domains, each in its group, as the text reading finds them', async () => {
    const rule = { Name: 'Partner relay', State: 'Enabled', Mode: 'Enforce', Priority: 0, SenderDomainIs: ['partner.example'], RejectMessageReasonText: 'Partner mail goes through the relay', RejectMessageEnhancedStatusCode: '5.7.1' };
    const naming = { ...planned, TransportRule: [rule, ...planned.TransportRule] } as Snapshot;
    assert.ok(new ImpactAnalysis(exposed, naming, profile, DEFAULT_ASSUMPTIONS).keyShape().named.includes('partner.example'));
    const next = random(51);
    const domains = ['partner.example', 'PARTNER.EXAMPLE', 'sub.partner.example', 'xpartner.example', 'partner.example.', ...Array.from({ length: 40 }, (_, k) => `sender${k}.example`)];
    const sources = ['192.0.2.25', '192.0.2.26', '203.0.113.10'];
    const lines = ['"Received","SenderAddress","RecipientAddress","Subject","Status","ToIP","FromIP","Size"'];
    for (let i = 0; i < 3000; i++) {
      const domain = domains[Math.floor(next() * domains.length)] as string;
      const time = new Date(Date.UTC(2026, 10, 1) + Math.floor(next() * 7 * 86_400_000)).toISOString();
      lines.push(`"${time}","u${i % 13}@${domain}","${i % 2 ? 'alice' : 'bob'}@contoso.com","s${i % 5}","Delivered","","${sources[i % 3]}","${i}"`);
    }
    const file = join(folder, 'named-senders.csv');
    await writeFile(file, `${lines.join('\r\n')}\r\n`);
    const text = await asText(file, exposed, naming);
    const reasons = new Set(text.result.groups.map((group) => group.reason));
    assert.ok(reasons.size >= 2, `the named domain breaks otherwise than the others (${[...reasons].join('; ')})`);
    assert.ok(new Set(text.result.groups.map((group) => group.senderDomain)).size > 40, 'a group per sender domain');
    assert.deepEqual(await throughKernel(file, exposed, naming), text);
  });

  test('random records (quotes, doubled quotes, delimiters, CR and LF anywhere, quoted or not): the same as the text reading', async () => {
    const piece = fc.constantFrom('a', '"', '""', ',', '\r', '\n', '\r\n', ' ', '@', ';', 'x');
    const odd = fc.array(piece, { minLength: 1, maxLength: 5 }).map((pieces) => pieces.join(''));
    // Mostly values a breaking row has (so that subjects and recipients show in the groups), now and then odd text.
    const value = (usual: readonly string[]) => fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...usual) }, { weight: 2, arbitrary: odd });
    const columns = [
      value(['2026-11-24T09:00:00Z', '2026-11-25T10:00:00Z']),
      value(['scanner@contoso.com', 'x@saas.example', 'y@other.example']),
      value(['alice@contoso.com', 'bob@contoso.com']),
      value(['192.0.2.25', '192.0.2.26']),
      fc.oneof(odd, fc.constantFrom('s', 'two\r\nlines', 'a "q"')),
    ];
    const field = (text: fc.Arbitrary<string>) => fc.record({ text, quoted: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }) });
    const row = fc.record({
      // The header's five fields as a rule; now and then four or six.
      fields: fc.tuple(...columns.map(field)).chain((tuple) => {
        const fields: { text: string; quoted: boolean }[] = [...tuple];
        return fc.constantFrom(fields, fields, fields, fields.slice(0, 4), [...fields, ...fields.slice(0, 1)]);
      }),
      // Now and then a CR after the last field that no LF follows.
      end: fc.constantFrom('\n', '\r\n', '\n', '\r\n', '\rx\r\n'),
    });
    // The last row, without a line break: its last field quoted and unterminated, closed, or followed by odd text.
    const full = '"2026-11-24T09:00:00Z","x@saas.example","alice@contoso.com","192.0.2.25",';
    const tail = fc.constantFrom('', '"unterminated', '"a"b', 'a"b', `${full}"unterminated`, `${full}"closed"`, `${full}"x"\r`, `${full}"a"b`, `${full}plain`);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(row, { maxLength: 14 }), tail, async (rows, last) => {
        const write = (value: { text: string; quoted: boolean }) => (value.quoted ? `"${value.text.replace(/"/g, '""')}"` : value.text);
        const text = `Received,SenderAddress,RecipientAddress,FromIP,Subject\r\n${rows.map((entry) => entry.fields.map(write).join(',') + entry.end).join('')}${last}`;
        const file = join(folder, `random-${run++}.csv`);
        await writeFile(file, text);
        const expected = await asText(file).catch((error: unknown) => ({ error: String(error) }));
        const actual = await throughKernel(file).catch((error: unknown) => ({ error: String(error) }));
        assert.deepEqual(actual, expected);
      }),
      { numRuns: 400, seed: 20261203 },
    );
    assert.ok(evaluated.records > 1000 && evaluated.evaluations < 0.6 * evaluated.records, `the kernel read rows itself: ${evaluated.evaluations} of ${evaluated.records} evaluated one by one`);
  });

  test('a record too long for any reading, after quoted line feeds, is named at its line', async () => {
    const rows = ['Received,SenderAddress,RecipientAddress,FromIP,Subject'];
    for (let k = 0; k < 40; k++) rows.push(`"2026-11-24T09:00:00Z","scanner@contoso.com","alice@contoso.com","192.0.2.25","line ${k}\r\nand more"`);
    rows.push(`"2026-11-24T09:00:00Z","scanner@contoso.com","alice@contoso.com","192.0.2.25","${'x'.repeat(1_100_000)}"`);
    const file = join(folder, 'too-long.csv');
    await writeFile(file, rows.join('\r\n'));
    const message = async (reading: Promise<unknown>) => reading.then(() => 'no error', (error: unknown) => `${String(error)} at ${(error as { where?: string }).where}`);
    const text = await message(asText(file));
    assert.match(text, /line 82\b/);
    // The part that fails is read again in one piece (readInParts gives up), which names the line.
    const analysis = new ImpactAnalysis(exposed, planned, profile, DEFAULT_ASSUMPTIONS);
    assert.equal(await message(readTrace(file, { onRecord: (record) => analysis.add(record), impact: analysis, parts: 1 })), text);
  });
});
