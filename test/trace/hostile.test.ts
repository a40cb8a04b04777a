/**
 * Mail-flow data that tries to hurt: gzip bombs of blank lines (constant memory, linear time), one endless line or an
 * unclosed quote (bounded record, exit 2 naming file and line), files that hold no records at all (empty, binary,
 * BOM-less UTF-16, an unknown header — exit 2 in every command that reads traces; a header and no rows is an empty
 * trace), values with control characters (escaped in text output), and a fuzz of the formats.
 */
import assert from 'node:assert/strict';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, test } from 'node:test';
import { gzipSync, createGzip } from 'node:zlib';
import fc from 'fast-check';
import { readTrace } from '../../src/trace/read.js';
import { MAX_RECORD } from '../../src/trace/tokenize.js';
import { cli, tempFolder } from '../helpers/cli.js';

const temp = tempFolder('eoplock-trace-hostile-');
const EXPOSED = 'examples/contoso-exposed.json';
const GATEWAY = ['--seg-ip', '203.0.113.10'];
const HEADER = 'Received,SenderAddress,RecipientAddress,FromIP,Subject';
const ROW = '2026-11-24T09:00:00Z,scanner@contoso.com,alice@contoso.com,192.0.2.25,Scan';
const JSON_ROW = JSON.stringify({ Received: '2026-11-24T09:00:00Z', SenderAddress: 'scanner@contoso.com', RecipientAddress: 'alice@contoso.com', FromIP: '192.0.2.25' });

/** Writes a gzip file, streaming: `before`, `mib` blocks of 1 MiB of `fill`, then `after`. */
async function gzipFile(name: string, before: string, fill: string, mib: number, after: string): Promise<string> {
  const path = join(temp.path(), name);
  const block = Buffer.from(fill.repeat(Math.ceil((1 << 20) / fill.length)).slice(0, 1 << 20));
  function* pieces(): Generator<Buffer> {
    yield Buffer.from(before);
    for (let i = 0; i < mib; i++) yield block;
    yield Buffer.from(after);
  }
  await pipeline(Readable.from(pieces()), createGzip({ level: 1 }), createWriteStream(path));
  return path;
}

/** Runs `run` while sampling the heap; returns its result and how far the heap grew above where it started. */
async function heapGrowth<T>(run: () => Promise<T>): Promise<{ result: T; growthMb: number }> {
  const base = process.memoryUsage().heapUsed;
  let peak = 0;
  const sample = () => {
    peak = Math.max(peak, process.memoryUsage().heapUsed - base);
  };
  const timer = setInterval(sample, 5);
  try {
    const result = await run();
    sample();
    return { result, growthMb: peak / 1e6 };
  } finally {
    clearInterval(timer);
  }
}

