/**
 * Benchmark: `eoplock simulate <snapshot> --corpus builtin --format json` on generated tenants with 1,000 and 5,000
 * more inbound connectors (half Partner connectors for one partner domain each, restricted to their addresses; half
 * hybrid OnPremises connectors; each with an address, a /30, a range and an IPv6 address, and a certificate name),
 * through the CLI code: read, parse, generate the corpus (one legitimate path per connector), run it, write JSON.
 *
 * Peer, in the same run on the same files: reading and JSON.parse alone. The ratio to watch is the time per
 * connector at 5,000 against 1,000: about 1 when the work is linear in connectors (it was about 5 when each path's
 * decision tested every connector).
 *
 *   node --import tsx bench/corpus.ts
 *   node --import tsx bench/corpus.ts --connectors 2000,10000
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { simulateCommand } from '../src/cli/simulate.js';

const { values } = parseArgs({ options: { connectors: { type: 'string', default: '1000,5000' } } });
const sizes = values.connectors.split(',').map(Number);

const address = (n: number) => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
const connector = (i: number) => ({
  Name: i % 2 === 0 ? `Partner ${i}` : `On-premises ${i}`,
  Enabled: true,
  ConnectorType: i % 2 === 0 ? 'Partner' : 'OnPremises',
  SenderDomains: [i % 2 === 0 ? `smtp:partner${i}.example;1` : 'smtp:*;1'],
  SenderIPAddresses: [address(i + 1), `11.${i >> 6}.${(i & 63) << 2}.0/30`, `12.${i >> 8}.${i & 255}.1-12.${i >> 8}.${i & 255}.20`, `2001:db8::${(i + 1).toString(16)}`],
  TlsSenderCertificateName: i % 2 === 0 ? `mx.partner${i}.example` : `onprem${i}.contoso.com`,
  RequireTls: true,
  RestrictDomainsToIPAddresses: i % 2 === 0,
});

const example = JSON.parse(await readFile('examples/contoso-exposed.json', 'utf8')) as { InboundConnector: unknown[] };
const dir = await mkdtemp(join(tmpdir(), 'eoplock-bench-corpus-'));
try {
  console.log(`examples/contoso-exposed.json with more inbound connectors; node ${process.version}`);
  const perConnector: number[] = [];
  for (const size of sizes) {
    const file = join(dir, `connectors-${size}.json`);
    await writeFile(file, JSON.stringify({ ...example, InboundConnector: [...example.InboundConnector, ...Array.from({ length: size }, (_, i) => connector(i))] }));
    let start = performance.now();
    JSON.parse(await readFile(file, 'utf8'));
    const peer = (performance.now() - start) / 1000;
    const out = join(dir, `corpus-${size}.json`);
    const io = { stdout: () => undefined, stderr: (text: string) => void process.stderr.write(text), color: false, progress: false };
    start = performance.now();
    const code = await simulateCommand(io, file, { corpus: 'builtin', format: 'json', assume: [], trace: false, color: false, output: out });
    const run = (performance.now() - start) / 1000;
    perConnector.push(run / size);
    console.log(
      `${String(size).padStart(6)} connectors: ${run.toFixed(2)} s (exit ${code}, ${((await stat(out)).size / 1e6).toFixed(1)} MB of JSON), ` +
        `${((run / size) * 1e6).toFixed(0)} µs per connector; peer (read + JSON.parse) ${(peer * 1000).toFixed(0)} ms, ${(run / peer).toFixed(0)}× the peer`,
    );
  }
  const first = perConnector[0] as number;
  const last = perConnector.at(-1) as number;
  console.log(`time per connector at ${sizes.at(-1)} against ${sizes[0]}: ${(last / first).toFixed(2)}× (1 is linear)`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
