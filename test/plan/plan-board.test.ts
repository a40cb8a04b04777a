/**
 * A plan a change board signs (issue 17, items 1–6): no known sender broken (or the command refuses), one safety net,
 * a phase per risk, quarantine by default, PLAN.md with old → new tables, risks, checks, audit period and rollback, and
 * scripts that say what they are.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { applyOps, type Op } from '../../src/plan/ops.js';
import { addressListProblems, buildPlan, defaultPlan, DEFAULT_CONNECTOR_NAME, DEFAULT_RULE_NAME, type Plan, type PlanOptions } from '../../src/plan/plan.js';
import { renderPlan } from '../../src/plan/render.js';
import { compileIpList } from '../../src/eop/ip.js';
import { givenProfile, inferProfile } from '../../src/profile/profile.js';
import { loadSnapshotFile } from '../../src/snapshot/load.js';
import { parseSnapshot } from '../../src/snapshot/parse.js';
import { cli, tempFolder } from '../helpers/cli.js';
import { acceptedDomains, onPremisesConnector, partnerConnector, rule, SEG_IPS, tenant } from '../helpers/tenant.js';

const OPTIONS: PlanOptions = { allowDirectSend: [], safetyNet: 'quarantine', ruleName: DEFAULT_RULE_NAME, connectorName: DEFAULT_CONNECTOR_NAME };
const TRACE = 'examples/traces/contoso-message-trace.csv';
const temp = tempFolder('eoplock-plan-board-');
let outs = 0;
const out = () => join(temp.path(), `plan-${++outs}`);

const phase = (plan: Plan, id: string) => {
  const found = plan.phases.find((p) => p.id === id);
  assert.ok(found, `phase ${id}`);
  return found;
};
const created = (plan: Plan) => plan.phases[0]?.ops.find((op): op is Extract<Op, { cmdlet: 'New-TransportRule' }> => op.cmdlet === 'New-TransportRule');

/** The guide's safety net: FromScope NotInOrganization, rejecting, the gateway excepted. */
const GUIDE_RULE = rule({
  Name: 'Guide: reject mail not from the SEG',
  FromScope: 'NotInOrganization',
  ExceptIfSenderIpRanges: SEG_IPS,
  RejectMessageReasonText: 'Not via the SEG',
  RejectMessageEnhancedStatusCode: '5.7.1',
});

