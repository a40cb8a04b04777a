/**
 * The search over every class of transaction (issue 16 §2–§3): the examples, tenants seeded with the holes the corpus
 * misses (test/fixtures/prove), prove ⊇ corpus, determinism and --all-assumptions (the pruning: prune.test.ts).
 *
 * Facts the expectations rest on: RejectDirectSend only tests the P1 sender (S1, S2); a restricting Partner connector
 * applies only to the recipient domains of its AssociatedAcceptedDomains (S7, S9, §3.3); SenderIPAddresses is IPv4
 * only, so no connector matches an IPv6 client (S7); a rule's exception keeps the rule from acting (S20, S21); a
 * wildcard certificate name covers "a domain and all subdomains" (S7, S8, assumption certificate-wildcard).
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import { builtinCorpus, corpusOutcome } from '../../src/corpus/builtin.js';
import { domainOf } from '../../src/eop/addresses.js';
import { DEFAULT_ASSUMPTIONS, resolveAssumptions } from '../../src/eop/assumptions.js';
import { decide } from '../../src/eop/decide.js';
import { parseIp } from '../../src/eop/ip.js';
import { givenProfile, inferProfile, type GatewayProfile } from '../../src/profile/profile.js';
import { domainRegion } from '../../src/prove/classes.js';
import { findingKeyOf, prove, proveAll } from '../../src/prove/prove.js';
import type { ProofOptions, ProofResult } from '../../src/prove/types.js';
import type { Snapshot } from '../../src/snapshot/parse.js';
import { loadSnapshotFile } from '../../src/snapshot/load.js';

const FIXTURES = 'test/fixtures/prove';
/** The gateway as the seeded tenants' owners describe it, where the connector is wider than the gateway. */
const GIVEN: Record<string, Parameters<typeof givenProfile>[0]> = {
  'hole-wide-range.json': { ips: ['203.0.113.0/28'] },
  'hole-wide-wildcard.json': { certificateName: '*.seg.example.net' },
};

async function load(path: string): Promise<{ snapshot: Snapshot; options: ProofOptions }> {
  const { snapshot } = await loadSnapshotFile(path);
  const name = path.split('/').pop() as string;
  const profile: GatewayProfile = GIVEN[name] ? givenProfile(GIVEN[name]) : inferProfile(snapshot);
  return { snapshot, options: { profile, assumptions: DEFAULT_ASSUMPTIONS } };
}

/** Every corpus attack the emulator lets in lies inside a reported bypass finding (same cause, its recipient listed). */
function assertProofCoversCorpus(snapshot: Snapshot, options: ProofOptions, proof: ProofResult): number {
  let checked = 0;
  for (const entry of builtinCorpus(snapshot, options.profile)) {
    if (entry.kind !== 'attack') continue;
    const verdict = decide(snapshot, entry.transaction, { assumptions: options.assumptions });
    if (corpusOutcome(entry, verdict) !== 'got-in') continue;
    const key = findingKeyOf(snapshot, options, entry.transaction, verdict);
    assert.ok(key, `${entry.id}: got in but is not a bypass class`);
    const finding = proof.findings.find((candidate) => candidate.key === key);
    assert.ok(finding, `${entry.id}: no bypass finding with the cause ${key}`);
    for (const recipient of entry.transaction.rcptTo) {
      assert.ok(finding.cause.includes(domainRegion(snapshot, domainOf(recipient))), `${entry.id}: ${recipient} is not among the finding's recipients`);
    }
    checked++;
  }
  return checked;
}