describe('constant memory, linear time', () => {
  test('50 million bare line feeds after a CRLF header (a 50 KB gzip): one record, the heap does not grow with them', { timeout: 10_000 }, async () => {
    // Export-Csv ends lines with CRLF; a CSV reader that takes its line break from the header saw one endless row here.
    const file = await gzipFile('blank.csv.gz', `${HEADER}\r\n`, '\n', 50, `${ROW}\r\n`);
    const { result, growthMb } = await heapGrowth(() => cli('monitor', file, ...GATEWAY, '--format', 'json'));
    assert.equal(result.code, 1, result.stderr);
    const json = JSON.parse(result.stdout) as { inputs: { records: number; malformed: number }[] };
    assert.deepEqual(json.inputs.map((input) => [input.records, input.malformed]), [[1, 0]]);
    assert.ok(growthMb < 32, `the heap grew by ${growthMb.toFixed(0)} MB`);
  });

  test('a JSON array with 50 million blank lines before its row: read as a stream, not as one string', { timeout: 10_000 }, async () => {
    const file = await gzipFile('blank.json.gz', '[\n', '\n', 50, `${JSON_ROW}\n]\n`);
    const { result, growthMb } = await heapGrowth(() => readTrace(file, { onRecord: () => undefined }));
    assert.equal(result.records, 1);
    assert.ok(growthMb < 32, `the heap grew by ${growthMb.toFixed(0)} MB`);
  });

  test('whitespace-only lines between JSON Lines rows and CSV rows are skipped, not malformed', async () => {
    const lines = await temp.file('blank.jsonl', `\n \t\n${JSON_ROW}\n   \n\r\n${JSON_ROW}\n\n`);
    const csv = await temp.file('spaces.csv', `\n  \n${HEADER}\n \t \n${ROW}\n   \n${ROW}\n`);
    for (const file of [lines, csv]) {
      const summary = await readTrace(file, { onRecord: () => undefined });
      assert.deepEqual([summary.records, summary.malformed], [2, 0], file);
    }
  });

  const longRecords: [string, () => Promise<string>, RegExp][] = [
    ['one 32 MB line without a line break', () => gzipFile('long.csv.gz', `${HEADER}\n`, 'x', 32, ''), /long\.csv\.gz: at line 2: a record longer than 1 MiB \(1048576 characters\): not mail-flow data$/m],
    ['a quote that is never closed', () => gzipFile('quote.csv.gz', `${HEADER}\n${ROW}\n"x`, 'a,b\n', 32, ''), /quote\.csv\.gz: at line 3: a record longer than 1 MiB \(1048576 characters\): not mail-flow data, or a quoted field is never closed/],
    ['a 32 MB JSON Lines line', () => gzipFile('long.jsonl.gz', `${JSON_ROW}\n{"a":"`, 'x', 32, '"}\n'), /long\.jsonl\.gz: at line 2: a record longer/],
    ['a 32 MB element of a JSON array', () => gzipFile('long.json.gz', `[\n${JSON_ROW},\n{"a":"`, 'x', 32, '"}]'), /long\.json\.gz: at line 3: a record longer/],
    ['a 32 MB header row', () => gzipFile('header.csv.gz', '', 'Received,', 32, '\n'), /header\.csv\.gz: at line 1: a record longer/],
  ];
  for (const [name, make, message] of longRecords) {
    test(`${name}: exit 2 naming the file and the line, at once`, { timeout: 10_000 }, async () => {
      const file = await make();
      const out = join(temp.path(), 'long-out.json');
      const started = performance.now();
      const result = await cli('monitor', file, ...GATEWAY, '--format', 'json', '--out', out);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.split('\n').length, 2, 'one line');
      assert.equal(existsSync(out), false);
      assert.ok(performance.now() - started < 5_000, 'stopped at the limit, not at the end of the file');
    });
  }

  test('a record just under the limit is read', async () => {
    const subject = 'x'.repeat(MAX_RECORD - ROW.length - 10);
    const file = await temp.file('under.csv', `${HEADER}\n${ROW}${subject}\n`);
    const summary = await readTrace(file, { onRecord: (record) => assert.equal(record.subject?.length, 'Scan'.length + subject.length) });
    assert.equal(summary.records, 1);
  });
});

