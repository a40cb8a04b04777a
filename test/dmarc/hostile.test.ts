/**
 * Hostile DMARC input: one budget across the whole input tree (nested archives, message attachments, gzip members
 * and the fallback path), documents read one at a time, linear XML handling, escaped output, and a fuzz run of the
 * command over mutated reports in every format. Inputs are generated here, in memory or in a temp folder.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { depthOf, parseAggregateReport, ReportError } from '../../src/dmarc/parse.js';
import { Budget, DEFAULT_LIMITS, unpack, unpackFile, UnpackError, type UnpackLimits, type XmlDocument } from '../../src/dmarc/unpack.js';
import { cli, tempFolder } from '../helpers/cli.js';
import { eml, filler, reportXml, seeded, zip } from './archives.js';

const CORPUS = 'test/fixtures/dmarc-aggregate/aggregate';
const temp = tempFolder('eoplock-dmarc-hostile-');

async function write(name: string, data: Buffer | string): Promise<string> {
  const path = join(temp.path(), name);
  await writeFile(path, data);
  return path;
}

/** Everything one file unpacks to, documents and skips, under `limits`. */
async function unpackAll(data: Buffer, source: string, limits: UnpackLimits = DEFAULT_LIMITS): Promise<{ documents: XmlDocument[]; skipped: { source: string; reason: string }[] }> {
  const documents: XmlDocument[] = [];
  const skipped: { source: string; reason: string }[] = [];
  await unpackFile(data, source, new Budget(limits), { document: (document) => void documents.push(document), skip: (where, reason) => void skipped.push({ source: where, reason }) });
  return { documents, skipped };
}

interface JsonOutput {
  reports: number;
  sources: { reporters: string[] }[];
  skipped: { source: string; reason: string }[];
}

const reportersOf = (json: JsonOutput) => new Set(json.sources.flatMap((source) => source.reporters));

/**
 * Zip in zip in zip, every level within the per-stream limits (100 entries, 200:1, 50 MiB, 3 levels): ~75 KB that
 * unpack to ~1.6 GB across the levels. Each leaf is 1 MiB of text (ratio ~65), 100 of them in a zip whose deflated
 * form repeats (ratio ~57), four of those in a zip, four of those in the outer zip.
 */
function nestedBomb(): Buffer {
  const leaf = filler(1024 * 1024);
  const level3 = zip(Array.from({ length: 100 }, (_, index) => ({ name: `r${index}.txt`, data: leaf })));
  const level2 = zip(Array.from({ length: 4 }, (_, index) => ({ name: `z${index}.zip`, data: level3 })));
  return zip(Array.from({ length: 4 }, (_, index) => ({ name: `y${index}.zip`, data: level2 })));
}

