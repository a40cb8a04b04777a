/**
 * Reading fast and in parts gives what reading row by row in one piece gives:
 *   - the CSV scanner (tokenize.ts) against csv-parse alone, on random text with every quirk, also in columns the
 *     scanner skips (it hands the text it does not read to csv-parse: the records, their numbers and the malformed
 *     rows must not change);
 *   - a file cut into byte ranges read by worker threads (forced with a split threshold of 0) against the same file
 *     read in one piece: the bundled trace and generated ones with PowerShell's quirks, including line feeds inside
 *     quoted fields where a cut is planned, malformed rows in every part, and breaking groups spread over the parts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { after as afterAll, describe, test } from 'node:test';
import { Parser } from 'csv-parse';
import fc from 'fast-check';
import { DEFAULT_ASSUMPTIONS } from '../../src/eop/assumptions.js';
import { buildPlan, DEFAULT_CONNECTOR_NAME, DEFAULT_RULE_NAME } from '../../src/plan/plan.js';
import { inferProfile } from '../../src/profile/profile.js';
import { loadSnapshotFile } from '../../src/snapshot/load.js';
import { ImpactAnalysis } from '../../src/trace/impact.js';
import { readInParts } from '../../src/trace/parts.js';
import { startReadWorkers, stopReadWorkers, takeReadWorker } from '../../src/trace/read-workers.js';
import { readTrace, readTraceText, type ReadSummary } from '../../src/trace/read.js';
import { columnGetter, MalformedRow, toRecord } from '../../src/trace/records.js';

const HEADER = 'Received,SenderAddress,RecipientAddress,FromIP,Subject';
/** With columns the impact does not read (the scanner skips them): MessageId, Size. */
const WIDE_HEADER = 'Received,SenderAddress,MessageId,RecipientAddress,FromIP,Size,Subject';

type Outcome = { rows: [number, string, string | null][]; malformed: [number, string][] } | { error: true };

/** The reader (scanner, then csv-parse from where the scanner stops). */
async function viaReader(text: string): Promise<Outcome> {
  const rows: [number, string, string | null][] = [];
  try {
    const summary: ReadSummary = await readTraceText('f.csv', (async function* () { yield text; })(), (record) => rows.push([record.row, record.mailFrom, record.subject]));
    return { rows, malformed: summary.examples.map((example) => [example.row, example.reason]) };
  } catch {
    return { error: true };
  }
}

/** csv-parse alone, with the reader's options, over the rows under the header. */
async function viaCsvParse(body: string, delimiter: string, header = HEADER): Promise<Outcome> {
  const rows: [number, string, string | null][] = [];
  const malformed: [number, string][] = [];
  const getter = columnGetter(header.split(','));
  const FIELDS = header.split(',').length;
  const MOST = FIELDS + 100;
  let index = 0;
  const take = (values: string[]): void => {
    if (values.length === 1 && (values[0] as string).trim() === '') return;
    index++;
    if (values.length !== FIELDS) {
      malformed.push([index, `${values.length === MOST ? `${MOST} or more` : values.length} fields where the header has ${FIELDS}`]);
      return;
    }
    try {
      const record = toRecord(getter(values), 'message-trace', 'f.csv', index);
      rows.push([record.row, record.mailFrom, record.subject]);
    } catch (error) {
      if (!(error instanceof MalformedRow)) throw error;
      malformed.push([index, error.message]);
    }
  };
  // Records as csv-parse finds them (on_record: before an error at the end stops the stream).
  const parser = new Parser({
    delimiter,
    record_delimiter: ['\r\n', '\n'],
    relax_quotes: true,
    relax_column_count: true,
    skip_empty_lines: true,
    ignore_last_delimiters: MOST,
    on_record: (values: string[]) => {
      take(values);
      return null;
    },
  });
  const done = new Promise<void>((resolve, reject) => {
    parser.on('data', () => undefined);
    parser.on('end', resolve);
    parser.on('error', reject);
  });
  parser.end(body);
  try {
    await done;
  } catch (error) {
    if ((error as { code?: string }).code !== 'CSV_QUOTE_NOT_CLOSED') return { error: true };
    malformed.push([index + 1, 'a quoted field is not closed']);
  }
  return { rows, malformed };
}

