/**
 * Mail-flow data as it comes from the field (issue 15 §5): EmailEvents as the Defender XDR Streaming API writes it, and
 * monitoring a tenant that has no gateway.
 *
 * The streaming shape is Microsoft's: "Stream Microsoft Defender XDR events to your storage account" (each blob row is
 * `{ time, tenantId, category: "AdvancedHunting-<table>", properties: { <the Advanced Hunting row> } }`, many rows per
 * blob) and "… to Azure Event Hubs" (each message is `{ "records": [ … ] }`), with the EmailEvents columns and types of
 * the EmailEvents table reference (S48; LatestDeliveryLocation/LatestDeliveryAction are not streamed). The fixtures
 * follow a streamed record published as test data by Elastic's m365_defender integration (operationName "Publish",
 * empty columns written as null, AuthenticationDetails a JSON string, numbers as numbers) and hold the same three
 * messages as emailevents.csv.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { DEFAULT_ASSUMPTIONS } from '../../src/eop/assumptions.js';
import { InputError } from '../../src/errors.js';
import { buildPlan, DEFAULT_CONNECTOR_NAME, DEFAULT_RULE_NAME } from '../../src/plan/plan.js';
import { givenProfile, hasGateway, inferProfile } from '../../src/profile/profile.js';
import { loadSnapshotFile } from '../../src/snapshot/load.js';
import { ImpactAnalysis } from '../../src/trace/impact.js';
import { BypassMonitor } from '../../src/trace/monitor.js';
import { readTrace } from '../../src/trace/read.js';
import type { TraceRecord } from '../../src/trace/records.js';
import { cli, tempFolder } from '../helpers/cli.js';

const temp = tempFolder('eoplock-trace-field-');
const fixture = (name: string) => `test/fixtures/traces/${name}`;
const STORAGE = fixture('emailevents-streaming.jsonl');
const EVENT_HUB = fixture('emailevents-eventhub.jsonl');

async function records(file: string) {
  const out: TraceRecord[] = [];
  const summary = await readTrace(file, { onRecord: (record) => out.push(record) });
  return { out, summary };
}

/** Reading `file` fails with bad input whose one-line description (file: at where: message) matches `pattern`. */
async function refused(file: string, pattern: RegExp): Promise<void> {
  await assert.rejects(readTrace(file, { onRecord: () => undefined }), (error: unknown) => {
    assert.ok(error instanceof InputError, String(error));
    assert.match(error.describe(), pattern);
    return true;
  });
}

/** What monitor and impact use of a record, without where it came from. */
const essentials = (record: TraceRecord) => [record.time, record.mailFrom, record.headerFrom, record.recipients, record.clientIp, record.subject, record.status, record.direction];

const exposed = (await loadSnapshotFile('examples/contoso-exposed.json')).snapshot;
const profile = inferProfile(exposed);