describe('files with no message-trace records: exit 2 in every command that reads traces', () => {
  const commands: [string, (file: string, out: string) => string[]][] = [
    ['impact', (file, out) => ['impact', EXPOSED, file, '--out', out]],
    ['monitor', (file, out) => ['monitor', file, ...GATEWAY, '--out', out]],
    ['report --trace', (file, out) => ['report', EXPOSED, '--trace', file, '--out', out]],
  ];
  const inputs: [string, () => Promise<string>, RegExp][] = [
    ['an empty file', () => temp.file('empty.csv', ''), /empty\.csv: no message-trace records found: the file is empty$/m],
    ['blank lines only', () => temp.file('blank.csv', '\n\r\n  \n\t\n'), /blank\.csv: no message-trace records found: the file is empty \(blank space only\)/],
    ['an empty gzip', async () => { const path = join(temp.path(), 'empty.csv.gz'); await writeFile(path, gzipSync('')); return path; }, /empty\.csv\.gz: no message-trace records found: the file is empty/],
    ['binary data', async () => { const path = join(temp.path(), 'random.bin'); await writeFile(path, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251))); return path; }, /random\.bin: no message-trace records found: binary data, not CSV or JSON text/],
    ['binary data without NULs', async () => { const path = join(temp.path(), 'high.bin'); await writeFile(path, Buffer.from(Array.from({ length: 4096 }, (_, i) => 0x80 + (i % 120)))); return path; }, /high\.bin: no message-trace records found: binary data/],
    ['an unknown CSV header', () => temp.file('unknown.csv', 'a,b,c\n1,2,3\n'), /unknown\.csv: at line 1: no message-trace records found: the header row \(a, b, c\) is not a message trace/],
    ['a #TYPE line and nothing else', () => temp.file('type.csv', '#TYPE Deserialized.Microsoft.Exchange.Management.FfoReporting.MessageTraceResultV2\r\n'), /type\.csv: no message-trace records found: no header row/],
    ['an empty JSON array', () => temp.file('empty.json', '[ ]'), /empty\.json: no message-trace records found: the JSON holds no rows/],
    ['an API response with no rows', () => temp.file('none.json', '{ "@odata.context": "x", "value": [] }'), /none\.json: no message-trace records found/],
    ['JSON rows that are not objects', () => temp.file('numbers.json', '[1, 2, "x"]'), /numbers\.json: no message-trace records found: no row is a JSON object/],
    ['JSON with unknown keys', () => temp.file('keys.json', '[{"a": 1}]'), /keys\.json: at \[0\]: no message-trace records found: the rows \(a\) are not/],
    ['a folder', async () => { const path = join(temp.path(), 'folder.csv'); await mkdir(path, { recursive: true }); return path; }, /folder\.csv: is a folder, not a file/],
    ['a damaged gzip', async () => { const path = join(temp.path(), 'cut.csv.gz'); await writeFile(path, gzipSync(`${HEADER}\n${ROW}\n`.repeat(50)).subarray(0, 60)); return path; }, /cut\.csv\.gz: cannot be read/],
  ];
  for (const [name, make, message] of inputs) {
    test(name, async () => {
      const file = await make();
      for (const [command, args] of commands) {
        const out = join(temp.path(), `out-${command.replace(/\W/g, '')}.txt`);
        const result = await cli(...args(file, out));
        assert.equal(result.code, 2, `${command}: ${result.stderr}`);
        assert.match(result.stderr, message, command);
        assert.match(result.stderr, /^eoplock: error: [^\n]*\n$/, `${command}: one line`);
        assert.equal(existsSync(out), false, `${command}: no --out on exit 2`);
      }
    });
  }

  test('a known header and no rows is an empty trace: exit 0, "0 records"', async () => {
    for (const [name, text] of [
      ['header.csv', `${HEADER}\r\n`],
      ['header-type.csv', `#TYPE Deserialized.Microsoft.Exchange.Management.FfoReporting.MessageTraceResultV2\r\n"Received","SenderAddress","RecipientAddress","FromIP"\r\n`],
      ['header-nolf.csv', HEADER],
    ] as const) {
      const file = await temp.file(name, text);
      const impact = await cli('impact', EXPOSED, file);
      assert.equal(impact.code, 0, impact.stderr);
      assert.match(impact.stdout, new RegExp(`${name}: message-trace, 0 records \\(a header and no rows\\)`));
      const monitor = await cli('monitor', file, ...GATEWAY);
      assert.equal(monitor.code, 0, monitor.stderr);
      assert.match(monitor.stdout, /0 records/);
    }
  });

  test('UTF-16 without a BOM (little and big endian) is decoded, not refused', async () => {
    const text = `${HEADER}\r\n${ROW}\r\n`;
    const le = join(temp.path(), 'utf16le.csv');
    const be = join(temp.path(), 'utf16be.csv');
    await writeFile(le, Buffer.from(text, 'utf16le'));
    await writeFile(be, Buffer.from(text, 'utf16le').swap16());
    for (const file of [le, be]) {
      const records: string[] = [];
      const summary = await readTrace(file, { onRecord: (record) => records.push(`${record.clientIp} ${record.subject}`) });
      assert.deepEqual([summary.format, records], ['message-trace', ['192.0.2.25 Scan']], file);
    }
  });

  test('semicolon- and tab-separated exports are recognised by their header', async () => {
    for (const delimiter of [';', '\t']) {
      const file = await temp.file(`delimited-${delimiter === ';' ? 'semicolon' : 'tab'}.csv`, `${HEADER}\n${ROW}\n`.replace(/,/g, delimiter));
      const summary = await readTrace(file, { onRecord: () => undefined });
      assert.deepEqual([summary.records, summary.malformed], [1, 0]);
    }
  });
});