describe('never break a known sender', () => {
  test('contoso-partial: the scanner connector is an exception of the safety net, 0 legitimate paths break', async () => {
    const { snapshot } = await loadSnapshotFile('examples/contoso-partial.json');
    const plan = buildPlan(snapshot, inferProfile(snapshot), OPTIONS);
    const except = created(plan)?.parameters.ExceptIfSenderIpRanges;
    assert.ok(Array.isArray(except) && except.includes('192.0.2.25'), `the scanner is excepted: ${String(except)}`);
    assert.deepEqual(plan.broken, []);
    assert.equal(plan.proof.brokenLegitimate, 0);
    const last = plan.phases.at(-1)?.expected ?? [];
    assert.ok(last.some((entry) => entry.kind === 'legitimate'));
    assert.deepEqual(last.filter((entry) => entry.kind === 'legitimate' && entry.outcome === 'broken'), []);
  });

  test('every enabled connector matched by IP is excepted; a disabled one is not', () => {
    const t = tenant({
      connectors: [
        partnerConnector(),
        partnerConnector({ Name: 'Invoicing app', SenderIPAddresses: ['192.0.2.60'], SenderDomains: ['smtp:contoso.com;1'] }),
        partnerConnector({ Name: 'Old scanner', Enabled: false, SenderIPAddresses: ['192.0.2.70'], SenderDomains: ['smtp:contoso.com;1'] }),
        onPremisesConnector(),
      ],
    });
    const plan = buildPlan(t, givenProfile({ ips: SEG_IPS }), OPTIONS);
    const except = created(plan)?.parameters.ExceptIfSenderIpRanges as string[];
    assert.deepEqual(except, [...SEG_IPS, '192.0.2.60']);
    assert.match(plan.phases[0]?.notes.join(' ') ?? '', /"Invoicing app" matches by IP/);
    assert.match(plan.phases[0]?.notes.join(' ') ?? '', /"Inbound from on-premises" matches by certificate .*AuthAs Internal/);
  });

  test('contoso-exposed: the SPF source is a candidate with its exact --allow-direct-send argument, and the plan is written', async () => {
    const dir = out();
    const result = await cli('plan', 'examples/contoso-exposed.json', '--out', dir);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /0 of \d+ known legitimate paths break/);
    assert.match(result.stdout, /192\.0\.2\.25: Direct Send from SPF source 192\.0\.2\.25; .* add --allow-direct-send '192\.0\.2\.25=Direct Send from contoso\.com \(192\.0\.2\.25\)'/);
    assert.match(await readFile(join(dir, 'PLAN.md'), 'utf8'), /\| 192\.0\.2\.25 \| Direct Send from SPF source 192\.0\.2\.25 \|/);
  });

  test("SPF include: sources are candidates (not Exchange Online's own include)", () => {
    const withSpf = parseSnapshot({
      Meta: { eoplockSnapshot: 1, tenant: 'Contoso', initialDomain: 'contoso.onmicrosoft.com' },
      OrganizationConfig: { Name: 'contoso.onmicrosoft.com', RejectDirectSend: false },
      AcceptedDomain: acceptedDomains(),
      InboundConnector: [partnerConnector()],
      Dns: { 'contoso.com': { MX: ['10 mx1.seg.example.net'], TXT: ['v=spf1 include:spf.protection.outlook.com include:mailer.example -all'] } },
    }).snapshot;
    const plan = buildPlan(withSpf, givenProfile({ ips: SEG_IPS }), OPTIONS);
    assert.deepEqual(plan.candidates.map((candidate) => [candidate.source, candidate.argument]), [['include:mailer.example', null]]);
    assert.match(renderPlan(plan, '')['PLAN.md'] ?? '', /\| include:mailer\.example \| contoso\.com's SPF record includes mailer\.example \| .* \| resolve its addresses first \|/);
  });

  test('--trace: the invoicing service is named with its argument, the command exits 1 and writes nothing', async () => {
    const dir = out();
    const result = await cli('plan', 'examples/contoso-exposed.json', '--out', dir, '--trace', TRACE);
    assert.equal(result.code, 1, result.stderr);
    assert.equal(existsSync(dir), false, 'no plan folder');
    assert.match(result.stdout, /NOT written: it breaks \d+ known sender/);
    const invoicing = /198\.51\.100\.150 sending as contoso\.com \(message trace\): 3 message\(s\) accepted today, refused after the plan \(550 5\.7\.68\); keep it with (--allow-direct-send '198\.51\.100\.150=[^']+')/.exec(result.stdout);
    assert.ok(invoicing, result.stdout);
    assert.match(result.stdout, /192\.0\.2\.25 sending as contoso\.com \(message trace\)/);
    assert.match(result.stdout, /--accept-broken/);

    // The arguments printed work as they are: pasted back, those sources no longer break.
    const scanner = /keep it with (--allow-direct-send '192\.0\.2\.25=[^']+')/.exec(result.stdout);
    assert.ok(scanner);
    const args = [invoicing[1], scanner[1]].flatMap((argument) => {
      const [flag, value] = (argument ?? '').split(/ (.*)/s);
      return [flag ?? '', (value ?? '').slice(1, -1)];
    });
    const again = await cli('plan', 'examples/contoso-exposed.json', '--out', dir, '--trace', TRACE, ...args);
    assert.doesNotMatch(again.stdout, /✗ (198\.51\.100\.150|192\.0\.2\.25) /);
    // What is left (an IPv6 source no connector can serve) still needs the admin's word.
    assert.equal(again.code, 1);
    assert.match(again.stdout, /✗ 2001:db8:bad::25 sending as contoso\.com .*route it through the gateway/);
    const accepted = await cli('plan', 'examples/contoso-exposed.json', '--out', dir, '--trace', TRACE, ...args, '--accept-broken');
    assert.equal(accepted.code, 0, accepted.stderr);
    const markdown = await readFile(join(dir, 'PLAN.md'), 'utf8');
    assert.match(markdown, /\*\*1 known sender\(s\) break\*\* \(accepted with --accept-broken\)/);
    assert.match(markdown, /\| 2001:db8:bad::25 sending as contoso\.com \(message trace\) \|/);
  });
});

