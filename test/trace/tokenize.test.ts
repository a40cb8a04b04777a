/**
 * Reading CSV rows (csv-parse, through the reader) and the JSON document scanner on its own: the same records however
 * the text is cut into chunks, RFC 4180 round trips, JSON rows equal to the elements they came from, line numbers,
 * the record cap, and linear time on pathological text.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { InputError } from '../../src/errors.js';
import { readTraceText, type ReadSummary } from '../../src/trace/read.js';
import type { TraceRecord } from '../../src/trace/records.js';
import { JsonDocumentScanner, MAX_RECORD } from '../../src/trace/tokenize.js';
import { assertLinear } from '../helpers/growth.js';

const HEADER = 'Received,SenderAddress,RecipientAddress,FromIP,Subject';

/** What the reader makes of CSV text given in these chunks: the records' sender and subject, and the summary. */
async function csv(text: string | string[]): Promise<{ rows: [number, string, string | null][]; summary: ReadSummary }> {
  const rows: [number, string, string | null][] = [];
  const chunks = Array.isArray(text) ? text : [text];
  const summary = await readTraceText('f.csv', (async function* () { yield* chunks; })(), (record: TraceRecord) => rows.push([record.row, record.mailFrom, record.subject]));
  return { rows, summary };
}

/** The outcome of reading, an error included, comparable with deepEqual. */
async function outcome(text: string | string[]): Promise<unknown> {
  try {
    const { rows, summary } = await csv(text);
    return { rows, records: summary.records, examples: summary.examples };
  } catch (error) {
    assert.ok(error instanceof InputError, String(error));
    return { error: error.message, where: error.where };
  }
}

/** Text in chunks of 64 KiB, as files are read. */
const chunked = (text: string) => Array.from({ length: Math.ceil(text.length / 65_536) }, (_, i) => text.slice(i * 65_536, (i + 1) * 65_536));

type JsonRow = [unknown, number, number];

function json(text: string | string[]): JsonRow[] {
  const rows: JsonRow[] = [];
  const scanner = new JsonDocumentScanner('f.json', (row, index, line) => rows.push([JSON.parse(row), index, line]));
  for (const chunk of Array.isArray(text) ? text : [text]) scanner.feed(chunk);
  scanner.end();
  return rows;
}

/** The text cut at the given points (any order, any count). */
function cut(text: string, points: number[]): string[] {
  const at = [...new Set(points.map((point) => point % (text.length + 1)))].sort((a, b) => a - b);
  const chunks: string[] = [];
  let from = 0;
  for (const point of at) {
    chunks.push(text.slice(from, point));
    from = point;
  }
  chunks.push(text.slice(from));
  return chunks;
}

/** A row of the test header with a sender and a subject. */
const row = (sender: string, subject: string) => `2026-11-24T09:00:00Z,${sender},alice@contoso.com,192.0.2.25,${subject}`;

