/**
 * The prove renderers (text, JSON, SARIF) over hand-made ProofResults. The representatives are real: transactions of
 * the builtin corpus (a Direct Send spoof sent straight to EOP, the gateway's own mail) decided by the emulator against
 * examples/contoso-exposed.json, so the verdict lines and traces are the emulator's own.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { DEFAULT_ASSUMPTIONS, type Assumptions } from '../../src/eop/assumptions.js';
import { decide } from '../../src/eop/decide.js';
import type { Transaction } from '../../src/eop/types.js';
import type { ProofFinding, ProofResult, ProvenClass } from '../../src/prove/types.js';
import { onlyUnderText, proofHeadline, renderProveJson, renderProveSarif, renderProveText, transactionLine, type ProveReport } from '../../src/report/prove.js';
import { loadSnapshotFile } from '../../src/snapshot/load.js';
import { tempFolder } from '../helpers/cli.js';

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const temp = tempFolder('eoplock-prove-report-');
const exposed = (await loadSnapshotFile('examples/contoso-exposed.json')).snapshot;

// The builtin corpus's Direct Send spoof of the CEO (src/corpus/builtin.ts), and the gateway's own mail (its address
// in the exposed example's gateway connector).
const spoof: Transaction = { clientIp: '198.51.100.77', helo: 'mail.attacker.example', mailFrom: 'ceo@contoso.com', rcptTo: ['alice@contoso.com'], headers: [{ name: 'From', value: 'CEO <ceo@contoso.com>' }] };

function proven(transaction: Transaction, origin: ProvenClass['origin'], trace = false): ProvenClass {
  const verdict = decide(exposed, transaction, { assumptions: DEFAULT_ASSUMPTIONS });
  if (!trace) verdict.trace = [];
  const labels = { clientIp: 'outside every list', tls: 'no TLS', mailFrom: 'accepted domain contoso.com', headerFrom: 'accepted domain contoso.com', recipients: 'contoso.com', headers: 'none', authentication: 'not given' };
  return { transaction, labels, origin, verdict };
}

function finding(kind: ProofFinding['kind'], extra: Partial<ProofFinding> = {}): ProofFinding {
  return { kind, cause: 'no connector matches and RejectDirectSend is off', key: `${kind}:no-connector`, classes: 1234, representative: proven(spoof, 'other', true), sources: ['S1', 'S3'], ...extra };
}

function report(findings: ProofFinding[], extra: Partial<ProofResult> = {}): ProveReport {
  const bypasses = findings.filter((entry) => entry.kind === 'bypass').reduce((sum, entry) => sum + entry.classes, 0);
  const brokenLegitimate = findings.filter((entry) => entry.kind === 'broken-legitimate').reduce((sum, entry) => sum + entry.classes, 0);
  return {
    result: { snapshot: { tenant: 'Contoso Ltd', file: 'examples/contoso-exposed.json' }, classes: 48_000, milliseconds: 84.4, findings, bypasses, brokenLegitimate, limits: ["EOP's content filtering (spam, phishing, malware) is not emulated"], ...extra },
    file: 'examples/contoso-exposed.json',
    assumptionOverrides: {},
    allAssumptions: false,
    gateway: 'Contoso SEG — 203.0.113.10 (inferred from InboundConnector[0])',
  };
}

describe('text', () => {
  test('the headline is "N bypasses in M classes (T)"', () => {
    assert.equal(proofHeadline({ bypasses: 0, classes: 12_345, milliseconds: 84.4 }), '0 bypasses in 12,345 classes (84 ms)');
    assert.equal(proofHeadline({ bypasses: 1, classes: 1, milliseconds: 1530 }), '1 bypass in 1 class (1.5 s)');
  });

  test('0 bypasses: the proof, no finding sections, the limits listed', () => {
    const text = renderProveText(report([]), { color: false, trace: false });
    assert.match(text, /^eoplock prove — Contoso Ltd \(examples\/contoso-exposed\.json\)\n/);
    assert.match(text, /^0 bypasses in 48,000 classes \(84 ms\)$/m);
    assert.match(text, /^no legitimate path is refused$/m);
    assert.doesNotMatch(text, /^Bypasses/m);
    assert.match(text, /Limits of the proof\n {2}- EOP's content filtering/);
  });

  test('a bypass: its cause, count, representative in one line and the verdict; the trace only with --trace', () => {
    const findings = [finding('bypass')];
    const text = renderProveText(report(findings), { color: false, trace: false });
    assert.match(text, /^1,234 bypasses in 48,000 classes/m);
    assert.match(text, /^Bypasses: accepted by EOP for delivery without passing the gateway\n✗ no connector matches and RejectDirectSend is off — 1,234 classes$/m);
    assert.match(text, /^ {4}198\.51\.100\.77, no TLS, MAIL FROM <ceo@contoso\.com>, From CEO <ceo@contoso\.com>, RCPT alice@contoso\.com$/m);
    assert.match(text, /^ {4}→ accept → deliver, no connector$/m);
    assert.doesNotMatch(text, /\[attribution\]/);
    const traced = renderProveText(report(findings), { color: false, trace: true });
    assert.match(traced, /^ {6}\[[a-z-]+\] .+\(.*S\d+/m, 'trace steps with their sources');
    assert.match(traced, /^ {2}S1 +Set-OrganizationConfig/m, 'the sources the findings cite are resolved in the footer');
  });

  test('broken paths, shared gateway infrastructure with its remedy, and findings that exist only under some assumptions', () => {
    const gateway = proven({ clientIp: '203.0.113.10', mailFrom: 'a@fabrikam.example', rcptTo: ['alice@contoso.com'] }, 'gateway');
    const findings = [
      finding('bypass', { onlyUnder: [{ 'attribution-reject-stage': 'data' } as Partial<Assumptions>] }),
      finding('broken-legitimate', { cause: 'the gateway connector requires TLS', key: 'broken:tls', classes: 2, representative: gateway }),
      finding('shared-gateway-infrastructure', { cause: 'the gateway connector trusts the vendor\'s shared ranges', key: 'shared:ips', classes: 1, remedy: 'a tenant-specific certificate' }),
    ];
    const text = renderProveText(report(findings), { color: false, trace: false });
    assert.match(text, /^2 classes from the gateway or an allowed source refused$/m);
    assert.match(text, /^ {4}only under: attribution-reject-stage=data$/m);
    assert.match(text, /^Broken legitimate paths[^\n]*\n✗ the gateway connector requires TLS — 2 classes\n {4}203\.0\.113\.10, no TLS, MAIL FROM <a@fabrikam\.example>, no From header, RCPT alice@contoso\.com/m);
    assert.match(text, /^Shared gateway infrastructure[^\n]*\n! the gateway connector trusts the vendor's shared ranges — 1 class\n(?: {4}.*\n)* {4}narrowed by: a tenant-specific certificate$/m);
  });

  test('the assumption values a finding exists under: per assumption when they form every combination, else each combination', () => {
    // partner-authas has two values (Partner, Anonymous), attribution-reject-stage two (rcpt, data): src/eop/assumptions.ts.
    const product = [
      { 'partner-authas': 'Anonymous', 'attribution-reject-stage': 'rcpt' },
      { 'partner-authas': 'Anonymous', 'attribution-reject-stage': 'data' },
    ] as Partial<Assumptions>[];
    assert.equal(onlyUnderText(product), 'partner-authas=Anonymous');
    const diagonal = [
      { 'partner-authas': 'Anonymous', 'attribution-reject-stage': 'rcpt' },
      { 'partner-authas': 'Partner', 'attribution-reject-stage': 'data' },
    ] as Partial<Assumptions>[];
    assert.equal(onlyUnderText(diagonal), 'partner-authas=Anonymous, attribution-reject-stage=rcpt; or partner-authas=Partner, attribution-reject-stage=data');
  });

  test('values from the snapshot cannot drive the terminal', () => {
    const hostile = finding('bypass', { cause: 'connector "evil\u001b]0;pwned\u0007\nfake line"' });
    hostile.representative = proven({ ...spoof, mailFrom: 'x\r\n250 OK@contoso.com' }, 'other');
    const text = renderProveText(report([hostile]), { color: false, trace: true });
    assert.doesNotMatch(text, /[\u0000-\u0008\u000b-\u001f\u007f]/);
    assert.match(text, /evil\\e\]0;pwned\\x07\\nfake line/);
    assert.match(text, /MAIL FROM <x\\r\\n250 OK@contoso\.com>/);
  });

  test('transactionLine shows the certificate, the other headers and the authentication results', () => {
    const line = transactionLine({
      clientIp: '2001:db8::1',
      tls: { certificate: { subject: 'CN=mx1.seg.example.net', san: ['mx1.seg.example.net'] } },
      mailFrom: '',
      rcptTo: ['a@contoso.com', 'b@unknown.example'],
      headers: { From: 'a@fabrikam.example', 'X-Bypass': 'yes' },
      authentication: { spf: 'fail', dkim: [{ result: 'pass', domain: 'fabrikam.example' }] },
    });
    assert.equal(line, '2001:db8::1, TLS certificate CN=mx1.seg.example.net DNS:mx1.seg.example.net, MAIL FROM <>, From a@fabrikam.example, RCPT a@contoso.com, b@unknown.example, headers X-Bypass: yes, SPF fail, DKIM pass (fabrikam.example)');
  });
});

describe('JSON', () => {
  test('keeps the result exact, with the headline and the file', () => {
    const hostile = finding('bypass', { cause: 'connector "a\u2028b"' });
    const json = JSON.parse(renderProveJson(report([hostile]))) as ProofResult & { headline: string; file: string };
    assert.equal(json.headline, '1,234 bypasses in 48,000 classes (84 ms)');
    assert.equal(json.file, 'examples/contoso-exposed.json');
    assert.equal(json.findings[0]?.cause, 'connector "a\u2028b"');
    assert.equal(json.findings[0]?.representative.verdict.action, 'accept');
    assert.equal(json.classes, 48_000);
  });
});

describe('SARIF', () => {
  test('one result per finding under EOPL-090/091 and the shared-infrastructure rule; it validates with the SARIF multitool', async () => {
    const findings = [finding('bypass'), finding('broken-legitimate', { key: 'broken:x' }), finding('shared-gateway-infrastructure', { key: 'shared:x', remedy: 'a tenant-specific certificate' })];
    const text = renderProveSarif([report(findings)], '0.1.0');
    const sarif = JSON.parse(text) as { runs: { tool: { driver: { rules: { id: string }[] } }; results: { ruleId: string; level: string; partialFingerprints: Record<string, string>; message: { text: string } }[] }[] };
    const [first] = sarif.runs;
    assert.ok(first);
    assert.deepEqual(first.tool.driver.rules.map((rule) => rule.id), ['EOPL-090', 'EOPL-091', 'EOPL-PROVE-SHARED-GATEWAY']);
    assert.deepEqual(first.results.map((result) => [result.ruleId, result.level]), [['EOPL-090', 'error'], ['EOPL-091', 'error'], ['EOPL-PROVE-SHARED-GATEWAY', 'warning']]);
    assert.equal(first.results[0]?.partialFingerprints['eoplock/prove/v1'], 'Contoso Ltd|bypass|bypass:no-connector');
    assert.match(first.results[0]?.message.text ?? '', /^Contoso Ltd: no connector matches and RejectDirectSend is off — 1234 class\(es\), e\.g\. 198\.51\.100\.77/);

    const file = join(temp.path(), 'prove.sarif');
    await writeFile(file, text);
    const validated = join(temp.path(), 'validation.sarif');
    const tool = require('@microsoft/sarif-multitool-linux') as string;
    await run(tool, ['validate', file, '-o', validated], { timeout: 120_000 });
    const validation = JSON.parse(await readFile(validated, 'utf8')) as { runs: { results?: { level?: string }[] }[] };
    assert.deepEqual((validation.runs[0]?.results ?? []).filter((entry) => entry.level === 'error'), [], 'no validation errors');
  });
});
