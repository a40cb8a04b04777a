/**
 * Benchmark: `eoplock prove` — classes decided per second and the total time of the search, on the three example
 * tenants and on the bench tenant of bench/decide.ts (50 connectors, 300 rules; bench/bench-tenant.ts).
 * Goals (issue 16 §4): each example under 1 s; the bench tenant under 60 s and under 500 MB resident memory.
 *
 *   npm run bench:prove
 *   npm run bench:prove -- --runs 5      # more runs per example (the median is reported)
 *   npm run bench:prove -- --examples-only   # the three examples only (the bench tenant's search is stopped at
 *                                            # 60 s when it has not ended: see bench/README.md)
 * Then, on a machine with two processors or more, the bench tenant's search over worker threads for 60 s.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import { DEFAULT_ASSUMPTIONS } from '../src/eop/assumptions.js';
import { inferProfile } from '../src/profile/profile.js';
import { prove } from '../src/prove/prove.js';
import { loadSnapshotFile } from '../src/snapshot/load.js';
import type { Snapshot } from '../src/snapshot/parse.js';
import { benchTenant } from './bench-tenant.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, 'examples-only': { type: 'boolean', default: false } } });
const runs = Math.max(1, Number(values.runs));

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const rate = (classes: number, ms: number) => Math.round(classes / (ms / 1000)).toLocaleString('en-US');

interface Measured {
  classes: number;
  ms: number;
  bypasses: number;
  findings: number;
}

function measure(snapshot: Snapshot, times: number): Measured {
  const profile = inferProfile(snapshot);
  const samples: Measured[] = [];
  for (let run = 0; run < times; run++) {
    const start = performance.now();
    const result = prove(snapshot, { profile, assumptions: DEFAULT_ASSUMPTIONS });
    samples.push({ classes: result.classes, ms: performance.now() - start, bypasses: result.bypasses, findings: result.findings.length });
  }
  samples.sort((a, b) => a.ms - b.ms);
  return samples[Math.floor(samples.length / 2)] as Measured;
}

console.log(`node ${process.version}, ${cpus().length} CPU(s) (${cpus()[0]?.model ?? 'unknown'}), median of ${runs} run(s) per example`);
let met = true;
for (const name of ['contoso-exposed', 'contoso-partial', 'contoso-locked']) {
  const { snapshot } = await loadSnapshotFile(`examples/${name}.json`);
  const result = measure(snapshot, runs);
  const ok = result.ms < 1000;
  met &&= ok;
  console.log(
    `${name.padEnd(16)} ${result.classes.toLocaleString('en-US').padStart(11)} classes in ${result.ms.toFixed(0).padStart(6)} ms ` +
      `(${rate(result.classes, result.ms)} classes/s), ${result.bypasses} bypass class(es) in ${result.findings} finding(s) — goal < 1 s: ${ok ? 'met' : 'MISSED'}`,
  );
}

if (values['examples-only']) {
  console.log('bench tenant: skipped (--examples-only)');
  process.exit(met ? 0 : 1);
}
// The bench tenant's search is stopped at the goal's 60 s (ProofOptions.stop, as `prove --time-limit 60`); when it
// stops, the line gives how much of the space it covered. The share of classes covered does not tell the time left:
// where mail is refused at the envelope a decision covers millions of classes, where it is accepted from elsewhere
// only one (bench/README.md).
const { snapshot } = benchTenant();
const before = process.memoryUsage().rss;
const profile = inferProfile(snapshot);
const start = performance.now();
const whole = prove(snapshot, { profile, assumptions: DEFAULT_ASSUMPTIONS, stop: () => performance.now() - start >= 60_000 });
const ms = performance.now() - start;
const peak = process.resourceUsage().maxRSS * 1024;
const finished = whole.stopped === undefined;
const ok = finished && ms < 60_000 && peak < 500 * 1024 * 1024;
met &&= ok;
const size = whole.stopped?.of ?? whole.classes;
const covered = `${whole.classes.toLocaleString('en-US')} of ${size.toLocaleString('en-US')} classes (${((whole.classes / size) * 100).toFixed(2)}%)`;
console.log(
  `bench tenant     ${finished ? `${whole.classes.toLocaleString('en-US')} classes` : `stopped at 60 s: ${covered}`} in ${ms.toFixed(0)} ms ` +
    `(${rate(whole.classes, ms)} classes/s${finished ? '' : ' so far, not the rate of the rest'}), ` +
    `${whole.bypasses} bypass class(es) in ${whole.findings.length} finding(s)${finished ? '' : ' so far'}; peak RSS ${mb(peak)} (${mb(before)} before) — goal < 60 s and < 500 MB: ${ok ? 'met' : 'MISSED'}`,
);

// The same search spread over worker threads (src/prove/parallel.ts; `eoplock prove` does this), for comparison: the
// decisions made in the same 60 s, and the peak memory of the process (each worker holds its own memos).
const threads = Math.min(cpus().length, 4);
if (threads >= 2) {
  const { proveInParallel } = await import('../src/prove/parallel.js');
  const parallelStart = performance.now();
  const spread = await proveInParallel(snapshot, { profile, assumptions: DEFAULT_ASSUMPTIONS, stop: () => performance.now() - parallelStart >= 60_000 }, { threads });
  const parallelMs = performance.now() - parallelStart;
  console.log(
    `bench tenant, ${threads} worker threads: ${spread.stopped ? 'stopped at 60 s' : 'ended'} after ${(spread.decided ?? 0).toLocaleString('en-US')} decisions ` +
      `(one thread: ${(whole.decided ?? 0).toLocaleString('en-US')}, ${((spread.decided ?? 0) / Math.max(1, whole.decided ?? 0)).toFixed(2)}×) in ${parallelMs.toFixed(0)} ms; ` +
      `peak RSS of the process ${mb(process.resourceUsage().maxRSS * 1024)}`,
  );
}
process.exitCode = met ? 0 : 1;