describe('the CSV scanner reads what csv-parse reads', () => {
  test('random text with quotes, doubled quotes, line breaks, lone CRs and stray delimiters', async () => {
    const row = (sender: string, subject: string, delimiter: string) => ['2026-11-24T09:00:00Z', sender, 'alice@contoso.com', '192.0.2.25', subject].join(delimiter);
    const piece = fc.constantFrom('a', 'b@c', '"', '""', '"x""y"', '"line\nbreak"', ',', ';', '\t', '\n', '\r\n', '\r', ' ', 'é', '\u2028', '@@ROW@@', '"q"', '"q","r"');
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { maxLength: 40 }), fc.constantFrom(',', ';', '\t'), async (pieces, delimiter) => {
        const body = pieces.map((item) => (item === '@@ROW@@' ? row('x@y', '"s, t"', delimiter) : item)).join('');
        const text = `${HEADER.replace(/,/g, delimiter)}\n${body}`;
        assert.deepEqual(await viaReader(text), await viaCsvParse(body, delimiter));
      }),
      { numRuns: 1500, seed: 18 },
    );
  });

  test('skipped columns (quotes, line breaks and stray quotes in them) change nothing', async () => {
    const row = (id: string, subject: string, delimiter: string) => ['2026-11-24T09:00:00Z', 'x@y', id, 'alice@contoso.com', '192.0.2.25', '"12""3"', subject].join(delimiter);
    const piece = fc.constantFrom('a', 'b@c', '"', '""', '"x""y"', '"line\nbreak"', ',', ';', '\n', '\r\n', '\r', ' ', 'é', '@@ROW@@', '@@ODD@@', '"q"');
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { maxLength: 40 }), fc.constantFrom(',', ';'), async (pieces, delimiter) => {
        const body = pieces.map((item) => (item === '@@ROW@@' ? row('"<a\r\nb"">"', '"s, t"', delimiter) : item === '@@ODD@@' ? row('x"y', 's', delimiter) : item)).join('');
        const text = `${WIDE_HEADER.replace(/,/g, delimiter)}\n${body}`;
        assert.deepEqual(await viaReader(text), await viaCsvParse(body, delimiter, WIDE_HEADER));
      }),
      { numRuns: 1000, seed: 20 },
    );
  });

  test('well-formed PowerShell rows: quoted everywhere, CRLF, "" and line breaks in subjects', async () => {
    const field = fc.string({ maxLength: 10, unit: fc.constantFrom('a', ' ', ',', '"', '\n', '\r\n', 'é', ';') });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(field, field), { minLength: 1, maxLength: 8 }), async (values) => {
        const quote = (value: string) => `"${value.replace(/"/g, '""')}"`;
        const body = values.map(([sender, subject]) => ['2026-11-24T09:00:00Z', sender, 'a@contoso.com', '192.0.2.1', subject].map(quote).join(',')).join('\r\n');
        assert.deepEqual(await viaReader(`${HEADER}\r\n${body}\r\n`), await viaCsvParse(`${body}\r\n`, ','));
      }),
      { numRuns: 300, seed: 19 },
    );
  });
});

const exposed = (await loadSnapshotFile('examples/contoso-exposed.json')).snapshot;
const profile = inferProfile(exposed);
const planned = buildPlan(exposed, profile, { allowDirectSend: [], safetyNet: 'reject', ruleName: DEFAULT_RULE_NAME, connectorName: DEFAULT_CONNECTOR_NAME }).after;

/** Impact of a file read in one piece. */
async function impact(file: string) {
  const analysis = new ImpactAnalysis(exposed, planned, profile, DEFAULT_ASSUMPTIONS);
  const summary = await readTrace(file, { onRecord: (record) => analysis.add(record) });
  return { summary, result: analysis.finish() };
}

/** Impact of a file read in `parts` parts (null when readInParts leaves it to the reading in one piece). */
async function impactInParts(file: string, parts: number) {
  const analysis = new ImpactAnalysis(exposed, planned, profile, DEFAULT_ASSUMPTIONS);
  const summary = await readInParts(file, analysis, { onRecord: () => assert.fail('no record is handed over one by one'), splitAbove: 0, parts });
  return summary ? { summary, result: analysis.finish() } : null;
}