describe('CSV rows (csv-parse, through the reader)', () => {
  test('quoted fields, doubled quotes, line breaks inside quotes, CRLF and LF, a last line without a break', async () => {
    const { rows, summary } = await csv(`${HEADER}\r\n${row('a@x', '"b,c"')}\r\n${row('"say ""hi"""', '"multi\nline"')}\n\n${row('last@x', 'end')}`);
    assert.deepEqual(rows, [
      [1, 'a@x', 'b,c'],
      [2, 'say "hi"', 'multi\nline'],
      [3, 'last@x', 'end'],
    ]);
    assert.equal(summary.malformed, 0);
  });

  test('blank and whitespace-only lines are skipped; a quote inside an unquoted field is text', async () => {
    const { rows, summary } = await csv(`\n \t \r\n\n${HEADER}\n   \n\t\r\n${row('a"b@x', 'c')}\n   \n`);
    assert.deepEqual(rows, [[1, 'a"b@x', 'c']]);
    assert.deepEqual([summary.records, summary.malformed], [1, 0]);
  });

  test('a quote not closed at the end is a malformed row; text after a closing quote is kept with its quotes', async () => {
    const { rows, summary } = await csv(`${HEADER}\n${row('"a"b', 'c')}\n${row('d@x', '"open')}\nmore`);
    assert.deepEqual(rows, [[1, '"a"b', 'c']]);
    assert.deepEqual(summary.examples.map((example) => [example.row, example.reason]), [[2, 'a quoted field is not closed']]);
  });

  test('a field count other than the header\'s is a malformed row; a row of delimiters alone is capped', async () => {
    const { summary } = await csv(`${HEADER}\n1,2,3\n${','.repeat(1000)}\n${row('a@x', 'b')}`);
    assert.equal(summary.records, 1);
    assert.deepEqual(summary.examples.map((example) => [example.row, example.reason]), [
      [1, '3 fields where the header has 5'],
      [2, '105 or more fields where the header has 5'],
    ]);
  });

  test('a lone CR is text; CR LF split across chunks is one line break', async () => {
    const { rows } = await csv([`${HEADER}\r`, `\n${row('a\rb@x', 'c')}\r`, `\n${row('d@x', 'e')}`]);
    assert.deepEqual(rows, [
      [1, 'a\rb@x', 'c'],
      [2, 'd@x', 'e'],
    ]);
  });

  test('the same records however the text is cut', async () => {
    const piece = fc.constantFrom('a', 'b@c', '"', '""', ',', ';', '\n', '\r\n', '\r', ' ', '\t', 'é', '\u2028', row('x@y', 'z'));
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { maxLength: 60 }), fc.array(fc.nat(), { maxLength: 8 }), fc.constantFrom(',', ';', '\t'), async (pieces, points, delimiter) => {
        const text = `${HEADER.replace(/,/g, delimiter)}\n${pieces.join('')}`;
        assert.deepEqual(await outcome(cut(text, points)), await outcome(text));
      }),
      { numRuns: 300, seed: 4 },
    );
  });

  test('RFC 4180 round trip: what a writer quotes comes back exactly', async () => {
    const field = fc.string({ maxLength: 12, unit: fc.constantFrom('a', 'b', ' ', ',', '"', '\n', '\r', '\t', 'é', ';') });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(field, field), { minLength: 1, maxLength: 6 }), fc.constantFrom('\r\n', '\n'), fc.array(fc.nat(), { maxLength: 5 }), async (values, newline, points) => {
        const quote = (value: string) => (/[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);
        const text = [HEADER, ...values.map(([sender, subject]) => row(quote(sender), quote(subject)))].join(newline);
        const { rows } = await csv(cut(text, points));
        assert.deepEqual(
          rows.map(([, sender, subject]) => [sender, subject]),
          values.map(([sender, subject]) => [sender.trim() === '<>' ? '' : sender.trim(), subject.trim()]),
        );
      }),
      { numRuns: 200, seed: 5 },
    );
  });

  test('a record longer than MAX_RECORD stops with the line it starts on, line breaks inside quotes counted once', async () => {
    const before = `${HEADER}\r\n${row('a@x', '"two\r\nlines"')}\r\n\r\n \r\n`;
    const never = await outcome(chunked(`${before}"${'x\r\n'.repeat(MAX_RECORD / 2)}`));
    assert.deepEqual(never, { error: 'a record longer than 1 MiB (1048576 characters): not mail-flow data, or a quoted field is never closed', where: 'line 6' });
    assert.deepEqual(await outcome(chunked(`${before}${'x'.repeat(MAX_RECORD + 1)}`)), { error: 'a record longer than 1 MiB (1048576 characters): not mail-flow data', where: 'line 6' });
    // Past the header's fields and a hundred more, delimiters are text of the last field: a row of them is capped too.
    assert.deepEqual(await outcome(chunked(`${before}${','.repeat(MAX_RECORD + 200)}`)), { error: 'a record longer than 1 MiB (1048576 characters): not mail-flow data', where: 'line 6' });
    assert.deepEqual(await outcome(`${HEADER}\n${row('a@x', 'x'.repeat(MAX_RECORD - 100))}`), { rows: [[1, 'a@x', 'x'.repeat(MAX_RECORD - 100)]], records: 1, examples: [] });
  });

  test('linear on pathological text', { timeout: 60_000 }, async () => {
    const read = async (text: string) => {
      const { summary } = await csv(chunked(`${HEADER}\n${text}`));
      return [summary.records, summary.malformed];
    };
    const quoted = `"${row('a@x', 'b').replace(/,/g, '","')}"\n`;
    assert.deepEqual(await read('""'.repeat(1000)), [0, 1], 'a field of doubled quotes');
    assert.deepEqual(await read('a,'.repeat(1000)), [0, 1], 'a record of many fields');
    assert.deepEqual(await read('\n'.repeat(1000)), [0, 0], 'blank lines');
    assert.deepEqual(await read(quoted.repeat(1000)), [1000, 0], 'quoted rows');
    await assertLinear('a field of doubled quotes', (n) => read('""'.repeat(n)), 50_000);
    await assertLinear('a record of many fields', (n) => read('a,'.repeat(n)), 50_000);
    await assertLinear('blank lines', (n) => read('\n'.repeat(n)), 600_000);
    await assertLinear('quoted rows', (n) => read(quoted.repeat(n)), 6_000);
  });
});

