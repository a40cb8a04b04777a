/**
 * Benchmark: reading a large message trace. A deterministic Get-MessageTraceV2-style CSV (5,000,000 rows by default)
 * is generated once, then these passes run in separate processes, one after the other (bench/trace-worker.ts, run as
 * plain JavaScript as the CLI runs, without a TypeScript loader in the process):
 *   - bare CSV passes, counting rows: papaparse, uDSV and csv-parse (well-kept JavaScript CSV parsers), and eoplock's
 *     CSV reader (the row scanner that csv-parse takes over from at the first row of another shape);
 *   - DuckDB's read_csv with a SQL aggregate (count per FromIP) — a columnar engine in C++ (@duckdb/node-api), on 2 threads;
 *   - eoplock impact, the file read in one piece on one thread: decode, parse, normalise each row, decide() now and
 *     after the lockdown plan (once per decision key), group;
 *   - eoplock impact as the CLI runs it: a large file cut into byte ranges, the first read by the calling thread and the
 *     others by worker threads, merged.
 * Each reports rows per second, CPU seconds (all threads) and peak RSS. The passes run in rounds (3 by default), one
 * pass after the other in each, so that a slow phase of a shared machine falls on every pass alike; each line also
 * gives the share of the machine its host took during the pass (steal, from /proc/stat, where there is one). The
 * summary gives eoplock's ratio to DuckDB's rows per second in each round and their median, the ratio of CPU seconds,
 * and checks that the eoplock passes found the same impact (counts and a digest of the groups) in every round.
 *
 *   npm run bench:trace                   # 5,000,000 rows (about 1 GB on disk under the system temp folder)
 *   npm run bench:trace -- --rows 1000000
 *   npm run bench:trace -- --code /tmp/build   # eoplock's built code from another folder (default dist/)
 *   npm run bench:trace -- --only eoplock-impact,duckdb   # some passes only
 *   npm run bench:trace -- --rounds 5                     # more rounds (the median of their ratios is reported)
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { transform } from 'esbuild';
import { parseArgs } from 'node:util';
import { random } from './bench-tenant.js'; // mulberry32: the same file on every run

const PASSES = ['papaparse', 'udsv', 'csv-parse', 'eoplock-csv', 'duckdb', 'eoplock-impact-1', 'eoplock-impact'];
const { values } = parseArgs({
  options: { rows: { type: 'string', default: '5000000' }, code: { type: 'string', default: 'dist' }, only: { type: 'string', default: PASSES.join(',') }, rounds: { type: 'string', default: '3' } },
});
const rows = Number(values.rows);
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds takes a whole number from 1 up, not "${values.rounds}"`);
const file = join(tmpdir(), `eoplock-bench-trace-${rows}.csv`);


async function generate(): Promise<void> {
  if (await stat(file).then((info) => info.size > 0, () => false)) return;
  const rnd = random(5_000_000);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)] as T;
  const gateway = ['203.0.113.10', '203.0.113.11', '198.51.100.5', '198.51.100.9'];
  const direct = Array.from({ length: 200 }, (_, i) => `192.0.${2 + (i >> 8)}.${i & 255}`);
  const domains = Array.from({ length: 500 }, (_, i) => `sender${i}.example`);
  const recipients = ['alice', 'bob', 'finance', 'hr', 'sales', 'support'].flatMap((name) => [`${name}@contoso.com`, `${name}@contoso.co.uk`]);
  const subjects = ['Order confirmed', 'Invoice, November', 'Re: "contract" draft', 'Weekly update', 'Scanned document'];
  const out = createWriteStream(file);
  out.write('"Received","SenderAddress","RecipientAddress","Subject","Status","ToIP","FromIP","Size","MessageId","MessageTraceId"\r\n');
  const start = Date.UTC(2026, 10, 1);
  for (let i = 0; i < rows; i++) {
    const internal = rnd() < 0.05;
    const sender = internal ? `scanner${i % 7}@contoso.com` : `user${Math.floor(rnd() * 1000)}@${pick(domains)}`;
    const ip = internal || rnd() < 0.02 ? pick(direct) : pick(gateway);
    const line = `"${new Date(start + i * 500).toISOString()}","${sender}","${pick(recipients)}","${pick(subjects).replace(/"/g, '""')}","Delivered","","${ip}","${1000 + (i % 90000)}","<${i}@bench.example>","${i.toString(16).padStart(8, '0')}-0000-4000-8000-000000000000"\r\n`;
    if (!out.write(line)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve) => out.end(() => resolve()));
}

interface Measurement {
  mode: string;
  rows: number;
  seconds: number;
  cpuSeconds: number;
  maxRssMb: number;
  impact?: unknown;
}

/** bench/trace-worker.ts as plain JavaScript, beside the packages it imports (node_modules/.cache). */
async function workerScript(): Promise<string> {
  const folder = join('node_modules', '.cache', 'eoplock-bench');
  await mkdir(folder, { recursive: true });
  const script = join(folder, 'trace-worker.mjs');
  const { code } = await transform(await readFile('bench/trace-worker.ts', 'utf8'), { loader: 'ts', format: 'esm', target: 'node20' });
  await writeFile(script, code);
  return script;
}

