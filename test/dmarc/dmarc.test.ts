/**
 * DMARC aggregate reports: every sample of the parsedmarc corpus (test/fixtures/dmarc-aggregate, Apache-2.0, see
 * its SOURCE.md) parses or is refused with its reason; hostile archives and XML are refused with bounded memory;
 * classification against the gateway and Microsoft 365; the command.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { analyseReports } from '../../src/dmarc/analyse.js';
import { parseAggregateReport, ReportError } from '../../src/dmarc/parse.js';
import { DEFAULT_LIMITS, unpack, UnpackError } from '../../src/dmarc/unpack.js';
import { readReports } from '../../src/cli/dmarc.js';
import { givenProfile } from '../../src/profile/profile.js';
import { cli, tempFolder } from '../helpers/cli.js';
import { zip } from './archives.js';
import { startDnsServer } from '../helpers/dns-server.js';

const CORPUS = 'test/fixtures/dmarc-aggregate';
const temp = tempFolder('eoplock-dmarc-');

async function reportsOf(file: string) {
  const documents = await unpack(await readFile(`${CORPUS}/${file}`), file);
  return documents.map((document) => parseAggregateReport(document.xml, document.source));
}

describe('the parsedmarc sample corpus', () => {
  const expected: [string, number, number][] = [
    ['aggregate/!example.com!1538204542!1538463818.xml', 1, 1],
    ['aggregate/!large-example.com!1711897200!1711983600.xml', 2286, 2286],
    ['aggregate/Report domain- borschow.com Submitter- google.com Report-ID- 949348866075514174.eml', 1, 1],
    ['aggregate/addisonfoods.com!example.com!1536105600!1536191999.xml', 1, 1],
    ['aggregate/empty_reason.xml', 1, 2],
    ['aggregate/estadocuenta1.infonacot.gob.mx!example.com!1536853302!1536939702!2940.xml.zip', 1, 1],
    ['aggregate/example.net!example.com!1529366400!1529452799.xml', 1, 1],
    ['aggregate/fastmail.com!example.com!1516060800!1516147199!102675056.xml.gz', 1, 1],
    ['aggregate/ikea.com!example.de!1538690400!1538776800.xml', 1, 1],
    ['aggregate/mimecast-weird-gzip.eml', 1, 1],
    ['aggregate/old_draft_from_wiki.xml', 1, 2],
    ['aggregate/protection.outlook.com!example.com!1711756800!1711843200.xml', 1, 1],
    ['aggregate/rfc9990-example.net!example.com!1700000000!1700086399.xml', 2, 7],
    ['aggregate/rfc9990-sample.xml', 1, 123],
    ['aggregate/twilight.eml', 1, 1],
    ['aggregate/usssa.com!example.com!1538784000!1538870399.xml', 2, 2],
    ['aggregate/veeam.com!example.com!1530133200!1530219600.xml', 1, 1],
  ];
  for (const [file, records, messages] of expected) {
    test(`${file}: ${records} record(s), ${messages} message(s)`, async () => {
      const [report, ...rest] = await reportsOf(file);
      assert.equal(rest.length, 0);
      assert.equal(report?.records.length, records);
      assert.equal(report?.records.reduce((sum, record) => sum + record.count, 0), messages);
      assert.ok(report?.reportId);
    });
  }

  test('the details of one report are read', async () => {
    const [report] = await reportsOf('aggregate/fastmail.com!example.com!1516060800!1516147199!102675056.xml.gz');
    assert.equal(report?.orgName, 'FastMail Pty Ltd');
    assert.equal(report?.policy.domain, 'indemed.com');
    assert.equal(report?.begin.toISOString(), '2018-01-16T00:00:00.000Z');
    assert.equal(report?.records[0]?.headerFrom, 'example.com');
    assert.ok(['pass', 'fail'].includes(report?.records[0]?.dkim ?? ''));
  });

  test('the gateway-framed gzip and the stray wrapper are repaired, with a note for the wrapper', async () => {
    const [ikea] = await reportsOf('aggregate/ikea.com!example.de!1538690400!1538776800.xml');
    assert.match(ikea?.notes[0] ?? '', /Unclosed tag 'xs:schema'.*read the <feedback> element alone/);
    const [mimecast] = await unpack(await readFile(`${CORPUS}/aggregate/mimecast-weird-gzip.eml`), 'mimecast-weird-gzip.eml');
    assert.match(mimecast?.notes[0] ?? '', /not a valid gzip stream \(incorrect header check\): read its first member/);
  });

  const refused: [string, RegExp][] = [
    ['aggregate/invalid_utf_8.xml', /not valid UTF-8/],
    ['aggregate/invalid_xml.xml', /not well-formed XML: .*line 5/],
    ['aggregate_invalid/report_with_upper_cased_pass.xml', /policy_evaluated\/dkim is "Pass", not pass or fail/],
    ['empty.xml', /the file is empty/],
  ];
  for (const [file, reason] of refused) {
    test(`${file} is refused: ${reason.source}`, async () => {
      await assert.rejects(reportsOf(file), (error: unknown) => (error instanceof UnpackError || error instanceof ReportError) && reason.test(error.message));
    });
  }
});

describe('hostile input', () => {
  const small = { ...DEFAULT_LIMITS, maxDocumentBytes: 1024 * 1024 };

  test('a zip bomb, a gzip bomb, too many entries and deep nesting are refused', async () => {
    const zeros = Buffer.alloc(8 * 1024 * 1024);
    await assert.rejects(unpack(zip([{ name: 'bomb.xml', data: zeros }]), 'bomb.zip', { ...small, maxRatio: 10_000 }), /bomb\.zip > bomb\.xml: more than 1 MiB unpacked/);
    await assert.rejects(unpack(zip([{ name: 'bomb.xml', data: zeros }]), 'bomb.zip'), /bomb\.zip > bomb\.xml: compression ratio over 200:1/);
    await assert.rejects(unpack(gzipSync(zeros), 'bomb.gz', { ...small, maxRatio: 10_000 }), /bomb\.gz: more than 1 MiB unpacked/);
    const many = zip(Array.from({ length: 101 }, (_, index) => ({ name: `r${index}.xml`, data: Buffer.from('<feedback/>') })));
    await assert.rejects(unpack(many, 'many.zip', { ...DEFAULT_LIMITS, maxEntries: 100 }), /many\.zip: 101 entries, more than the 100 left in the run's budget of 100/);
    let nested = Buffer.from('<?xml version="1.0"?><feedback/>');
    for (let level = 0; level < 5; level++) nested = gzipSync(nested);
    await assert.rejects(unpack(nested, 'nested.gz'), /containers nested more than 3 deep/);
  });

  test('entity expansion and deeply nested XML are refused before parsing', () => {
    const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><feedback><report_metadata><org_name>&lol2;</org_name></report_metadata></feedback>`;
    assert.throws(() => parseAggregateReport(laughs, 'lolz.xml'), /DOCTYPE\/ENTITY declarations are not allowed/);
    const deep = `<feedback>${'<a>'.repeat(5000)}${'</a>'.repeat(5000)}</feedback>`;
    assert.throws(() => parseAggregateReport(deep, 'deep.xml'), /nested more than 32 deep/);
  });
});

describe('classification', () => {
  test('gateway, Microsoft 365, authenticated and failing sources; duplicates count once', async () => {
    const { reports } = await readReports([`${CORPUS}/aggregate`]);
    const again = await readReports([`${CORPUS}/aggregate/usssa.com!example.com!1538784000!1538870399.xml`]);
    const profile = givenProfile({ ips: ['199.230.200.36'] });
    const analysis = analyseReports([...reports, ...again.reports], { profile, reverseNames: new Map([['100.24.188.149', ['mail-xyz.outbound.protection.outlook.com']]]) });
    assert.equal(analysis.duplicates, 1);
    assert.equal(analysis.reports, 17);
    const source = (ip: string) => analysis.sources.find((entry) => entry.sourceIp === ip);
    assert.equal(source('199.230.200.36')?.class, 'gateway');
    assert.equal(source('100.24.188.149')?.class, 'microsoft365');
    assert.ok(analysis.sources.some((entry) => entry.class === 'authenticated'));
    assert.equal(source('12.20.127.122')?.class, 'failing');
    assert.ok(analysis.findings.some((finding) => finding.id === 'DMARC-001' && /example\.com publishes p=none/.test(finding.title)));
    const failing = analysis.findings.find((finding) => finding.id === 'DMARC-002');
    const expectedFailing = analysis.sources.filter((entry) => entry.class !== 'gateway' && entry.class !== 'microsoft365').reduce((sum, entry) => sum + entry.failing, 0);
    assert.match(failing?.title ?? '', new RegExp(`^${expectedFailing} message\\(s\\) failing DMARC`));
    assert.ok(!analysis.findings.some((finding) => finding.id === 'DMARC-090'), 'reverse names were given');
  });
});

describe('eoplock dmarc', () => {
  test('walks folders, sums up skipped files on stderr, exits 1 on failing non-gateway mail', async () => {
    const result = await cli('dmarc', CORPUS, '--seg-ip', '199.230.200.36');
    assert.equal(result.code, 1);
    assert.match(result.stderr, /skipped 4 file\(s\) or archive member\(s\) in test\/fixtures\/dmarc-aggregate \(\d+ file\(s\) found\): .*1 × not valid UTF-8/);
    // A file named as an argument still gets its own line with its reason.
    const named = await cli('dmarc', `${CORPUS}/empty.xml`, `${CORPUS}/aggregate/rfc9990-sample.xml`);
    assert.match(named.stderr, /^eoplock: skipped .*empty\.xml: the file is empty$/m);
    assert.match(result.stdout, /17 report\(s\), 2304 record\(s\), 2433 message\(s\)/);
    assert.match(result.stdout, /199\.230\.200\.36 +gateway/);
    const json = JSON.parse((await cli('dmarc', `${CORPUS}/aggregate/rfc9990-sample.xml`, '--format', 'json')).stdout) as { messages: number; skipped: unknown[] };
    assert.equal(json.messages, 123);
    assert.deepEqual(json.skipped, []);
  });

  test('--resolve recognises Microsoft 365 by its reverse names and by its SPF record (loopback DNS server)', async () => {
    const dns = await startDnsServer({
      '149.188.24.100.in-addr.arpa': { PTR: 'mail-bn8nam12on2149.outbound.protection.outlook.com' },
      'spf.protection.outlook.com': { TXT: ['v=spf1 ip4:199.230.200.0/24 -all'] },
    });
    try {
      const usssa = await cli('dmarc', `${CORPUS}/aggregate/usssa.com!example.com!1538784000!1538870399.xml`, '--resolve', '--resolver', dns.server, '--format', 'json');
      const bySpf = JSON.parse(usssa.stdout) as { sources: { sourceIp: string; class: string }[] };
      assert.equal(bySpf.sources.find((source) => source.sourceIp === '199.230.200.36')?.class, 'microsoft365', 'authorised by spf.protection.outlook.com');
      assert.equal(bySpf.sources.find((source) => source.sourceIp === '12.20.127.40')?.class, 'failing');
      const result = await cli('dmarc', `${CORPUS}/aggregate/protection.outlook.com!example.com!1711756800!1711843200.xml`, '--resolve', '--resolver', dns.server, '--format', 'json');
      const json = JSON.parse(result.stdout) as { sources: { sourceIp: string; class: string; reverseNames: string[] }[]; findings: { id: string }[] };
      assert.deepEqual(json.sources.map((source) => [source.sourceIp, source.class, source.reverseNames[0]]), [['100.24.188.149', 'microsoft365', 'mail-bn8nam12on2149.outbound.protection.outlook.com']]);
      assert.ok(!json.findings.some((finding) => finding.id === 'DMARC-090'));
      assert.ok(dns.queries.some((query) => query.startsWith('149.188.24.100.in-addr.arpa')));
    } finally {
      await dns.close();
    }
  });

  test('nothing readable is an input error', async () => {
    const bad = await temp.file('notes.xml', 'hello');
    const result = await cli('dmarc', bad);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /notes\.xml: neither XML, gzip, zip nor an e-mail message/);
    assert.match(result.stderr, /no readable aggregate report/);
  });
});