describe('prove on the examples', async () => {
  const examples = await Promise.all(['exposed', 'partial', 'locked'].map((name) => load(`examples/contoso-${name}.json`)));
  const proofs = examples.map(({ snapshot, options }) => prove(snapshot, options));
  const [exposed, partial, locked] = proofs as [ProofResult, ProofResult, ProofResult];

  test('contoso-locked: no bypass and no broken legitimate path in any class, under the defaults', () => {
    assert.ok(locked.classes > 100_000, `only ${locked.classes} classes`);
    assert.equal(locked.bypasses, 0);
    assert.equal(locked.brokenLegitimate, 0);
    assert.deepEqual(locked.findings, []);
  });

  test('contoso-exposed: anonymous mail to every accepted domain is a bypass', () => {
    assert.ok(exposed.bypasses > 0);
    const anonymous = exposed.findings.filter((finding) => finding.kind === 'bypass' && finding.cause.includes('no connector matched'));
    assert.ok(anonymous.length > 0);
    for (const domain of ['contoso.com', 'contoso.co.uk', 'contosolabs.com']) {
      assert.ok(anonymous.some((finding) => finding.cause.includes(`accepted domain ${domain} `)), domain);
    }
  });

  test('contoso-partial: the internal-From spoof passes the FromScope rule (RejectDirectSend checks only P1, S1)', () => {
    const finding = partial.findings.find((entry) => entry.kind === 'bypass' && entry.cause.includes('its condition FromScope does not match'));
    assert.ok(finding);
    const representative = finding.representative.transaction;
    assert.equal(domainOf(representative.mailFrom) === 'contoso.com', false, 'a contoso.com P1 sender gets 5.7.68');
    assert.equal(finding.representative.verdict.action, 'accept');
    assert.equal(partial.brokenLegitimate, 0);
  });

  test('prove ⊇ corpus on every example', () => {
    const covered = examples.map(({ snapshot, options }, position) => assertProofCoversCorpus(snapshot, options, proofs[position] as ProofResult));
    assert.ok((covered[0] ?? 0) >= 5, `only ${covered[0]} attacks of contoso-exposed got in`);
    assert.equal(covered[2], 0);
  });

  test('findings are grouped, counted and in a stable order; every representative is decided with its sources', () => {
    for (const proof of proofs) {
      const keys = proof.findings.map((finding) => finding.key);
      assert.equal(new Set(keys).size, keys.length);
      assert.equal(proof.bypasses, proof.findings.filter((f) => f.kind === 'bypass').reduce((sum, f) => sum + f.classes, 0));
      for (const finding of proof.findings) {
        assert.ok(finding.sources.length > 0);
        assert.equal(finding.representative.verdict.trace.length, 0, 'no trace unless asked');
      }
    }
    const again = prove(examples[1]?.snapshot as Snapshot, examples[1]?.options as ProofOptions);
    assert.deepEqual(again.findings.map((f) => [f.key, f.classes]), partial.findings.map((f) => [f.key, f.classes]));
  });
});

describe('progress and stopping', async () => {
  const { snapshot, options } = await load('examples/contoso-exposed.json');
  const whole = prove(snapshot, options);

  test('progress is reported with the classes covered so far, rising, and the size of the space', () => {
    const seen: [number, number][] = [];
    const result = prove(snapshot, { ...options, progress: (covered, total) => seen.push([covered, total]) });
    assert.ok(seen.length > 0, 'progress was reported');
    for (const [position, [covered, total]] of seen.entries()) {
      assert.equal(total, whole.classes);
      assert.ok(covered <= total);
      if (position > 0) assert.ok(covered >= (seen[position - 1] as [number, number])[0]);
    }
    assert.equal(result.stopped, undefined);
    assert.deepEqual(result.findings.map((f) => [f.key, f.classes]), whole.findings.map((f) => [f.key, f.classes]), 'watching changes nothing');
  });

  test('a stopped search covers part of the space, says so, and finds only what is in the whole search', () => {
    let asked = 0;
    const result = prove(snapshot, { ...options, stop: () => ++asked >= 2 });
    assert.deepEqual(result.stopped, { of: whole.classes });
    assert.ok(result.classes > 0 && result.classes < whole.classes, `${result.classes} of ${whole.classes}`);
    assert.match(result.limits[0] ?? '', /^the search was stopped after [\d,]+ of [\d,]+ classes: this is not a proof/);
    const counts = new Map(whole.findings.map((finding) => [finding.key, finding.classes]));
    for (const finding of result.findings) {
      assert.ok(counts.has(finding.key), finding.key);
      assert.ok(finding.classes <= (counts.get(finding.key) as number));
    }
    assert.ok(result.bypasses <= whole.bypasses);
  });
});