describe('one budget across the whole input tree', () => {
  test('nested zips over the run budget (--max-bytes) are skipped with the reason; the other files are reported', { timeout: 20_000 }, async () => {
    const folder = join(temp.path(), 'nested-budget');
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'a-report.xml.gz'), gzipSync(reportXml(5, { orgName: 'Reporter A', reportId: 'a' })));
    await writeFile(join(folder, 'b-nested.zip'), nestedBomb());
    await writeFile(join(folder, 'c-report.xml'), reportXml(5, { orgName: 'Reporter C', reportId: 'c' }));
    const result = await cli('dmarc', folder, '--format', 'json', '--max-bytes', '4M');
    assert.equal(result.code, 1, result.stderr);
    const json = JSON.parse(result.stdout) as JsonOutput;
    assert.ok(
      json.skipped.some((entry) => entry.source.startsWith(join(folder, 'b-nested.zip')) && /not read: the run's budget of 4 MiB unpacked is spent \(--max-bytes\)/.test(entry.reason)),
      JSON.stringify(json.skipped),
    );
    assert.ok(reportersOf(json).has('Reporter A') && reportersOf(json).has('Reporter C'), 'the files around the bomb are reported');
    // A folder gets one summary line, the run limit's reason first.
    assert.match(result.stderr, /^eoplock: skipped \d+ file\(s\) or archive member\(s\) in .*nested-budget \(3 file\(s\) found\): \d+ × not read: the run's budget of 4 MiB/);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
  });

  test('with the default limits, a nested zip bomb stops at 200:1 across its levels, quickly and in modest memory', { timeout: 30_000 }, async () => {
    const bomb = await write('bomb-nested.zip', nestedBomb());
    const other = await write('other.xml.gz', gzipSync(reportXml(3, { orgName: 'Other Reporter', reportId: 'o' })));
    const rss = process.memoryUsage().rss;
    const started = performance.now();
    const result = await cli('dmarc', bomb, other, '--format', 'json');
    const elapsed = performance.now() - started;
    const grown = process.memoryUsage().rss - rss;
    assert.equal(result.code, 1, result.stderr);
    const json = JSON.parse(result.stdout) as JsonOutput;
    assert.ok(
      json.skipped.some((entry) => entry.source === bomb && /unpacks to more than 200 times its size across its nesting levels/.test(entry.reason)),
      JSON.stringify(json.skipped),
    );
    assert.ok(reportersOf(json).has('Other Reporter'));
    // ~1.5 GB would come out of it: the old reader held every level and document at once.
    assert.ok(grown < 600 * 1024 * 1024, `rss grew by ${Math.round(grown / 1024 / 1024)} MiB`);
    assert.ok(elapsed < 15_000, `${Math.round(elapsed)} ms`);
  });

  test('an archive member over a limit is skipped and its siblings are read; declared sizes are not trusted', async () => {
    const good = Buffer.from(reportXml(2));
    const data = zip([
      { name: 'bomb.xml', data: Buffer.alloc(8 * 1024 * 1024) },
      { name: 'liar.xml', data: Buffer.from(reportXml(20_000)), declaredSize: 100 },
      { name: 'good.xml', data: good },
    ]);
    const { documents, skipped } = await unpackAll(data, 'mixed.zip');
    assert.deepEqual(
      documents.map((document) => document.source),
      ['mixed.zip > good.xml'],
    );
    assert.equal(skipped.length, 2);
    assert.match(skipped[0]?.reason ?? '', /compression ratio over 200:1/);
    assert.equal(skipped[0]?.source, 'mixed.zip > bomb.xml');
    assert.equal(skipped[1]?.source, 'mixed.zip > liar.xml');
    assert.match(skipped[1]?.reason ?? '', /too many bytes|size/i);
  });

  test('archive entries count against the run budget, across files', async () => {
    const entries = (count: number) => zip(Array.from({ length: count }, (_, index) => ({ name: `r${index}.xml`, data: Buffer.from(reportXml(1, { reportId: `r${index}` })) })));
    const budget = new Budget({ ...DEFAULT_LIMITS, maxEntries: 5 });
    const skipped: string[] = [];
    let documents = 0;
    const sink = { document: () => void documents++, skip: (source: string, reason: string) => void skipped.push(`${source}: ${reason}`) };
    await unpackFile(entries(3), 'first.zip', budget, sink);
    await unpackFile(entries(3), 'second.zip', budget, sink);
    assert.equal(documents, 3);
    assert.deepEqual(skipped, ["second.zip: 3 entries, more than the 2 left in the run's budget of 5 (--max-entries)"]);
  });

  test('the run time budget skips what is left, naming the option', async () => {
    const budget = new Budget({ ...DEFAULT_LIMITS, maxSeconds: 1 }, Date.now() - 2000);
    const skipped: string[] = [];
    await unpackFile(gzipSync(reportXml(1)), 'late.xml.gz', budget, { document: () => assert.fail('nothing is read'), skip: (source, reason) => void skipped.push(`${source}: ${reason}`) });
    assert.deepEqual(skipped, ["late.xml.gz: not read: the run's time budget of 1 s is spent (--max-seconds)"]);
  });
});

