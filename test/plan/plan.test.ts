/**
 * The plan: operations, exact rollback (property-tested), the emulator's verdict on the result, idempotence,
 * determinism, golden files, generated PowerShell that parses, and the CLI.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Language, Parser, type Node } from 'web-tree-sitter';
import { runAudit } from '../../src/audit/run.js';
import { builtinCorpus, corpusOutcome } from '../../src/corpus/builtin.js';
import { decide } from '../../src/eop/decide.js';
import { InputError } from '../../src/errors.js';
import { applyOps, type Op } from '../../src/plan/ops.js';
import { buildPlan, connectorBlocks, DEFAULT_CONNECTOR_NAME, DEFAULT_RULE_NAME, defaultPlan, defaultPlanAfter, type PlanOptions } from '../../src/plan/plan.js';
import { renderPlan } from '../../src/plan/render.js';
import { rollbackOps } from '../../src/plan/rollback.js';
import { compileIpList, ipv4Interval } from '../../src/eop/ip.js';
import { givenProfile, inferProfile } from '../../src/profile/profile.js';
import { loadSnapshotFile } from '../../src/snapshot/load.js';
import type { Snapshot } from '../../src/snapshot/parse.js';
import { cli, tempFolder } from '../helpers/cli.js';
import { partnerConnector, rule, SEG_IPS, tenant } from '../helpers/tenant.js';
import { GOLDEN_PLANS, goldenFiles } from './golden-cases.js';

const OPTIONS: PlanOptions = {
  allowDirectSend: [{ ip: '192.0.2.25', name: 'Office scanners (192.0.2.25)' }],
  safetyNet: 'reject',
  ruleName: DEFAULT_RULE_NAME,
  connectorName: DEFAULT_CONNECTOR_NAME,
};

/** The parts of a snapshot a plan can touch, with absent, null and empty lists made equal. */
function touchable(snapshot: Snapshot): unknown {
  const clean = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(clean);
    if (value && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value)
          .filter(([, v]) => v !== null && v !== undefined && !(Array.isArray(v) && v.length === 0))
          .map(([k, v]) => [k, clean(v)]),
      );
    }
    return value;
  };
  const byName = <T extends { Name: string }>(items: T[]) => [...items].sort((a, b) => a.Name.localeCompare(b.Name));
  return clean({ org: snapshot.OrganizationConfig, connectors: byName(snapshot.InboundConnector), rules: byName(snapshot.TransportRule) });
}

const examples = await Promise.all(['exposed', 'partial', 'locked'].map(async (name) => ({ name, snapshot: (await loadSnapshotFile(`examples/contoso-${name}.json`)).snapshot })));

describe('the configuration after the default plan, alone (what impact compares with)', () => {
  test('is the default plan\'s, on every example tenant', async () => {
    for (const name of ['contoso-exposed', 'contoso-partial', 'contoso-locked']) {
      const { snapshot } = await loadSnapshotFile(`examples/${name}.json`);
      const profile = inferProfile(snapshot);
      assert.deepEqual(defaultPlanAfter(snapshot, profile), defaultPlan(snapshot, profile).after, name);
    }
  });

  test('refuses what the plan refuses, with the same error', async () => {
    const { snapshot } = await loadSnapshotFile('examples/contoso-exposed.json');
    const wide = givenProfile({ ips: ['0.0.0.0/0'] });
    assert.throws(() => defaultPlan(snapshot, wide), InputError);
    assert.throws(() => defaultPlanAfter(snapshot, wide), (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.throws(() => defaultPlan(snapshot, wide), { message: error.message });
      return true;
    });
  });
});

describe('applyOps', () => {
  test('a new rule at priority 0 shifts the others down; removing it shifts them back (S18)', () => {
    const s = tenant({ rules: [rule({ Name: 'a', Priority: 0 }), rule({ Name: 'b', Priority: 1 })] });
    const after = applyOps(s, [{ cmdlet: 'New-TransportRule', name: 'net', parameters: { Priority: 0, Quarantine: true } }]);
    assert.deepEqual(after.TransportRule.map((r) => [r.Name, r.Priority]).sort(), [['a', 1], ['b', 2], ['net', 0]]);
    const back = applyOps(after, [{ cmdlet: 'Remove-TransportRule', identity: 'net' }]);
    assert.deepEqual(back.TransportRule.map((r) => [r.Name, r.Priority]), [['a', 0], ['b', 1]]);
    assert.equal(s.TransportRule.length, 2, 'the input is not changed');
  });

  test('New-TransportRule -Enabled is stored as State; an unknown identity is an error', () => {
    const after = applyOps(tenant(), [{ cmdlet: 'New-TransportRule', name: 'x', parameters: { Enabled: false } }]);
    assert.equal(after.TransportRule[0]?.State, 'Disabled');
    assert.throws(() => applyOps(tenant(), [{ cmdlet: 'Set-InboundConnector', identity: 'nope', parameters: {} }]), /no inbound connector "nope"/);
  });
});

