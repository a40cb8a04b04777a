/**
 * `eoplock lab` and `eoplock probe` on the command line.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { XMLParser } from 'fast-xml-parser';
import { labCommand } from '../../src/cli/lab.js';
import { cli } from '../helpers/cli.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('eoplock lab + eoplock probe', () => {
  test('the guide tests from the snapshot pass against the lab; JUnit parses back; the lab stops cleanly', async () => {
    const port = await freePort();
    const controller = new AbortController();
    let labOut = '';
    const running = labCommand(
      { stdout: (t) => void (labOut += t), stderr: () => undefined, color: false, progress: false },
      'examples/contoso-locked.json',
      { segIp: [], listen: `127.0.0.1:${port}`, gatewaySource: '127.0.0.2', xclientFrom: [], assume: [], maxClients: 100, maxMessageSize: 1_000_000, idleTimeout: 10, sessionTimeout: 60 },
      controller.signal,
    );
    for (let i = 0; i < 50 && !labOut.includes('listening'); i++) await sleep(100);
    try {
      const text = await cli('probe', '--tenant', 'examples/contoso-locked.json', '--host', '127.0.0.1', '--port', String(port), '--to', 'alice@contoso.com');
      assert.equal(text.code, 0, text.stdout + text.stderr);
      assert.match(text.stdout, /3 passed, 0 failed/);
      const junit = await cli('probe', '--tenant', 'examples/contoso-locked.json', '--host', '127.0.0.1', '--port', String(port), '--format', 'junit');
      const parsed = new XMLParser({ ignoreAttributes: false }).parse(junit.stdout) as { testsuites: { testsuite: { '@_tests': string; '@_failures': string } } };
      assert.equal(parsed.testsuites.testsuite['@_tests'], '3');
      assert.equal(parsed.testsuites.testsuite['@_failures'], '0');
      const wrong = await cli('probe', '--host', '127.0.0.1', '--port', String(port), '--from', 'ceo@contoso.com', '--to', 'alice@contoso.com', '--expect', 'accept');
      assert.equal(wrong.code, 1);
      assert.match(wrong.stdout, /expected accept — NOT MET/);
      assert.match(labOut, /<eoplock-probe@contoso\.com> → alice@contoso\.com: 550 5\.7\.68 at RCPT/);
    } finally {
      controller.abort();
      assert.equal(await running, 0);
    }
    assert.match(labOut, /Stopping: finishing transactions in flight/);
  });

  test('probe: connection refused exits 2 with a clear message', async () => {
    const port = await freePort();
    const result = await cli('probe', '--host', '127.0.0.1', '--port', String(port), '--from', 'a@b.example', '--to', 'c@d.example', '--timeout', '2');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /127\.0\.0\.1:\d+ refused the connection/);
  });

  for (const [name, argv, message] of [
    ['probe without --from or --tenant', ['probe', '--host', '127.0.0.1', '--to', 'x@y.example'], /--from: give --from/],
    ['probe with a bad --expect', ['probe', '--host', '127.0.0.1', '--from', 'a@b.example', '--to', 'x@y.example', '--expect', 'maybe'], /--expect: "maybe" is not a reply code/],
    ['probe with a bad port', ['probe', '--host', '127.0.0.1', '--port', '70000', '--from', 'a@b.example', '--to', 'x@y.example'], /--port: 70000 is not a TCP port/],
    ['lab with a bad --listen', ['lab', 'examples/contoso-locked.json', '--listen', 'nowhere'], /--listen: expected HOST:PORT, got "nowhere"/],
    ['lab with a bad --store-max-bytes', ['lab', 'examples/contoso-locked.json', '--store-max-bytes', 'lots'], /--store-max-bytes: "lots" is not a size in bytes/],
    ['lab with --store-max-messages 0', ['lab', 'examples/contoso-locked.json', '--store-max-messages', '0'], /--store-max-messages: expected a positive whole number, got 0/],
  ] as const) {
    test(`${name}: exit 2`, async () => {
      const result = await cli(...argv);
      assert.equal(result.code, 2, result.stdout + result.stderr);
      assert.match(result.stderr, message);
    });
  }
});
