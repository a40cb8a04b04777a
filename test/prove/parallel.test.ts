/**
 * The search spread over worker threads (src/prove/parallel.ts) finds what the search on one thread finds: the same
 * findings, counts, representatives, limits and decisions, whichever pieces the workers take and in whatever order
 * they finish (the pieces are added in the order of the cells). A stop is honoured by the workers too.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_ASSUMPTIONS } from '../../src/eop/assumptions.js';
import { givenProfile, inferProfile } from '../../src/profile/profile.js';
import { proveInParallel } from '../../src/prove/parallel.js';
import { prove } from '../../src/prove/prove.js';
import type { ProofOptions, ProofResult } from '../../src/prove/types.js';
import { loadSnapshotFile } from '../../src/snapshot/load.js';

const withoutTime = (result: ProofResult) => ({ ...result, milliseconds: 0 });

async function options(path: string, profile?: Parameters<typeof givenProfile>[0]): Promise<{ snapshot: Awaited<ReturnType<typeof loadSnapshotFile>>['snapshot']; options: ProofOptions }> {
  const { snapshot } = await loadSnapshotFile(path);
  return { snapshot, options: { profile: profile ? givenProfile(profile) : inferProfile(snapshot), assumptions: DEFAULT_ASSUMPTIONS } };
}

describe('the search in worker threads finds what the search on one thread finds', () => {
  test('the three examples and two seeded tenants, in small pieces over two workers', async () => {
    const cases: [string, Parameters<typeof givenProfile>[0]?][] = [
      ['examples/contoso-exposed.json'],
      ['examples/contoso-partial.json'],
      ['examples/contoso-locked.json'],
      ['test/fixtures/prove/hole-wide-range.json', { ips: ['203.0.113.0/28'] }],
      ['test/fixtures/prove/shared-mimecast.json'],
    ];
    for (const [path, profile] of cases) {
      const { snapshot, options: proofOptions } = await options(path, profile);
      const one = prove(snapshot, proofOptions);
      const reported: number[] = [];
      // aloneFor 0: the calling thread searches the first cell only; the workers search the rest, three cells a piece.
      const many = await proveInParallel(snapshot, { ...proofOptions, progress: (covered) => reported.push(covered) }, { threads: 2, aloneFor: 0, piece: 3 });
      assert.deepEqual(withoutTime(many), withoutTime(one), path);
      assert.ok(one.findings.length > 0 || one.classes > 0);
      assert.ok(reported.length > 0 && (reported.at(-1) as number) <= one.classes, `${path}: progress ${reported.at(-1)} of ${one.classes}`);
      assert.deepEqual(reported, [...reported].sort((a, b) => a - b), `${path}: the classes covered never go back`);
    }
  });

  test('a search that ends on the calling thread starts no worker and gives the same', async () => {
    const { snapshot, options: proofOptions } = await options('examples/contoso-exposed.json');
    const alone = await proveInParallel(snapshot, proofOptions, { threads: 2, aloneFor: 600_000 });
    assert.deepEqual(withoutTime(alone), withoutTime(prove(snapshot, proofOptions)));
  });

  test('a stop reaches the workers: the result says how far it got and is not a proof', async () => {
    const { snapshot, options: proofOptions } = await options('examples/contoso-exposed.json');
    const whole = prove(snapshot, proofOptions);
    // Stopped once the workers have started and said how far they got (progress comes from them then).
    let workers = 0;
    let heard = 0;
    const stopped = await proveInParallel(
      snapshot,
      { ...proofOptions, progress: () => (heard += workers > 0 ? 1 : 0), stop: () => heard > 0 },
      { threads: 2, aloneFor: 0, piece: 1, onWorkers: (count) => (workers = count) },
    );
    assert.equal(workers, 2);
    assert.ok(stopped.stopped, 'stopped');
    assert.equal(stopped.stopped?.of, whole.classes);
    assert.ok(stopped.classes < whole.classes, `${stopped.classes} of ${whole.classes}`);
    assert.match(stopped.limits[0] ?? '', /^the search was stopped after [\d,]+ of [\d,]+ classes: this is not a proof/);
    // What it found is real: each finding of the stopped search is one of the whole search's.
    const keys = new Set(whole.findings.map((finding) => finding.key));
    for (const finding of stopped.findings) assert.ok(keys.has(finding.key), finding.key);
  });

  test('when the workers cannot search, the calling thread searches the rest: the same result', async () => {
    const { snapshot, options: proofOptions } = await options('examples/contoso-partial.json');
    // A profile a worker cannot be given (a function cannot be copied to another thread): every worker fails to start.
    const unsendable = { ...proofOptions, profile: { ...proofOptions.profile, note: () => 'not cloneable' } };
    const rest = await proveInParallel(snapshot, unsendable, { threads: 2, aloneFor: 0, piece: 2 });
    assert.deepEqual(withoutTime(rest), withoutTime(prove(snapshot, proofOptions)));
  });
});