describe('rollback', () => {
  const connectorNames = ['SEG', 'Scanner', 'Hybrid'];
  const generatedTenant = fc
    .record({
      rds: fc.boolean(),
      connectors: fc.subarray(connectorNames, { minLength: 1 }),
      restrict: fc.boolean(),
      rules: fc.array(fc.constantFrom('Audit', 'Enforce'), { maxLength: 4 }),
    })
    .map(({ rds, connectors, restrict, rules }) =>
      tenant({
        rejectDirectSend: rds,
        connectors: connectors.map((name, index) => partnerConnector({ Name: name, SenderIPAddresses: [`203.0.113.${10 + index}`], RestrictDomainsToIPAddresses: restrict && index === 0 })),
        rules: rules.map((mode, index) => rule({ Name: `rule ${index}`, Priority: index, Mode: mode, SetSCL: -1, State: index % 2 ? 'Disabled' : 'Enabled' })),
      }),
    );
  const op = (s: Snapshot): fc.Arbitrary<Op> => {
    const connectors = s.InboundConnector.map((c) => c.Name);
    const rules = s.TransportRule.map((r) => r.Name);
    const choices: fc.Arbitrary<Op>[] = [
      fc.boolean().map((value) => ({ cmdlet: 'Set-OrganizationConfig', parameters: { RejectDirectSend: value } }) as Op),
      fc.constantFrom(...connectors).chain((name) =>
        fc
          .record({ RestrictDomainsToIPAddresses: fc.boolean(), RequireTls: fc.boolean(), SenderIPAddresses: fc.constantFrom([], ['198.51.100.0/24'], ['203.0.113.10', '203.0.113.11']), EFUsers: fc.constantFrom(null, ['ceo@contoso.com']) }, { requiredKeys: [] })
          .map((parameters) => ({ cmdlet: 'Set-InboundConnector', identity: name, parameters }) as Op),
      ),
      fc.nat(5).map((priority) => ({ cmdlet: 'New-TransportRule', name: 'eoplock net', parameters: { Priority: priority, Quarantine: true, Mode: 'Audit' } }) as Op),
      fc.constant({ cmdlet: 'New-InboundConnector', name: 'eoplock new', parameters: { SenderDomains: ['*'], SenderIPAddresses: ['192.0.2.0/24'] } } as Op),
    ];
    if (rules.length > 0) {
      choices.push(
        fc.tuple(fc.constantFrom(...rules), fc.constantFrom('Audit', 'Enforce'), fc.nat(rules.length - 1)).map(([name, mode, priority]) => ({ cmdlet: 'Set-TransportRule', identity: name, parameters: { Mode: mode, Priority: priority } }) as Op),
        fc.tuple(fc.constantFrom(...rules), fc.boolean()).map(([name, on]) => ({ cmdlet: on ? 'Enable-TransportRule' : 'Disable-TransportRule', identity: name }) as Op),
      );
    }
    return fc.oneof(...choices);
  };
  const dedupe = (ops: Op[]) => {
    const seen = new Set<string>();
    return ops.filter((o) => !(o.cmdlet.startsWith('New-') && 'name' in o && (seen.has(o.name) || !seen.add(o.name))));
  };

  test('apply(rollback, apply(plan, s)) restores every touched property, for generated tenants and operations', () => {
    fc.assert(
      fc.property(generatedTenant.chain((s) => fc.tuple(fc.constant(s), fc.array(op(s), { minLength: 1, maxLength: 6 }).map(dedupe))), ([s, ops]) => {
        const after = applyOps(s, ops);
        const restored = applyOps(after, rollbackOps(s, ops));
        assert.deepEqual(touchable(restored), touchable(s));
      }),
      { numRuns: 500 },
    );
  });

  test('the example plans roll back exactly, phase by phase in reverse order', () => {
    for (const { snapshot } of examples) {
      const plan = buildPlan(snapshot, inferProfile(snapshot), OPTIONS);
      let state = plan.after;
      for (const phase of [...plan.phases].reverse()) state = applyOps(state, phase.rollback);
      assert.deepEqual(touchable(state), touchable(snapshot));
    }
  });
});

