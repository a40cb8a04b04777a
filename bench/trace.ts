/**
 * Benchmark: reading a large message trace. A deterministic Get-MessageTraceV2-style CSV (5,000,000 rows by default)
 * is generated once, then these passes run in separate processes, one after the other:
 *   - papaparse alone (header row, a step per row, counting) — a well-kept JavaScript CSV parser, for scale;
 *   - DuckDB's read_csv with a SQL aggregate (count per FromIP) — a columnar engine in C++ (@duckdb/node-api), on 2 threads;
 *   - eoplock impact, the file read in one piece on one thread: decode, parse, normalise each row, decide() now and
 *     after the lockdown plan (once per decision key), group;
 *   - eoplock impact as the CLI runs it: a large file cut into byte ranges read by worker threads, merged.
 * Each reports rows per second and peak RSS; the summary gives eoplock's ratio to DuckDB's rows per second.
 *
 *   npm run bench:trace                   # 5,000,000 rows (about 1 GB on disk under the system temp folder)
 *   npm run bench:trace -- --rows 1000000
 *   npm run bench:trace -- --code /tmp/build   # eoplock's built code from another folder (default dist/)
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { random } from './bench-tenant.js'; // mulberry32: the same file on every run

const { values } = parseArgs({ options: { rows: { type: 'string', default: '5000000' }, code: { type: 'string', default: 'dist' } } });
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
  maxRssMb: number;
}

function measure(mode: string): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/trace-worker.ts', mode, file, values.code], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => (output += text));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(output) as Measurement) : reject(new Error(`${mode} exited with ${code}`))));
  });
}

await generate();
const size = (await stat(file)).size;
console.log(`${rows.toLocaleString('en-US')} rows, ${(size / 1e6).toFixed(0)} MB (${file}); node ${process.version}; each pass in its own process`);
const results: Measurement[] = [];
for (const mode of ['papaparse', 'duckdb', 'eoplock-impact-1', 'eoplock-impact']) {
  const result = await measure(mode);
  results.push(result);
  console.log(
    `${mode.padEnd(15)} ${result.seconds.toFixed(2).padStart(7)} s  ${Math.round(result.rows / result.seconds).toLocaleString('en-US').padStart(10)} rows/s  peak RSS ${result.maxRssMb.toFixed(0)} MB`,
  );
}
const [, duck, single, parts] = results as [Measurement, Measurement, Measurement, Measurement];
const rate = (measurement: Measurement) => measurement.rows / measurement.seconds;
console.log(
  `eoplock impact: ${(rate(parts) / rate(duck)).toFixed(2)}× DuckDB's rows/s (${(rate(single) / rate(duck)).toFixed(2)}× on one thread), peak RSS ${parts.maxRssMb.toFixed(0)} MB`,
);