describe('EmailEvents from the Defender XDR Streaming API', () => {
  test('a storage-account blob (one record per line) reads as the same messages as the Advanced Hunting CSV', async () => {
    const streamed = await records(STORAGE);
    const csv = await records(fixture('emailevents.csv'));
    assert.equal(streamed.summary.format, 'email-events-streaming');
    assert.equal(streamed.summary.records, 3);
    assert.deepEqual(streamed.summary.otherTables, []);
    assert.deepEqual(streamed.out.map(essentials), csv.out.map(essentials));
    // Streamed empty columns are null: a null Connectors says nothing (the address decides), a name is kept.
    assert.deepEqual(streamed.out.map((r) => r.connector), [null, 'From Secure Email Gateway', null]);
    assert.deepEqual(streamed.out.map((r) => r.row), [1, 2, 3]);
  });

  test('Event Hub messages ({"records": [...]}, one per line): other tables are counted and skipped', async () => {
    const { out, summary } = await records(EVENT_HUB);
    const storage = await records(STORAGE);
    assert.equal(summary.format, 'email-events-streaming');
    assert.deepEqual(out.map(essentials), storage.out.map(essentials));
    assert.deepEqual(summary.otherTables, [
      { category: 'AdvancedHunting-EmailUrlInfo', records: 1 },
      { category: 'AdvancedHunting-EmailAttachmentInfo', records: 1 },
    ]);
    assert.equal(summary.malformed, 0);
  });

  test('one pretty-printed {"records": [...]} document, gzipped, reads the same (read as a stream of rows)', async () => {
    const lines = (await readFile(STORAGE, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as unknown);
    const file = await temp.file('blob.json.gz', '');
    await writeFile(file, gzipSync(JSON.stringify({ records: lines }, null, 2)));
    const { out, summary } = await records(file);
    assert.equal(summary.format, 'email-events-streaming');
    assert.deepEqual(out.map(essentials), (await records(STORAGE)).out.map(essentials));
  });

  test('a record without its Timestamp takes the envelope time; a bad record is skipped with its line and position', async () => {
    const [first, second] = (await readFile(STORAGE, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { time: string; properties: Record<string, unknown> });
    assert.ok(first && second);
    delete first.properties.Timestamp;
    const noRecipient = { ...second, properties: { ...second.properties, RecipientEmailAddress: null } };
    const notObject = { ...second, properties: 'Timestamp=…' };
    const file = await temp.file('hub-bad.jsonl', `${JSON.stringify({ records: [first] })}\n${JSON.stringify({ records: [second, noRecipient, notObject] })}\n`);
    const { out, summary } = await records(file);
    assert.deepEqual(out.map((r) => r.time), ['2026-11-24T06:01:12.447Z', '2026-11-24T06:05:00.000Z']);
    assert.deepEqual(
      summary.examples.map((e) => [e.row, e.where, e.reason]),
      [
        [3, 'line 2, records[1]', 'no recipient address'],
        [4, 'line 2, records[2]', '"properties" is not a JSON object'],
      ],
    );
    const run = await cli('monitor', file, '--snapshot', 'examples/contoso-exposed.json');
    assert.match(run.stderr, /hub-bad\.jsonl: line 2, records\[1\]: no recipient address \(skipped\)/);
  });

  test('mixed shapes are bad input naming the file and the record', async () => {
    const lines = (await readFile(STORAGE, 'utf8')).trim().split('\n');
    const flat = (await readFile(fixture('emailevents.json'), 'utf8')).match(/\{"Timestamp"[^}]*\}/)?.[0] ?? '';
    const rowAfterRecords = await temp.file('mixed-1.jsonl', `${lines[0]}\n${lines[1]}\n${flat}\n`);
    await refused(rowAfterRecords, /mixed-1\.jsonl: at line 3: mixed shapes: a row that is no Defender Streaming API record \(no "category" and "properties": Timestamp, /);
    const recordAfterRows = await temp.file('mixed-2.jsonl', `${flat}\n${lines[0]}\n`);
    await refused(recordAfterRows, /mixed-2\.jsonl: at line 2: mixed shapes: a Defender Streaming API record \("category", "properties"\) among email-events rows/);
    const inEventHub = await temp.file('mixed-3.jsonl', `${JSON.stringify({ records: [JSON.parse(lines[0] ?? ''), JSON.parse(flat)] })}\n`);
    await refused(inEventHub, /mixed-3\.jsonl: at line 1, records\[1\]: mixed shapes/);
    const run = await cli('monitor', rowAfterRecords, '--snapshot', 'examples/contoso-exposed.json');
    assert.equal(run.code, 2);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
  });

  test('records of other tables only, or of an unknown category only, are not mail-flow data', async () => {
    const hub = (await readFile(EVENT_HUB, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { records: { category: string }[] });
    const others = hub.flatMap((message) => message.records).filter((record) => record.category !== 'AdvancedHunting-EmailEvents');
    const file = await temp.file('others.jsonl', others.map((record) => JSON.stringify(record)).join('\n'));
    await refused(file, /others\.jsonl: no message-trace records found: the Defender Streaming API records are of AdvancedHunting-EmailUrlInfo \(1\), AdvancedHunting-EmailAttachmentInfo \(1\), none of AdvancedHunting-EmailEvents/);
    // Another Azure service's resource log has the same envelope: still not EmailEvents.
    const signIns = await temp.file('signins.jsonl', `${JSON.stringify({ time: '2026-11-24T06:00:00Z', category: 'SignInLogs', operationName: 'Sign-in activity', properties: { userPrincipalName: 'alice@contoso.com' } })}\n`);
    await refused(signIns, /signins\.jsonl: no message-trace records found: the Defender Streaming API records are of SignInLogs \(1\)/);
  });

  test('monitor and impact read the streamed data as they read the CSV', async () => {
    const monitor = (file: string) => cli('monitor', file, '--snapshot', 'examples/contoso-exposed.json', '--format', 'json');
    const streamed = JSON.parse((await monitor(EVENT_HUB)).stdout) as { inbound: number; viaGateway: number; bypassed: number; topSpoofedSenders: { address: string }[] };
    const csv = JSON.parse((await monitor(fixture('emailevents.csv'))).stdout) as typeof streamed;
    assert.deepEqual([streamed.inbound, streamed.viaGateway, streamed.bypassed], [2, 1, 1]);
    assert.deepEqual([streamed.inbound, streamed.viaGateway, streamed.bypassed], [csv.inbound, csv.viaGateway, csv.bypassed]);
    assert.deepEqual(streamed.topSpoofedSenders.map((s) => s.address), ['ceo@contoso.com']);

    const text = await cli('monitor', EVENT_HUB, '--snapshot', 'examples/contoso-exposed.json');
    assert.equal(text.code, 1);
    assert.match(text.stdout, /emailevents-eventhub\.jsonl: email-events-streaming, 3 record\(s\); other tables' records skipped: 1 AdvancedHunting-EmailUrlInfo, 1 AdvancedHunting-EmailAttachmentInfo/);

    const after = buildPlan(exposed, profile, { allowDirectSend: [], safetyNet: 'reject', ruleName: DEFAULT_RULE_NAME, connectorName: DEFAULT_CONNECTOR_NAME }).after;
    const analysis = new ImpactAnalysis(exposed, after, profile, DEFAULT_ASSUMPTIONS);
    await readTrace(STORAGE, { onRecord: (record) => analysis.add(record) });
    const result = analysis.finish();
    assert.deepEqual(result.groups.map((g) => [g.clientIp, g.senderDomain, g.reason]), [['198.51.100.77', 'mailer.attacker.example', '550 5.7.51']]);
    assert.equal(result.skipped.outbound, 1);
  });
});

describe('monitor on a tenant with no gateway', () => {
  /** contoso-exposed without its gateway: no Partner connector, MX at Exchange Online (as a tenant without a gateway has). */
  async function noGatewaySnapshot(): Promise<string> {
    const raw = JSON.parse(await readFile('examples/contoso-exposed.json', 'utf8')) as {
      InboundConnector: { ConnectorType: string }[];
      Dns: Record<string, { MX: string[] }>;
    };
    raw.InboundConnector = raw.InboundConnector.filter((connector) => connector.ConnectorType !== 'Partner');
    for (const [domain, data] of Object.entries(raw.Dns)) data.MX = [`0 ${domain.replace(/\./g, '-')}.mail.protection.outlook.com`];
    return temp.file('no-gateway.json', JSON.stringify(raw));
  }

  test('refused with the reason, exit 2, as impact refuses: there is no gateway to go around', async () => {
    const snapshot = await noGatewaySnapshot();
    assert.equal(hasGateway(inferProfile((await loadSnapshotFile(snapshot)).snapshot)), false);
    const monitor = await cli('monitor', 'examples/traces/contoso-message-trace.csv', '--snapshot', snapshot);
    assert.equal(monitor.code, 2);
    assert.match(monitor.stderr, /no gateway is known: the snapshot has no gateway connector .* and no MX at a gateway, so no mail can be said to go around one/);
    assert.doesNotMatch(monitor.stdout, /around the gateway/);
    const impact = await cli('impact', snapshot, 'examples/traces/contoso-message-trace.csv');
    assert.equal(impact.code, 2);
    assert.match(impact.stderr, /no gateway is known/);
    // With the gateway named, the same tenant is judged.
    assert.equal((await cli('monitor', 'examples/traces/contoso-message-trace.csv', '--snapshot', snapshot, '--seg-ip', '203.0.113.10')).code, 1);
  });

  test('the monitor itself (as the HTML report uses it) counts no bypass without a gateway', async () => {
    const snapshot = (await loadSnapshotFile(await noGatewaySnapshot())).snapshot;
    const monitor = new BypassMonitor(inferProfile(snapshot), snapshot);
    await readTrace('examples/traces/contoso-message-trace.csv', { onRecord: (record) => monitor.add(record) });
    const result = monitor.finish();
    assert.ok(result.inbound > 0);
    assert.deepEqual([result.gatewayKnown, result.bypassed, result.viaGateway, result.undetermined, result.topSources], [false, 0, 0, 0, []]);
    assert.match(result.notes.join('\n'), /No gateway is known/);
  });

  test('a gateway known by certificate only: message trace (no connector field) is undetermined, not a bypass', async () => {
    const certificateOnly = givenProfile({ certificateName: '*.seg.example.net' });
    const trace = new BypassMonitor(certificateOnly, null);
    await readTrace(fixture('v2.json'), { onRecord: (record) => trace.add(record) });
    const result = trace.finish();
    assert.equal(result.bypassed, 0);
    assert.equal(result.undetermined, result.inbound - result.viaOtherConnector);
    assert.ok(result.undetermined > 0);
    // With the snapshot's gateway connector to name, an empty connector field is a bypass.
    const withConnector = new BypassMonitor(certificateOnly, exposed);
    await readTrace(fixture('emailevents.csv'), { onRecord: (record) => withConnector.add(record) });
    assert.deepEqual([withConnector.finish().bypassed, withConnector.finish().viaGateway], [1, 1]);
  });
});