describe('buildPlan on the examples', () => {
  for (const { name, snapshot } of examples) {
    test(`${name}: after the plan, every attack is blocked and the gateway, hybrid and named Direct Send paths still work`, () => {
      const plan = buildPlan(snapshot, inferProfile(snapshot), OPTIONS);
      const profile = inferProfile(snapshot);
      for (const entry of builtinCorpus(plan.after, profile)) {
        const outcome = corpusOutcome(entry, decide(plan.after, entry.transaction));
        if (entry.kind === 'attack') assert.ok(outcome === 'blocked' || outcome === 'contained', `${entry.id}: ${outcome}`);
        else assert.equal(outcome, 'delivered', entry.id);
      }
      const scanner = decide(plan.after, { clientIp: '192.0.2.25', mailFrom: 'scanner@contoso.com', rcptTo: ['user@contoso.com'], headers: [{ name: 'From', value: 'scanner@contoso.com' }] });
      assert.equal(scanner.disposition, 'deliver');
      const audit = runAudit(plan.after, profile, { file: 'expected-after.json' });
      const failing = audit.findings.filter((f) => f.status === 'fail').map((f) => f.id);
      for (const id of ['EOPL-001', 'EOPL-002', 'EOPL-004', 'EOPL-005', 'EOPL-010', 'EOPL-013', 'EOPL-014', 'EOPL-015', 'EOPL-016', 'EOPL-017', 'EOPL-022', 'EOPL-090', 'EOPL-091']) {
        assert.ok(!failing.includes(id), `${id} passes after the plan`);
      }
    });

    test(`${name}: planning again on the result changes nothing (idempotent)`, () => {
      const plan = buildPlan(snapshot, inferProfile(snapshot), OPTIONS);
      const again = buildPlan(plan.after, inferProfile(snapshot), OPTIONS);
      assert.deepEqual(again.phases.map((p) => p.ops), again.phases.map(() => []));
    });
  }

  test('the locked example needs no change at all; its existing safety net is adopted', () => {
    const locked = examples[2]?.snapshot as Snapshot;
    const plan = buildPlan(locked, inferProfile(locked), OPTIONS);
    assert.deepEqual(plan.phases.map((p) => p.ops.length), [0, 0, 0, 0, 0, 0]);
    assert.match(plan.phases[0]?.notes.join(' ') ?? '', /kept as the safety net/);
  });

  test('the exposed plan: the safety net applies to all messages, in Audit first, Enforce last', () => {
    const exposed = examples[0]?.snapshot as Snapshot;
    const plan = buildPlan(exposed, inferProfile(exposed), OPTIONS);
    const create = plan.phases[0]?.ops[0];
    assert.equal(create?.cmdlet, 'New-TransportRule');
    if (create?.cmdlet !== 'New-TransportRule') return;
    assert.equal(create.parameters.FromScope, undefined);
    assert.equal(create.parameters.Mode, 'Audit');
    assert.equal(create.parameters.Priority, 0);
    assert.deepEqual(create.parameters.ExceptIfSenderIpRanges, [...SEG_IPS, '192.0.2.25']);
    assert.deepEqual(plan.phases.at(-1)?.ops, [{ cmdlet: 'Set-TransportRule', identity: DEFAULT_RULE_NAME, parameters: { Mode: 'Enforce' } }]);
    assert.ok(plan.phases[0]?.expected.some((e) => e.kind === 'attack' && e.outcome === 'got-in'), 'Audit mode stops nothing');
    for (const phase of plan.phases.slice(1)) assert.ok(phase.expected.every((e) => e.outcome !== 'broken'), `${phase.id}: nothing legitimate breaks in between`);
  });
});