describe('tenants seeded with the holes the corpus misses', async () => {
  const seeded = async (name: string) => {
    const { snapshot, options } = await load(`${FIXTURES}/${name}`);
    return { snapshot, options, proof: prove(snapshot, options) };
  };

  test('an accepted domain outside the gateway connector\'s AssociatedAcceptedDomains', async () => {
    const { snapshot, options, proof } = await seeded('hole-associated-domains.json');
    const bypasses = proof.findings.filter((finding) => finding.kind === 'bypass');
    assert.ok(bypasses.length > 0);
    for (const finding of bypasses) {
      assert.match(finding.cause, /accepted domain fabrikam\.com/);
      assert.doesNotMatch(finding.cause, /accepted domain contoso\.com/);
    }
    assertProofCoversCorpus(snapshot, options, proof);
  });

  test('a /24 on the connector where the gateway is a /28', async () => {
    const { snapshot, options, proof } = await seeded('hole-wide-range.json');
    const finding = proof.findings.find((entry) => entry.kind === 'bypass' && entry.cause.includes('matched by IP, inside 203.0.113.0/24'));
    assert.ok(finding);
    const address = parseIp(finding.representative.transaction.clientIp)?.toString() ?? '';
    assert.match(address, /^203\.0\.113\.(\d+)$/);
    assert.ok(Number(address.split('.')[3]) >= 16, `${address} is inside the gateway's /28`);
    assertProofCoversCorpus(snapshot, options, proof);
  });

  test('an IPv6-only path past an IPv4 safety-net rule', async () => {
    const { snapshot, options, proof } = await seeded('hole-ipv6.json');
    const bypasses = proof.findings.filter((finding) => finding.kind === 'bypass');
    assert.ok(bypasses.length > 0);
    for (const finding of bypasses) assert.equal(parseIp(finding.representative.transaction.clientIp)?.kind(), 'ipv6');
    assertProofCoversCorpus(snapshot, options, proof);
  });

  test('a rule exception on a header any sender can write', async () => {
    const { snapshot, options, proof } = await seeded('hole-header-exception.json');
    const bypasses = proof.findings.filter((finding) => finding.kind === 'bypass');
    assert.ok(bypasses.length > 0);
    for (const finding of bypasses) {
      assert.match(finding.cause, /its exception header X-Gateway-Scanned matches/);
      assert.ok(JSON.stringify(finding.representative.transaction.headers).includes('X-Gateway-Scanned'));
    }
    assertProofCoversCorpus(snapshot, options, proof);
  });

  test('a net that excepts the gateway by the header it stamps: the gateway\'s mail carries it, so no legitimate path breaks', async () => {
    const { snapshot, options } = await load(`${FIXTURES}/hole-header-exception.json`);
    // The same rule without its address exception: only the stamped header lets the gateway's mail through.
    const rules = snapshot.TransportRule.map((rule) => ({ ...rule, ExceptIfSenderIpRanges: [] }));
    const headerOnly = { ...snapshot, TransportRule: rules } as Snapshot;
    const proof = prove(headerOnly, options);
    assert.equal(proof.brokenLegitimate, 0, proof.findings.map((finding) => finding.cause).join('\n'));
    // The hole stays: anyone can write the header.
    assert.ok(proof.findings.some((finding) => finding.kind === 'bypass' && /its exception header X-Gateway-Scanned matches/.test(finding.cause)));
  });

  test('a certificate wildcard one label wider than the gateway\'s', async () => {
    const { snapshot, options, proof } = await seeded('hole-wide-wildcard.json');
    const finding = proof.findings.find((entry) => entry.kind === 'bypass' && /matched by certificate .* \*\.example\.net/.test(entry.cause));
    assert.ok(finding);
    const name = finding.representative.transaction.tls?.certificate?.san?.[0] ?? '';
    assert.ok(name.endsWith('example.net') && !name.endsWith('seg.example.net'), name);
    assertProofCoversCorpus(snapshot, options, proof);
  });

  test('shared gateway infrastructure: a Mimecast lockdown trusts what every Mimecast customer presents', async () => {
    const { proof } = await seeded('shared-mimecast.json');
    assert.equal(proof.bypasses, 0);
    const shared = proof.findings.filter((finding) => finding.kind === 'shared-gateway-infrastructure');
    assert.equal(shared.length, 1);
    assert.match(shared[0]?.cause ?? '', /another customer of Mimecast/);
    assert.match(shared[0]?.cause ?? '', /\*\.mimecast\.com/);
    assert.ok(shared[0]?.remedy);
    assert.ok(shared[0]?.sources.some((source) => /Mail Lockdown/.test(source)));
    assert.equal(shared[0]?.representative.origin, 'gateway');
  });

  test('--all-assumptions labels findings that exist only under some values', async () => {
    const { snapshot, options } = await load(`${FIXTURES}/hole-wide-wildcard.json`);
    const all = proveAll(snapshot, options);
    assert.ok((all.assumptionSets?.length ?? 0) > 1);
    const always = all.findings.filter((finding) => finding.kind === 'bypass' && !finding.onlyUnder);
    const some = all.findings.filter((finding) => finding.onlyUnder);
    assert.ok(always.some((finding) => finding.cause.includes('one label below *.example.net')), 'one label below matches under every reading');
    assert.ok(some.length > 0);
    const single = resolveAssumptions({ 'certificate-wildcard': 'single-label' });
    const underSingle = prove(snapshot, { ...options, assumptions: single });
    assert.ok(!underSingle.findings.some((finding) => finding.cause.includes('labels below *.example.net')), 'two labels below do not match single-label');
    // Under single-label the gateway's own mx1.seg.example.net (two labels below example.net) no longer matches: its
    // mail is refused (5.7.51), a broken path that exists only under that reading, and is labelled with it alone.
    const broken = some.find((finding) => finding.kind === 'broken-legitimate');
    assert.ok(broken);
    assert.deepEqual(broken.onlyUnder, [{ 'certificate-wildcard': 'single-label' }]);
  });

  test('prove ⊇ corpus on every seeded tenant in test/fixtures/prove', async () => {
    const names = readdirSync(FIXTURES).filter((name) => name.endsWith('.json')).sort();
    assert.ok(names.length >= 9, names.join(', '));
    for (const name of names) {
      const { snapshot, options, proof } = await seeded(name);
      assertProofCoversCorpus(snapshot, options, proof);
    }
  });
});