/** Through readTrace, as the CLI reads: in parts where it can, else in one piece. */
async function impactThroughReadTrace(file: string, parts: number) {
  const analysis = new ImpactAnalysis(exposed, planned, profile, DEFAULT_ASSUMPTIONS);
  const summary = await readTrace(file, { onRecord: (record) => analysis.add(record), impact: analysis, splitAbove: 0, parts });
  return { summary, result: analysis.finish() };
}

const folder = await mkdtemp(join(tmpdir(), 'eoplock-parts-'));
afterAll(() => rm(folder, { recursive: true, force: true }));

/** A Get-MessageTraceV2 export as Windows PowerShell writes it, with breaking sources spread over the whole file. */
function generatedTrace(seed: number, rows: number): string {
  let state = seed;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const sources = ['203.0.113.10', '198.51.100.5', '192.0.2.25', '192.0.2.26', '192.0.2.77', '2001:db8::25'];
  const senders = ['scanner@contoso.com', 'billing@saas.example', 'j.smith@partner.example', 'ceo@contoso.com', 'orders@fabrikam.example', ''];
  const recipients = ['alice@contoso.com', 'Bob@contoso.com', 'finance@contoso.com', 'hr@contoso.com', 'sales@contoso.com', 'it@contoso.com', 'ops@contoso.com', 'x@elsewhere.example', 'alice@contoso.com;bob@contoso.com'];
  // Subjects with the quirks a cut must survive: a line feed between two quoted-looking pieces ("\n"), CRLF, "".
  const subjects = ['Invoice, November', 'Re: "contract" draft', 'two\r\nlines', 'a "\n" trap', '"\n"', 'scan', 'é ünïcode', ''];
  const quote = (value: string) => `"${value.replace(/"/g, '""')}"`;
  const lines = ['#TYPE Deserialized.Microsoft.Exchange.Management.FfoReporting.MessageTraceResultV2', '"Received","SenderAddress","RecipientAddress","Subject","Status","ToIP","FromIP","Size"'];
  for (let i = 0; i < rows; i++) {
    const time = new Date(Date.UTC(2026, 10, 1) + Math.floor(next() * 7 * 86_400_000)).toISOString();
    const values = [time, pick(senders), pick(recipients), pick(subjects), 'Delivered', '', pick(sources), String(1000 + i)];
    if (next() < 0.01) lines.push(values.slice(0, 3).map(quote).join(','));
    else lines.push(values.map(quote).join(','));
    if (next() < 0.01) lines.push('');
  }
  return `\ufeff${lines.join('\r\n')}\r\n`;
}