describe('buildPlan choices and refusals', () => {
  const t = tenant({ connectors: [partnerConnector()] });
  test('a certificate profile: restricted by certificate, addresses cleared (not mixed), EF skip list = gateway IPv4', () => {
    const plan = buildPlan(t, givenProfile({ ips: [...SEG_IPS, '2001:db8::1'], certificateName: '*.seg.example.net' }), { ...OPTIONS, allowDirectSend: [] });
    const op = plan.phases[1]?.ops.find((o) => o.cmdlet === 'Set-InboundConnector');
    assert.ok(op && op.cmdlet === 'Set-InboundConnector');
    assert.equal(op.parameters.RestrictDomainsToCertificate, true);
    assert.equal(op.parameters.SenderIPAddresses, null);
    const ef = plan.phases[2]?.ops.find((o) => o.cmdlet === 'Set-InboundConnector');
    assert.ok(ef && ef.cmdlet === 'Set-InboundConnector', 'Enhanced Filtering in a phase of its own');
    assert.deepEqual(ef.parameters.EFSkipIPs, SEG_IPS);
  });

  test('wide gateway ranges become /24 blocks', () => {
    const plan = buildPlan(tenant(), givenProfile({ ips: ['198.51.100.0/23', '203.0.113.5-203.0.113.9'] }), { ...OPTIONS, allowDirectSend: [] });
    const op = plan.phases[1]?.ops.find((o) => o.cmdlet === 'New-InboundConnector');
    assert.ok(op && op.cmdlet === 'New-InboundConnector');
    assert.deepEqual(op.parameters.SenderIPAddresses, ['198.51.100.0/24', '198.51.101.0/24', '203.0.113.5', '203.0.113.6/31', '203.0.113.8/31']);
  });

  for (const [name, profile, options, message] of [
    ['no gateway', givenProfile({}), OPTIONS, /no gateway is known/],
    ['a certificate without addresses', givenProfile({ certificateName: '*.seg.example.net' }), OPTIONS, /needs the gateway's addresses/],
    ['IPv6 gateway addresses without a certificate', givenProfile({ ips: ['2001:db8::1'] }), OPTIONS, /IPv6 .* --seg-cert/],
    ['a Direct Send source wider than /24', givenProfile({ ips: SEG_IPS }), { ...OPTIONS, allowDirectSend: [{ ip: '10.0.0.0/16', name: 'x' }] }, /wider than \/24/],
  ] as const) {
    test(`refuses ${name}`, () => {
      assert.throws(() => buildPlan(t, profile, options), (error: unknown) => error instanceof InputError && message.test(error.message));
    });
  }

  test('connectorBlocks covers exactly the input, with /24–/32 blocks', () => {
    const octet = fc.integer({ min: 0, max: 255 });
    fc.assert(
      fc.property(fc.tuple(octet, octet, octet, octet), fc.integer({ min: 16, max: 32 }), (parts, bits) => {
        const input = `${parts.join('.')}/${bits}`;
        const blocks = connectorBlocks(compileIpList([input]).entries);
        const wanted = ipv4Interval(compileIpList([input]).entries[0]!)!;
        let covered = 0;
        let next = wanted[0];
        for (const block of blocks) {
          const entry = compileIpList([block]).entries[0]!;
          assert.ok(entry.form === 'single' || (entry.prefix ?? 0) >= 24, block);
          const [low, high] = ipv4Interval(entry)!;
          assert.equal(low, next, 'contiguous, in order');
          next = high + 1;
          covered += high - low + 1;
        }
        assert.equal(covered, wanted[1] - wanted[0] + 1);
      }),
      { numRuns: 300 },
    );
  });
});

describe('rendered files', () => {
  const require = createRequire(import.meta.url);
  test('deterministic: the same input gives byte-identical files', () => {
    const exposed = examples[0]?.snapshot as Snapshot;
    const a = renderPlan(buildPlan(exposed, inferProfile(exposed), OPTIONS), 'exporter');
    const b = renderPlan(buildPlan(structuredClone(exposed), inferProfile(exposed), OPTIONS), 'exporter');
    assert.deepEqual(a, b);
  });

  test('the committed example plans regenerate identically (golden files; `npm run golden` updates them)', async () => {
    for (const example of GOLDEN_PLANS) {
      const folder = join('examples', 'plans', example.name);
      const committed: Record<string, string> = {};
      const walk = async (dir: string): Promise<void> => {
        for (const entry of await readdir(dir)) {
          const path = join(dir, entry);
          if ((await stat(path)).isDirectory()) await walk(path);
          else committed[relative(folder, path)] = await readFile(path, 'utf8');
        }
      };
      await walk(folder);
      assert.deepEqual(await goldenFiles(example), committed, example.name);
    }
  });

  test('every generated script parses as PowerShell, with the safety measures in place', async () => {
    await Parser.init();
    const parser = new Parser();
    parser.setLanguage(await Language.load(require.resolve('tree-sitter-powershell/tree-sitter-powershell.wasm')));
    for (const example of GOLDEN_PLANS) {
      for (const [name, content] of Object.entries(await goldenFiles(example))) {
        if (!name.endsWith('.ps1')) continue;
        const tree = parser.parse(content);
        const errors: string[] = [];
        const visit = (node: Node) => {
          if (node.type === 'ERROR' || node.isMissing) errors.push(`${name}:${node.startPosition.row + 1}: ${node.text.slice(0, 50)}`);
          for (const child of node.children) if (child) visit(child);
        };
        if (tree) visit(tree.rootNode);
        assert.deepEqual(errors, [], `${example.name}/${name}`);
        // Scripts that change something offer -WhatIf; verify and backup change nothing and say so.
        const readOnly = name.startsWith('verify/') || name === '00-backup.ps1';
        if (readOnly) {
          assert.match(content, /\[CmdletBinding\(\)\]/, name);
          assert.match(content, /Read-only: changes nothing/, name);
          assert.doesNotMatch(content, /WhatIf|SupportsShouldProcess/, name);
        } else {
          assert.match(content, /\[CmdletBinding\(SupportsShouldProcess\)\]/, name);
          assert.match(content, /Run it with -WhatIf first/, name);
          assert.match(content, name.startsWith('rollback/') ? /Changes the tenant back/ : /Changes the tenant\./, name);
        }
        assert.match(content, /Set-StrictMode -Version Latest/);
        assert.match(content, /\$ErrorActionPreference = 'Stop'/);
        assert.match(content, /Connect-ExchangeOnline first/);
        if (name.startsWith('verify/')) assert.doesNotMatch(content, /\b(Set|New|Remove|Enable|Disable)-(InboundConnector|TransportRule|OrganizationConfig)\b/, 'verify is read-only');
      }
    }
  });

  test('a hostile rule name reaches the scripts only as a quoted literal', () => {
    const hostile = "x'; Remove-InboundConnector * ; '‘$(whoami)";
    const plan = buildPlan(tenant({ connectors: [partnerConnector()] }), givenProfile({ ips: SEG_IPS }), { ...OPTIONS, allowDirectSend: [], ruleName: hostile });
    const files = renderPlan(plan, '');
    assert.match(files['01-safety-net-audit.ps1'] ?? '', /\$identity = 'x''; Remove-InboundConnector \* ; ''‘‘\$\(whoami\)'/);
  });
});

describe('eoplock plan (CLI)', () => {
  const temp = tempFolder('eoplock-plan-');
  test('writes the folder, refuses to overwrite without --force, replaces it with --force', async () => {
    const out = join(temp.path(), 'plan');
    const first = await cli('plan', 'examples/contoso-exposed.json', '--out', out, '--allow-direct-send', '192.0.2.25=Office scanners (192.0.2.25)');
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /0 of 8 attacks accepted by EOP without passing the gateway, 0 of \d+ known legitimate paths break/);
    const names = (await readdir(out)).sort();
    assert.deepEqual(names, ['00-backup.ps1', '01-safety-net-audit.ps1', '02-connectors.ps1', '03-enhanced-filtering.ps1', '04-spam-filter-bypasses.ps1', '05-reject-direct-send.ps1', '06-safety-net-enforce.ps1', 'Export-EoplockSnapshot.ps1', 'PLAN.md', 'expected-after.json', 'rollback', 'verify']);
    const again = await cli('plan', 'examples/contoso-exposed.json', '--out', out);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /the folder exists; add --force/);
    assert.equal((await cli('plan', 'examples/contoso-exposed.json', '--out', out, '--force')).code, 0);
    const after = JSON.parse(await readFile(join(out, 'expected-after.json'), 'utf8')) as unknown;
    const audited = await cli('audit', join(out, 'expected-after.json'), '--format', 'json', '--fail-on', 'none');
    assert.equal((JSON.parse(audited.stdout) as { summary: { attacksIn: number } }).summary.attacksIn, 0);
    assert.ok(after);
  });

  test('bad input exits 2 naming the place', async () => {
    const bad = await cli('plan', 'examples/contoso-exposed.json', '--out', join(temp.path(), 'x'), '--allow-direct-send', '2001:db8::5=Printer');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--allow-direct-send\[0\]: 2001:db8::5 is IPv6/);
    const missing = await cli('plan', 'examples/contoso-exposed.json');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /required option '-o, --out <dir>'/);
  });
});
