/**
 * Every claim the audit prints is one it can back:
 * - the proof says what the emulator showed — "accepted by EOP without passing the gateway" — and where EOP's
 *   filtering would still act, never that an attack reached a mailbox (content filtering is not emulated; S32 for what
 *   an SCL -1 rule leaves: malware and high-confidence phishing);
 * - control mappings say how they relate to the framework's own text (CISA ScubaGear exo.md and securitysuite.md,
 *   ORCA's check scripts, CIS audit items), in every format;
 * - a property missing from the export is said to be absent, with Exchange Online's default (Set-OrganizationConfig
 *   S1: RejectDirectSend defaults to $false; New-InboundConnector S7), never shown as `= false`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CATALOGUE } from '../../src/audit/catalogue.js';
import { propertyEvidence } from '../../src/audit/evidence.js';
import { CONTROL_RELATIONS, type AuditResult } from '../../src/audit/model.js';
import { prove } from '../../src/prove/prove.js';
import { runAudit } from '../../src/audit/run.js';
import { givenProfile } from '../../src/profile/profile.js';
import { renderAuditJson, renderAuditJunit, renderAuditSarif } from '../../src/report/audit-formats.js';
import { renderAuditText } from '../../src/report/audit-text.js';
import { parseSnapshot } from '../../src/snapshot/parse.js';
import { SEG_IPS, acceptedDomains, partnerConnector, rule } from '../helpers/tenant.js';

const PROFILE = givenProfile({ ips: [...SEG_IPS] });

function snapshotOf(overrides: { organization?: Record<string, unknown>; connectors?: Record<string, unknown>[]; rules?: Record<string, unknown>[] } = {}) {
  return parseSnapshot({
    Meta: { eoplockSnapshot: 1, tenant: 'Contoso' },
    OrganizationConfig: [{ Name: 'Contoso', ...(overrides.organization ?? { RejectDirectSend: false }) }],
    AcceptedDomain: acceptedDomains(),
    InboundConnector: overrides.connectors ?? [partnerConnector()],
    TransportRule: overrides.rules ?? [],
    Dns: { 'contoso.com': { MX: ['10 mx1.seg.example.net'] } },
  }).snapshot;
}

function audit(overrides: Parameters<typeof snapshotOf>[0] = {}): AuditResult {
  return runAudit(snapshotOf(overrides), PROFILE, { file: 'tenant.json', classSearch: prove });
}

const finding = (result: AuditResult, id: string) => {
  const found = result.findings.find((entry) => entry.id === id);
  assert.ok(found, id);
  return found;
};

describe('EOPL-090 says what the emulator showed', () => {
  test('accepted by EOP without passing the gateway; content filtering, not emulated, may still act', () => {
    const result = audit();
    const proof = finding(result, 'EOPL-090');
    assert.equal(proof.status, 'fail');
    assert.equal(proof.title, 'Proof: no class of transaction is accepted by EOP without passing the gateway');
    assert.match(proof.summary, /^[\d,]+ class(es)? of [\d,]+ classes accepted by EOP without passing the gateway, by \d+ cause\(s\); \d+ of \d+ corpus attacks among them$/);
    for (const evidence of proof.evidence) assert.match(evidence.message, /accepted by EOP without passing the gateway; EOP's content filtering \(spam, phishing, malware — not emulated\) may still junk or quarantine it/);
    const everything = JSON.stringify(result);
    assert.doesNotMatch(everything, /reach(es|ed)? (a|the) (mailbox|inbox)/i);
    assert.match(proof.why, /content filtering .* is not emulated/);
  });

  test('with an SCL -1 rule, it says which filtering still acts (S32: malware and high-confidence phishing)', () => {
    const result = audit({ rules: [rule({ Name: 'Skip spam filtering', SetSCL: -1 })] });
    const proof = finding(result, 'EOPL-090');
    assert.ok(proof.evidence.length > 0);
    for (const evidence of proof.evidence) {
      assert.match(evidence.message, /a transport rule set SCL -1, which overrides spam, bulk and phishing verdicts — only malware and high-confidence phishing are still acted on \(S32\)/);
    }
  });

  test('without --prove, EOPL-090/091 judge the corpus and say it is a sample', () => {
    const open = runAudit(snapshotOf(), PROFILE, { file: 'tenant.json' });
    assert.match(finding(open, 'EOPL-090').summary, /^\d+ of \d+ corpus attacks accepted by EOP without passing the gateway$/);
    const locked = runAudit(snapshotOf({ organization: { RejectDirectSend: true }, connectors: [partnerConnector({ RestrictDomainsToIPAddresses: true })] }), PROFILE, { file: 'tenant.json' });
    assert.equal(finding(locked, 'EOPL-090').status, 'pass');
    assert.match(finding(locked, 'EOPL-090').summary, /^0 of \d+ corpus attacks accepted by EOP without passing the gateway \(a sample: "audit --prove" or "eoplock prove" searches every class of transaction\)$/);
    assert.match(finding(locked, 'EOPL-091').summary, /\(the corpus; "audit --prove" searches every class\)$/);
  });

  test('a tenant that refuses every attack passes with a sentence that claims no more', () => {
    const result = audit({ organization: { RejectDirectSend: true }, connectors: [partnerConnector({ RestrictDomainsToIPAddresses: true })] });
    const proof = finding(result, 'EOPL-090');
    assert.equal(proof.status, 'pass', proof.summary);
    assert.match(proof.summary, /^0 bypasses in [\d,]+ classes: EOP refuses or contains every class of transaction not from the gateway, all \d+ corpus attacks included/);
  });
});

describe('control mappings say how they relate to the framework\'s text', () => {
  const all = CATALOGUE.flatMap((meta) => meta.controls.map((control) => ({ check: meta.id, ...control })));

  test('each has a relation, and every mapping that is not exact says why in one line', () => {
    assert.ok(all.length > 30);
    for (const control of all) {
      assert.ok(CONTROL_RELATIONS.includes(control.relation), `${control.check} ${control.id}`);
      if (control.relation !== 'exact') assert.ok(control.why && control.why.length > 10 && !control.why.includes('\n'), `${control.check} ${control.id} says why`);
    }
  });

  test('SCuBA MS.EXO.15.1v1 is "URL comparison with a block-list" in the published baseline: not a RejectDirectSend control', () => {
    const rejectDirectSend = CATALOGUE.find((meta) => meta.id === 'EOPL-001');
    assert.ok(!rejectDirectSend?.controls.some((control) => control.id.startsWith('MS.EXO.15')));
    assert.ok(!all.some((control) => control.id === 'MS.EXO.15.1v1'));
    // CIS 6.5.5 ("Direct Send submissions are rejected": RejectDirectSend True) is the exact one.
    assert.deepEqual(rejectDirectSend?.controls.find((control) => control.framework === 'CIS'), { framework: 'CIS', id: '6.5.5', relation: 'exact' });
  });

  test('EOPL-031 passes ~all where MS.EXO.2.2 means hard fail (-all): partial, and says so', () => {
    const scuba = all.find((control) => control.check === 'EOPL-031' && control.framework === 'SCuBA');
    assert.equal(scuba?.relation, 'partial');
    assert.match(scuba?.why ?? '', /-all.*~all/);
    assert.equal(all.find((control) => control.check === 'EOPL-031' && control.id === 'ORCA-235')?.relation, 'partial');
  });

  test('EOPL-032 passes p=quarantine where MS.EXO.4.2v1 requires p=reject: partial, and says so', () => {
    const scuba = all.find((control) => control.check === 'EOPL-032' && control.id === 'MS.EXO.4.2v1');
    assert.equal(scuba?.relation, 'partial');
    assert.match(scuba?.why ?? '', /p=reject.*p=quarantine/);
  });

  test('securitysuite ids carry their version, as the baseline writes them', () => {
    for (const control of all.filter((entry) => entry.framework === 'SCuBA')) assert.match(control.id, /^MS\.[A-Z]+\.\d+\.\d+v\d+$/, control.id);
  });

  test('text, JSON, SARIF and JUnit mark the mappings that are not exact', () => {
    const result = audit({ rules: [rule({ Name: 'Bypass', SenderDomainIs: ['news.example'], SetSCL: -1 })] });
    assert.equal(finding(result, 'EOPL-018').status, 'fail');

    const text = renderAuditText(result, { color: false, verbose: false });
    assert.match(text, /Controls: Maester MT\.1043\n\s+CIS 6\.2\.2 \(partial: CIS: no rule allow-lists specific sender domains/);

    const json = JSON.parse(renderAuditJson([result])) as AuditResult;
    assert.deepEqual(
      json.findings.find((entry) => entry.id === 'EOPL-018')?.controls.map((control) => `${control.id}:${control.relation}`),
      ['6.2.2:partial', 'ORCA-118-2:partial', 'ORCA-118-4:partial', 'MT.1043:exact'],
    );

    const sarif = JSON.parse(renderAuditSarif([result], '0.0.0'));
    const ruleEntry = sarif.runs[0].tool.driver.rules.find((entry: { id: string }) => entry.id === 'EOPL-018');
    assert.ok(ruleEntry.properties.tags.includes('CIS 6.2.2 (partial)'));
    assert.ok(ruleEntry.properties.tags.includes('Maester MT.1043'));
    assert.ok(!ruleEntry.properties.tags.includes('CIS 6.2.2'), 'a partial mapping never carries the bare tag');
    assert.match(ruleEntry.help.markdown, /- CIS 6\.2\.2 \(partial: /);
    const sarifResult = sarif.runs[0].results.find((entry: { ruleId: string }) => entry.ruleId === 'EOPL-018');
    assert.ok(sarifResult.properties.controls.some((label: string) => label.startsWith('CIS 6.2.2 (partial: ')));

    assert.match(renderAuditJunit([result]), /Control: CIS 6\.2\.2 \(partial: [^\n]*\nControl: ORCA ORCA-118-2 \(partial: [^\n]*\nControl: ORCA ORCA-118-4 \(partial: [^\n]*\nControl: Maester MT\.1043</);
  });
});

describe('a property missing from the export', () => {
  test('RejectDirectSend absent: "absent from the export (Exchange Online\'s default is false)", not "= false"', () => {
    const result = audit({ organization: {} });
    const check = finding(result, 'EOPL-001');
    assert.equal(check.status, 'fail');
    assert.match(check.summary, /not in the export/);
    const [evidence] = check.evidence;
    assert.equal(evidence?.actual, undefined);
    assert.deepEqual(evidence?.absent, { exchangeDefault: 'false' });

    const text = renderAuditText(result, { color: false, verbose: false });
    assert.match(text, /OrganizationConfig\[0\]\.RejectDirectSend: absent from the export \(Exchange Online's default is false\) \(expected true\)/);
    assert.doesNotMatch(text, /RejectDirectSend = false/);
    assert.match(renderAuditJunit([result]).replaceAll('&apos;', "'"), /RejectDirectSend is off \(absent from the export \(Exchange Online's default is false\), expected true\)/);
  });

  test('an exported false is still shown as the value it is', () => {
    const text = renderAuditText(audit({ organization: { RejectDirectSend: false } }), { color: false, verbose: false });
    assert.match(text, /OrganizationConfig\[0\]\.RejectDirectSend = false \(expected true\)/);
  });

  test('connector properties the export lacks (RequireTls, RestrictDomainsTo*) are said to be absent', () => {
    const connector: Record<string, unknown> = { Name: 'From SEG', ConnectorType: 'Partner', SenderDomains: ['smtp:*;1'], SenderIPAddresses: [...SEG_IPS] };
    const result = audit({ connectors: [connector] });
    for (const id of ['EOPL-005', 'EOPL-010']) {
      const check = finding(result, id);
      assert.equal(check.status, 'fail', id);
      for (const evidence of check.evidence) assert.deepEqual(evidence.absent, { exchangeDefault: 'false' }, `${id} ${evidence.path}`);
    }
  });

  test('propertyEvidence on sections kept as exported (AntiPhishPolicy) needs no record: a missing key is absent', () => {
    const policy = { Name: 'Default' };
    assert.deepEqual(propertyEvidence(policy, 'AntiPhishPolicy[0].HonorDmarcPolicy', 'HonorDmarcPolicy', { message: 'm', exchangeDefault: 'true' }).absent, { exchangeDefault: 'true' });
    assert.equal(propertyEvidence({ HonorDmarcPolicy: false }, 'p', 'HonorDmarcPolicy', { message: 'm' }).actual, false);
  });
});