describe('JSON document scanner', () => {
  test('rows of an array, of an API response, or a single object, with their index and line', () => {
    assert.deepEqual(json('[\n  {"a": 1},\n  {"b": "]},{"}\n]'), [
      [{ a: 1 }, 1, 2],
      [{ b: ']},{' }, 2, 3],
    ]);
    assert.deepEqual(json('{"@odata.context": "x", "Schema": [{"Name": "value"}],\n"value": [\n{"a": [1, {"value": []}]}, 2, "s", null]}'), [
      [{ a: [1, { value: [] }] }, 1, 3],
      [2, 2, 3],
      ['s', 3, 3],
      [null, 4, 3],
    ]);
    assert.deepEqual(json('{"a": {"value": [1]}, "b": 2}'), [[{ a: { value: [1] }, b: 2 }, 1, 1]]);
  });

  test('escaped quotes and backslashes, split anywhere', () => {
    const text = '[{"a": "x\\"]\\\\", "b": "\\\\"}, {"c": "\\u005d"}]';
    for (let at = 0; at <= text.length; at++) assert.deepEqual(json([text.slice(0, at), text.slice(at)]), [[{ a: 'x"]\\', b: '\\' }, 1, 1], [{ c: ']' }, 2, 1]], `cut at ${at}`);
  });

  test('the rows equal the elements, however the text is cut', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue({ maxDepth: 4 }), { maxLength: 6 }), fc.boolean(), fc.nat(3), fc.array(fc.nat(), { maxLength: 8 }), (elements, wrapped, indent, points) => {
        const text = wrapped ? JSON.stringify({ before: [1, { value: 2 }], Results: elements, after: 'x' }, null, indent) : JSON.stringify(elements, null, indent);
        const rows = json(cut(text, points));
        assert.deepEqual(
          rows.map(([row]) => row),
          elements.map((element) => JSON.parse(JSON.stringify(element)) as unknown),
        );
        assert.deepEqual(rows.map(([, index]) => index), elements.map((_, i) => i + 1));
      }),
      { numRuns: 300, seed: 6 },
    );
  });

  const faults: [string, string, RegExp][] = [
    ['a comma before "]"', '[1,]', /a comma before "\]"/],
    ['two commas', '[1,,2]', /a comma where a row was expected/],
    ['a missing comma', '[{"a":1} {"b":2}]', /a comma or "\]" was expected after a row/],
    ['a mismatched bracket', '[{"a":[1}]', /does not close the bracket that is open/],
    ['text after the document', '[1]\nx', /text after the end of the document/],
    ['a second document', '[1] [2]', /text after the end of the document/],
    ['an unclosed document', '[{"a": 1}', /the document ends early/],
    ['an unclosed string', '[{"a": "x', /the document ends early/],
    ['a top-level string', '"rows"', /a JSON document holding an array of rows was expected/],
  ];
  for (const [name, text, message] of faults) {
    test(`${name} is bad input with its line`, () => {
      assert.throws(() => json(text), (error: unknown) => error instanceof InputError && message.test(error.message) && /^line \d+$/.test(error.where ?? ''));
    });
  }

  test('a row longer than MAX_RECORD stops with its line; blank space between rows is not kept', () => {
    assert.throws(() => json(['[1,\n', '"', 'x'.repeat(MAX_RECORD), '"]']), (error: unknown) => error instanceof InputError && error.where === 'line 2');
    assert.deepEqual(json(['[\n', '\n'.repeat(MAX_RECORD * 3), '1\n', ' '.repeat(MAX_RECORD * 2), ']']), [[1, 1, MAX_RECORD * 3 + 2]]);
  });

  test('linear on pathological text', { timeout: 60_000 }, async () => {
    assert.equal(json(`[${'[1],'.repeat(1000)}[1]]`).length, 1001);
    assert.equal(json(`[${'"\\\\\\"",'.repeat(1000)}1]`).length, 1001);
    assert.throws(() => json(`[${'['.repeat(2_000_000)}`), InputError, 'deep nesting: bounded by the row limit');
    await assertLinear('many small rows', (n) => json(`[${'[1],'.repeat(n)}[1]]`), 25_000);
    await assertLinear('escaped quotes', (n) => json(`[${'"\\\\\\"",'.repeat(n)}1]`), 40_000);
    await assertLinear('an unclosed nest', (n) => assert.throws(() => json(`[${'['.repeat(n)}`), InputError), 120_000);
  });
});
