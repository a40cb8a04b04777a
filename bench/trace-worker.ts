/**
 * One pass of bench/trace.ts, in its own process so that peak RSS is its own. bench/trace.ts runs it as plain
 * JavaScript (esbuild strips the types), as the CLI runs: no TypeScript loader in the process.
 *   - bare CSV passes, counting rows: `papaparse`, `udsv` (uDSV's incremental parser, string arrays), `csv-parse`
 *     (the reader's options) and `eoplock-csv` (eoplock's CSV reader: the row scanner of src/trace/tokenize.ts);
 *   - `duckdb`: read_csv with a SQL aggregate (count per FromIP), on 2 threads;
 *   - `eoplock-impact-1` (the file read in one piece, one thread) or `eoplock-impact` (as the CLI reads it: a large
 *     file in parts, on every processor). The eoplock passes load the built code from the folder given third
 *     (default dist/).
 * It prints rows, wall seconds, CPU seconds (every thread of the process) and peak RSS as JSON.
 */
import { createReadStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const [mode, file, code = 'dist'] = process.argv.slice(2) as [string, string, string?];
const started = performance.now();
let rows = 0;
/** What the impact passes found, to compare (a digest of the groups: they are many). */
let impact: (() => unknown) | null = null;
// The built code, as the CLI runs it, not the TypeScript sources.
const load = async <T>(path: string): Promise<T> => (await import(pathToFileURL(`${code}/${path}`).href)) as T;
const text = () => createReadStream(file, { encoding: 'utf8' }) as AsyncIterable<string> & NodeJS.ReadableStream;
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
} else if (mode === 'eoplock-impact' || mode === 'eoplock-impact-1') {
  const { DEFAULT_ASSUMPTIONS } = await load<typeof import('../src/eop/assumptions.js')>('eop/assumptions.js');
  const { buildPlan, DEFAULT_CONNECTOR_NAME, DEFAULT_RULE_NAME } = await load<typeof import('../src/plan/plan.js')>('plan/plan.js');
  const { inferProfile } = await load<typeof import('../src/profile/profile.js')>('profile/profile.js');
  const { loadSnapshotFile } = await load<typeof import('../src/snapshot/load.js')>('snapshot/load.js');
  const { ImpactAnalysis } = await load<typeof import('../src/trace/impact.js')>('trace/impact.js');
  const { readTrace } = await load<typeof import('../src/trace/read.js')>('trace/read.js');
  const { snapshot } = await loadSnapshotFile('examples/contoso-exposed.json');
  const profile = inferProfile(snapshot);
  const after = buildPlan(snapshot, profile, { allowDirectSend: [], safetyNet: 'reject', ruleName: DEFAULT_RULE_NAME, connectorName: DEFAULT_CONNECTOR_NAME }).after;
  const analysis = new ImpactAnalysis(snapshot, after, profile, DEFAULT_ASSUMPTIONS);
  const parts = mode === 'eoplock-impact' ? { impact: analysis } : {};
  const summary = await readTrace(file, { onRecord: (record) => analysis.add(record), ...parts });
  const result = analysis.finish();
  rows = summary.records + summary.malformed;
  if (result.evaluated === 0) throw new Error('nothing evaluated');
  const { groups, limits: _limits, ...counts } = result;
  impact = () => ({ counts, groups: groups.length, digest: digest(groups.map((group) => JSON.stringify(group))) });
} else {
  throw new Error(`unknown mode ${mode}`);
}
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage();
const maxRssMb = process.resourceUsage().maxRSS / 1024;
// Measured before the digest is made.
process.stdout.write(JSON.stringify({ mode, rows, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, maxRssMb, impact: impact?.() }));

/** A short digest of texts in order (FNV-1a), to tell two results apart without printing them. */
function digest(values: readonly string[]): string {
  let hash = 0x811c9dc5;
  for (const value of values) for (let k = 0; k < value.length; k++) hash = Math.imul(hash ^ value.charCodeAt(k), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}
