/**
 * Drift (the lockdown invariants, failing ones stated) and diff (property-level changes between snapshots).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runAudit } from '../../src/audit/run.js';
import { diffSnapshots } from '../../src/diff/diff.js';
import { driftFromAudit, INVARIANTS } from '../../src/drift/drift.js';
import { CATALOGUE } from '../../src/audit/catalogue.js';
import { applyOps } from '../../src/plan/ops.js';
import { givenProfile, inferProfile } from '../../src/profile/profile.js';
import { loadSnapshotFile } from '../../src/snapshot/load.js';
import { cli, tempFolder } from '../helpers/cli.js';

const locked = (await loadSnapshotFile('examples/contoso-locked.json')).snapshot;
const profile = givenProfile({ ips: ['203.0.113.10', '203.0.113.11', '198.51.100.0/28'], certificateName: '*.seg.example.net', file: { mxHosts: ['mx1.seg.example.net', 'mx2.seg.example.net'] } });
const temp = tempFolder('eoplock-drift-');
const drift = (snapshot: typeof locked) => driftFromAudit(runAudit(snapshot, profile, { file: 'x.json' }));

describe('drift', () => {
  test('every invariant is a check of the catalogue', () => {
    for (const id of Object.keys(INVARIANTS)) assert.ok(CATALOGUE.some((meta) => meta.id === id), id);
  });

  test('the locked example holds', () => {
    const result = drift(locked);
    assert.deepEqual(result.failing, []);
    assert.ok(result.holding.length >= 14);
  });

  const regressions: [string, Parameters<typeof applyOps>[1], string][] = [
    ['RejectDirectSend turned off', [{ cmdlet: 'Set-OrganizationConfig', parameters: { RejectDirectSend: false } }], 'EOPL-001'],
    ['the connector loosened', [{ cmdlet: 'Set-InboundConnector', identity: 'From Secure Email Gateway (certificate)', parameters: { RestrictDomainsToCertificate: false } }], 'EOPL-005'],
    ['the connector disabled', [{ cmdlet: 'Set-InboundConnector', identity: 'From Secure Email Gateway (certificate)', parameters: { Enabled: false } }], 'EOPL-002'],
    ['the certificate name changed', [{ cmdlet: 'Set-InboundConnector', identity: 'From Secure Email Gateway (certificate)', parameters: { TlsSenderCertificateName: '*.example.net' } }], 'EOPL-011'],
    ['an accepted domain left out', [{ cmdlet: 'Set-InboundConnector', identity: 'From Secure Email Gateway (certificate)', parameters: { AssociatedAcceptedDomains: ['contoso.com'] } }], 'EOPL-034'],
    ['the safety net moved to Audit', [{ cmdlet: 'Set-TransportRule', identity: 'Quarantine mail not from SEG, on-premises or scanners', parameters: { Mode: 'Audit' } }], 'EOPL-014'],
    ['the safety net disabled', [{ cmdlet: 'Disable-TransportRule', identity: 'Quarantine mail not from SEG, on-premises or scanners' }], 'EOPL-014'],
    [
      'the safety net shadowed by a new allow rule',
      [{ cmdlet: 'New-TransportRule', name: 'Allow partner', parameters: { Priority: 0, SenderDomainIs: ['partner.example'], SetSCL: -1, StopRuleProcessing: true } }],
      'EOPL-015',
    ],
  ];
  for (const [name, ops, id] of regressions) {
    test(`${name} is the regression ${id}`, () => {
      const result = drift(applyOps(locked, ops));
      assert.ok(result.failing.some((finding) => finding.id === id), result.failing.map((f) => f.id).join(', '));
    });
  }

  test('a new accepted domain whose MX is not at the gateway is a regression', () => {
    const changed = structuredClone(locked);
    changed.AcceptedDomain.push({ ...changed.AcceptedDomain[0]!, DomainName: 'contoso.de', Default: false });
    changed.Dns['contoso.de'] = { MX: ['0 contoso-de.mail.protection.outlook.com'], TXT: ['v=spf1 -all'], DMARC: ['v=DMARC1; p=reject;'], DKIM: {} };
    assert.ok(drift(changed).failing.some((finding) => finding.id === 'EOPL-033'));
  });

  test('CLI: exit 0 when it holds, 1 when an invariant fails, 1 when no lockdown is found', async () => {
    assert.equal((await cli('drift', 'examples/contoso-locked.json')).code, 0);
    const partial = await cli('drift', 'examples/contoso-partial.json');
    assert.equal(partial.code, 1);
    assert.match(partial.stdout, /EOPL-005 the gateway connector does not restrict/);
    const bare = await temp.file(
      'bare.json',
      JSON.stringify({ Meta: { eoplockSnapshot: 1, tenant: 'Bare' }, OrganizationConfig: {}, AcceptedDomain: [{ DomainName: 'fabrikam.example', DomainType: 'Authoritative' }] }),
    );
    const none = await cli('drift', bare);
    assert.equal(none.code, 1);
    assert.match(none.stdout, /No gateway lockdown found to check/);
  });

  test('inferred profile on the locked example holds too', () => {
    assert.deepEqual(driftFromAudit(runAudit(locked, inferProfile(locked), { file: 'x' })).failing, []);
  });
});

describe('diff', () => {
  test('property-level changes, added and removed objects; volatile properties ignored', () => {
    const after = applyOps(locked, [
      { cmdlet: 'Set-OrganizationConfig', parameters: { RejectDirectSend: false } },
      { cmdlet: 'New-InboundConnector', name: 'New one', parameters: { SenderDomains: ['*'] } },
      { cmdlet: 'Set-TransportRule', identity: 'External sender banner', parameters: { Mode: 'Audit' } },
    ]);
    (after.OrganizationConfig[0] as Record<string, unknown>).WhenChanged = '2030-01-01T00:00:00Z';
    const changes = diffSnapshots(locked, after);
    assert.deepEqual(changes, [
      { section: 'OrganizationConfig', object: 'OrganizationConfig', kind: 'changed', property: 'RejectDirectSend', before: true, after: false },
      { section: 'InboundConnector', object: 'New one', kind: 'added', properties: after.InboundConnector.find((c) => c.Name === 'New one') },
      { section: 'TransportRule', object: 'External sender banner', kind: 'changed', property: 'Mode', before: 'Enforce', after: 'Audit' },
    ]);
    assert.deepEqual(diffSnapshots(locked, structuredClone(locked)), []);
  });

  test('CLI: exit 1 with differences, 0 without; JSON lists them', async () => {
    const same = await cli('diff', 'examples/contoso-locked.json', 'examples/contoso-locked.json');
    assert.equal(same.code, 0);
    assert.match(same.stdout, /No configuration differences/);
    const different = await cli('diff', 'examples/contoso-partial.json', 'examples/contoso-locked.json', '--format', 'json');
    assert.equal(different.code, 1);
    const parsed = JSON.parse(different.stdout) as { changes: { section: string; object: string; property?: string }[] };
    assert.ok(parsed.changes.some((c) => c.section === 'TransportRule' && c.object === 'BLOCK - Direct EOP Ingress (Bypass SEG)'));
    const missing = await cli('diff', 'examples/contoso-locked.json', `${temp.path()}/nope.json`);
    assert.equal(missing.code, 2);
  });
});