describe('a file read in parts by worker threads gives what reading it in one piece gives', () => {
  test('the bundled trace', async () => {
    const file = 'examples/traces/contoso-message-trace.csv';
    const whole = await impact(file);
    assert.ok(whole.result.breaking > 0);
    for (const parts of [2, 3]) assert.deepEqual(await impactInParts(file, parts), whole, `${parts} parts`);
    assert.deepEqual(await impactThroughReadTrace(file, 2), whole);
  });

  test('generated traces with PowerShell quirks, malformed rows and cuts inside quoted fields', async () => {
    let read = 0;
    for (const [seed, rows] of [[1, 3000], [2, 5000], [3, 200]] as const) {
      const file = join(folder, `trace-${seed}.csv`);
      await writeFile(file, generatedTrace(seed, rows));
      const whole = await impact(file);
      assert.ok(whole.summary.malformed > 0 && whole.result.groups.length > 3, 'the trace has malformed rows and several breaking groups');
      assert.ok(whole.result.groups.some((group) => group.recipientCount > group.recipients.length), 'a group counts more recipients than it keeps');
      for (const parts of [2, 4, 7]) {
        // A cut that lands inside a quoted field (a subject `"\n"`) is caught: then the file is read in one piece.
        const inParts = await impactInParts(file, parts);
        if (inParts) {
          read++;
          assert.deepEqual(inParts, whole, `seed ${seed}, ${parts} parts`);
        }
        assert.deepEqual(await impactThroughReadTrace(file, parts), whole, `seed ${seed}, ${parts} parts, through readTrace`);
      }
    }
    assert.ok(read >= 6, `most of the 9 readings went in parts (${read})`);
  });

  test("a group's lists are packed, however they were made (JSON.stringify and includes read lists with holes the slow way)", async () => {
    setFlagsFromString('--allow-natives-syntax');
    const holey = new Function('list', 'return %HasHoleyElements(list)') as (list: unknown[]) => boolean;
    assert.equal(holey(['a'].concat('b')), true, 'the check tells (concat makes a list V8 takes to have holes)');
    const file = join(folder, 'packed.csv');
    // A source only the last part has: its group is new to the merge (its lists made at their length at once).
    const late = Array.from({ length: 40 }, (_, i) => `"2026-11-30T10:00:${String(i).padStart(2, '0')}.000Z","scanner@contoso.com","user${i % 7}@contoso.com","late ${i % 4}","Delivered","","192.0.2.99","1000"`);
    await writeFile(file, `${generatedTrace(11, 3000)}${late.join('\r\n')}\r\n`);
    const readings = [await impact(file), await impactInParts(file, 3), await impactInParts(file, 2)];
    for (const [k, read] of readings.entries()) {
      assert.ok(read && read.result.groups.length > 3, `reading ${k}`);
      assert.ok(read.result.groups.some((group) => group.recipients.length >= 3 && group.subjects.length >= 2), `reading ${k}: lists of several`);
      assert.ok(read.result.groups.some((group) => group.clientIp === '192.0.2.99' && group.recipients.length === 5 && group.subjects.length === 3), `reading ${k}: the late source`);
      for (const group of read.result.groups) assert.ok(!holey(group.subjects) && !holey(group.recipients), `reading ${k}: ${JSON.stringify(group)}`);
    }
  });

  test('workers started before the snapshot is read take their parts when they come; the ones not used are let go', async () => {
    const file = join(folder, 'started-early.csv');
    await writeFile(file, generatedTrace(7, 3000));
    const whole = await impact(file);
    assert.equal(await startReadWorkers([file], { parts: 3 }), 0, 'a file too small to be read in parts: no worker');
    assert.equal(await startReadWorkers([join(folder, 'missing.csv')], { splitAbove: 0, parts: 3 }), 0, 'a file that is not there: no worker');
    try {
      assert.equal(await startReadWorkers([file], { splitAbove: 0, parts: 3 }), 2);
      assert.equal(await startReadWorkers([file], { splitAbove: 0, parts: 3 }), 2, 'at most one set');
      // Each is taken once, none dropped on the way.
      const taken = [takeReadWorker(), takeReadWorker()];
      assert.ok(taken[0] && taken[1] && taken[0] !== taken[1]);
      assert.equal(takeReadWorker(), undefined);
      await Promise.all(taken.map((worker) => worker?.terminate()));
      assert.equal(await startReadWorkers([file], { splitAbove: 0, parts: 3 }), 2);
      assert.deepEqual(await impactInParts(file, 3), whole);
      assert.equal(await startReadWorkers([file], { splitAbove: 0, parts: 2 }), 1, 'both were used for the parts');
    } finally {
      stopReadWorkers();
    }
    assert.equal(await startReadWorkers([], { splitAbove: 0 }), 0, 'stopped: none wait');
  });

  test('a cut that falls inside a quoted field is found, and the file read in one piece', async () => {
    // Every line feed after the first row is inside one quoted subject: no cut can be proved.
    const file = join(folder, 'one-long-field.csv');
    const subject = Array.from({ length: 2000 }, (_, i) => `"line ${i}"`).join('\n');
    await writeFile(file, `Received,SenderAddress,RecipientAddress,FromIP,Subject\n2026-11-24T09:00:00Z,scanner@contoso.com,alice@contoso.com,192.0.2.25,"${subject.replace(/"/g, '""')}"\n2026-11-24T09:00:01Z,scanner@contoso.com,bob@contoso.com,192.0.2.25,after\n`);
    const whole = await impact(file);
    assert.equal(whole.summary.records, 2);
    assert.equal(await impactInParts(file, 3), null);
    assert.deepEqual(await impactThroughReadTrace(file, 3), whole);
  });

  test('gzip, UTF-16 and JSON are read in one piece (no parts), with the same result', async () => {
    const file = join(folder, 'utf16.csv');
    await writeFile(file, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(generatedTrace(5, 300).replace(/^\ufeff/, ''), 'utf16le')]));
    const whole = await impact(file);
    assert.ok(whole.summary.records > 0);
    assert.equal(await impactInParts(file, 2), null);
    assert.deepEqual(await impactThroughReadTrace(file, 2), whole);
  });
});
