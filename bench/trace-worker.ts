/**
 * One pass of bench/trace.ts, in its own process so that peak RSS is its own: `papaparse`, `duckdb` or `eoplock-impact`.
 */
import { createReadStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import Papa from 'papaparse';
// The built code (npm run build), as the CLI runs it, not the TypeScript sources through tsx.
import { DEFAULT_ASSUMPTIONS } from '../dist/eop/assumptions.js';
import { buildPlan, DEFAULT_CONNECTOR_NAME, DEFAULT_RULE_NAME } from '../dist/plan/plan.js';
import { inferProfile } from '../dist/profile/profile.js';
import { loadSnapshotFile } from '../dist/snapshot/load.js';
import { ImpactAnalysis } from '../dist/trace/impact.js';
import { readTrace } from '../dist/trace/read.js';

const [mode, file] = process.argv.slice(2) as [string, string];
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
} else if (mode === 'eoplock-impact') {
  const { snapshot } = await loadSnapshotFile('examples/contoso-exposed.json');
  const profile = inferProfile(snapshot);
  const after = buildPlan(snapshot, profile, { allowDirectSend: [], safetyNet: 'reject', ruleName: DEFAULT_RULE_NAME, connectorName: DEFAULT_CONNECTOR_NAME }).after;
  const analysis = new ImpactAnalysis(snapshot, after, profile, DEFAULT_ASSUMPTIONS);
  const summary = await readTrace(file, { onRecord: (record) => analysis.add(record) });
  const result = analysis.finish();
  rows = summary.records + summary.malformed;
  if (result.evaluated === 0) throw new Error('nothing evaluated');
} else {
  throw new Error(`unknown mode ${mode}`);
}
const seconds = (performance.now() - started) / 1000;
process.stdout.write(JSON.stringify({ mode, rows, seconds, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
