/**
 * Benchmark: auditing many tenant snapshots at once (`eoplock audit <1,000 files>`), end to end through the CLI
 * code: read, parse, normalise, validate, 36 checks, the proof corpus through the emulator, render JSON.
 *
 * Peer, in the same run on the same files: reading and JSON.parse alone — the floor any tool pays to look at them.
 *
 *   npm run bench:audit                      # 1,000 snapshots
 *   npm run bench:audit -- --tenants 5000
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { auditCommand, mapLimit } from '../src/cli/audit.js';

const { values } = parseArgs({ options: { tenants: { type: 'string', default: '1000' } } });
const count = Number(values.tenants);
const examples = await Promise.all(['exposed', 'partial', 'locked'].map(async (name) => JSON.parse(await readFile(`examples/contoso-${name}.json`, 'utf8')) as Record<string, unknown>));

const dir = await mkdtemp(join(tmpdir(), 'eoplock-bench-'));
try {
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const snapshot = structuredClone(examples[i % examples.length]) as { Meta: Record<string, unknown> };
    snapshot.Meta.tenant = `Tenant ${i}`;
    const file = join(dir, `tenant-${String(i).padStart(5, '0')}.json`);
    await writeFile(file, JSON.stringify(snapshot));
    files.push(file);
  }
  const bytes = (await Promise.all(files.slice(0, 3).map((file) => readFile(file)))).reduce((sum, buffer) => sum + buffer.length, 0) / 3;
  console.log(`${count} snapshots of about ${Math.round(bytes / 1024)} KiB each (the three examples, renamed), node ${process.version}`);

  let start = performance.now();
  await mapLimit(files, 8, async (file) => JSON.parse(await readFile(file, 'utf8')) as unknown);
  const peer = (performance.now() - start) / 1000;

  let output = 0;
  start = performance.now();
  const code = await auditCommand(
    { stdout: (text) => void (output += text.length), stderr: () => undefined, color: false, progress: false },
    files,
    { segIp: [], format: 'json', failOn: 'none', assume: [], concurrency: 8, verbose: false, color: false, progress: false },
  );
  const audit = (performance.now() - start) / 1000;
  console.log(`peer (read + JSON.parse only): ${peer.toFixed(2)} s`);
  console.log(`eoplock audit --format json:   ${audit.toFixed(2)} s (exit ${code}, ${(output / 1e6).toFixed(1)} MB of JSON), ${(count / audit).toFixed(0)} snapshots/s, ${(audit / peer).toFixed(1)}× the peer`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