describe('values from the data are shown escaped in text output', () => {
  test('impact and monitor: control characters in subjects, domains, addresses and reasons are made visible', async () => {
    const file = await temp.file(
      'control.csv',
      `${HEADER}\n` +
        '2026-11-24T09:00:00Z,scanner@contoso.com,alice@contoso.com,192.0.2.25,"Scan\u001b]0;owned\u0007\r\nforged line"\n' +
        '2026-11-24T09:00:00Z,x@evil\u001b[31m.example,alice@contoso.com,192.0.2.77,hi\n' +
        '2026-11-24T09:00:00Z,ce\u001bo@contoso.com,alice@contoso.com,192.0.2.78,hi\n' +
        '2026-11-24T09:00:00Z,a@contoso.com,alice@contoso.com,1.2.3.4\u001b[2J,hi\n',
    );
    const impact = await cli('impact', EXPOSED, file);
    const monitor = await cli('monitor', file, '--snapshot', EXPOSED);
    for (const result of [impact, monitor]) {
      assert.doesNotMatch(result.stdout + result.stderr, /[\u001b\u0007\r]/, 'no raw control character');
    }
    assert.match(impact.stdout, /subjects: "Scan\\u001b\]0;owned\\u0007\\r\\nforged line"/);
    assert.match(monitor.stdout, /192\.0\.2\.77 +1 {2}as evil\\e\[31m\.example/);
    assert.match(impact.stderr, /row 4: "1\.2\.3\.4\\e\[2J" is not an IP address/);
    assert.match(monitor.stdout, /ce\\eo@contoso\.com/);
  });

  test('the --allow-direct-send suggestion is safe to paste, whatever the sender domain holds', async () => {
    const file = await temp.file('quote.csv', `${HEADER}\n2026-11-24T09:00:00Z,"x@contoso.com'; touch pwned; '",alice@contoso.com,192.0.2.44,hi\n2026-11-24T09:00:00Z,scanner@contoso.com,alice@contoso.com,192.0.2.25,Scan\n`);
    const json = JSON.parse((await cli('impact', EXPOSED, file, '--format', 'json')).stdout) as { groups: { clientIp: string; suggestion: string | null }[] };
    const suggestions = Object.fromEntries(json.groups.map((group) => [group.clientIp, group.suggestion]));
    assert.equal(suggestions['192.0.2.25'], "--allow-direct-send '192.0.2.25=Direct Send from contoso.com (192.0.2.25)'");
    assert.equal(suggestions['192.0.2.44'], "--allow-direct-send '192.0.2.44=Direct Send source 192.0.2.44'");
  });
});

describe('fuzzing the trace formats', () => {
  const fixtures = ['emailevents.csv', 'emailevents.json', 'historical.csv', 'legacy.csv.gz', 'v2-ps51.csv', 'v2.json'];
  /** Pieces that break CSV and JSON structure, encodings and terminals. */
  const piece = fc.constantFrom('"', '""', ',', ';', '\n', '\r\n', '\r', '\u0000', '\u001b[2J', '\u2028', '[', ']', '{', '}', '\\', '\uFEFF', '\uFFFD', '#TYPE x\n', '\n\n\n\n', ' ', 'é', '\ud800');
  const mutation = fc.oneof(
    fc.tuple(fc.constant('insert' as const), fc.nat(), fc.oneof(piece, fc.string({ maxLength: 8 }))),
    fc.tuple(fc.constant('delete' as const), fc.nat(), fc.nat({ max: 40 })),
    fc.tuple(fc.constant('flip' as const), fc.nat(), fc.integer({ min: 0, max: 255 })),
    fc.tuple(fc.constant('cut' as const), fc.nat(), fc.constant(0)),
  );

  test('mutated fixtures and random bytes: exit 0/1/2, no stack trace, one line naming the file on 2, no --out on 2', { timeout: 60_000 }, async () => {
    const sources = await Promise.all(
      fixtures.map(async (name) => {
        const bytes = await readFile(`test/fixtures/traces/${name}`);
        const { gunzipSync } = await import('node:zlib');
        return { name, bytes: name.endsWith('.gz') ? gunzipSync(bytes) : bytes };
      }),
    );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: sources.length }),
        fc.array(mutation, { maxLength: 5 }),
        fc.boolean(),
        fc.uint8Array({ maxLength: 600 }),
        async (which, mutations, gzip, random) => {
          const source = sources[which];
          let bytes = source ? Buffer.from(source.bytes) : Buffer.from(random);
          for (const [kind, position, value] of mutations) {
            const at = bytes.length === 0 ? 0 : position % (bytes.length + 1);
            if (kind === 'insert') bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(String(value)), bytes.subarray(at)]);
            else if (kind === 'delete') bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + Number(value))]);
            else if (kind === 'flip' && at < bytes.length) bytes[at] = Number(value);
            else if (kind === 'cut') bytes = bytes.subarray(0, at);
          }
          run++;
          const name = `fuzz-${run}${source ? source.name.replace(/\.gz$/, '').replace(/^[^.]*/, '') : '.bin'}${gzip ? '.gz' : ''}`;
          const file = join(temp.path(), name);
          await writeFile(file, gzip ? gzipSync(bytes) : bytes);
          const out = join(temp.path(), `fuzz-out-${run}.txt`);
          const args = run % 2 === 0 ? ['monitor', file, ...GATEWAY, '--out', out] : ['impact', EXPOSED, file, '--out', out];
          const result = await cli(...args);
          try {
            assert.ok([0, 1, 2].includes(result.code), `exit ${result.code}: ${result.stderr}`);
            assert.doesNotMatch(result.stderr, /^\s+at |internal error/m);
            assert.doesNotMatch(result.stdout + result.stderr, /[\u0000\u001b\u2028\r]/, 'no raw control character in text output');
            if (result.code === 2) {
              assert.match(result.stderr, /^eoplock: error: [^\n]*\n$/, 'one line');
              assert.ok(result.stderr.includes(name), `names the file: ${result.stderr}`);
              assert.equal(existsSync(out), false, 'no --out on exit 2');
            } else {
              assert.ok(existsSync(out));
              assert.doesNotMatch(await readFile(out, 'utf8'), /[\u0000\u001b\u2028\r]/, 'no raw control character in the --out text');
            }
          } finally {
            await rm(out, { force: true });
            await rm(file, { force: true });
          }
        },
      ),
      { numRuns: 150, seed: 20_261_124 },
    );
  });

  test('JSON rows with the right keys and values of any type: exit 0/1/2, never a crash', { timeout: 60_000 }, async () => {
    const keys: Record<string, string[]> = {
      lab: ['time', 'clientIp', 'mailFrom', 'rcptTo', 'verdict'],
      'email-events': ['Timestamp', 'SenderMailFromAddress', 'SenderFromAddress', 'SenderIPv4', 'SenderIPv6', 'RecipientEmailAddress', 'Subject', 'EmailDirection', 'DeliveryAction', 'Connectors'],
      'message-trace': ['Received', 'SenderAddress', 'RecipientAddress', 'FromIP', 'Subject', 'Status'],
      'historical-search': ['origin_timestamp_utc', 'sender_address', 'recipient_status', 'original_client_ip', 'directionality', 'connector_id', 'message_subject'],
    };
    const plausible = fc.constantFrom('192.0.2.25', '2001:db8::1', 'alice@contoso.com', 'x@evil.example', '2026-11-24T09:00:00Z', '/Date(0)/', 'Inbound', '', 'reject', 'a@contoso.com##Receive, Deliver');
    const value = fc.oneof(plausible, fc.jsonValue({ maxDepth: 3 }), fc.array(plausible, { maxLength: 3 }), fc.dictionary(fc.constantFrom('connector', 'action', 'disposition'), fc.oneof(plausible, fc.jsonValue({ maxDepth: 2 }))));
    const rows = fc.constantFrom(...Object.keys(keys)).chain((format) =>
      fc.array(fc.record(Object.fromEntries((keys[format] as string[]).map((key) => [key, value])), { requiredKeys: (keys[format] as string[]).slice(0, 4) }), { minLength: 1, maxLength: 4 }),
    );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(rows, fc.constantFrom('array', 'lines', 'wrapper'), async (data, shape) => {
        run++;
        const text = shape === 'array' ? JSON.stringify(data, null, 1) : shape === 'wrapper' ? JSON.stringify({ Schema: [], Results: data }) : data.map((row) => JSON.stringify(row)).join('\n');
        const file = await temp.file(`rows-${run}.${shape === 'lines' ? 'jsonl' : 'json'}`, text);
        const out = join(temp.path(), `rows-out-${run}.txt`);
        const result = await cli(...(run % 2 === 0 ? ['monitor', file, '--snapshot', EXPOSED, '--out', out] : ['impact', EXPOSED, file, '--out', out]));
        try {
          assert.ok([0, 1, 2].includes(result.code), `exit ${result.code}: ${result.stderr}`);
          assert.doesNotMatch(result.stderr, /^\s+at |internal error/m);
          if (result.code === 2) assert.equal(existsSync(out), false);
        } finally {
          await rm(out, { force: true });
        }
      }),
      { numRuns: 120, seed: 20_261_125 },
    );
  });

  test('a value nested 300,000 deep in a row is a malformed row, not a crash', async () => {
    const depth = 300_000;
    const file = await temp.file('deep.json', `[{"Received":"2026-11-24T09:00:00Z","SenderAddress":"a@contoso.com","RecipientAddress":"b@contoso.com","FromIP":"192.0.2.1","Subject":${'['.repeat(depth)}${']'.repeat(depth)}}]`);
    const result = await cli('monitor', file, ...GATEWAY);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /deep\.json: row 1: a value is nested too deeply \(skipped\)/);
  });
});
