/**
 * Human-facing reports escape control characters from the snapshot (audit, simulate, drift, diff and dns text);
 * machine formats keep the exact value (JSON, SARIF) or, for JUnit XML, stay well-formed XML that shows what XML
 * cannot hold.
 */
import assert from 'node:assert/strict';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { runAudit } from '../../src/audit/run.js';
import { renderAuditText } from '../../src/report/audit-text.js';
import { xmlSafe } from '../../src/report/audit-formats.js';
import { inferProfile } from '../../src/profile/profile.js';
import { parseSnapshot } from '../../src/snapshot/parse.js';
import { cli, tempFolder } from '../helpers/cli.js';
import { FORGED_RULE, FORGED_TENANT, hostileName, hostileSnapshot, RAW_CONTROL } from './hostile-snapshot.js';

const temp = tempFolder('eoplock-audit-injection-');
/** Characters XML 1.0 cannot hold, even as references. */
// eslint-disable-next-line no-control-regex
const XML_ILLEGAL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udfff]/u;

async function hostileFile(name = 'hostile.json', snapshot = hostileSnapshot()): Promise<string> {
  return temp.file(name, JSON.stringify(snapshot));
}

function assertHumanText(text: string, what: string): void {
  assert.doesNotMatch(text, RAW_CONTROL, `${what}: a raw control character`);
  assert.doesNotMatch(text, /^#+ forged/m, `${what}: a forged line`);
}

describe('audit text escapes what the snapshot says', () => {
  test('one snapshot, verbose: no raw control character, no forged line, the names shown escaped', async () => {
    const file = await hostileFile();
    const result = await cli('audit', file, '--verbose', '--fail-on', 'none');
    assert.equal(result.code, 0, result.stderr);
    assertHumanText(result.stdout, 'audit');
    assert.ok(result.stdout.includes('eoplock audit — Contoso\\r\\n# forged tenant\\e[2J\\u2028'), 'the tenant, escaped');
    assert.ok(result.stdout.includes('"From SEG\\r\\n# forged heading | x |\\e]0;pwned\\x07'), 'the connector, escaped');
  });

  test('several snapshots (the summary table), and a file name with control characters', async () => {
    const plain = await hostileFile('plain.json');
    const odd = await hostileFile('odd\u001b]0;x\u0007\u2028.json');
    const result = await cli('audit', plain, odd, '--fail-on', 'none');
    assert.equal(result.code, 0, result.stderr);
    assertHumanText(result.stdout, 'audit table');
    assert.ok(result.stdout.includes('odd\\e]0;x\\x07\\u2028.json'), 'the file name, escaped');
  });

  test('--out text file: escaped the same way', async () => {
    const file = await hostileFile();
    const out = join(temp.path(), 'audit.txt');
    assert.equal((await cli('audit', file, '--out', out, '--fail-on', 'none')).code, 0);
    assertHumanText(await readFile(out, 'utf8'), 'audit --out');
  });

  test('fuzz: any names leave audit text with no raw control character and the same line count', { timeout: 60_000 }, () => {
    const render = (names: Parameters<typeof hostileSnapshot>[0]) => {
      const { snapshot } = parseSnapshot(hostileSnapshot(names));
      return renderAuditText(runAudit(snapshot, inferProfile(snapshot), { file: 'x.json' }), { color: false, verbose: true });
    };
    const baseline = render({ connector: 'From SEG', rule: 'Block outside', tenant: 'Contoso' }).split('\n').length;
    fc.assert(
      fc.property(hostileName, hostileName, hostileName, (connector, rule, tenant) => {
        const text = render({ connector, rule, tenant });
        assert.doesNotMatch(text, RAW_CONTROL);
        assert.equal(text.split('\n').length, baseline);
      }),
      { numRuns: 60 },
    );
  });

  test('fuzz through the CLI with --out: exit 0, 1 or 2, no stack trace, one-line failures, no file on exit 2', { timeout: 60_000 }, async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(hostileName, hostileName, fc.constantFrom('text', 'json', 'sarif', 'junit'), async (connector, rule, format) => {
        const file = await hostileFile(`fuzz-${++run}.json`, hostileSnapshot({ connector, rule, tenant: connector }));
        const out = join(temp.path(), `fuzz-${run}.out`);
        const result = await cli('audit', file, '--format', format, '--out', out);
        assert.ok([0, 1, 2].includes(result.code), `exit ${result.code}: ${result.stderr}`);
        assert.doesNotMatch(result.stderr, /^\s+at |internal error/m);
        assert.doesNotMatch(result.stderr.replace(/\n$/, ''), /[\n\r]/);
        if (result.code === 2) {
          assert.ok(result.stderr.includes('fuzz-'), 'names the file');
          await assert.rejects(access(out));
        } else await access(out);
      }),
      { numRuns: 15 },
    );
  });
});

