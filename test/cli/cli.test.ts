/**
 * The command line, in process (through main() with captured output) and as a real process (bin/eoplock.js).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { cli, tempFolder } from '../helpers/cli.js';
import { ASSUMPTIONS } from '../../src/eop/assumptions.js';

const run = promisify(execFile);


const temp = tempFolder('eoplock-cli-');
const file = temp.file;


const LOCKED = 'examples/contoso-locked.json';
const EXPOSED = 'examples/contoso-exposed.json';

describe('eoplock simulate --scenarios', () => {
  test('the bundled scenarios all hold for the locked tenant: exit 0', async () => {
    const result = await cli('simulate', LOCKED, '--scenarios', 'examples/scenarios.yaml');
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /9 met, 0 not met/);
  });

  test('JSON output has results with verdict and expectation', async () => {
    const result = await cli('simulate', LOCKED, '--scenarios', 'examples/scenarios.yaml', '--format', 'json');
    const parsed = JSON.parse(result.stdout) as { results: { name: string; verdict: { action: string; enhanced: string; trace: unknown[] }; expectation: { met: boolean; diffs: unknown[] } }[] };
    assert.equal(parsed.results.length, 9);
    for (const entry of parsed.results) {
      assert.equal(entry.expectation.met, true);
      assert.deepEqual(entry.expectation.diffs, []);
      assert.ok(entry.verdict.trace.length > 0);
    }
    assert.equal(parsed.results[1]?.verdict.enhanced, '5.7.68');
  });

  test('the same scenarios against the exposed tenant fail: exit 1 with the differences', async () => {
    const result = await cli('simulate', EXPOSED, '--scenarios', 'examples/scenarios.yaml');
    assert.equal(result.code, 1);
    assert.match(result.stdout, /expected action "reject", got "accept"/);
  });

  test('a bad authentication result in a scenario is an input error naming the field and line', async () => {
    const scenarios = await file('auth.yaml', 'scenarios:\n  - name: x\n    clientIp: 198.51.100.77\n    mailFrom: a@b.example\n    rcptTo: alice@contoso.com\n    authentication: { spf: maybe }\n');
    const result = await cli('simulate', LOCKED, '-s', scenarios);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /auth\.yaml: at scenarios\[0\]\.authentication\.spf \(line 6, column \d+\): Invalid option/);
  });

  test('--assume switches an assumption and the stage changes', async () => {
    const scenarios = await file(
      'stage.yaml',
      'scenarios:\n  - name: spoof\n    clientIp: 198.51.100.77\n    mailFrom: ceo@contoso.com\n    rcptTo: user@contoso.com\n    expect: { enhanced: "5.7.68", stage: data }\n',
    );
    assert.equal((await cli('simulate', LOCKED, '-s', scenarios)).code, 1);
    const switched = await cli('simulate', LOCKED, '-s', scenarios, '--assume', 'attribution-reject-stage=data');
    assert.equal(switched.code, 0, switched.stdout);
    assert.match(switched.stdout, /assumptions changed: attribution-reject-stage=data/);
  });

  test('--trace prints decision steps with their sources', async () => {
    const result = await cli('simulate', LOCKED, '--scenarios', 'examples/scenarios.yaml', '--trace');
    assert.match(result.stdout, /\[reject-direct-send\] RejectDirectSend is on, MAIL FROM domain contoso\.com is accepted.*\(S1 S2 S3 §2\.1/);
  });

  test('--output writes the report to a file', async () => {
    const out = join(temp.path(), 'report.json');
    const result = await cli('simulate', LOCKED, '--scenarios', 'examples/scenarios.yaml', '-f', 'json', '--out', out);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, '');
    assert.equal((JSON.parse(await readFile(out, 'utf8')) as { results: unknown[] }).results.length, 9);
  });
});

describe('eoplock simulate --corpus builtin', () => {
  test('the exposed tenant lets attacks in: exit 1', async () => {
    const result = await cli('simulate', EXPOSED, '--corpus', 'builtin');
    assert.equal(result.code, 1);
    assert.match(result.stdout, /8 of 8 attacks accepted by EOP without passing the gateway/);
    assert.match(result.stdout, /ACCEPTED BY EOP/);
  });

  test('the locked tenant stops every attack and keeps every legitimate path: exit 0', async () => {
    const result = await cli('simulate', LOCKED, '--corpus', 'builtin');
    assert.equal(result.code, 0, result.stdout);
    assert.match(result.stdout, /0 of 8 attacks accepted by EOP without passing the gateway; 0 of 5 legitimate paths break/);
  });
});

describe('bad input: exit 2 with a message that names the place', () => {
  const cases: [string, () => Promise<string[]>, RegExp][] = [
    ['a missing snapshot file', async () => ['simulate', join(temp.path(), 'nope.json'), '--corpus', 'builtin'], /nope\.json: no such file/],
    [
      'a snapshot that is not JSON',
      async () => ['simulate', await file('broken.json', '{\n  "Meta": { "eoplockSnapshot": 1 },\n  "AcceptedDomain": [ }\n'), '--corpus', 'builtin'],
      /broken\.json: at line 3, column \d+: not valid JSON/,
    ],
    [
      'a snapshot with a bad connector type',
      async () => [
        'simulate',
        await file(
          'badtype.json',
          JSON.stringify({
            Meta: { eoplockSnapshot: 1 },
            OrganizationConfig: {},
            AcceptedDomain: [{ DomainName: 'contoso.com', DomainType: 'Authoritative' }],
            InboundConnector: [{ Name: 'x', ConnectorType: 'Partner' }, { Name: 'y', ConnectorType: 'Partnr' }],
          }),
        ),
        '--corpus',
        'builtin',
      ],
      /badtype\.json: at InboundConnector\[1\]\.ConnectorType: /,
    ],
    [
      'a snapshot without AcceptedDomain',
      async () => ['simulate', await file('noad.json', JSON.stringify({ Meta: { eoplockSnapshot: 1 }, OrganizationConfig: {} })), '--corpus', 'builtin'],
      /at AcceptedDomain: required property is missing/,
    ],
    [
      'a truncated export',
      async () => [
        'simulate',
        await file(
          'trunc.json',
          JSON.stringify({
            Meta: { eoplockSnapshot: 1 },
            OrganizationConfig: {},
            AcceptedDomain: [{ DomainName: 'contoso.com', DomainType: 'Authoritative' }],
            InboundConnector: [{ Name: 'x', ConnectorType: 'Partner', SenderIPAddresses: 'System.Collections.ArrayList' }],
          }),
        ),
        '--corpus',
        'builtin',
      ],
      /at InboundConnector\[0\]\.SenderIPAddresses: .*-Depth 10/,
    ],
    [
      'a scenario with a bad client IP',
      async () => ['simulate', LOCKED, '-s', await file('badip.yaml', 'scenarios:\n  - name: x\n    clientIp: 999.1.1.1\n    mailFrom: a@b.example\n    rcptTo: [u@contoso.com]\n')],
      /badip\.yaml: at scenarios\[0\]\.clientIp: "999\.1\.1\.1" is not an IPv4 or IPv6 address/,
    ],
    [
      'a scenario missing mailFrom',
      async () => ['simulate', LOCKED, '-s', await file('nomf.yaml', 'scenarios:\n  - name: x\n    clientIp: 192.0.2.1\n    rcptTo: [u@contoso.com]\n')],
      /nomf\.yaml: at scenarios\[0\]\.mailFrom \(line 2, column 5\)/,
    ],
    [
      'a scenario file that is not YAML',
      async () => ['simulate', LOCKED, '-s', await file('bad.yaml', 'scenarios:\n  - name: [unclosed\n')],
      /bad\.yaml: at line \d+, column \d+: not valid YAML or JSON/,
    ],
    ['an unknown assumption', async () => ['simulate', LOCKED, '--corpus', 'builtin', '--assume', 'nope=1'], /--assume: unknown assumption "nope"/],
    ['a bad assumption value', async () => ['simulate', LOCKED, '--corpus', 'builtin', '--assume', 'rule-reject-stage=never'], /"never" is not a value of rule-reject-stage/],
    ['neither --scenarios nor --corpus', async () => ['simulate', LOCKED], /either --scenarios <file> or --corpus builtin/],
    ['an unknown corpus', async () => ['simulate', LOCKED, '--corpus', 'fancy'], /unknown corpus "fancy"/],
    ['an unknown option', async () => ['simulate', LOCKED, '--bogus'], /unknown option '--bogus'/],
    ['an unknown format', async () => ['simulate', LOCKED, '--corpus', 'builtin', '--format', 'xml'], /Allowed choices are text, json/],
  ];
  for (const [name, argv, message] of cases) {
    test(name, async () => {
      const result = await cli(...(await argv()));
      assert.equal(result.code, 2, result.stdout + result.stderr);
      assert.match(result.stderr, message);
      assert.doesNotMatch(result.stderr, /\n\s+at .*\(.*:\d+:\d+\)/, 'no stack trace');
    });
  }
});

describe('other commands', () => {
  test('eoplock demo tells the story and exits 0', async () => {
    const report = join(temp.path(), 'demo-report.html');
    const result = await cli('demo', '--report', report);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /10\. The report\n  Wrote \/.*demo-report\.html \(\d+ KB\)/);
    assert.match(await readFile(report, 'utf8'), /^<!doctype html>[\s\S]*Exposed: 8 of 8 attacks accepted by EOP without passing the gateway/);
    assert.match(result.stdout, /1\. Exposed[\s\S]*8 of 8 attacks accepted by EOP without passing the gateway[\s\S]*3\. Locked[\s\S]*0 of 8 attacks accepted by EOP without passing the gateway, 0 of 5 legitimate paths break/);
    assert.match(result.stdout, /4\. The audit[\s\S]*contoso-exposed\.json: 12 failed \(4 high, 5 medium, 3 low\)[\s\S]*EOPL-001 \[high\] RejectDirectSend is on[\s\S]*contoso-locked\.json: 0 failed/);
    assert.match(result.stdout, /7\. The lab[\s\S]*✓ 1\. Direct Send[^\n]*got 550 5\.7\.68 at RCPT[\s\S]*✓ 2\. Foreign sender[^\n]*got 550 5\.7\.51 at RCPT[\s\S]*✓ 3\. Legitimate mail[^\n]*got 250 at DATA/);
    assert.match(result.stdout, /6\. Impact[\s\S]*55 accepted today, 13 refused after the change[\s\S]*192\.0\.2\.25 +as contoso\.com +7 message\(s\) → 550 5\.7\.68/);
    assert.match(result.stdout, /8\. Header analysis[\s\S]*EOP saw 198\.18\.7\.7 → straight to EOP, the gateway was bypassed[\s\S]*✗ The Received chain shows the gateway as the last hop before EOP/);
    assert.match(result.stdout, /5\. The plan[\s\S]*01-safety-net-audit[\s\S]*then: 8 of 8 attacks accepted by EOP without passing the gateway[\s\S]*\d\d-safety-net-enforce[\s\S]*then: 0 of 8 attacks accepted by EOP without passing the gateway, 0 of \d+ legitimate paths break/);
  });

  test('eoplock assumptions lists every assumption with its default', async () => {
    const result = await cli('assumptions');
    assert.equal(result.code, 0);
    for (const entry of ASSUMPTIONS) assert.match(result.stdout, new RegExp(`${entry.id}  \\(default: ${entry.default}\\)`));
    const json = JSON.parse((await cli('assumptions', '--format', 'json')).stdout) as { id: string }[];
    assert.deepEqual(json.map((entry) => entry.id), ASSUMPTIONS.map((entry) => entry.id));
  });

  test('--help shows the commands and examples', async () => {
    const result = await cli('--help');
    assert.equal(result.code, 0);
    assert.match(result.stdout, /simulate[\s\S]*demo[\s\S]*assumptions[\s\S]*Examples:/);
  });
});

describe('the installed command (bin/eoplock.js, built dist/)', () => {
  test('--help exits 0', async () => {
    const { stdout } = await run(process.execPath, ['bin/eoplock.js', '--help']);
    assert.match(stdout, /Usage: eoplock/);
  });

  test('bad input exits 2 with one line and no stack trace', async () => {
    const failure = await run(process.execPath, ['bin/eoplock.js', 'simulate', 'does-not-exist.json', '--corpus', 'builtin']).then(
      () => null,
      (error: { code: number; stderr: string }) => error,
    );
    assert.ok(failure, 'the command failed');
    assert.equal(failure.code, 2);
    assert.equal(failure.stderr, 'eoplock: error: does-not-exist.json: no such file\n');
  });
});
