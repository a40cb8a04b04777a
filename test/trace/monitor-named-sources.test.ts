/**
 * `eoplock monitor`: a sender whose source a connector lists, or that --allow-direct-send names, is not called a spoof.
 * A named Direct Send source's mail is counted on its own, not as a bypass.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { givenProfile } from '../../src/profile/profile.js';
import { loadSnapshotFile } from '../../src/snapshot/load.js';
import { BypassMonitor } from '../../src/trace/monitor.js';
import type { TraceRecord } from '../../src/trace/records.js';
import { cli } from '../helpers/cli.js';

const TRACE = 'examples/traces/contoso-message-trace.csv';
const SCANNER = '192.0.2.25';

interface MonitorJson {
  bypassed: number;
  allowedDirectSend: number;
  topSpoofedSenders: { address: string; messages: number }[];
  topSources: { clientIp: string }[];
}

/** Rows of the bundled trace whose FromIP is `ip` (the ninth quoted column). */
async function rowsFrom(ip: string): Promise<number> {
  const lines = (await readFile(TRACE, 'utf8')).split(/\r?\n/).slice(2);
  return lines.filter((line) => line.split('","')[8] === ip).length;
}

function record(clientIp: string, mailFrom: string, connector: string | null): TraceRecord {
  return {
    file: 'test',
    row: 1,
    format: 'email-events',
    time: '2026-11-20T10:00:00Z',
    mailFrom,
    headerFrom: mailFrom,
    recipients: ['alice@contoso.com'],
    clientIp,
    subject: 'scan',
    status: 'Delivered',
    direction: 'inbound',
    connector,
  };
}

describe('monitor: named sources are not spoofs', () => {
  test('--allow-direct-send: the scanner is counted on its own, its address is not a spoof', async () => {
    const args = ['monitor', TRACE, '--snapshot', 'examples/contoso-exposed.json', '--format', 'json'];
    const before = JSON.parse((await cli(...args)).stdout) as MonitorJson;
    assert.ok(before.topSpoofedSenders.some((entry) => entry.address === 'scanner@contoso.com'), 'without the flag the scanner is a spoof');
    const named = await cli(...args, '--allow-direct-send', `${SCANNER}=Office scanners`);
    const after = JSON.parse(named.stdout) as MonitorJson;
    const scannerRows = await rowsFrom(SCANNER);
    assert.ok(scannerRows > 0);
    assert.equal(after.allowedDirectSend, scannerRows);
    assert.equal(after.bypassed, before.bypassed - scannerRows);
    assert.ok(!after.topSpoofedSenders.some((entry) => entry.address === 'scanner@contoso.com'), JSON.stringify(after.topSpoofedSenders));
    assert.ok(!after.topSources.some((source) => source.clientIp === SCANNER));
    // The other spoofs stay, and so does the exit code for them.
    assert.ok(after.topSpoofedSenders.some((entry) => entry.address === 'ceo@contoso.com'));
    assert.equal(named.code, 1);
    const text = await cli('monitor', TRACE, '--snapshot', 'examples/contoso-exposed.json', '--allow-direct-send', `${SCANNER}=Office scanners`);
    assert.match(text.stdout, new RegExp(`${scannerRows} from the Direct Send sources named \\(Office scanners\\)`));
    assert.doesNotMatch(text.stdout, /scanner@contoso\.com/);
  });

  test('a source a connector lists is not a spoof even where the record says no connector took it', async () => {
    const { snapshot } = await loadSnapshotFile('examples/contoso-partial.json');
    const listed = snapshot.InboundConnector.find((connector) => connector.Enabled && connector.SenderIPAddresses.includes(SCANNER));
    assert.ok(listed, 'the partial example has a connector for the scanner');
    const monitor = new BypassMonitor(givenProfile({ ips: ['203.0.113.10'] }), snapshot);
    monitor.add(record(SCANNER, 'scanner@contoso.com', ''));
    monitor.add(record('198.51.100.150', 'billing@contoso.com', ''));
    const result = monitor.finish();
    assert.equal(result.bypassed, 2, 'both went around the gateway (the connector field is empty)');
    assert.deepEqual(result.topSpoofedSenders.map((entry) => entry.address), ['billing@contoso.com']);
  });

  test('a value that is not an address is bad input (exit 2)', async () => {
    const result = await cli('monitor', TRACE, '--snapshot', 'examples/contoso-exposed.json', '--allow-direct-send', 'printer=Office');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--allow-direct-send\[0\]/);
  });
});
