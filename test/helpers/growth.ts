/**
 * Complexity guards that hold on a loaded machine. A node:test timeout cannot stop synchronous work, and an absolute
 * time bound fails when the machine is busy; the ratio of two sizes timed in the same run does neither. Linear work
 * grows as the size does (8× for 8× the input), quadratic work as its square (64×): a test asserts the growth stays
 * well under the square, with room for a busy machine and the garbage collector.
 */
import assert from 'node:assert/strict';

/** Milliseconds `body` takes, the best of `rounds` runs (the least disturbed by the rest of the machine). */
async function best(body: () => unknown, rounds: number): Promise<number> {
  let fastest = Infinity;
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    await body();
    fastest = Math.min(fastest, performance.now() - started);
  }
  return fastest;
}

/**
 * Asserts that `run(size)` grows about linearly: timed at `size` and at `factor × size` (best of two runs each), the
 * larger may take at most `factor × 3` times as long (for a factor of 8: 24×, where quadratic work takes 64×), in one
 * of three measurements.
 * Times under a few milliseconds are padded so that noise on tiny runs cannot fail the test.
 */
export async function assertLinear(what: string, run: (size: number) => unknown, size: number, factor = 8): Promise<void> {
  await run(size); // warm up the code paths (and the JIT) before timing
  // Up to three measurements: a burst of load on a shared machine can spoil one, while quadratic work (factor² ≫
  // factor × 3) exceeds the bound every time.
  let measured = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const small = Math.max(await best(() => run(size), 2), 5);
    const large = await best(() => run(size * factor), 2);
    const growth = large / small;
    if (growth < factor * 3) return;
    measured += `${measured ? '; ' : ''}${growth.toFixed(1)}× (${small.toFixed(0)} → ${large.toFixed(0)} ms)`;
  }
  assert.fail(`${what}: ${factor}× the input took more than ${factor * 3}× the time in three measurements: ${measured}`);
}
