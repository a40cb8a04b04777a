/**
 * One pass of bench/trace.ts, in its own process so that peak RSS is its own: `papaparse`, `duckdb`,
 * `eoplock-impact-1` (the file read in one piece, one thread) or `eoplock-impact` (as the CLI reads it: a large file in
 * parts, on every processor). The eoplock passes load the built code (`npm run build`, as the CLI runs it) from the
 * folder given third (default dist/).
 */
import { createReadStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import Papa from 'papaparse';
import { pathToFileURL } from 'node:url';

const [mode, file, code = 'dist'] = process.argv.slice(2) as [string, string, string?];
const started = performance.now();
let rows = 0;

if (mode === 'papaparse') {
  await new Promise<void>((resolve, reject) => {
    Papa.parse(createReadStream(file, 'utf8'), { header: true, skipEmptyLines: true, step: () => { rows++; }, complete: () => resolve(), error: reject });
  });
} else if (mode === 'duckdb') {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:', { threads: '2', autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
  const connection = await db.connect();
  const reader = await connection.runAndReadAll(`SELECT FromIP, count(*) AS n FROM read_csv('${file.replace(/'/g, "''")}', header = true, all_varchar = true) GROUP BY FromIP`);
  rows = reader.getRows().reduce((sum, row) => sum + Number(row[1]), 0);
} else if (mode === 'eoplock-impact' || mode === 'eoplock-impact-1') {
  // The built code, as the CLI runs it, not the TypeScript sources through tsx.
  const load = async <T>(path: string): Promise<T> => (await import(pathToFileURL(`${code}/${path}`).href)) as T;
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
} else {
  throw new Error(`unknown mode ${mode}`);
}
const seconds = (performance.now() - started) / 1000;
process.stdout.write(JSON.stringify({ mode, rows, seconds, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