describe('one safety net', () => {
  const t = tenant({ connectors: [partnerConnector()], rules: [GUIDE_RULE] });
  const plan = buildPlan(t, givenProfile({ ips: SEG_IPS }), OPTIONS);

  test("the guide's NotInOrganization rule is disabled when ours enforces, and only then", () => {
    const enforce = phase(plan, '06-safety-net-enforce');
    assert.deepEqual(enforce.ops, [
      { cmdlet: 'Set-TransportRule', identity: DEFAULT_RULE_NAME, parameters: { Mode: 'Enforce' } },
      { cmdlet: 'Disable-TransportRule', identity: GUIDE_RULE.Name },
    ]);
    for (const earlier of plan.phases.slice(0, -1)) assert.ok(!earlier.ops.some((op) => op.cmdlet === 'Disable-TransportRule' && op.identity === GUIDE_RULE.Name), earlier.id);
    const blocking = plan.after.TransportRule.filter((r) => r.State === 'Enabled' && ((r as Record<string, unknown>).Quarantine === true || (r as Record<string, unknown>).RejectMessageReasonText != null));
    assert.deepEqual(blocking.map((r) => r.Name), [DEFAULT_RULE_NAME], 'one safety net after the plan');
  });

  test('its rollback enables the old rule again and sets ours back to Audit', () => {
    const enforce = phase(plan, '06-safety-net-enforce');
    assert.deepEqual(enforce.rollback, [
      { cmdlet: 'Enable-TransportRule', identity: GUIDE_RULE.Name },
      { cmdlet: 'Set-TransportRule', identity: DEFAULT_RULE_NAME, parameters: { Mode: 'Audit' } },
    ]);
    const restored = applyOps(enforce.after, enforce.rollback);
    assert.equal(restored.TransportRule.find((r) => r.Name === GUIDE_RULE.Name)?.State, 'Enabled');
    const files = renderPlan(plan, '');
    assert.match(files['rollback/06-safety-net-enforce.ps1'] ?? '', /Enable-TransportRule -Identity \$identity -Confirm:\$false/);
    assert.match(files['06-safety-net-enforce.ps1'] ?? '', /Disable-TransportRule -Identity \$identity -Confirm:\$false/);
  });

  test('an existing sound safety net is adopted, not replaced; a disabled look-alike is left alone', async () => {
    const { snapshot } = await loadSnapshotFile('examples/contoso-locked.json');
    const locked = buildPlan(snapshot, inferProfile(snapshot), OPTIONS);
    assert.ok(!locked.phases.some((p) => p.ops.some((op) => op.cmdlet === 'Disable-TransportRule')));
    const disabled = buildPlan(tenant({ connectors: [partnerConnector()], rules: [{ ...GUIDE_RULE, State: 'Disabled' }] }), givenProfile({ ips: SEG_IPS }), OPTIONS);
    assert.deepEqual(phase(disabled, '06-safety-net-enforce').ops.map((op) => op.cmdlet), ['Set-TransportRule']);
  });
});