function measure(script: string, mode: string): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, mode, file, values.code], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => (output += text));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(output) as Measurement) : reject(new Error(`${mode} exited with ${code}`))));
  });
}

/** The machine's CPU time so far and the part of it its host took (steal), in ticks; null where /proc/stat is not. */
async function cpuTicks(): Promise<{ total: number; steal: number } | null> {
  try {
    const fields = (await readFile('/proc/stat', 'utf8')).split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
    // user nice system idle iowait irq softirq steal: guest time is counted in user already.
    const total = fields.slice(0, 8).reduce((sum, ticks) => sum + ticks, 0);
    return fields.length >= 8 && Number.isFinite(total) ? { total, steal: fields[7] as number } : null;
  } catch {
    return null;
  }
}

const median = (numbers: readonly number[]): number => {
  const sorted = [...numbers].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

await generate();
const size = (await stat(file)).size;
const script = await workerScript();
console.log(`${rows.toLocaleString('en-US')} rows, ${(size / 1e6).toFixed(0)} MB (${file}); node ${process.version}; each pass in its own process; ${rounds} round(s)`);
const chosen = PASSES.filter((pass) => values.only.split(',').includes(pass));
const results = new Map<string, Measurement[]>(chosen.map((mode) => [mode, []]));
for (let round = 1; round <= rounds; round++) {
  if (rounds > 1) console.log(`round ${round}`);
  for (const mode of chosen) {
    const before = await cpuTicks();
    const result = await measure(script, mode);
    const after = await cpuTicks();
    results.get(mode)?.push(result);
    const steal = before && after && after.total > before.total ? `  steal ${Math.round((100 * (after.steal - before.steal)) / (after.total - before.total))} %` : '';
    console.log(
      `${mode.padEnd(16)} ${result.seconds.toFixed(2).padStart(7)} s  ${Math.round(result.rows / result.seconds).toLocaleString('en-US').padStart(10)} rows/s  CPU ${result.cpuSeconds.toFixed(2).padStart(6)} s  peak RSS ${result.maxRssMb.toFixed(0)} MB${steal}`,
    );
  }
}
const rate = (measurement: Measurement) => measurement.rows / measurement.seconds;
const duck = results.get('duckdb') ?? [];
const single = results.get('eoplock-impact-1') ?? [];
const parts = results.get('eoplock-impact') ?? [];
if (duck.length > 0 && parts.length > 0) {
  const ratios = parts.map((pass, k) => rate(pass) / rate(duck[k] as Measurement));
  const cpu = median(parts.map((pass, k) => (duck[k] as Measurement).cpuSeconds / pass.cpuSeconds));
  const oneThread = single.length > 0 ? ` (the text reading row by row on one thread: ${median(single.map((pass, k) => rate(pass) / rate(duck[k] as Measurement))).toFixed(2)}×)` : '';
  console.log(
    `eoplock impact: ${median(ratios).toFixed(2)}× DuckDB's rows/s${rounds > 1 ? ` (median of ${rounds} rounds: ${ratios.map((ratio) => `${ratio.toFixed(2)}×`).join(', ')})` : ''}${oneThread}; ` +
      `DuckDB's CPU seconds ${cpu.toFixed(2)}× eoplock's; peak RSS ${Math.max(...parts.map((pass) => pass.maxRssMb)).toFixed(0)} MB`,
  );
}
const impacts = [...single, ...parts];
if (impacts.length > 0) {
  const reference = JSON.stringify(impacts[0]?.impact);
  const same = impacts.every((pass) => JSON.stringify(pass.impact) === reference);
  const compared = single.length > 0 && parts.length > 0 ? 'impact in parts and in one piece' : `impact in ${impacts.length > 1 ? 'every round' : 'the one round'}`;
  console.log(`${compared}: ${same ? 'the same' : 'DIFFERENT'} (${reference})`);
  if (!same) {
    for (const pass of impacts) console.log(`${pass.mode}: ${JSON.stringify(pass.impact)}`);
    process.exitCode = 1;
  }
}
