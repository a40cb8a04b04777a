/**
 * The HTTPS client of `pull` against a loopback server with a large answer: the body it reads is bounded.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { httpsRequest } from '../../src/pull/http.js';
import { loopbackCertificate } from '../helpers/exo-server.js';

describe('httpsRequest', () => {
  test('an answer larger than maxBytes is refused, not held in memory; a smaller one is read whole', { timeout: 20_000 }, async () => {
    const pems = await loopbackCertificate();
    const BODY = 4 * 1024 * 1024;
    const server = createServer({ cert: pems.cert, key: pems.private }, (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      let sent = 0;
      const pump = () => {
        while (sent < BODY) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('error', () => undefined);
      pump();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      await assert.rejects(
        httpsRequest(`https://127.0.0.1:${port}/`, { ca: pems.cert, maxBytes: 1024 * 1024 }),
        /is larger than 1 MiB: refused/,
      );
      const whole = await httpsRequest(`https://127.0.0.1:${port}/`, { ca: pems.cert });
      assert.equal(whole.status, 200);
      assert.equal(whole.text.length, BODY, 'under the default limit the whole answer is read');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
