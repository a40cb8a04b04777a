/**
 * Mail-flow data: every format from small crafted files with known outcomes (quoted commas, IPv6, empty FromIP,
 * PowerShell 5.1 quirks, gzip), impact, monitor, the lab log round trip, and the queries.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_ASSUMPTIONS } from '../../src/eop/assumptions.js';
import { startLab } from '../../src/lab/lab.js';
import { buildPlan, DEFAULT_CONNECTOR_NAME, DEFAULT_RULE_NAME } from '../../src/plan/plan.js';
import { probe } from '../../src/probe/probe.js';
import { inferProfile } from '../../src/profile/profile.js';
import { loadSnapshotFile } from '../../src/snapshot/load.js';
import { GroupKeys, ImpactAnalysis } from '../../src/trace/impact.js';
import { BypassMonitor } from '../../src/trace/monitor.js';
import { buildQueries, cidrBlocks, kqlString } from '../../src/trace/queries.js';
import { readTrace } from '../../src/trace/read.js';
import { parseTime, type TraceRecord } from '../../src/trace/records.js';
import { cli } from '../helpers/cli.js';

const fixture = (name: string) => `test/fixtures/traces/${name}`;
async function records(file: string) {
  const out: TraceRecord[] = [];
  const summary = await readTrace(file, { onRecord: (record) => out.push(record) });
  return { out, summary };
}

const exposed = (await loadSnapshotFile('examples/contoso-exposed.json')).snapshot;
const profile = inferProfile(exposed);
const after = buildPlan(exposed, profile, { allowDirectSend: [], safetyNet: 'reject', ruleName: DEFAULT_RULE_NAME, connectorName: DEFAULT_CONNECTOR_NAME }).after;

describe('reading every format', () => {
  test('Get-MessageTraceV2 JSON from Windows PowerShell 5.1 (\\/Date()\\/)', async () => {
    const { out, summary } = await records(fixture('v2.json'));
    assert.equal(summary.format, 'message-trace');
    assert.deepEqual(out.map((r) => [r.time, r.mailFrom, r.clientIp]), [
      ['2025-11-24T09:00:00.000Z', 'scanner@contoso.com', '192.0.2.25'],
      ['2026-11-24T10:00:00.000Z', 'orders@fabrikam.example', '203.0.113.10'],
      ['2026-11-24T11:00:00.000Z', 'alice@contoso.com', null],
    ]);
  });

  test('Get-MessageTraceV2 CSV from Export-Csv in 5.1: UTF-16, #TYPE line, quoted commas, IPv6, empty FromIP; a short row is skipped with its row', async () => {
    const { out, summary } = await records(fixture('v2-ps51.csv'));
    assert.equal(summary.format, 'message-trace');
    assert.deepEqual(out.map((r) => r.subject), ['Invoice run, "November", done', 'Urgent, wire', 'Lunch', 'Order']);
    assert.equal(out[1]?.clientIp, '2001:db8:bad::25');
    assert.equal(out[2]?.clientIp, null);
    assert.equal(out[0]?.time, '2026-11-24T09:00:00.000Z');
    assert.equal(out[1]?.time, '2026-11-24T13:30:00.000Z');
    assert.equal(summary.malformed, 1);
    assert.deepEqual(summary.examples[0] && [summary.examples[0].row, summary.examples[0].reason], [4, '4 fields where the header has 10']);
  });

  test('legacy Get-MessageTrace CSV, gzipped, UTF-8 with BOM', async () => {
    const { out, summary } = await records(fixture('legacy.csv.gz'));
    assert.equal(summary.format, 'message-trace');
    assert.deepEqual(out.map((r) => [r.mailFrom, r.clientIp, r.time]), [['notifications@crm.saas.example', '198.51.100.160', '2026-11-24T08:00:00.000Z']]);
  });

  test('historical search (enhanced summary): recipients from recipient_status, direction, connector', async () => {
    const { out, summary } = await records(fixture('historical.csv'));
    assert.equal(summary.format, 'historical-search');
    assert.deepEqual(out[1]?.recipients, ['bob@contoso.com', 'alice@contoso.com']);
    assert.deepEqual(out.map((r) => [r.direction, r.connector]), [['inbound', ''], ['inbound', 'From Secure Email Gateway'], ['outbound', '']]);
    assert.equal(out[0]?.subject, 'Scan, page 2');
  });

  test('EmailEvents as CSV and as an Advanced Hunting JSON response give the same records', async () => {
    const csv = await records(fixture('emailevents.csv'));
    const json = await records(fixture('emailevents.json'));
    assert.equal(csv.summary.format, 'email-events');
    assert.deepEqual(json.out.map(({ file: _f, ...rest }) => rest), csv.out.map(({ file: _f, ...rest }) => rest));
    assert.equal(csv.out[0]?.headerFrom, 'ceo@contoso.com');
    assert.equal(csv.out[0]?.mailFrom, 'bounce@mailer.attacker.example');
  });

  test('an unknown header is a clear error naming the file', async () => {
    await assert.rejects(readTrace('test/fixtures/snapshots/truncated-depth2.json', { onRecord: () => undefined }), /not a message trace, historical search, EmailEvents or lab log format/);
    await assert.rejects(readTrace(fixture('missing.csv'), { onRecord: () => undefined }), /no such file/);
  });

  test('en-US and ISO times, PowerShell dates; unreadable ones are null', () => {
    assert.equal(parseTime('11/24/2026 12:05:09 AM'), '2026-11-24T00:05:09.000Z');
    assert.equal(parseTime('11/24/2026 12:05:09 PM'), '2026-11-24T12:05:09.000Z');
    assert.equal(parseTime('/Date(0)/'), '1970-01-01T00:00:00.000Z');
    assert.equal(parseTime('yesterday'), null);
  });
});

describe('impact', () => {
  async function analyse(...files: string[]) {
    const analysis = new ImpactAnalysis(exposed, after, profile, DEFAULT_ASSUMPTIONS);
    for (const file of files) await readTrace(file, { onRecord: (record) => analysis.add(record) });
    return analysis.finish();
  }

  test('the crafted traces give exactly the expected breakers', async () => {
    const result = await analyse(fixture('v2.json'), fixture('v2-ps51.csv'), fixture('legacy.csv.gz'), fixture('historical.csv'), fixture('emailevents.csv'));
    assert.deepEqual(
      result.groups.map((g) => [g.clientIp, g.senderDomain, g.reason, g.messages, g.directSend]).sort(),
      [
        ['192.0.2.25', 'contoso.com', '550 5.7.68', 2, true],
        ['198.51.100.150', 'contoso.com', '550 5.7.68', 1, true],
        ['198.51.100.160', 'crm.saas.example', '550 5.7.51', 1, false],
        ['198.51.100.77', 'mailer.attacker.example', '550 5.7.51', 1, false],
        ['2001:db8:bad::25', 'contoso.com', '550 5.7.68', 1, true],
      ],
    );
    assert.equal(result.groups.find((g) => g.clientIp === '192.0.2.25')?.suggestion, "--allow-direct-send '192.0.2.25=Direct Send from contoso.com (192.0.2.25)'");
    assert.equal(result.groups.find((g) => g.clientIp === '2001:db8:bad::25')?.suggestion, null, 'no IPv6 connector can be suggested');
    assert.ok(result.skipped.noSourceIp >= 2 && result.skipped.outbound >= 2);
  });

  test('group keys: one per source, sender domain and reason, past every size of id (small integers, larger numbers, text)', () => {
    const keys = new GroupKeys();
    const seen = new Map<number | string, string>();
    const take = (source: string, domain: string, reason: string) => {
      const key = keys.key(source, domain, reason);
      const name = `${source}|${domain}|${reason}`;
      assert.equal(seen.get(key) ?? name, name, `${name} has the key of ${seen.get(key)}`);
      seen.set(key, name);
      assert.equal(keys.key(source, domain, reason), key, 'the same key again');
    };
    // Past 2^4 reasons, 2^10 sources, 2^16 domains (the small integers), then 2^21 (the text), each alone and together.
    for (let r = 0; r < 20; r++) take('192.0.2.0', 'd0.example', `reason ${r}`);
    for (let s = 0; s < 1100; s++) take(`192.0.${s >> 8}.${s & 255}`, 'd0.example', 'reason 0');
    for (let d = 0; d < 70_000; d++) take('192.0.2.0', `d${d}.example`, 'reason 0');
    for (let s = 0; s < 1100; s += 7) for (let d = 0; d < 70_000; d += 997) take(`192.0.${s >> 8}.${s & 255}`, `d${d}.example`, `reason ${s % 20}`);
    assert.equal(typeof keys.key('192.0.2.1', 'd1.example', 'reason 1'), 'number');
    for (let d = 70_000; d < (1 << 21) + 5; d++) keys.key('192.0.2.0', `d${d}.example`, 'reason 0');
    assert.equal(typeof keys.key('192.0.2.0', `d${1 << 21}.example`, 'reason 0'), 'string');
    assert.equal(typeof keys.key('192.0.2.0', 'd5.example', 'reason 0'), 'number');
  });

  test('groups are ordered by messages, then by source as localeCompare orders text, then as first seen', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ ip: fc.constantFrom('192.0.2.9', '192.0.2.10', '192.0.2.100', '10.0.0.1', '2001:db8::a', '2001:DB8::A', '2001:db8::1:0', '::1'), domain: fc.constantFrom('a.example', 'b.example'), messages: fc.integer({ min: 1, max: 4 }) }), { maxLength: 40 }),
        // Summary rows that stand for 2^50 messages: the sort keys no longer fit in a double, and groups are compared.
        fc.boolean(),
        (shares, huge) => {
          const analysis = new ImpactAnalysis(exposed, after, profile, DEFAULT_ASSUMPTIONS);
          for (const [index, share] of shares.entries()) {
            const group = analysis.group(share.ip, share.domain, '550 5.7.68');
            for (let k = 0; k < share.messages; k++) analysis.addTo(group, { time: null, subject: null, recipients: [], count: huge && index % 3 === 0 ? 2 ** 50 : 1 });
          }
          const groups = analysis.finish().groups;
          // Ties (same messages, sources the same to the collator) keep the order of first sight, as one sort keeps them.
          const firstSeen = [...new Map(shares.map((share) => [`${share.ip} ${share.domain}`, true])).keys()];
          const stable = [...groups].sort((a, b) => b.messages - a.messages || a.clientIp.localeCompare(b.clientIp) || firstSeen.indexOf(`${a.clientIp} ${a.senderDomain}`) - firstSeen.indexOf(`${b.clientIp} ${b.senderDomain}`));
          assert.deepEqual(groups.map((g) => `${g.clientIp} ${g.senderDomain} ${g.messages}`), stable.map((g) => `${g.clientIp} ${g.senderDomain} ${g.messages}`));
          assert.equal(groups.length, firstSeen.length);
        },
      ),
    );
  });

  test('naming the scanner in the plan removes it from the breakers', async () => {
    const planned = buildPlan(exposed, profile, { allowDirectSend: [{ ip: '192.0.2.25', name: 'Scanner' }], safetyNet: 'reject', ruleName: DEFAULT_RULE_NAME, connectorName: DEFAULT_CONNECTOR_NAME }).after;
    const analysis = new ImpactAnalysis(exposed, planned, profile, DEFAULT_ASSUMPTIONS);
    await readTrace(fixture('v2.json'), { onRecord: (record) => analysis.add(record) });
    assert.deepEqual(analysis.finish().groups, []);
  });

  test('the bundled sample trace: the scanner, the invoicing SaaS, the CRM SaaS and the old spoof; gateway mail is safe', async () => {
    const result = await analyse('examples/traces/contoso-message-trace.csv');
    assert.deepEqual(result.groups.map((g) => `${g.clientIp} ${g.reason} ${g.messages}`), [
      '192.0.2.25 550 5.7.68 7',
      '198.51.100.150 550 5.7.68 3',
      '198.51.100.160 550 5.7.51 2',
      '2001:db8:bad::25 550 5.7.68 1',
    ]);
  });

  test('CLI: text and JSON; a malformed row is a warning with file and row, not a failure', async () => {
    const text = await cli('impact', 'examples/contoso-exposed.json', 'examples/traces/contoso-message-trace.csv');
    assert.equal(text.code, 1); // exit 1: sources would break
    assert.match(text.stdout, /Would break \(4 source\(s\)\)/);
    assert.match(text.stderr, /contoso-message-trace\.csv: row 58: "not-an-ip" is not an IP address \(skipped\)/);
    const json = JSON.parse((await cli('impact', 'examples/contoso-exposed.json', 'examples/traces/contoso-message-trace.csv', '--format', 'json')).stdout) as { breaking: number; inputs: { malformed: number }[] };
    assert.equal(json.breaking, 13);
    assert.equal(json.inputs[0]?.malformed, 1);
  });
});

test('impact --plan DIR reads the plan\'s expected-after.json: the named scanner no longer breaks', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'eoplock-impact-plan-'));
  try {
    const out = join(folder, 'plan');
    assert.equal((await cli('plan', 'examples/contoso-exposed.json', '--out', out, '--allow-direct-send', '192.0.2.25=Office scanners')).code, 0);
    const json = JSON.parse((await cli('impact', 'examples/contoso-exposed.json', 'examples/traces/contoso-message-trace.csv', '--plan', out, '--format', 'json')).stdout) as { after: string; groups: { clientIp: string }[] };
    assert.match(json.after, /expected-after\.json$/);
    assert.deepEqual(json.groups.map((g) => g.clientIp), ['198.51.100.150', '198.51.100.160', '2001:db8:bad::25']);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

describe('monitor', () => {
  test('bypasses by IP and by connector field; internal senders on them are spoofs', async () => {
    const monitor = new BypassMonitor(profile, exposed);
    for (const file of [fixture('historical.csv'), fixture('emailevents.csv'), fixture('v2-ps51.csv')]) await readTrace(file, { onRecord: (record) => monitor.add(record) });
    const result = monitor.finish();
    assert.deepEqual(result.topSources.map((s) => [s.clientIp, s.messages]), [
      ['192.0.2.25', 1],
      ['198.51.100.150', 1],
      ['198.51.100.77', 1],
      ['2001:db8:bad::25', 1],
    ]);
    assert.deepEqual(result.topSpoofedSenders.map((s) => [s.address, s.messages]), [['ceo@contoso.com', 2], ['billing@contoso.com', 1], ['scanner@contoso.com', 1]]);
    assert.equal(result.viaGateway, 3);
    assert.match(result.notes[0] ?? '', /never in message trace/);
  });

  test('CLI: exit 1 when mail got around the gateway, 2 without a gateway to compare with', async () => {
    assert.equal((await cli('monitor', 'examples/traces/contoso-message-trace.csv', '--snapshot', 'examples/contoso-exposed.json')).code, 1);
    const none = await cli('monitor', 'examples/traces/contoso-message-trace.csv');
    assert.equal(none.code, 2);
    assert.match(none.stderr, /give the gateway/);
  });
});

test('the lab log round-trips: what the lab refused and accepted reads back as lab records', async () => {
  const store = await mkdtemp(join(tmpdir(), 'eoplock-trace-'));
  const lab = await startLab({ snapshot: exposed, assumptions: DEFAULT_ASSUMPTIONS, profile, listen: { host: '127.0.0.1', port: 0 }, store });
  try {
    await probe({ host: '127.0.0.1', port: lab.eop.port, from: 'ceo@contoso.com', to: ['alice@contoso.com'], ehlo: 'x', starttls: 'never', send: true, timeoutMs: 5_000 });
    await probe({ host: '127.0.0.1', port: lab.eop.port, from: 'x@fabrikam.example', to: ['nobody@not-hosted.example'], ehlo: 'x', starttls: 'never', send: false, timeoutMs: 5_000 });
  } finally {
    await lab.close(0);
  }
  const { out, summary } = await records(join(store, 'transactions.jsonl'));
  assert.equal(summary.format, 'lab');
  assert.deepEqual(out.map((r) => [r.clientIp, r.mailFrom, r.status]), [
    ['127.0.0.1', 'ceo@contoso.com', 'deliver'],
    ['127.0.0.1', 'x@fabrikam.example', 'Refused'],
  ]);
  const lines = (await readFile(join(store, 'transactions.jsonl'), 'utf8')).trim().split('\n');
  assert.equal(lines.length, 2);
  await rm(store, { recursive: true, force: true });
});

describe('queries', () => {
  test('KQL strings are escaped: any value stays one string literal', () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        const literal = kqlString(value);
        assert.ok(literal.startsWith('"') && literal.endsWith('"'));
        const inner = literal.slice(1, -1);
        assert.doesNotMatch(inner.replace(/\\\\/g, ''), /(^|[^\\])"/, 'no unescaped quote');
        assert.doesNotMatch(inner, /[\u0000-\u001f]/, 'no raw control character');
        assert.equal(JSON.parse(literal), value, 'a JSON-compatible escape of the same value');
      }),
      { numRuns: 2_000 },
    );
  });

  test('gateway ranges become CIDR blocks; the queries name the gateway and the domains', () => {
    assert.deepEqual(cidrBlocks(['203.0.113.10', '203.0.113.11', '198.51.100.5-198.51.100.12']), ['198.51.100.5/32', '198.51.100.6/31', '198.51.100.8/30', '198.51.100.12/32', '203.0.113.10/31']);
    const queries = buildQueries({ gatewayIps: ['203.0.113.10'], acceptedDomains: ["o'brien.example"], days: 7 });
    assert.match(queries.find((q) => q.id === 'kql-not-from-gateway')?.text ?? '', /ipv4_is_in_any_range\(SenderIPv4, dynamic\(\["203\.0\.113\.10\/32"\]\)\)/);
    assert.match(queries.find((q) => q.id === 'ps-message-trace-v2')?.text ?? '', /\$domains = @\('o''brien\.example'\)/);
    assert.match(queries.find((q) => q.id === 'ps-message-trace-v2')?.text ?? '', /ResultSize = 5000/);
  });

  test('CLI: needs the gateway addresses', async () => {
    const ok = await cli('queries', 'examples/contoso-locked.json', '--kind', 'powershell');
    assert.equal(ok.code, 0);
    assert.match(ok.stdout, /Start-HistoricalSearch .*-ReportType ConnectorReport/);
    assert.equal((await cli('queries')).code, 2);
  });
});