describe('.eml attachments', () => {
  /** A small report, then `count` gzip attachments of 3 MiB unpacked each (not reports: they are skipped quickly). */
  const attachments = (count: number) => {
    const big = gzipSync(filler(3 * 1024 * 1024));
    return eml([
      { name: 'report.xml', type: 'text/xml', data: Buffer.from(reportXml(2, { orgName: 'Attached Reporter' })) },
      ...Array.from({ length: count }, (_, index) => ({ name: `report${index}.xml.gz`, type: 'application/gzip', data: big })),
    ]);
  };

  test('20 attachments of 3 MB unpacked count against the run budget: bounded, skipped with the reason, the rest reported', { timeout: 20_000 }, async () => {
    const message = await write('many-attachments.eml', attachments(20));
    const other = await write('plain.xml', reportXml(2, { orgName: 'Plain Reporter', reportId: 'p' }));
    const started = performance.now();
    const result = await cli('dmarc', message, other, '--format', 'json', '--max-bytes', '10M');
    const elapsed = performance.now() - started;
    assert.equal(result.code, 1, result.stderr);
    const json = JSON.parse(result.stdout) as JsonOutput;
    assert.ok(json.skipped.some((entry) => entry.source.startsWith(`${message} > report`) && /run's budget of 10 MiB unpacked is spent/.test(entry.reason)), JSON.stringify(json.skipped));
    assert.ok(reportersOf(json).has('Plain Reporter') && reportersOf(json).has('Attached Reporter'));
    assert.ok(elapsed < 15_000, `${Math.round(elapsed)} ms`);
    const counted = await cli('dmarc', message, other, '--format', 'json', '--max-entries', '5');
    assert.match(counted.stderr, /many-attachments\.eml: 21 attachments, more than the 5 left in the run's budget of 5 \(--max-entries\)/);
  });

  test('a message over the size limit is not parsed', async () => {
    await assert.rejects(unpack(attachments(2), 'big.eml', { ...DEFAULT_LIMITS, maxDocumentBytes: 64 * 1024 }), /big\.eml: a message of \d+ bytes, more than 64 KiB: not parsed/);
  });

  test('a message of millions of lines is refused before parsing, in well under a second', { timeout: 10_000 }, async () => {
    // postal-mime spends ~20 µs a line: 4M lines would take more than a minute.
    const data = Buffer.concat([Buffer.from('From: a@example.com\r\nContent-Type: application/gzip\r\n\r\n'), Buffer.alloc(4_000_000, 0x0a)]);
    const started = performance.now();
    await assert.rejects(unpack(data, 'lines.eml'), /lines\.eml: a message of more than 200000 lines: not parsed/);
    assert.ok(performance.now() - started < 2000);
  });

  test('an attached message (message/rfc822) is read under the same limits', async () => {
    const inner = eml([{ name: 'inner.xml', type: 'text/xml', data: Buffer.from(reportXml(1, { orgName: 'Forwarded' })) }]);
    const outer = Buffer.from(
      `From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="o"\r\n\r\n--o\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment; filename="fwd.eml"\r\n\r\n${inner.toString()}\r\n--o--\r\n`,
    );
    const documents = await unpack(outer, 'outer.eml');
    assert.deepEqual(
      documents.map((document) => document.source),
      ['outer.eml > fwd.eml > inner.xml'],
    );
    await assert.rejects(unpack(outer, 'outer.eml', { ...DEFAULT_LIMITS, maxDepth: 1 }), /containers nested more than 1 deep: a message at level 2/);
  });
});

describe('gzip: trailing bytes, concatenated members and the fallback path are held to the ratio', () => {
  const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024));

  test('a bomb with trailing bytes', async () => {
    await assert.rejects(unpack(Buffer.concat([bomb, Buffer.from('\r\n')]), 'trailing.gz'), /trailing\.gz: compression ratio over 200:1/);
  });

  test('a bomb whose header check fails, read through the first-member fallback', async () => {
    // FHCRC set with a wrong header CRC: gunzip refuses at once, and the fallback inflates the member raw.
    const header = Buffer.from(bomb.subarray(0, 10));
    header[3] = (header[3] as number) | 0x02;
    const data = Buffer.concat([header, Buffer.from([0xde, 0xad]), bomb.subarray(10), Buffer.from('\r\n')]);
    await assert.rejects(unpack(data, 'fallback.gz'), /fallback\.gz: compression ratio over 200:1/);
    await assert.rejects(unpack(data, 'fallback.gz', { ...DEFAULT_LIMITS, maxRatio: 1_000_000, maxDocumentBytes: 1024 * 1024 }), /fallback\.gz: more than 1 MiB unpacked/);
  });

  test('concatenated members, each small, past the ratio together', async () => {
    const member = gzipSync(Buffer.alloc(64 * 1024));
    const data = Buffer.concat(Array.from({ length: 300 }, () => member));
    await assert.rejects(unpack(data, 'members.gz'), /members\.gz: compression ratio over 200:1/);
  });

  test('through the command: the bomb is skipped, the report beside it is reported', async () => {
    const trailing = await write('trailing.xml.gz', Buffer.concat([bomb, Buffer.from('\r\n')]));
    const good = await write('good.xml.gz', Buffer.concat([gzipSync(reportXml(2, { orgName: 'Good Reporter' })), Buffer.from('\r\n')]));
    const result = await cli('dmarc', trailing, good, '--format', 'json');
    assert.equal(result.code, 1, result.stderr);
    const json = JSON.parse(result.stdout) as JsonOutput & { notes: string[] };
    assert.deepEqual(json.skipped, [{ source: trailing, reason: 'compression ratio over 200:1 (a decompression bomb?)' }]);
    assert.ok(reportersOf(json).has('Good Reporter'));
    assert.ok(json.notes.some((note) => note.startsWith(good) && /read its first member/.test(note)));
  });
});

describe('linear XML handling', () => {
  const refuses = (xml: string, reason: RegExp) => assert.throws(() => parseAggregateReport(xml, 'hostile.xml'), (error: unknown) => error instanceof ReportError && reason.test(error.message));

  test('the depth check on <a<a<a… (16 KB and 1 MB) finishes at once', { timeout: 10_000 }, () => {
    for (const size of [16 * 1024, 1024 * 1024]) {
      const started = performance.now();
      refuses(`<feedback>${'<a'.repeat(size / 2)}`, /not well-formed XML/);
      refuses(`<?xml version="1.0"?>${'<a'.repeat(size / 2)}>`, /not well-formed XML/);
      assert.ok(performance.now() - started < 5000, `${size}: ${Math.round(performance.now() - started)} ms`);
    }
  });

  test('the depth scan is linear on every shape of tag', { timeout: 10_000 }, () => {
    const n = 1_000_000;
    assert.equal(depthOf('<a<a'.repeat(n)), 0);
    assert.equal(depthOf(`<a b="${'>'.repeat(n)}">`), 1);
    assert.equal(depthOf(`<a b="${'<a '.repeat(n)}`), 0);
    assert.equal(depthOf(`${'<!--'.repeat(n)}`), 0);
    assert.equal(depthOf(`<a>${'<![CDATA[<b>'.repeat(n)}`), 1);
    assert.equal(depthOf(`${'<?'.repeat(n)}`), 0);
    assert.equal(depthOf(`${'<a/>'.repeat(n)}`), 0);
    assert.equal(depthOf(`${'<a>'.repeat(n)}`, 32), 33);
    assert.equal(depthOf(`<a><!-- <b><c> --><![CDATA[<d>]]><?pi <e>?><f x='>'/><g>text</g></a>`), 2);
  });

  test('many attributes, long tag names, entity references and long values stay linear', { timeout: 10_000 }, () => {
    const n = 200_000;
    refuses(`<feedback ${Array.from({ length: n / 8 }, (_, index) => `a${index}="1"`).join(' ')}><x/></feedback>`, /no <report_metadata>/);
    refuses(`<feedback ${'a="1" '.repeat(n / 6)}></feedback>`, /not well-formed XML: Attribute 'a' is repeated/);
    refuses(`<feedback><${'x'.repeat(n)}></${'y'.repeat(n)}></feedback>`, /not well-formed XML: .*… \(\d+ characters\)/);
    refuses(`<feedback><report_metadata>${'&amp;&#65;&lt;'.repeat(n / 14)}</report_metadata></feedback>`, /no <policy_published>/);
    const report = reportXml(1).replace('198.51.100.', `${'1'.repeat(n)}.`);
    refuses(report, /source_ip is \d+ characters long, not an IP address/);
    const long = reportXml(1).replace('<dkim>fail</dkim>', `<dkim>${'x'.repeat(n)}</dkim>`);
    assert.throws(
      () => parseAggregateReport(long, 'long.xml'),
      (error: unknown) => error instanceof ReportError && error.message.length < 400,
    );
  });

  test('a date range that is a number but not a date is refused (no exit 70 later)', () => {
    refuses(reportXml(1).replace('<begin>1700000000</begin>', '<begin>1e300</begin>'), /date_range begin\/end is not a date/);
  });
});

describe('output', () => {
  test('reporter names, domains and file names are escaped in the text output', async () => {
    const hostile = reportXml(2, { orgName: 'Evil\u001b]0;owned\u0007 Reporter', domain: 'evil.example\u202e' }).replace('<header_from>evil.example\u202e</header_from>', '<header_from>evil.example\nFORGED LINE</header_from>');
    const file = await write('hostile\u001b[2J.xml', hostile);
    const broken = await write('broken.zip', zip([{ name: 'line\nbreak\u001b[31m.xml', data: Buffer.from('nothing') }]));
    const result = await cli('dmarc', file, broken);
    assert.equal(result.code, 1, result.stderr);
    for (const stream of [result.stdout, result.stderr]) {
      // eslint-disable-next-line no-control-regex
      assert.doesNotMatch(stream, /[\u0000-\u0008\u000b-\u001f\u007f\u202e]/);
    }
    assert.match(result.stdout, /Evil\\e\]0;owned\\x07 Reporter/);
    assert.match(result.stdout, /evil\.example\\u202e/);
    assert.match(result.stdout, /evil\.example\\nforged line/);
    assert.doesNotMatch(result.stdout, /^forged line/m);
    assert.match(result.stderr, /skipped .*broken\.zip > line\\nbreak\\e\[31m\.xml: neither XML/);
  });

  test('a device given as a file is skipped, not read', { skip: !existsSync('/dev/zero'), timeout: 10_000 }, async () => {
    const result = await cli('dmarc', '/dev/zero', `${CORPUS}/rfc9990-sample.xml`, '--format', 'json');
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual((JSON.parse(result.stdout) as JsonOutput).skipped, [{ source: '/dev/zero', reason: 'not a regular file' }]);
  });

  test('a limit that is not a number is an input error', async () => {
    const result = await cli('dmarc', `${CORPUS}/rfc9990-sample.xml`, '--max-bytes', 'lots');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^eoplock: error: at --max-bytes: "lots" is not a size in bytes/);
    const entries = await cli('dmarc', `${CORPUS}/rfc9990-sample.xml`, '--max-entries', '0');
    assert.equal(entries.code, 2);
    assert.match(entries.stderr, /at --max-entries: "0" is not a positive whole number/);
  });
});

