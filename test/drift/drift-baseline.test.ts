/**
 * Drift states the current state without a baseline, names changes only against one, and lists every item.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runAudit } from '../../src/audit/run.js';
import { driftFromAudit, INVARIANTS } from '../../src/drift/drift.js';
import { applyOps } from '../../src/plan/ops.js';
import { givenProfile } from '../../src/profile/profile.js';
import { loadSnapshotFile } from '../../src/snapshot/load.js';
import { cli, tempFolder } from '../helpers/cli.js';

const locked = (await loadSnapshotFile('examples/contoso-locked.json')).snapshot;
const exposed = (await loadSnapshotFile('examples/contoso-exposed.json')).snapshot;
const profile = givenProfile({ ips: ['203.0.113.10', '203.0.113.11', '198.51.100.0/28'], certificateName: '*.seg.example.net', file: { mxHosts: ['mx1.seg.example.net', 'mx2.seg.example.net'] } });
const temp = tempFolder('eoplock-drift-baseline-');
const SEG = ['--seg-ip', '203.0.113.10', '--seg-ip', '203.0.113.11', '--seg-ip', '198.51.100.0/28', '--seg-cert', '*.seg.example.net'];

/** Words that tell of a change: none of them may appear in a statement made from one snapshot. */
const HISTORY = /\b(was|were|no longer|now|gone|became|changed|turned|removed|regress\w*)\b/i;

/** The lines of drift's text that state a failing invariant (`✗ EOPL-… statement`). */
const statementLines = (text: string) => text.split('\n').filter((line) => line.startsWith('✗ '));

const turnedOff = applyOps(locked, [{ cmdlet: 'Set-OrganizationConfig', parameters: { RejectDirectSend: false } }]);

describe('drift without a baseline states the current state', () => {
  test('every invariant has a state sentence without history and a change sentence', () => {
    for (const [id, invariant] of Object.entries(INVARIANTS)) {
      assert.doesNotMatch(invariant.state, HISTORY, id);
      assert.notEqual(invariant.change, invariant.state, id);
    }
  });

  test('each failing invariant is stated as the state, in the result and in the text', async () => {
    const result = driftFromAudit(runAudit(turnedOff, profile, { file: 'x.json' }));
    const item = result.failing.find((finding) => finding.id === 'EOPL-001');
    assert.equal(item?.statement, 'RejectDirectSend is off');
    assert.equal(item?.baselineStatus, undefined);
    assert.equal(result.baseline, null);
    for (const file of ['examples/contoso-exposed.json', 'examples/contoso-partial.json']) {
      const run = await cli('drift', file);
      assert.equal(run.code, 1, run.stderr);
      const lines = statementLines(run.stdout);
      assert.ok(lines.length > 0, run.stdout);
      for (const line of lines) assert.doesNotMatch(line, HISTORY, line);
      assert.doesNotMatch(run.stdout, /regression|since the baseline/);
    }
  });
});

