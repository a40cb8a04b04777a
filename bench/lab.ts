/**
 * Benchmark: the EOP lab under load, against Postfix on another loopback port, with the same load client.
 *
 * Each session: connect, read the greeting, EHLO, MAIL FROM:<ceo@contoso.com>, RCPT TO:<alice@contoso.com> (refused
 * with 550 5.7.68 by both), QUIT — one command per reply. 50 sessions run at once for a fixed time per server.
 * The lab runs in its own process (node bin/eoplock.js lab), as a user would run it.
 *
 *   npm run build && sudo bash bench/postfix/setup.sh 2527   # Postfix with a recipient reject map (optional)
 *   npm run bench:lab                                        # or: npm run bench:lab -- --seconds 20 --concurrency 50
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '50' },
    'lab-port': { type: 'string', default: '2530' },
    'postfix-port': { type: 'string', default: '2527' },
  },
});
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);
const COMMANDS = ['EHLO load.example', 'MAIL FROM:<ceo@contoso.com>', 'RCPT TO:<alice@contoso.com>', 'QUIT'];

/** One session; resolves with its latency in ms, or rejects. Checks that RCPT was refused with 5.7.68. */
function session(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect({ host: '127.0.0.1', port });
    let buffer = '';
    let step = 0;
    let refused = false;
    socket.setEncoding('utf8');
    socket.setTimeout(10_000, () => socket.destroy(new Error('timeout')));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 1);
        if (line[3] === '-') continue; // continuation of a multi-line reply
        if (step === 3 && /^550 .*5\.7\.68/.test(line)) refused = true;
        if (step < COMMANDS.length) socket.write(`${COMMANDS[step++]}\r\n`);
        else socket.end();
      }
    });
    socket.on('error', reject);
    socket.on('close', () => (refused ? resolve(performance.now() - started) : reject(new Error('RCPT was not refused with 5.7.68'))));
  });
}

async function load(port: number): Promise<{ sessions: number; errors: number; perSecond: number; p50: number; p99: number }> {
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      try {
        latencies.push(await session(port));
      } catch {
        errors++;
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { sessions: latencies.length, errors, perSecond: latencies.length / elapsed, p50: at(0.5), p99: at(0.99) };
}

async function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const format = (r: Awaited<ReturnType<typeof load>>) =>
  `${r.perSecond.toFixed(0)} sessions/s, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms (${r.sessions} sessions, ${r.errors} errors)`;

const labPort = Number(values['lab-port']);
const child = spawn(process.execPath, ['bin/eoplock.js', 'lab', 'examples/contoso-locked.json', '--listen', `127.0.0.1:${labPort}`, '--max-clients', '1000'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
try {
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => {
      if (text.includes('listening')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the lab exited with ${code}`)));
  });
  child.stdout.resume();
  console.log(`node ${process.version}; ${concurrency} concurrent sessions for ${seconds} s per server; EHLO, MAIL, RCPT (550 5.7.68), QUIT`);
  const lab = await load(labPort);
  console.log(`eoplock lab:  ${format(lab)}`);
  const postfixPort = Number(values['postfix-port']);
  if (await reachable(postfixPort)) {
    const postfix = await load(postfixPort);
    console.log(`Postfix:      ${format(postfix)}`);
    console.log(`ratio lab/Postfix: throughput ${(lab.perSecond / postfix.perSecond).toFixed(2)}×, p50 latency ${(lab.p50 / postfix.p50).toFixed(2)}×`);
  } else {
    console.log(`Postfix: nothing listens on 127.0.0.1:${postfixPort}; run "sudo bash bench/postfix/setup.sh ${postfixPort}" to compare`);
  }
} finally {
  child.kill('SIGTERM');
}
