/**
 * EOPL-024–029 judge the anti-phishing and anti-spam policies that apply to the recipients of each accepted domain
 * (src/eop/policy-scope.ts), not every policy in the snapshot — unlike ORCA, which cannot resolve scope and treats every
 * enabled policy as possibly active (cammurray/orca issue #267). Sources:
 * - Microsoft's Standard/Strict values ("Recommended settings for EOP and Defender for Office 365", S29): the Standard
 *   preset moves detected spoofs to Junk (AuthenticationFailAction MoveToJmf) — a preset is never reported as failing.
 * - Defaults for properties absent from the export: S29's "Default" column (AuthenticationFailAction MoveToJmf,
 *   BulkThreshold 7, EnableSpoofIntelligence true).
 * - The real ScubaGear sample tenant (anti-phishing policies in test/fixtures/real-world, preset rules in
 *   test/fixtures/snapshots/scubagear-preset-rules.json).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { runAudit } from '../../src/audit/run.js';
import { resolveAssumptions } from '../../src/eop/assumptions.js';
import { inferProfile } from '../../src/profile/profile.js';
import { parseSnapshot } from '../../src/snapshot/parse.js';

type Raw = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const GOOD_PHISH = { EnableSpoofIntelligence: true, HonorDmarcPolicy: true, DmarcRejectAction: 'Reject', DmarcQuarantineAction: 'Quarantine', AuthenticationFailAction: 'Quarantine', EnableMailboxIntelligence: true };
const GOOD_SPAM = { BulkThreshold: 6, HighConfidenceSpamAction: 'Quarantine', PhishSpamAction: 'Quarantine', HighConfidencePhishAction: 'Quarantine' };

function tenant(extra: Raw = {}): Raw {
  return {
    Meta: { eoplockSnapshot: 1, tenant: 'Fixture' },
    OrganizationConfig: { RejectDirectSend: true },
    AcceptedDomain: [
      { DomainName: 'contoso.com', DomainType: 'Authoritative', Default: true },
      { DomainName: 'fabrikam.com', DomainType: 'Authoritative' },
    ],
    AntiPhishPolicy: [{ Name: 'Office365 AntiPhish Default', IsDefault: true, RecommendedPolicyType: 'Custom', ...GOOD_PHISH }],
    AntiPhishRule: [],
    HostedContentFilterPolicy: [{ Name: 'Default', IsDefault: true, RecommendedPolicyType: 'Custom', ...GOOD_SPAM }],
    HostedContentFilterRule: [],
    EOPProtectionPolicyRule: [],
    ...extra,
  };
}

function finding(raw: Raw, id: string) {
  const snapshot = parseSnapshot(raw).snapshot;
  const result = runAudit(snapshot, inferProfile(snapshot), { file: 'fixture.json', assumptions: resolveAssumptions() });
  const found = result.findings.find((entry) => entry.id === id);
  assert.ok(found, id);
  return found;
}

describe('presets are never judged', () => {
  test('the Standard preset (spoofs to Junk by Microsoft\'s design) applying to everyone: EOPL-026 passes', () => {
    const raw = tenant();
    raw.AntiPhishPolicy.push({ Name: 'Standard Preset Security Policy1622650008019', IsDefault: false, RecommendedPolicyType: 'Standard', ...GOOD_PHISH, AuthenticationFailAction: 'MoveToJmf' });
    raw.EOPProtectionPolicyRule = [{ Name: 'Standard Preset Security Policy', State: 'Enabled', Priority: 1, AntiPhishPolicy: 'Standard Preset Security Policy1622650008019' }];
    const result = finding(raw, 'EOPL-026');
    assert.equal(result.status, 'pass', result.summary);
    assert.ok(result.evidence.some((entry) => /Standard preset security policy, with Microsoft's Standard settings: not judged \(applies to contoso\.com, fabrikam\.com\)/.test(entry.message)));
  });

  test('the same policy object treated as custom (no RecommendedPolicyType Standard) would fail: the preset is what spares it', () => {
    const raw = tenant();
    raw.AntiPhishPolicy.push({ Name: 'Spoofs to Junk', IsDefault: false, RecommendedPolicyType: 'Custom', ...GOOD_PHISH, AuthenticationFailAction: 'MoveToJmf' });
    raw.AntiPhishRule = [{ Name: 'Spoofs to Junk', AntiPhishPolicy: 'Spoofs to Junk', State: 'Enabled', Priority: 0, RecipientDomainIs: ['contoso.com'] }];
    const result = finding(raw, 'EOPL-026');
    assert.equal(result.status, 'fail');
    assert.deepEqual(result.evidence.map((entry) => entry.path), ['AntiPhishPolicy[1].AuthenticationFailAction']);
    assert.match(result.evidence[0]?.message ?? '', /^"Spoofs to Junk" \(applies to contoso\.com\): detected spoofs go to Junk$/);
  });

  test('the real sample tenant: Standard and Strict presets plus a default nobody reaches — nothing fails', () => {
    const raw = { ...JSON.parse(readFileSync('test/fixtures/real-world/tqhjy.snapshot.json', 'utf8')), ...JSON.parse(readFileSync('test/fixtures/snapshots/scubagear-preset-rules.json', 'utf8')) };
    for (const id of ['EOPL-024', 'EOPL-025', 'EOPL-026', 'EOPL-027']) {
      const result = finding(raw, id);
      assert.equal(result.status, 'pass', `${id}: ${result.summary}`);
      assert.match(result.summary, /not judged, as no recipient reaches it: "Office365 AntiPhish Default"/);
    }
  });
});

describe('only policies that reach a recipient are judged', () => {
  const bad = { ...GOOD_PHISH, EnableSpoofIntelligence: false };
  const table: { name: string; rule: Raw | null; expect: 'pass' | 'fail'; says: RegExp }[] = [
    { name: 'its rule is disabled', rule: { State: 'Disabled', RecipientDomainIs: ['contoso.com'] }, expect: 'pass', says: /is disabled \(State Disabled\)/ },
    { name: 'no rule names it', rule: null, expect: 'pass', says: /no AntiPhishRule names it, so it applies to no one/ },
    { name: 'its rule names a domain the tenant does not accept', rule: { RecipientDomainIs: ['tailspin.example'] }, expect: 'pass', says: /its rule includes none of contoso\.com, fabrikam\.com/ },
    { name: 'its rule names an accepted domain', rule: { RecipientDomainIs: ['fabrikam.com'] }, expect: 'fail', says: /"Lax" \(applies to fabrikam\.com\): spoof intelligence is off/ },
    { name: 'its rule names a group: it may apply, so it is judged', rule: { SentToMemberOf: ['Executives'] }, expect: 'fail', says: /"Lax" \(may apply to contoso\.com, fabrikam\.com: AntiPhishRule "Lax" \(priority 0\): SentToMemberOf Executives, which the snapshot cannot resolve\)/ },
  ];
  for (const row of table) {
    test(`a custom policy with spoof intelligence off, when ${row.name}: ${row.expect}`, () => {
      const raw = tenant();
      raw.AntiPhishPolicy.push({ Name: 'Lax', IsDefault: false, RecommendedPolicyType: 'Custom', ...bad });
      if (row.rule) raw.AntiPhishRule = [{ Name: 'Lax', AntiPhishPolicy: 'Lax', State: 'Enabled', Priority: 0, ...row.rule }];
      const result = finding(raw, 'EOPL-024');
      assert.equal(result.status, row.expect, result.summary);
      assert.match([result.summary, ...result.evidence.map((entry) => entry.message)].join('\n'), row.says);
      if (row.expect === 'pass') assert.match(result.summary, /not judged, as no recipient reaches it: "Lax"/);
    });
  }

  test('a failing policy shadowed by an earlier one for every recipient is not judged', () => {
    const raw = tenant();
    raw.AntiPhishPolicy.push({ Name: 'First', IsDefault: false, RecommendedPolicyType: 'Custom', ...GOOD_PHISH }, { Name: 'Second', IsDefault: false, RecommendedPolicyType: 'Custom', ...bad });
    raw.AntiPhishRule = [
      { Name: 'Second', AntiPhishPolicy: 'Second', State: 'Enabled', Priority: 1, RecipientDomainIs: ['contoso.com'] },
      { Name: 'First', AntiPhishPolicy: 'First', State: 'Enabled', Priority: 0, RecipientDomainIs: ['contoso.com'] },
    ];
    const result = finding(raw, 'EOPL-024');
    assert.equal(result.status, 'pass', result.summary);
    assert.ok(result.evidence.some((entry) => entry.path === 'AntiPhishPolicy[2]' && /"First" applies first/.test(entry.message)));
  });

  test('without the AntiPhishRule section a custom policy may apply, and is judged', () => {
    const raw = tenant();
    delete raw.AntiPhishRule;
    raw.AntiPhishPolicy.push({ Name: 'Lax', IsDefault: false, RecommendedPolicyType: 'Custom', ...bad });
    const result = finding(raw, 'EOPL-024');
    assert.equal(result.status, 'fail');
    assert.match(result.evidence[0]?.message ?? '', /may apply to contoso\.com, fabrikam\.com: the snapshot has no AntiPhishRule section/);
  });

  test('EOPL-028/029 follow the anti-spam rules the same way', () => {
    const raw = tenant();
    raw.HostedContentFilterPolicy.push({ Name: 'Marketing', IsDefault: false, RecommendedPolicyType: 'Custom', ...GOOD_SPAM, BulkThreshold: 9 });
    raw.HostedContentFilterRule = [{ Name: 'Marketing', HostedContentFilterPolicy: 'Marketing', State: 'Disabled', Priority: 0, RecipientDomainIs: ['contoso.com'] }];
    assert.equal(finding(raw, 'EOPL-028').status, 'pass');
    raw.HostedContentFilterRule[0].State = 'Enabled';
    const result = finding(raw, 'EOPL-028');
    assert.equal(result.status, 'fail');
    assert.deepEqual(result.evidence.map((entry) => [entry.path, entry.actual, entry.expected]), [['HostedContentFilterPolicy[1].BulkThreshold', 9, '6 or lower']]);
  });
});

describe('a property absent from the export is judged by Exchange Online\'s default, and says so', () => {
  const without = (section: 'AntiPhishPolicy' | 'HostedContentFilterPolicy', property: string) => {
    const raw = tenant();
    delete raw[section][0][property];
    return raw;
  };

  test('AuthenticationFailAction absent: the default MoveToJmf fails EOPL-026, without a made-up value', () => {
    const result = finding(without('AntiPhishPolicy', 'AuthenticationFailAction'), 'EOPL-026');
    assert.equal(result.status, 'fail');
    const [evidence] = result.evidence;
    assert.equal(evidence?.actual, undefined, 'no "= false" or "= MoveToJmf" for a value that is not in the export');
    assert.match(evidence?.message ?? '', /AuthenticationFailAction is absent from the export \(Exchange Online's default is MoveToJmf\)/);
  });

  test('BulkThreshold absent: the default 7 fails EOPL-028', () => {
    const result = finding(without('HostedContentFilterPolicy', 'BulkThreshold'), 'EOPL-028');
    assert.equal(result.status, 'fail');
    assert.match(result.evidence[0]?.message ?? '', /BulkThreshold is absent from the export \(Exchange Online's default is 7\): bulk mail up to BCL 7 gets through/);
  });

  test('EnableSpoofIntelligence absent: the default (on) passes EOPL-024', () => {
    assert.equal(finding(without('AntiPhishPolicy', 'EnableSpoofIntelligence'), 'EOPL-024').status, 'pass');
  });

  test('HonorDmarcPolicy absent (default on): EOPL-025 still checks the DMARC actions', () => {
    const raw = without('AntiPhishPolicy', 'HonorDmarcPolicy');
    raw.AntiPhishPolicy[0].DmarcRejectAction = 'Quarantine';
    const result = finding(raw, 'EOPL-025');
    assert.equal(result.status, 'fail');
    assert.deepEqual(result.evidence.map((entry) => entry.path), ['AntiPhishPolicy[0].DmarcRejectAction']);
  });
});
