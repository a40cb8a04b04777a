/**
 * One pass of bench/trace.ts, in its own process so that peak RSS is its own. bench/trace.ts runs it as plain
 * JavaScript (esbuild strips the types), as the CLI runs: no TypeScript loader in the process.
 *   - bare CSV passes, counting rows: `papaparse`, `udsv` (uDSV's incremental parser, string arrays), `csv-parse`
 *     (the reader's options) and `eoplock-csv` (eoplock's CSV reader: the row scanner of src/trace/tokenize.ts);
 *   - `duckdb`: read_csv with a SQL aggregate (count per FromIP), on 2 threads;
 *   - `eoplock-impact-1`: the impact analysis of the library with the file read as text, row by row, in one piece on one
 *     thread (the reference); `eoplock-impact`: the command `eoplock impact <tenant> <file> --format json` from the CLI
 *     bundle, in this process (a large file in parts, on every processor, through the row-key kernel). The eoplock
 *     passes load the built code from the folder given third (default dist/).
 * It prints rows, wall seconds, CPU seconds (every thread of the process) and peak RSS as JSON.
 */
import { createReadStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const [mode, file, code = 'dist'] = process.argv.slice(2) as [string, string, string?];
const started = performance.now();
let rows = 0;
/** Wall and CPU time and peak RSS so far. */
const measure = () => ({ seconds: (performance.now() - started) / 1000, cpu: process.cpuUsage(), maxRssMb: process.resourceUsage().maxRSS / 1024 });
/** Measured before the pass's own checking work (parsing the command's output), where there is some. */
let measured: ReturnType<typeof measure> | null = null;
/** What the impact passes found, to compare (a digest of the groups: they are many). */
let impact: (() => unknown) | null = null;
// The built code, as the CLI runs it, not the TypeScript sources.
const load = async <T>(path: string): Promise<T> => (await import(pathToFileURL(`${code}/${path}`).href)) as T;
const text = () => createReadStream(file, { encoding: 'utf8' }) as AsyncIterable<string> & NodeJS.ReadableStream;
const SNAPSHOT = 'examples/contoso-exposed.json';
const HEADER = ['Received', 'SenderAddress', 'RecipientAddress', 'Subject', 'Status', 'ToIP', 'FromIP', 'Size', 'MessageId', 'MessageTraceId'];

if (mode === 'papaparse') {
  const { default: Papa } = await import('papaparse');
  await new Promise<void>((resolve, reject) => {
    Papa.parse(text(), { header: true, skipEmptyLines: true, step: () => { rows++; }, complete: () => resolve(), error: reject });
  });
} else if (mode === 'udsv') {
  const { initParser } = await import('udsv');
  const columns = HEADER.map((name) => ({ name, type: 's' as const, repl: { empty: undefined, null: undefined, NaN: undefined } }));
  // The header row is the first row; `skip` (rows before the data) is in the schema inferSchema makes, not in its type.
  const parser = initParser({ col: ',', row: '\r\n', encl: '"', esc: '"', trim: false, cols: columns, skip: 1 } as Parameters<typeof initParser>[0]);
  for await (const chunk of text()) parser.chunk<string[]>(chunk, parser.stringArrs, () => { rows++; });
  parser.end();
} else if (mode === 'csv-parse') {
  const { Parser } = await import('csv-parse');
  await new Promise<void>((resolve, reject) => {
    const parser = new Parser({ record_delimiter: ['\r\n', '\n'], relax_quotes: true, relax_column_count: true, skip_empty_lines: true, from_line: 2, on_record: () => { rows++; return null; } });
    parser.on('data', () => undefined).on('end', resolve).on('error', reject);
    text().pipe(parser);
  });
} else if (mode === 'eoplock-csv') {
  const { CsvRecordScanner } = await load<typeof import('../src/trace/tokenize.js')>('trace/tokenize.js');
  let header = true;
  const scanner = new CsvRecordScanner(',', HEADER.length + 100, () => { if (header) header = false; else rows++; }, 1);
  for await (const chunk of text()) if (scanner.feed(chunk) !== null) throw new Error('the scanner handed the text over to csv-parse');
  if (scanner.end() !== null) throw new Error('the scanner handed the text over to csv-parse');
} else if (mode === 'duckdb') {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:', { threads: '2', autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
  const connection = await db.connect();
  const reader = await connection.runAndReadAll(`SELECT FromIP, count(*) AS n FROM read_csv('${file.replace(/'/g, "''")}', header = true, all_varchar = true) GROUP BY FromIP`);
  rows = reader.getRows().reduce((sum, row) => sum + Number(row[1]), 0);
} else if (mode === 'eoplock-impact-1') {
  const { DEFAULT_ASSUMPTIONS } = await load<typeof import('../src/eop/assumptions.js')>('eop/assumptions.js');
  const { defaultPlanAfter } = await load<typeof import('../src/plan/plan.js')>('plan/plan.js');
  const { inferProfile } = await load<typeof import('../src/profile/profile.js')>('profile/profile.js');
  const { loadSnapshotFile } = await load<typeof import('../src/snapshot/load.js')>('snapshot/load.js');
  const { ImpactAnalysis } = await load<typeof import('../src/trace/impact.js')>('trace/impact.js');
  const { readTrace } = await load<typeof import('../src/trace/read.js')>('trace/read.js');
  const { snapshot } = await loadSnapshotFile(SNAPSHOT);
  const profile = inferProfile(snapshot);
  const analysis = new ImpactAnalysis(snapshot, defaultPlanAfter(snapshot, profile, DEFAULT_ASSUMPTIONS), profile, DEFAULT_ASSUMPTIONS);
  // No `impact` option: the file is read as text, row by row, in one piece (the reference the CLI's reading must equal).
  const summary = await readTrace(file, { onRecord: (record) => analysis.add(record) });
  const result = analysis.finish();
  rows = summary.records + summary.malformed;
  if (result.evaluated === 0) throw new Error('nothing evaluated');
  const { groups, limits: _limits, ...counts } = result;
  impact = () => ({ counts, groups: groups.length, digest: digest(groups.map((group) => JSON.stringify(group))) });
} else if (mode === 'eoplock-impact') {
  // The command itself, from the CLI bundle (as bin/eoplock.js runs it), its JSON kept in memory.
  const { main } = (await import(pathToFileURL(`${code}/cli-bundle/main.js`).href)) as { main: (argv: readonly string[], io: object) => Promise<number> };
  let output = '';
  const keep = (text: string) => (output += text);
  const exit = await main(['impact', SNAPSHOT, file, '--format', 'json'], { stdout: keep, data: keep, stderr: (text: string) => process.stderr.write(text), color: false, progress: false });
  if (exit > 1) throw new Error(`eoplock impact exited with ${exit}`);
  // The command is done, its output written: what follows is the bench's (parsing the output for the digest).
  measured = measure();
  const { snapshot: _snapshot, after: _after, inputs, groups, limits: _limits, ...counts } = JSON.parse(output) as { snapshot: unknown; after: unknown; inputs: { records: number; malformed: number }[]; groups: unknown[]; limits: unknown };
  rows = (inputs[0]?.records ?? 0) + (inputs[0]?.malformed ?? 0);
  impact = () => ({ counts, groups: groups.length, digest: digest(groups.map((group) => JSON.stringify(group))) });
} else {
  throw new Error(`unknown mode ${mode}`);
}
const { seconds, cpu, maxRssMb } = measured ?? measure();
// Measured before the digest is made.
process.stdout.write(JSON.stringify({ mode, rows, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, maxRssMb, impact: impact?.() }));

/** A short digest of texts in order (FNV-1a), to tell two results apart without printing them. */
function digest(values: readonly string[]): string {
  let hash = 0x811c9dc5;
  for (const value of values) for (let k = 0; k < value.length; k++) hash = Math.imul(hash ^ value.charCodeAt(k), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}
