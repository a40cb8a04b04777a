/**
 * Header analysis against realistic header sets: a healthy gateway path, a skip-listed (Enhanced Filtering) message,
 * a direct-to-EOP bypass, and the same bypass pasted from a mail client with its formatting damaged.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { analyseHeaders, compauthMeaning, senderIp } from '../../src/headers/analyse.js';
import { readMessageHeaders } from '../../src/headers/parse.js';
import { headersCommand } from '../../src/cli/headers.js';
import { InputError } from '../../src/errors.js';
import { inferProfile } from '../../src/profile/profile.js';
import { loadSnapshotFile } from '../../src/snapshot/load.js';
import { cli, tempFolder } from '../helpers/cli.js';

const FIXTURES = 'test/fixtures/headers';
const BYPASS = 'examples/messages/direct-bypass.eml';
const temp = tempFolder('eoplock-headers-');

async function analyse(file: string, snapshotFile?: string) {
  const { fields, warnings } = await readMessageHeaders(await readFile(file, 'utf8'), file);
  const snapshot = snapshotFile ? (await loadSnapshotFile(snapshotFile)).snapshot : undefined;
  return { analysis: analyseHeaders(fields, snapshot ? { snapshot, profile: inferProfile(snapshot) } : {}), warnings };
}

const status = (analysis: Awaited<ReturnType<typeof analyse>>['analysis'], id: string) => analysis.checklist.find((item) => item.id === id)?.status;

describe('healthy gateway path, no Enhanced Filtering', () => {
  test('finds the gateway as the hop into EOP and warns that SPF was judged against the gateway', async () => {
    const { analysis, warnings } = await analyse(`${FIXTURES}/gateway-path.eml`, 'examples/contoso-exposed.json');
    assert.deepEqual(warnings, []);
    assert.equal(analysis.path, 'through-gateway');
    assert.equal(analysis.hops.length, 5);
    assert.equal(analysis.hops[0]?.fromIp, '192.0.2.80');
    assert.equal(analysis.hops[0]?.byHost, 'mx1.seg.example.net');
    assert.equal(analysis.eopEntry?.step, 2);
    assert.equal(analysis.eopEntry?.fromIp, '203.0.113.10');
    assert.equal(analysis.eopEntry?.delaySeconds, 4, '09:11:57 at the gateway, 09:12:01 at EOP');
    assert.equal(analysis.connectingIp, '203.0.113.10');
    assert.deepEqual(analysis.connectorsByIp, ['From Secure Email Gateway']);
    assert.equal(analysis.fromAcceptedDomain, false);
    assert.equal(status(analysis, 'last-hop'), 'pass');
    assert.equal(status(analysis, 'skip-listed'), 'warn');
    assert.equal(status(analysis, 'spf-true-source'), 'warn');
    assert.equal(status(analysis, 'compauth'), 'pass');
    assert.equal(analysis.antispam?.fields.CIP, '203.0.113.10');
    assert.equal(analysis.antispam?.explained.find((entry) => entry.field === 'SFV')?.meaning, 'not spam');
  });

  test('without a snapshot or profile the path is undetermined, a gateway vendor\'s host name included', async () => {
    const { analysis } = await analyse(`${FIXTURES}/gateway-path.eml`);
    assert.equal(analysis.path, 'undetermined');
    assert.equal(status(analysis, 'last-hop'), 'unknown');
    // A vendor's host name is no evidence: the sender's own outbound relay can be at the same vendor (issue 15 §2.3).
    const text = (await readFile(`${FIXTURES}/gateway-path.eml`, 'utf8')).replaceAll('out1.seg.example.net', 'us-smtp-delivery-101.mimecast.com');
    const { fields } = await readMessageHeaders(text);
    const vendor = analyseHeaders(fields);
    assert.equal(vendor.path, 'undetermined');
    assert.equal(vendor.eopEntry?.vendor, 'Mimecast');
    assert.equal(vendor.eopEntry?.fromGateway, false);
    assert.equal(vendor.checklist.find((item) => item.id === 'last-hop')?.status, 'unknown');
    assert.match(vendor.gatewayEvidence ?? '', /Mimecast host name, but senders use the same vendors/);
  });
});

describe('skip-listed (Enhanced Filtering on)', () => {
  test('reads the true source and the Authentication-Results EXO wrote, not the -Original one', async () => {
    const { analysis } = await analyse(`${FIXTURES}/skip-listed.eml`, 'examples/contoso-locked.json');
    assert.equal(analysis.path, 'through-gateway');
    assert.equal(senderIp(analysis.skipListedInternetSender ?? ''), '192.0.2.80');
    const [exchange, original] = analysis.authenticationResults;
    assert.equal(exchange?.writtenByExchange, true);
    assert.equal(exchange?.authservId, null);
    assert.equal(exchange?.spf?.senderIp, '192.0.2.80');
    assert.equal(original?.header, 'Authentication-Results-Original');
    assert.equal(original?.authservId, 'relay.seg.example.net');
    assert.equal(original?.writtenByExchange, false);
    assert.equal(status(analysis, 'skip-listed'), 'pass');
    assert.equal(status(analysis, 'spf-true-source'), 'pass');
    const spf = analysis.checklist.find((item) => item.id === 'spf-true-source');
    assert.match(spf?.correction ?? '', /Authentication-Results-Original.*not a documented/);
    assert.match(spf?.detail ?? '', /not used as evidence/);
  });

  test('flags SPF judged against someone other than the skip-listed source', async () => {
    const text = (await readFile(`${FIXTURES}/skip-listed.eml`, 'utf8')).replace('spf=pass (sender IP is 192.0.2.80)', 'spf=fail (sender IP is 203.0.113.10)');
    const { fields } = await readMessageHeaders(text);
    const analysis = analyseHeaders(fields, { profile: inferProfile((await loadSnapshotFile('examples/contoso-locked.json')).snapshot) });
    assert.equal(analysis.checklist.find((item) => item.id === 'spf-true-source')?.status, 'fail');
  });
});

describe('direct-to-EOP bypass', () => {
  test('is recognised as a bypass of an internal-domain sender', async () => {
    const { analysis } = await analyse(BYPASS, 'examples/contoso-exposed.json');
    assert.equal(analysis.path, 'direct-to-eop');
    assert.equal(analysis.connectingIp, '198.18.7.7');
    assert.deepEqual(analysis.connectorsByIp, []);
    assert.equal(analysis.fromAcceptedDomain, true);
    assert.equal(analysis.authAs, 'Anonymous');
    assert.equal(status(analysis, 'last-hop'), 'fail');
    assert.equal(status(analysis, 'auth-as'), 'fail');
    assert.equal(status(analysis, 'compauth'), 'fail');
    const exchange = analysis.authenticationResults[0];
    assert.equal(exchange?.compauth?.reason, '601');
    assert.match(exchange?.compauth?.meaning ?? '', /intra-organisation spoof/);
    assert.equal(exchange?.dmarc?.result, 'fail');
    assert.equal(exchange?.dkim[0]?.result, 'none');
  });

  test('pasted from a mail client (indented, folds broken, blank line) gives the same analysis, with repairs noted', async () => {
    const pasted = await analyse(`${FIXTURES}/pasted-outlook.txt`, 'examples/contoso-exposed.json');
    const clean = await analyse(BYPASS, 'examples/contoso-exposed.json');
    assert.ok(pasted.warnings.some((warning) => /line \d+: blank line inside the header ignored/.test(warning)), pasted.warnings.join('\n'));
    assert.ok(pasted.warnings.some((warning) => /line \d+: not a header field; joined/.test(warning)), pasted.warnings.join('\n'));
    assert.equal(pasted.analysis.path, 'direct-to-eop');
    assert.deepEqual(pasted.analysis.hops.map((hop) => [hop.fromHost, hop.fromIp, hop.byHost]), clean.analysis.hops.map((hop) => [hop.fromHost, hop.fromIp, hop.byHost]));
    assert.deepEqual(pasted.analysis.authenticationResults, clean.analysis.authenticationResults);
    assert.deepEqual(pasted.analysis.checklist.map((item) => [item.id, item.status]), clean.analysis.checklist.map((item) => [item.id, item.status]));
  });
});

describe('input handling', () => {
  test('text that is not a header is refused with the line named', async () => {
    await assert.rejects(readMessageHeaders('hello world\nthis is not a message\n', 'note.txt'), (error: unknown) => error instanceof InputError && /line 1/.test(error.describe()) && /note\.txt/.test(error.describe()));
    await assert.rejects(readMessageHeaders('\n\n', 'empty.eml'), (error: unknown) => error instanceof InputError && /no header fields/.test(error.message));
    await assert.rejects(readMessageHeaders('Subject hello\nFrom: a@b.example\n', 'x.eml'), (error: unknown) => error instanceof InputError && /line 1/.test(error.describe()));
  });

  test('the body ends the header; header-like body lines are not read', async () => {
    const { fields } = await readMessageHeaders('Subject: hi\r\nFrom: a@b.example\r\n\r\nHello,\r\nDate: not a header\r\n');
    assert.deepEqual(fields.map((field) => field.name.toLowerCase()), ['subject', 'from']);
  });

  test('messages that never went through Exchange Online say so', async () => {
    const { fields } = await readMessageHeaders('Received: from a.example ([192.0.2.1]) by b.example; Tue, 3 Jun 2025 09:00:00 +0000\nSubject: x\n');
    const analysis = analyseHeaders(fields);
    assert.equal(analysis.path, 'not-through-eop');
    assert.equal(analysis.checklist[0]?.status, 'unknown');
  });

  test('compauth reason codes', () => {
    assert.match(compauthMeaning('000') ?? '', /explicit failure/);
    assert.match(compauthMeaning('001') ?? '', /implicit failure/);
    assert.match(compauthMeaning('010') ?? '', /self-to-self/);
    assert.match(compauthMeaning('130') ?? '', /ARC/);
    assert.equal(compauthMeaning('109'), 'pass');
    assert.equal(compauthMeaning('201'), 'soft pass');
    assert.equal(compauthMeaning('451'), 'bypassed');
    assert.equal(compauthMeaning('802'), null);
  });
});

describe('eoplock headers', () => {
  test('exit 1 on the bundled bypass, 0 on the healthy path, JSON with --format json', async () => {
    const bypass = await cli('headers', BYPASS, '--snapshot', 'examples/contoso-exposed.json');
    assert.equal(bypass.code, 1);
    assert.match(bypass.stdout, /STRAIGHT TO EOP/);
    assert.match(bypass.stdout, /✗ The Received chain shows the gateway as the last hop before EOP/);
    const healthy = await cli('headers', `${FIXTURES}/skip-listed.eml`, '--seg-ip', '203.0.113.0/24', '--format', 'json');
    assert.equal(healthy.code, 0, healthy.stderr);
    const report = JSON.parse(healthy.stdout) as { path: string; source: string; skipListedInternetSender: string };
    assert.equal(report.path, 'through-gateway');
    assert.equal(report.source, `${FIXTURES}/skip-listed.eml`);
    assert.match(report.skipListedInternetSender, /192\.0\.2\.80/);
  });

  test('reads standard input for -', async () => {
    let out = '';
    const io = { stdout: (text: string) => void (out += text), stderr: () => undefined, color: false, progress: false };
    const text = await readFile(`${FIXTURES}/pasted-outlook.txt`, 'utf8');
    const code = await headersCommand(io, '-', { segIp: ['203.0.113.10'], format: 'text' }, async () => text);
    assert.equal(code, 1);
    assert.match(out, /^eoplock headers — stdin/);
    assert.match(out, /note: stdin line \d+/);
  });

  test('bad input exits 2 with the file named', async () => {
    const bad = await temp.file('notes.txt', 'just some notes\n');
    const result = await cli('headers', bad);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /notes\.txt/);
    assert.match(result.stderr, /not a header field/);
    assert.doesNotMatch(result.stderr, /at .*\.ts:\d+/);
    const missing = await cli('headers', 'no-such-file.eml');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no-such-file\.eml/);
  });
});