describe('phases that isolate risk', () => {
  const bypass = rule({ Name: 'Bypass spam filtering for SEG', Priority: 0, SenderIpRanges: SEG_IPS, SetSCL: -1 });
  const t = tenant({ connectors: [partnerConnector()], rules: [bypass], connectionFilter: { IPAllowList: ['192.0.2.99'] } });
  const plan = buildPlan(t, givenProfile({ ips: SEG_IPS }), OPTIONS);

  test('Enhanced Filtering has its own phase, risk and verify; the connector phase sets no EF property', () => {
    const connectors = phase(plan, '02-connectors');
    const ef = phase(plan, '03-enhanced-filtering');
    assert.ok(connectors.ops.every((op) => !('parameters' in op) || Object.keys(op.parameters).every((name) => !name.startsWith('EF'))));
    assert.deepEqual(ef.ops, [{ cmdlet: 'Set-InboundConnector', identity: 'From SEG', parameters: { EFSkipIPs: SEG_IPS } }]);
    assert.match(ef.risk, /ALL inbound mail/);
    assert.notEqual(ef.risk, connectors.risk);
    assert.match(renderPlan(plan, '')['verify/03-enhanced-filtering.ps1'] ?? '', /EFSkipIPs = @\('203\.0\.113\.10', '203\.0\.113\.11', '198\.51\.100\.0\/28'\)/);
  });

  test('the SCL -1 rule and the IP allow list are turned off in a phase of their own, with exact rollback', () => {
    const bypasses = phase(plan, '04-spam-filter-bypasses');
    assert.deepEqual(bypasses.ops, [
      { cmdlet: 'Disable-TransportRule', identity: bypass.Name },
      { cmdlet: 'Set-HostedConnectionFilterPolicy', identity: 'Default', parameters: { IPAllowList: null } },
    ]);
    assert.deepEqual(bypasses.rollback, [
      { cmdlet: 'Set-HostedConnectionFilterPolicy', identity: 'Default', parameters: { IPAllowList: ['192.0.2.99'] } },
      { cmdlet: 'Enable-TransportRule', identity: bypass.Name },
    ]);
    assert.deepEqual(bypasses.after.HostedConnectionFilterPolicy[0]?.IPAllowList, []);
    const restored = applyOps(bypasses.after, bypasses.rollback);
    assert.deepEqual(restored.HostedConnectionFilterPolicy[0]?.IPAllowList, ['192.0.2.99']);
    assert.equal(restored.TransportRule.find((r) => r.Name === bypass.Name)?.State, 'Enabled');
    for (const other of plan.phases.filter((p) => p.id !== bypasses.id)) assert.ok(!other.ops.some((op) => 'identity' in op && op.identity === bypass.Name), other.id);
    const files = renderPlan(plan, '');
    assert.match(files['04-spam-filter-bypasses.ps1'] ?? '', /Set-HostedConnectionFilterPolicy -Identity \$identity @changes/);
    assert.match(files['rollback/04-spam-filter-bypasses.ps1'] ?? '', /IPAllowList = @\('192\.0\.2\.99'\)/);
  });

  test('--keep-bypasses leaves them, with the risk stated', () => {
    const kept = buildPlan(t, givenProfile({ ips: SEG_IPS }), { ...OPTIONS, keepBypasses: true });
    assert.deepEqual(phase(kept, '04-spam-filter-bypasses').ops, []);
    assert.ok(kept.warnings.some((warning) => warning.includes('--keep-bypasses') && warning.includes(bypass.Name) && warning.includes('192.0.2.99')));
    assert.match(phase(kept, '04-spam-filter-bypasses').risk, /skips spam filtering/);
  });

  test('the gateway address list is rewritten only when needed, and PLAN.md says why', async () => {
    const { snapshot } = await loadSnapshotFile('examples/contoso-partial.json');
    const partial = buildPlan(snapshot, inferProfile(snapshot), OPTIONS);
    assert.ok(!phase(partial, '02-connectors').ops.some((op) => 'parameters' in op && 'SenderIPAddresses' in op.parameters), 'the list covers the gateway exactly');
    const wide = buildPlan(tenant({ connectors: [partnerConnector({ SenderIPAddresses: [...SEG_IPS, '192.0.2.0/24'] })] }), givenProfile({ ips: SEG_IPS }), OPTIONS);
    const set = phase(wide, '02-connectors').ops.find((op) => op.cmdlet === 'Set-InboundConnector');
    assert.ok(set && 'parameters' in set && Array.isArray(set.parameters.SenderIPAddresses));
    assert.match(phase(wide, '02-connectors').notes.join(' '), /because of addresses that are not the gateway's: 192\.0\.2\.0\/24/);
    assert.match(renderPlan(wide, '')['PLAN.md'] ?? '', /- Note: "From SEG" gets the address list .* because of addresses that are not the gateway's/);
    const gateway = compileIpList(SEG_IPS).entries;
    assert.deepEqual(addressListProblems(SEG_IPS, gateway), []);
    assert.match(addressListProblems(['203.0.113.10'], gateway).join(' '), /^gateway addresses not listed: 198\.51\.100\.0\/28, 203\.0\.113\.11$/);
    assert.match(addressListProblems([...SEG_IPS, '10.0.0.0/16'], gateway).join(' '), /invalid entries: 10\.0\.0\.0\/16 is wider than \/24/);
  });
});

describe('quarantine by default', () => {
  test('the command quarantines unless asked to reject', async () => {
    const dir = out();
    assert.equal((await cli('plan', 'examples/contoso-exposed.json', '--out', dir)).code, 0);
    const script = await readFile(join(dir, '01-safety-net-audit.ps1'), 'utf8');
    assert.match(script, /Quarantine = \$true/);
    assert.doesNotMatch(script, /RejectMessageReasonText/);
    const rejecting = out();
    assert.equal((await cli('plan', 'examples/contoso-exposed.json', '--out', rejecting, '--safety-net', 'reject')).code, 0);
    assert.match(await readFile(join(rejecting, '01-safety-net-audit.ps1'), 'utf8'), /RejectMessageEnhancedStatusCode = '5\.7\.1'/);
  });

  test('the default plan and the locked example agree: quarantine', async () => {
    const { snapshot } = await loadSnapshotFile('examples/contoso-locked.json');
    assert.equal(defaultPlan(snapshot, inferProfile(snapshot)).options.safetyNet, 'quarantine');
    const net = snapshot.TransportRule.find((r) => r.Priority === 0) as Record<string, unknown> | undefined;
    assert.equal(net?.Quarantine, true);
  });
});

describe('PLAN.md for reviewers and scripts that say what they are', () => {
  const t = tenant({ connectors: [partnerConnector()], rules: [{ ...GUIDE_RULE, Name: 'Guide `rule` | old' }] });
  const plan = buildPlan(t, givenProfile({ ips: SEG_IPS }), OPTIONS);
  const files = renderPlan(plan, '');
  const markdown = files['PLAN.md'] ?? '';

  test('each phase: an old → new table, risk, go/no-go, rollback command; the audit period with its review cmdlet', () => {
    for (const p of plan.phases) {
      const section = markdown.slice(markdown.indexOf(`## ${p.id}:`), markdown.indexOf('\n## ', markdown.indexOf(`## ${p.id}:`) + 1));
      assert.match(section, /### What changes/, p.id);
      if (p.ops.length > 0) assert.match(section, /\| object \| property \| before \| after \|/, p.id);
      assert.match(section, /\*\*Risk\.\*\* \S/, p.id);
      assert.match(section, /\*\*Go\/no-go\.\*\* \S/, p.id);
      assert.ok(section.includes(`**Rollback.** \`.\\rollback\\${p.id}.ps1\``), p.id);
    }
    assert.match(markdown, /\| transport rule "From SEG"|\| inbound connector "From SEG" \| RestrictDomainsToIPAddresses \| false \| true \|/);
    assert.match(markdown, /\*\*Audit period\.\*\* 7 days/);
    assert.ok(markdown.includes(`Get-MailDetailTransportRuleReport -TransportRule '${DEFAULT_RULE_NAME}' -StartDate (Get-Date).AddDays(-7)`));
  });

  test('table cells escape | and backticks in names', () => {
    const row = markdown.split('\n').find((line) => line.includes('| State | Enabled | Disabled |'));
    assert.equal(row, '| transport rule "Guide \\`rule\\` \\| old" | State | Enabled | Disabled |');
  });

  test('apply, rollback, verify and backup scripts each have their own help; verify lists live ≠ planned values', () => {
    const apply = files['02-connectors.ps1'] ?? '';
    const rollback = files['rollback/02-connectors.ps1'] ?? '';
    const verify = files['verify/02-connectors.ps1'] ?? '';
    const backup = files['00-backup.ps1'] ?? '';
    assert.match(apply, /Changes the tenant\. Idempotent/);
    assert.match(rollback, /Changes the tenant back: restores exactly the values this phase changed/);
    for (const readOnly of [verify, backup]) {
      assert.match(readOnly, /Read-only: changes nothing/);
      assert.doesNotMatch(readOnly, /WhatIf|SupportsShouldProcess/);
    }
    assert.match(verify, /Add-EoplockMismatch "InboundConnector \$identity" \$current/);
    assert.match(verify, /live '\$live' \$\(\[char\]0x2260\) planned '\$planned'/);
  });
});
