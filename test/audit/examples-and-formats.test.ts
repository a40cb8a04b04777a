/**
 * The three example tenants give the expected findings; SARIF validates with Microsoft's SARIF multitool; JUnit
 * parses back; the CLI's exit codes and bad-input messages.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { XMLParser } from 'fast-xml-parser';
import { CATALOGUE } from '../../src/audit/catalogue.js';
import { cli, tempFolder } from '../helpers/cli.js';

const run = promisify(execFile);
const require = createRequire(import.meta.url);


const temp = tempFolder('eoplock-audit-');
const file = temp.file;

interface JsonAudit {
  tenant: string;
  profile: { origin: { kind: string; from: string[] } };
  summary: { passed: number; failed: number; attacksIn: number };
  findings: { id: string; status: string; severity: string; evidence: unknown[]; references: { url: string }[]; controls: unknown[] }[];
  proof: { id: string; outcome: string }[];
}

const failing = (audit: JsonAudit) => audit.findings.filter((finding) => finding.status === 'fail').map((finding) => finding.id);

describe('the example tenants', () => {
  test('exposed: the expected failures, exit 1', async () => {
    const result = await cli('audit', 'examples/contoso-exposed.json', '--format', 'json');
    assert.equal(result.code, 1);
    const audit = JSON.parse(result.stdout) as JsonAudit;
    assert.deepEqual(failing(audit), ['EOPL-001', 'EOPL-005', 'EOPL-013', 'EOPL-018', 'EOPL-022', 'EOPL-026', 'EOPL-028', 'EOPL-029', 'EOPL-030', 'EOPL-031', 'EOPL-032', 'EOPL-090']);
    assert.equal(audit.summary.attacksIn, 8);
    assert.equal(audit.profile.origin.kind, 'inferred');
    assert.match(audit.profile.origin.from.join(' '), /InboundConnector\[1\] "From Secure Email Gateway"/);
  });

  test('partial: RejectDirectSend passes, the guide\'s rule is flagged, attacks still accepted by EOP', async () => {
    const audit = JSON.parse((await cli('audit', 'examples/contoso-partial.json', '--format', 'json')).stdout) as JsonAudit;
    assert.deepEqual(failing(audit), ['EOPL-005', 'EOPL-017', 'EOPL-018', 'EOPL-022', 'EOPL-026', 'EOPL-028', 'EOPL-029', 'EOPL-030', 'EOPL-031', 'EOPL-032', 'EOPL-090']);
    assert.equal(audit.summary.attacksIn, 5);
  });

  test('locked: nothing fails, exit 0', async () => {
    const result = await cli('audit', 'examples/contoso-locked.json', '--format', 'json');
    assert.equal(result.code, 0, result.stdout);
    const audit = JSON.parse(result.stdout) as JsonAudit;
    assert.deepEqual(failing(audit), []);
    assert.equal(audit.summary.attacksIn, 0);
  });

  test('text: the summary comes first, failures grouped by severity', async () => {
    const { stdout } = await cli('audit', 'examples/contoso-exposed.json');
    const lines = stdout.split('\n');
    assert.match(lines[0] ?? '', /^eoplock audit — Contoso Ltd/);
    assert.match(stdout.split('HIGH')[0] ?? '', /Checks: 12 failed \(4 high, 5 medium, 3 low\)[\s\S]*Proof: 8 of 8 attacks accepted by EOP without passing the gateway/);
    assert.ok(stdout.indexOf('HIGH (4)') < stdout.indexOf('MEDIUM (5)') && stdout.indexOf('MEDIUM (5)') < stdout.indexOf('LOW (3)'));
  });

  test('--fail-on decides the exit code', async () => {
    assert.equal((await cli('audit', 'examples/contoso-locked.json', '--fail-on', 'low')).code, 0);
    assert.equal((await cli('audit', 'examples/contoso-exposed.json', '--fail-on', 'none')).code, 0);
    const lowOnly = await file('low.json', lowOnlySnapshot());
    assert.equal((await cli('audit', lowOnly, '--fail-on', 'high')).code, 0);
    assert.equal((await cli('audit', lowOnly, '--fail-on', 'low')).code, 1);
  });

  test('a given gateway profile is used and reported as given', async () => {
    const seg = await file('seg.yaml', 'name: Example SEG\nips: [203.0.113.10, 203.0.113.11, 198.51.100.0/28]\ncertificateName: "*.seg.example.net"\nmxHosts: [mx1.seg.example.net, mx2.seg.example.net]\n');
    const audit = JSON.parse((await cli('audit', 'examples/contoso-locked.json', '--seg', seg, '--format', 'json')).stdout) as JsonAudit;
    assert.equal(audit.profile.origin.kind, 'given');
    assert.deepEqual(failing(audit), []);
    const narrower = JSON.parse((await cli('audit', 'examples/contoso-exposed.json', '--seg-ip', '203.0.113.0/28', '--format', 'json')).stdout) as JsonAudit;
    assert.ok(failing(narrower).includes('EOPL-007'), 'the connector does not cover 203.0.113.0/28');
  });
});

function lowOnlySnapshot(): string {
  return JSON.stringify({
    Meta: { eoplockSnapshot: 1, tenant: 'Low only' },
    OrganizationConfig: { RejectDirectSend: true },
    AcceptedDomain: [{ DomainName: 'fabrikam.example', DomainType: 'Authoritative' }],
    HostedContentFilterPolicy: [{ Name: 'Default', BulkThreshold: 8 }],
    Dns: { 'fabrikam.example': { MX: ['0 fabrikam-example.mail.protection.outlook.com'], TXT: ['v=spf1 include:spf.protection.outlook.com -all'], DMARC: ['v=DMARC1; p=reject; rua=mailto:d@fabrikam.example'] } },
  });
}


describe('SARIF', () => {
  test('validates with the SARIF multitool, with rules, help and locations in the snapshot file', async () => {
    const out = join(temp.path(), 'audit.sarif');
    const result = await cli('audit', 'examples/contoso-exposed.json', 'examples/contoso-partial.json', '--format', 'sarif', '--out', out);
    assert.equal(result.code, 1);
    const sarif = JSON.parse(await readFile(out, 'utf8')) as {
      version: string;
      runs: { tool: { driver: { rules: { id: string; helpUri?: string; help: { text: string } }[] } }; results: { ruleId: string; level: string; locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }[] }[] }[];
    };
    assert.equal(sarif.version, '2.1.0');
    const run0 = sarif.runs[0];
    assert.ok(run0);
    assert.ok(run0.tool.driver.rules.every((rule) => rule.help.text.length > 0));
    const rds = run0.results.find((entry) => entry.ruleId === 'EOPL-001');
    assert.equal(rds?.level, 'error');
    assert.equal(rds?.locations[0]?.physicalLocation.artifactLocation.uri, 'examples/contoso-exposed.json');
    const text = await readFile('examples/contoso-exposed.json', 'utf8');
    const line = text.split('\n').findIndex((l) => l.includes('"RejectDirectSend"')) + 1;
    assert.equal(rds?.locations[0]?.physicalLocation.region.startLine, line, 'points at the RejectDirectSend line');

    const validated = join(temp.path(), 'validation.sarif');
    const tool = require('@microsoft/sarif-multitool-linux') as string;
    await run(tool, ['validate', out, '-o', validated], { timeout: 120_000 });
    const report = JSON.parse(await readFile(validated, 'utf8')) as { runs: { results?: { ruleId: string; level?: string; message: { id?: string; text?: string; arguments?: string[] } }[] }[] };
    const problems = (report.runs[0]?.results ?? []).filter((entry) => entry.level === 'error');
    assert.deepEqual(problems, [], 'no validation errors');
  });
});

describe('JUnit', () => {
  test('one testcase per check per tenant; failures carry the evidence; it parses back', async () => {
    const result = await cli('audit', 'examples/contoso-exposed.json', 'examples/contoso-locked.json', '--format', 'junit');
    const parsed = new XMLParser({ ignoreAttributes: false, isArray: (name) => name === 'testsuite' || name === 'testcase' }).parse(result.stdout) as {
      testsuites: { '@_tests': string; '@_failures': string; testsuite: { '@_name': string; testcase: { '@_name': string; failure?: { '#text': string; '@_type': string }; skipped?: unknown }[] }[] };
    };
    const suites = parsed.testsuites.testsuite;
    assert.equal(suites.length, 2);
    assert.equal(suites[0]?.testcase.length, CATALOGUE.length);
    const rds = suites[0]?.testcase.find((entry) => entry['@_name'].startsWith('EOPL-001'));
    assert.equal(rds?.failure?.['@_type'], 'high');
    assert.match(rds?.failure?.['#text'] ?? '', /OrganizationConfig\[0\]\.RejectDirectSend/);
    assert.equal(suites[1]?.testcase.filter((entry) => entry.failure).length, 0);
    assert.equal(parsed.testsuites['@_failures'], '12');
  });
});

describe('several snapshots', () => {
  test('a summary table first, then each tenant; a broken snapshot is reported and exits 2 while the others are audited', async () => {
    const broken = await file('broken.json', '{"Meta": {"eoplockSnapshot": 1}, "OrganizationConfig": {}, "AcceptedDomain": [{"DomainName": 1}]}');
    const result = await cli('audit', 'examples/contoso-exposed.json', broken, 'examples/contoso-locked.json');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /broken\.json: at AcceptedDomain\[0\]\.DomainName: /);
    const [table] = result.stdout.split('\neoplock audit');
    assert.match(table ?? '', /^tenant\s+snapshot\s+high\s+medium\s+low\s+attacks in\s+legit broken/);
    assert.match(table ?? '', /Contoso Ltd\s+examples\/contoso-exposed\.json\s+4\s+5\s+3\s+8\/8\s+0\/5/);
    assert.equal((result.stdout.match(/^eoplock audit — /gm) ?? []).length, 2);
  });
});

describe('audit bad input: exit 2, place named', () => {
  const cases: [string, () => Promise<string[]>, RegExp][] = [
    ['a bad --seg-ip', async () => ['audit', 'examples/contoso-locked.json', '--seg-ip', '203.0.113.300'], /--seg-ip: "203\.0\.113\.300" is not a valid IP address/],
    ['a bad --seg-cert', async () => ['audit', 'examples/contoso-locked.json', '--seg-cert', 'mx.*.example.net'], /--seg-cert: "mx\.\*\.example\.net" is not a host name/],
    ['a profile file with an unknown key', async () => ['audit', 'examples/contoso-locked.json', '--seg', await file('p.yaml', 'name: x\nip: [1.2.3.4]\n')], /p\.yaml: at \(document root\) \(line 1, column 1\): Unrecognized key: "ip"/],
    ['a profile file with a bad address', async () => ['audit', 'examples/contoso-locked.json', '--seg', await file('q.yaml', 'ips: [203.0.113.10, nonsense]\n')], /q\.yaml: at ips\[1\]: "nonsense" is not a valid IP address/],
    ['a bad --fail-on', async () => ['audit', 'examples/contoso-locked.json', '--fail-on', 'critical'], /Allowed choices are high, medium, low, none/],
    ['a bad --concurrency', async () => ['audit', 'examples/contoso-locked.json', '--concurrency', '0'], /--concurrency: expected a whole number/],
    ['no snapshot', async () => ['audit'], /missing required argument 'snapshot'/],
  ];
  for (const [name, argv, message] of cases) {
    test(name, async () => {
      const result = await cli(...(await argv()));
      assert.equal(result.code, 2, result.stdout + result.stderr);
      assert.match(result.stderr, message);
    });
  }
});