describe('machine formats keep the exact value', () => {
  test('audit --format json and sarif carry the names exactly', async () => {
    const file = await hostileFile();
    const json = await cli('audit', file, '--format', 'json', '--fail-on', 'none');
    assert.equal(json.code, 0, json.stderr);
    // The names as the snapshot reader hands them on (it may normalise some whitespace of PowerShell's exports).
    const connector = parseSnapshot(hostileSnapshot()).snapshot.InboundConnector[0]?.Name ?? '';
    assert.match(connector, /^From SEG\r\n# forged heading \| x \|\u001b\]0;pwned\u0007/);
    const audit = JSON.parse(json.stdout) as { tenant: string; findings: { summary: string }[] };
    assert.equal(audit.tenant, FORGED_TENANT);
    assert.ok(audit.findings.some((finding) => finding.summary.includes(`"${connector}"`)), 'a summary names the connector exactly');
    assert.ok(json.stdout.includes('\u2028'), 'U+2028 stays as it is in JSON');

    const sarif = await cli('audit', file, '--format', 'sarif', '--fail-on', 'none');
    const log = JSON.parse(sarif.stdout) as { runs: { results: { message: { text: string } }[] }[] };
    const texts = log.runs[0]?.results.map((result) => result.message.text) ?? [];
    assert.ok(texts.some((text) => text.startsWith(`${FORGED_TENANT}: `)), 'SARIF messages start with the exact tenant');
    assert.ok(sarif.stdout.includes('\u2028'), 'U+2028 stays as it is in SARIF');
  });

  test('JUnit XML is well-formed, holds no character XML forbids, and shows them escaped', async () => {
    const file = await hostileFile('junit\u0001.json');
    const result = await cli('audit', file, '--format', 'junit', '--fail-on', 'none');
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout, XML_ILLEGAL);
    assert.equal(XMLValidator.validate(result.stdout), true);
    const parsed = new XMLParser({ ignoreAttributes: false }).parse(result.stdout) as { testsuites: { testsuite: { '@_name': string; testcase: { '@_file': string; failure?: { '@_message': string } }[] } } };
    const suite = parsed.testsuites.testsuite;
    // XML readers turn a line break in an attribute into a space: only what XML cannot hold is rewritten by eoplock.
    assert.match(suite['@_name'], /^Contoso\s+# forged tenant\\e\[2J\u2028 \(/);
    assert.ok(suite.testcase[0]?.['@_file'].endsWith('junit\\x01.json'), 'the file name with \\x01 shown');
    assert.ok(
      suite.testcase.some((testcase) => /From SEG\s+# forged heading \| x \|\\e\]0;pwned\\x07/.test(testcase.failure?.['@_message'] ?? '')),
      'a failure message names the connector, ESC and BEL shown',
    );
  });

  test('xmlSafe: only what XML cannot hold changes; a surrogate pair is kept, a lone half is shown', () => {
    assert.equal(xmlSafe('a\tb\nc\rd\u0085\u2028😀é<&'), 'a\tb\nc\rd\u0085\u2028😀é<&');
    assert.equal(xmlSafe('\u0000\u001b\u0007\u000b\ufffe'), '\\0\\e\\x07\\x0b\\ufffe');
    assert.equal(xmlSafe('x\ud800y\udc00'), 'x\\ud800y\\udc00');
  });
});

describe('other text reports escape what the snapshot says', () => {
  test('simulate --corpus builtin --trace', async () => {
    const file = await hostileFile();
    const result = await cli('simulate', file, '--corpus', 'builtin', '--trace');
    assert.ok([0, 1].includes(result.code), result.stderr);
    assertHumanText(result.stdout, 'simulate');
    assert.ok(result.stdout.includes('Block outside\\r\\n# forged rule | x | y |\\0\\u202e'), 'the rule, escaped');
    const json = await cli('simulate', file, '--corpus', 'builtin', '--format', 'json');
    assert.ok(json.stdout.includes(JSON.stringify(FORGED_RULE).slice(1, -1)), 'the rule, exact in JSON');
  });

  test('drift, diff and dns', async () => {
    const file = await hostileFile();
    const drift = await cli('drift', file);
    assert.ok([0, 1].includes(drift.code), drift.stderr);
    assertHumanText(drift.stdout, 'drift');
    const plain = await hostileFile('plain-names.json', hostileSnapshot({ connector: 'From SEG', rule: 'Block outside', tenant: 'Contoso' }));
    const diff = await cli('diff', plain, file);
    assert.equal(diff.code, 1, diff.stderr);
    assertHumanText(diff.stdout, 'diff');
    assert.ok(diff.stdout.includes('InboundConnector "From SEG\\r\\n# forged heading | x |\\e]0;pwned\\x07'), 'the connector, escaped');
    const dns = await cli('dns', '--snapshot', file);
    assert.ok([0, 1].includes(dns.code), dns.stderr);
    assertHumanText(dns.stdout, 'dns');
    assert.ok(dns.stdout.includes('v=spf1 ip4:203.0.113.10\\r\\n# forged spf -all'), 'the SPF record, escaped');
  });
});