describe('fuzz: mutated reports in every format through the command', () => {
  const TOKENS = ['<', '>', '</', '/>', '<!--', '-->', '<![CDATA[', ']]>', '<?', '&', '&amp;', '&#', '"', "'", '<feedback>', '</feedback>', '<record>', '<!DOCTYPE x>', '\u0000', '\u001b[2J', '\r\n', '\uFEFF', '=?utf-8?b?', '--b1', 'Content-Type: multipart/mixed; boundary="b1"\r\n'];

  function mutate(input: Buffer, random: ReturnType<typeof seeded>): Buffer {
    let data = input;
    const edits = 1 + random.int(6);
    for (let edit = 0; edit < edits; edit++) {
      const at = data.length === 0 ? 0 : random.int(data.length);
      switch (random.int(6)) {
        case 0: {
          const copy = Buffer.from(data);
          if (copy.length > 0) copy[at] = random.int(256);
          data = copy;
          break;
        }
        case 1:
          data = Buffer.concat([data.subarray(0, at), data.subarray(Math.min(data.length, at + 1 + random.int(64)))]);
          break;
        case 2:
          data = Buffer.concat([data.subarray(0, at), Buffer.from(TOKENS[random.int(TOKENS.length)] as string), data.subarray(at)]);
          break;
        case 3:
          data = data.subarray(0, at);
          break;
        case 4: {
          const length = Math.min(data.length - at, 1 + random.int(256));
          data = Buffer.concat([data.subarray(0, at + length), ...Array.from({ length: 1 + random.int(8) }, () => data.subarray(at, at + length)), data.subarray(at + length)]);
          break;
        }
        default:
          data = Buffer.concat([data.subarray(0, at), Buffer.from(Array.from({ length: 1 + random.int(32) }, () => random.int(256))), data.subarray(at)]);
      }
    }
    return data;
  }

  test('exit 0, 1 or 2, one line per problem naming the file, no stack trace, no --out file on exit 2', { timeout: 120_000 }, async () => {
    const random = seeded(Number(process.env.EOPLOCK_FUZZ_SEED ?? 13));
    const fixtures = await Promise.all(
      ['rfc9990-sample.xml', 'usssa.com!example.com!1538784000!1538870399.xml', 'ikea.com!example.de!1538690400!1538776800.xml', 'fastmail.com!example.com!1516060800!1516147199!102675056.xml.gz', 'estadocuenta1.infonacot.gob.mx!example.com!1536853302!1536939702!2940.xml.zip', 'twilight.eml', 'mimecast-weird-gzip.eml'].map((name) => readFile(`${CORPUS}/${name}`)),
    );
    const xmlFixtures = fixtures.slice(0, 3);
    const formats = ['xml', 'gz', 'zip', 'eml', 'fixture', 'random'] as const;
    const counts = { 0: 0, 1: 0, 2: 0 } as Record<number, number>;
    for (let run = 0; run < 240; run++) {
      const format = formats[run % formats.length] as (typeof formats)[number];
      const xml = mutate(xmlFixtures[random.int(xmlFixtures.length)] as Buffer, random);
      let data: Buffer;
      if (format === 'xml') data = xml;
      else if (format === 'gz') data = random.int(2) ? mutate(gzipSync(xml), random) : gzipSync(xml);
      else if (format === 'zip') data = random.int(2) ? mutate(zip([{ name: 'r.xml', data: xml }, { name: 'r.xml.gz', data: gzipSync(xml) }]), random) : zip([{ name: 'r.xml', data: xml }]);
      else if (format === 'eml') {
        const message = eml([{ name: 'r.xml.zip', type: 'application/zip', data: zip([{ name: 'r.xml', data: xml }]) }, { name: 'r.xml.gz', type: 'application/gzip', data: gzipSync(xml) }]);
        data = random.int(2) ? mutate(message, random) : message;
      } else if (format === 'fixture') data = mutate(fixtures[random.int(fixtures.length)] as Buffer, random);
      else {
        const prefix = [Buffer.from([0x1f, 0x8b, 8, 0]), Buffer.from('PK\u0003\u0004'), Buffer.from('<?xml version="1.0"?>'), Buffer.from('From: a@b\r\n'), Buffer.alloc(0)][random.int(5)] as Buffer;
        data = Buffer.concat([prefix, Buffer.from(Array.from({ length: random.int(2048) }, () => random.int(256)))]);
      }
      const file = await write(`fuzz-${run}.${format}`, data);
      const out = join(temp.path(), `fuzz-${run}.json`);
      const result = await cli('dmarc', file, '--format', 'json', '--out', out);
      const what = `run ${run} (${format}): exit ${result.code}\n${result.stderr}`;
      assert.ok([0, 1, 2].includes(result.code), what);
      counts[result.code] = (counts[result.code] ?? 0) + 1;
      assert.doesNotMatch(result.stderr, /^\s+at |internal error/m, what);
      for (const line of result.stderr.split('\n').filter(Boolean)) {
        assert.ok(line.startsWith(`eoplock: skipped ${file}`) || (line.startsWith('eoplock: error: ') && line.includes(file)), what);
      }
      if (result.code === 2) assert.equal(existsSync(out), false, what);
      else JSON.parse(await readFile(out, 'utf8'));
    }
    assert.ok((counts[2] ?? 0) > 0 && (counts[0] ?? 0) + (counts[1] ?? 0) > 0, `both readable and unreadable inputs were made: ${JSON.stringify(counts)}`);
  });
});

test('UnpackError names the member and the reason', () => {
  const error = new UnpackError('a.zip > b.xml', 'reason');
  assert.equal(error.message, 'a.zip > b.xml: reason');
  assert.equal(error.scope, 'member');
});
