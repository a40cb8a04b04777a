/**
 * Benchmark: decide() verdicts per second on a generated tenant with 50 inbound connectors and 300 transport rules.
 *
 * Two paths: the fast path of a compiled snapshot (`compile(snapshot).decide(tx)`: no trace, no per-rule reasons),
 * and the traced path (`decide(snapshot, tx)`, the public API, with the trace). Before measuring, every fast verdict
 * is checked against the traced one (equal but for the trace and the rules' reasons).
 *
 * Peer, measured in the same run on the same transactions: node:net's BlockList answering only "is the client IP
 * in any connector's SenderIPAddresses?" — the cheapest part of the decision, done by Node's built-in C++ matcher.
 * The ratio says what the full decision (attribution, connectors, RejectDirectSend, restriction, 300 rules)
 * costs relative to that one lookup.
 *
 *   npm run bench                 # default: 3 rounds of ~2 s each
 *   npm run bench -- --seconds 5  # longer rounds
 */
import { BlockList } from 'node:net';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { deepStrictEqual } from 'node:assert/strict';
import { compile } from '../src/eop/compile.js';
import { decide } from '../src/eop/decide.js';
import type { Transaction, Verdict } from '../src/eop/types.js';
import { benchTenant } from './bench-tenant.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '2' }, rounds: { type: 'string', default: '3' } } });
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);

// The tenant: bench/bench-tenant.ts (also used by bench/prove.ts); the transactions continue its random sequence.
const { snapshot, connectors, domains, rules, rnd } = benchTenant();
const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)] as T;
const octet = () => Math.floor(rnd() * 256);

const connectorIps = connectors.flatMap((connector) => (connector as { SenderIPAddresses?: string[] }).SenderIPAddresses ?? []);
const transactions: Transaction[] = Array.from({ length: 1000 }, (_, i) => {
  const fromConnector = i % 4 === 0 ? pick(connectorIps).replace(/\/24$/, '').replace(/\.0$/, '.9') : `${octet() || 1}.${octet()}.${octet()}.${octet()}`;
  const internal = `user${i}@${pick(domains).DomainName}`;
  return {
    clientIp: i % 10 === 9 ? `2001:db8::${(i % 0xffff).toString(16)}` : fromConnector,
    helo: 'client.example',
    ...(i % 5 === 0 ? { tls: { certificate: { subject: i % 10 === 0 ? 'CN=mx1.seg.example.net' : 'CN=mail.other.example' } } } : {}),
    mailFrom: i % 3 === 0 ? internal : i % 3 === 1 ? `sender@partner${i % 50}.example` : '',
    rcptTo: [`user@${pick(domains).DomainName}`, ...(i % 7 === 0 ? [`other@${pick(domains).DomainName}`] : [])],
    headers: [
      { name: 'From', value: i % 2 ? internal : `Sender <sender@partner${i % 50}.example>` },
      { name: 'Subject', value: `[ticket-${i % 300}] hello` },
      { name: 'X-Campaign', value: `campaign-${i % 400}` },
    ],
  };
});

const blockList = new BlockList();
for (const text of connectorIps) {
  if (text.includes('/')) {
    const [base, bits] = text.split('/');
    blockList.addSubnet(base as string, Number(bits), 'ipv4');
  } else blockList.addAddress(text, 'ipv4');
}

function measure(name: string, body: (tx: Transaction) => unknown, set: readonly Transaction[] = transactions): number {
  let count = 0;
  let sink = 0;
  const end = performance.now() + seconds * 1000;
  let start = performance.now();
  // Warm-up: one pass over the transactions.
  for (const tx of set) sink += body(tx) ? 1 : 0;
  start = performance.now();
  while (performance.now() < end) {
    for (const tx of set) sink += body(tx) ? 1 : 0;
    count += set.length;
  }
  const rate = count / ((performance.now() - start) / 1000);
  if (sink < 0) console.log(name);
  return rate;
}

const policy = compile(snapshot);
/** A verdict without what only the traced path writes. */
const comparable = (verdict: Verdict) => ({ ...verdict, trace: [], rules: verdict.rules.map((rule) => ({ ...rule, reasons: [] })) });
const outcomes = new Map<string, number>();
for (const tx of transactions) {
  const verdict = decide(snapshot, tx);
  deepStrictEqual(comparable(policy.decide(tx)), comparable(verdict), `the fast path differs from the traced one for ${JSON.stringify(tx)}`);
  const key = `${verdict.action} ${verdict.enhanced}`;
  outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
}

const format = (rate: number) => Math.round(rate).toLocaleString('en-US');
console.log(`tenant: ${connectors.length} inbound connectors, ${rules.length} transport rules, ${domains.length} accepted domains`);
console.log(`transactions: ${transactions.length} distinct, outcomes: ${[...outcomes].map(([k, v]) => `${k} ×${v}`).join(', ')}`);
console.log(`fast path checked against the traced path on every transaction: equal but for trace and rule reasons`);
console.log(`node ${process.version}, ${rounds} rounds of ${seconds} s per measurement`);
const acceptedOnly = transactions.filter((tx) => decide(snapshot, tx).action === 'accept');
const results: { fast: number; fastAccepted: number; traced: number; tracedAccepted: number; peer: number }[] = [];
for (let round = 1; round <= rounds; round++) {
  const fast = measure('fast', (tx) => policy.decide(tx).action);
  const fastAccepted = measure('fast-accepted', (tx) => policy.decide(tx).action, acceptedOnly);
  const traced = measure('traced', (tx) => decide(snapshot, tx).action);
  const tracedAccepted = measure('traced-accepted', (tx) => decide(snapshot, tx).action, acceptedOnly);
  const peer = measure('blocklist', (tx) => blockList.check(tx.clientIp, tx.clientIp.includes(':') ? 'ipv6' : 'ipv4'));
  results.push({ fast, fastAccepted, traced, tracedAccepted, peer });
  console.log(
    `round ${round}: fast ${format(fast)} verdicts/s (accepted mail, all rules: ${format(fastAccepted)}/s); ` +
      `traced ${format(traced)}/s (accepted: ${format(tracedAccepted)}/s); peer net.BlockList ${format(peer)} lookups/s`,
  );
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const m = {
  fast: median(results.map((r) => r.fast)),
  fastAccepted: median(results.map((r) => r.fastAccepted)),
  traced: median(results.map((r) => r.traced)),
  tracedAccepted: median(results.map((r) => r.tracedAccepted)),
  peer: median(results.map((r) => r.peer)),
};
console.log(
  `median fast path:   ${format(m.fast)} verdicts/s (${(1e6 / m.fast).toFixed(2)} µs per verdict), accepted mail through all 300 rules ${format(m.fastAccepted)}/s; ` +
    `one net.BlockList lookup is ${(m.peer / m.fast).toFixed(1)}× faster`,
);
console.log(
  `median traced path: ${format(m.traced)} verdicts/s (${(1e6 / m.traced).toFixed(1)} µs per verdict), accepted mail through all 300 rules ${format(m.tracedAccepted)}/s; ` +
    `one net.BlockList lookup is ${(m.peer / m.traced).toFixed(1)}× faster`,
);
console.log(
  `goals (fast path): mixed ≥ 1,000,000/s ${m.fast >= 1_000_000 ? 'met' : 'NOT met'}; accepted through all rules ≥ 200,000/s ${m.fastAccepted >= 200_000 ? 'met' : 'NOT met'}`,
);
