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
 * Each reports rows per second, CPU seconds (all threads) and peak RSS; the summary gives eoplock's ratio to DuckDB's
 * rows per second and checks that both eoplock passes found the same impact (counts and a digest of the groups).
 *
 *   npm run bench:trace                   # 5,000,000 rows (about 1 GB on disk under the system temp folder)
 *   npm run bench:trace -- --rows 1000000
 *   npm run bench:trace -- --code /tmp/build   # eoplock's built code from another folder (default dist/)
 *   npm run bench:trace -- --only eoplock-impact,duckdb   # some passes only
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
const { values } = parseArgs({ options: { rows: { type: 'string', default: '5000000' }, code: { type: 'string', default: 'dist' }, only: { type: 'string', default: PASSES.join(',') } } });
const rows = Number(values.rows);
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

await generate();
const size = (await stat(file)).size;
const script = await workerScript();
console.log(`${rows.toLocaleString('en-US')} rows, ${(size / 1e6).toFixed(0)} MB (${file}); node ${process.version}; each pass in its own process`);
const results = new Map<string, Measurement>();
for (const mode of PASSES.filter((pass) => values.only.split(',').includes(pass))) {
  const result = await measure(script, mode);
  results.set(mode, result);
  console.log(
    `${mode.padEnd(16)} ${result.seconds.toFixed(2).padStart(7)} s  ${Math.round(result.rows / result.seconds).toLocaleString('en-US').padStart(10)} rows/s  CPU ${result.cpuSeconds.toFixed(2).padStart(6)} s  peak RSS ${result.maxRssMb.toFixed(0)} MB`,
  );
}
const rate = (measurement: Measurement) => measurement.rows / measurement.seconds;
const duck = results.get('duckdb');
const single = results.get('eoplock-impact-1');
const parts = results.get('eoplock-impact');
if (duck && parts) {
  console.log(
    `eoplock impact: ${(rate(parts) / rate(duck)).toFixed(2)}× DuckDB's rows/s${single ? ` (the text reading row by row on one thread: ${(rate(single) / rate(duck)).toFixed(2)}×)` : ''}, peak RSS ${parts.maxRssMb.toFixed(0)} MB`,
  );
}
if (single && parts) {
  const same = JSON.stringify(single.impact) === JSON.stringify(parts.impact);
  console.log(`impact in parts and in one piece: ${same ? 'the same' : 'DIFFERENT'} (${JSON.stringify(parts.impact)})`);
  if (!same) {
    console.log(`in one piece: ${JSON.stringify(single.impact)}`);
    process.exitCode = 1;
  }
}
