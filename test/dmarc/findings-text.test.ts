/**
 * The dmarc command's sentences: DMARC-003 pairs each authenticated domain with the From domain of the same mail (two
 * different domains), DMARC-004's reporter list has no empty item, a walked folder's skipped files are one summary
 * line, and the bundled example (examples/dmarc/) reads with its source note beside it.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { analyseReports } from '../../src/dmarc/analyse.js';
import { parseAggregateReport } from '../../src/dmarc/parse.js';
import { givenProfile } from '../../src/profile/profile.js';
import { cli, tempFolder } from '../helpers/cli.js';

const temp = tempFolder('eoplock-dmarc-text-');

interface Row {
  ip: string;
  from: string;
  dkim: 'pass' | 'fail';
  spf: 'pass' | 'fail';
  auth: { kind: 'spf' | 'dkim'; domain: string; result: string }[];
}

function report(orgName: string, id: string, rows: Row[]): string {
  const records = rows.map(
    (row) =>
      `<record><row><source_ip>${row.ip}</source_ip><count>2</count><policy_evaluated><disposition>none</disposition><dkim>${row.dkim}</dkim><spf>${row.spf}</spf></policy_evaluated></row>` +
      `<identifiers><header_from>${row.from}</header_from></identifiers><auth_results>${row.auth.map((entry) => `<${entry.kind}><domain>${entry.domain}</domain><result>${entry.result}</result></${entry.kind}>`).join('')}</auth_results></record>`,
  );
  return `<?xml version="1.0"?><feedback><report_metadata><org_name>${orgName}</org_name><email>r@reporter.example</email><report_id>${id}</report_id><date_range><begin>1700000000</begin><end>1700086399</end></date_range></report_metadata><policy_published><domain>contoso.example</domain><adkim>r</adkim><aspf>r</aspf><p>none</p><pct>100</pct></policy_published>${records.join('')}</feedback>`;
}

/** One source sends as two domains: aligned for one, failing but passing SPF for an ESP's domain on the other. */
const MIXED: Row[] = [
  { ip: '192.0.2.50', from: 'contoso.example', dkim: 'pass', spf: 'pass', auth: [{ kind: 'dkim', domain: 'contoso.example', result: 'pass' }] },
  { ip: '192.0.2.50', from: 'news.contoso.example', dkim: 'fail', spf: 'fail', auth: [{ kind: 'spf', domain: 'bounce.esp.example', result: 'pass' }] },
  // Failing, with SPF passing for the From domain itself: no other domain to name.
  { ip: '192.0.2.60', from: 'contoso.example', dkim: 'fail', spf: 'fail', auth: [{ kind: 'spf', domain: 'contoso.example', result: 'pass' }] },
];

describe('dmarc findings', () => {
  test('DMARC-003 names the authenticated domain and the From domain of the same mail, never one domain twice', () => {
    const analysis = analyseReports([parseAggregateReport(report('Reporter', 'a', MIXED), 'mixed.xml')], { profile: null });
    const finding = analysis.findings.find((entry) => entry.id === 'DMARC-003');
    assert.ok(finding, JSON.stringify(analysis.findings));
    assert.match(finding.title, /^1 source\(s\)/);
    assert.equal(finding.detail, '192.0.2.50 passes as bounce.esp.example while sending as news.contoso.example');
    for (const match of finding.detail.matchAll(/passes as (\S+) while sending as (\S+)/g)) assert.notEqual(match[1], match[2]);
    const source = analysis.sources.find((entry) => entry.sourceIp === '192.0.2.50');
    assert.deepEqual(source?.unalignedPass, [{ authenticatedAs: 'bounce.esp.example', headerFrom: 'news.contoso.example' }]);
    assert.deepEqual(analysis.sources.find((entry) => entry.sourceIp === '192.0.2.60')?.unalignedPass, []);
  });

  test('DMARC-004 lists reporters without an empty item when a report has no org_name', () => {
    const rows: Row[] = [{ ip: '198.51.100.7', from: 'contoso.example', dkim: 'fail', spf: 'fail', auth: [] }];
    const reports = [parseAggregateReport(report('', 'unnamed', rows), 'unnamed.xml'), parseAggregateReport(report('Fabrikam Mail', 'named', rows), 'named.xml')];
    const analysis = analyseReports(reports, { profile: givenProfile({ ips: ['203.0.113.10'] }) });
    const finding = analysis.findings.find((entry) => entry.id === 'DMARC-004');
    assert.ok(finding);
    assert.match(finding.title, /^2 reporter\(s\)/);
    assert.doesNotMatch(finding.detail, /^[,\s]|, ,|,\s*\./);
    assert.match(finding.detail, /^Fabrikam Mail, a reporter that gives no name\. /);
  });
});

describe('dmarc: skipped files', () => {
  test('a walked folder gets one summary line with the count; a file named as an argument its own line', async () => {
    const folder = join(temp.path(), 'mailbox');
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'report.xml'), report('Reporter', 'r', MIXED));
    const others = ['a.eml', 'b.bin', 'c.bin', 'd.xml', 'e.eml'];
    await writeFile(join(folder, 'a.eml'), 'From: someone@example.com\r\nSubject: lunch\r\n\r\nno attachment\r\n');
    await writeFile(join(folder, 'b.bin'), Buffer.from([1, 2, 3, 4]));
    await writeFile(join(folder, 'c.bin'), Buffer.from([5, 6, 7, 8]));
    await writeFile(join(folder, 'd.xml'), '<feedback><oops></feedback>');
    await writeFile(join(folder, 'e.eml'), 'From: other@example.com\r\n\r\nhello\r\n');
    const result = await cli('dmarc', folder);
    const lines = result.stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0] ?? '', new RegExp(`^eoplock: skipped ${others.length} file\\(s\\) or archive member\\(s\\) in .*mailbox \\(${others.length + 1} file\\(s\\) found\\): `));
    assert.match(lines[0] ?? '', /--format json lists each with its reason$/);
    const json = JSON.parse((await cli('dmarc', folder, '--format', 'json')).stdout) as { skipped: { source: string }[] };
    assert.deepEqual(json.skipped.map((entry) => entry.source.slice(folder.length + 1)).sort(), others);
    const named = await cli('dmarc', join(folder, 'report.xml'), join(folder, 'b.bin'), join(folder, 'c.bin'));
    assert.equal(named.stderr.split('\n').filter((line) => line.startsWith('eoplock: skipped ')).length, 2, named.stderr);
  });
});

describe('the bundled DMARC example', () => {
  test('examples/dmarc/ holds a real report with its source note, and it reads without a skipped file', async () => {
    const files = await readdir('examples/dmarc');
    assert.ok(files.includes('SOURCE.md') && existsSync('examples/dmarc/SOURCE.md'));
    const reports = files.filter((name) => name !== 'SOURCE.md');
    assert.equal(reports.length, 1, 'one example');
    const result = await cli('dmarc', 'examples/dmarc', '--format', 'json');
    assert.equal(result.code, 0, result.stderr);
    const json = JSON.parse(result.stdout) as { reports: number; records: number; skipped: unknown[] };
    assert.equal(json.reports, 1);
    assert.ok(json.records > 0);
    assert.deepEqual(json.skipped, []);
    assert.equal(result.stderr, '');
  });
});