describe('drift with --baseline names what changed', () => {
  test('an invariant that held in the baseline and fails now is a change, with the baseline value', () => {
    const result = driftFromAudit(runAudit(turnedOff, profile, { file: 'now.json' }), {
      audit: runAudit(locked, profile, { file: 'before.json' }),
      snapshot: locked,
      current: turnedOff,
    });
    const item = result.failing.find((finding) => finding.id === 'EOPL-001');
    assert.equal(item?.statement, 'RejectDirectSend was turned off');
    assert.equal(item?.baselineStatus, 'pass');
    const evidencePath = item?.evidence[0]?.path as string;
    assert.deepEqual(
      item?.baselineValues?.find((value) => value.path === evidencePath),
      { path: evidencePath, section: 'OrganizationConfig', object: 'OrganizationConfig', objectInBaseline: true, before: true },
    );
    assert.deepEqual(result.baseline, { file: 'before.json', tenant: locked.Meta.tenant ?? null });
  });

  test('a failure the baseline had too keeps the state sentence; a fixed one is listed as holding now', () => {
    const result = driftFromAudit(runAudit(locked, profile, { file: 'now.json' }), { audit: runAudit(exposed, profile, { file: 'before.json' }), snapshot: exposed, current: locked });
    assert.deepEqual(result.failing, []);
    assert.ok(result.fixed.includes('EOPL-001'), result.fixed.join(', '));
    const same = driftFromAudit(runAudit(exposed, profile, { file: 'now.json' }), { audit: runAudit(exposed, profile, { file: 'before.json' }), snapshot: exposed, current: exposed });
    assert.ok(same.failing.length > 0);
    for (const item of same.failing) {
      assert.equal(item.baselineStatus, 'fail');
      assert.equal(item.statement, INVARIANTS[item.id]?.state);
    }
  });

  test('CLI: the change is named, with the value it had', async () => {
    const before = await temp.file('before.json', JSON.stringify(locked));
    const now = await temp.file('now.json', JSON.stringify(turnedOff));
    const run = await cli('drift', now, '--baseline', before, ...SEG);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stdout, /1 regression\(s\) since the baseline:/);
    assert.match(run.stdout, /^✗ EOPL-001 RejectDirectSend was turned off$/m);
    assert.match(run.stdout, /OrganizationConfig\[0\]\.RejectDirectSend: .*\n {6}in the baseline: true/);
    const json = JSON.parse((await cli('drift', now, '--baseline', before, ...SEG, '--format', 'json')).stdout) as { failing: { id: string; statement: string }[] };
    assert.deepEqual(json.failing.map((item) => [item.id, item.statement]), [['EOPL-001', 'RejectDirectSend was turned off']]);
    // Without --baseline the same snapshot is only stated.
    const alone = await cli('drift', now, ...SEG);
    assert.match(alone.stdout, /^✗ EOPL-001 RejectDirectSend is off$/m);
  });

  test('CLI: without a given gateway the baseline\'s gateway is used, so a deleted connector is a change', async () => {
    const deleted = applyOps(locked, [{ cmdlet: 'Remove-InboundConnector', identity: 'From Secure Email Gateway (certificate)' }]);
    const before = await temp.file('with-connector.json', JSON.stringify(locked));
    const now = await temp.file('without-connector.json', JSON.stringify(deleted));
    const run = await cli('drift', now, '--baseline', before);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stdout, /inferred from the baseline /);
    assert.match(run.stdout, /^✗ EOPL-002 the gateway connector was removed or disabled$/m);
  });

  test('CLI: a failure of an invariant that did not apply in the baseline is stated, under its own heading', async () => {
    // With the baseline's certificate connector, address coverage (EOPL-007) does not apply; unrestricted, it does.
    const loosened = applyOps(locked, [{ cmdlet: 'Set-InboundConnector', identity: 'From Secure Email Gateway (certificate)', parameters: { RestrictDomainsToCertificate: false } }]);
    const before = await temp.file('restricted.json', JSON.stringify(locked));
    const now = await temp.file('unrestricted.json', JSON.stringify(loosened));
    const json = JSON.parse((await cli('drift', now, '--baseline', before, '--format', 'json')).stdout) as { failing: { id: string; statement: string; baselineStatus: string }[] };
    const notApplicable = json.failing.filter((item) => item.baselineStatus === 'not-applicable');
    assert.ok(notApplicable.length > 0, JSON.stringify(json.failing.map((item) => [item.id, item.baselineStatus])));
    for (const item of notApplicable) assert.equal(item.statement, INVARIANTS[item.id]?.state);
    const run = await cli('drift', now, '--baseline', before);
    assert.match(run.stdout, new RegExp(`^${notApplicable.length} invariant\\(s\\) that did not apply in the baseline and do not hold now:$`, 'm'));
    assert.match(run.stdout, /^✗ EOPL-005 the gateway connector no longer restricts$/m);
  });
});

describe('drift lists every item', () => {
  test('a failing invariant with more than five pieces of evidence shows all of them', async () => {
    const result = driftFromAudit(runAudit(exposed, profile, { file: 'x.json' }));
    const attacks = result.failing.find((finding) => finding.id === 'EOPL-090');
    const count = attacks?.evidence.length ?? 0;
    assert.ok(count > 5, `the example needs more than five items to show a cut (it has ${count})`);
    const run = await cli('drift', 'examples/contoso-exposed.json', ...SEG);
    const block = run.stdout.slice(run.stdout.indexOf('✗ EOPL-090'));
    const section = block.slice(0, block.indexOf('    Fix:'));
    assert.equal(section.split('\n').filter((line) => line.startsWith('    • proof.')).length, count);
    for (const evidence of attacks?.evidence ?? []) assert.ok(section.includes(`• ${evidence.path}:`), evidence.path);
  });

  test('every failing invariant is listed, and the count says how many were checked', async () => {
    const result = driftFromAudit(runAudit(exposed, profile, { file: 'x.json' }));
    const run = await cli('drift', 'examples/contoso-exposed.json', ...SEG);
    assert.deepEqual(statementLines(run.stdout).map((line) => line.split(' ')[1]), result.failing.map((finding) => finding.id));
    assert.match(run.stdout, new RegExp(`${result.failing.length} of ${result.failing.length + result.holding.length} invariant\\(s\\) do not hold`));
  });
});
