/**
 * The probe against servers that are not SMTP or never finish: `250-` continuation lines with no final line are a
 * protocol failure (exit 2), not "session established"; a reply is bounded in lines and bytes; the whole probe ends
 * within --timeout, and nothing keeps the process alive afterwards (timed in a child process).
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { describe, test } from 'node:test';
import { MAX_REPLY_BYTES, MAX_REPLY_LINES, probe, replyProblem } from '../../src/probe/probe.js';
import { cli } from '../helpers/cli.js';
import { childCli, HOST, rawServer, scriptedServer } from './servers.js';

const envelope = ['--from', 'a@b.example', '--to', 'c@d.example'];

/** Writes `line` over and over until the socket is gone, without buffering more than the socket takes. */
function flood(socket: Socket, line: string): void {
  const chunk = line.repeat(512);
  const write = () => {
    while (!socket.destroyed && socket.write(chunk));
    if (!socket.destroyed) socket.once('drain', write);
  };
  write();
}

describe('replyProblem', () => {
  for (const [reply, problem] of [
    ['250 ok', null],
    ['250', null],
    ['250-mx.example\n250-PIPELINING\n250 SIZE 1000', null],
    ['550 5.7.68 refused', null],
    ['250-x\n250-y\n', /ended without its final "250 …" line/],
    ['250-x', /ended without its final/],
    ['250-x\n251 y', /mixes the codes 250 and 251/],
    ['hello', /is not "NNN text"/],
    ['\u0000\u00ff garbage', /is not "NNN text"/],
    ['199 x', /is not "NNN text"/],
    ['600 x', /is not "NNN text"/],
    ['250x', /is not "NNN text"/],
    ['250 a\n250 b', /went on after its final line/],
    [`${'250-x\n'.repeat(MAX_REPLY_LINES)}250 end`, /more than 256 lines/],
  ] as const) {
    test(`${JSON.stringify(reply.length > 40 ? `${reply.slice(0, 40)}…` : reply)} → ${problem ?? 'fine'}`, () => {
      const found = replyProblem(reply);
      if (problem === null) assert.equal(found, null);
      else assert.match(found ?? '', problem);
    });
  }
  test('linear: a reply of a million short lines is judged at once', { timeout: 10_000 }, () => {
    const started = performance.now();
    assert.match(replyProblem('250-x\n'.repeat(1_000_000)) ?? '', /more than/);
    assert.equal(replyProblem(`250-${'x'.repeat(MAX_REPLY_BYTES)}\n250 y`), null);
    assert.ok(performance.now() - started < 2_000);
  });
});

describe('continuation lines with no final line', () => {
  test('a greeting of 220- lines closed by a blank line is "not SMTP" (exit 2), not "session established"', async () => {
    const server = await scriptedServer('220-x\r\n220-y\r\n\r\n', () => '250-x\r\n250-y\r\n\r\n');
    try {
      const result = await cli('probe', '--host', HOST, '--port', String(server.port), ...envelope, '--timeout', '5');
      assert.equal(result.code, 2, result.stdout);
      assert.match(result.stderr, /did not speak SMTP: a multiline reply ended without its final "220 …" line/);
      assert.deepEqual(server.commands, [], 'not even EHLO was sent');
    } finally {
      await server.close();
    }
  });

  test('an EHLO reply of 250- lines closed by a blank line is "not SMTP": no MAIL FROM is sent', async () => {
    const server = await scriptedServer('220 hi\r\n', () => '250-x\r\n250-y\r\n\r\n');
    try {
      const result = await cli('probe', '--host', HOST, '--port', String(server.port), ...envelope, '--timeout', '5', '--format', 'json');
      assert.equal(result.code, 2);
      const report = JSON.parse(result.stdout) as { runs: { result: { steps: unknown[]; outcome: unknown; failure: { kind: string } } }[] };
      assert.equal(report.runs[0]?.result.failure.kind, 'protocol');
      assert.deepEqual(report.runs[0]?.result.steps, []);
      assert.equal(report.runs[0]?.result.outcome, null);
      assert.deepEqual(server.commands, ['EHLO eoplock-probe.invalid']);
    } finally {
      await server.close();
    }
  });

  test('a MAIL FROM reply of 250- lines closed by a blank line is "not SMTP", not an accepted envelope', async () => {
    const server = await scriptedServer('220 hi\r\n', (command) => (/^EHLO/.test(command) ? '250 hi\r\n' : /^QUIT/.test(command) ? null : '250-x\r\n\r\n'));
    try {
      const result = await cli('probe', '--host', HOST, '--port', String(server.port), ...envelope, '--timeout', '5');
      assert.equal(result.code, 2);
      assert.match(result.stderr, /did not speak SMTP/);
      assert.doesNotMatch(result.stdout, /accept at/);
    } finally {
      await server.close();
    }
  });

  for (const [name, greeting] of [
    ['the greeting', ''],
    ['the EHLO reply', '220 hi\r\n'],
  ] as const) {
    test(`endless 2xx- lines in ${name} end the probe at once: the reply is bounded (${MAX_REPLY_BYTES / 1024} KiB)`, { timeout: 10_000 }, async () => {
      const server = await rawServer((socket) => {
        if (!greeting) return flood(socket, '220-x\r\n');
        socket.write(greeting);
        socket.once('data', () => flood(socket, '250-x\r\n'));
      });
      const started = Date.now();
      try {
        const result = await cli('probe', '--host', HOST, '--port', String(server.port), ...envelope, '--timeout', '8');
        assert.equal(result.code, 2);
        assert.match(result.stderr, /did not speak SMTP: Server response exceeds maximum allowed size/);
        assert.ok(Date.now() - started < 4_000, `took ${Date.now() - started} ms`);
      } finally {
        await server.close();
      }
    });
  }

  // nodemailer queues every blank line as a reply of its own and skips them one event-loop turn at a time: unbounded,
  // such a flood grew the queue by the megabyte and kept the process busy long after the probe gave up.
  for (const [name, line] of [
    ['blank lines', '\r\n'],
    ['one-line replies nobody asked for', '250 ok\r\n'],
  ] as const) {
    test(`a flood of ${name} after the greeting ends the probe at once`, { timeout: 10_000 }, async () => {
      const server = await rawServer((socket) => {
        socket.write('220 hi\r\n');
        socket.once('data', () => flood(socket, line));
      });
      const started = Date.now();
      try {
        const result = await cli('probe', '--host', HOST, '--port', String(server.port), ...envelope, '--timeout', '8');
        assert.equal(result.code, 2);
        assert.match(result.stderr, /did not speak SMTP/);
        assert.ok(Date.now() - started < 4_000, `took ${Date.now() - started} ms`);
      } finally {
        await server.close();
      }
    });
  }

  test('a few 250- lines and then silence: exit 2 within --timeout 1', { timeout: 10_000 }, async () => {
    const server = await rawServer((socket) => {
      socket.write('220 hi\r\n');
      socket.once('data', () => socket.write('250-x\r\n'.repeat(20)));
    });
    const started = Date.now();
    try {
      const result = await cli('probe', '--host', HOST, '--port', String(server.port), ...envelope, '--timeout', '1');
      assert.equal(result.code, 2);
      assert.match(result.stderr, /did not answer EHLO or STARTTLS within the probe's time limit of 1 s/);
      assert.ok(Date.now() - started < 3_000, `took ${Date.now() - started} ms`);
    } finally {
      await server.close();
    }
  });

  test('20 lines of 250- and a hang-up is "not SMTP"', async () => {
    const server = await rawServer((socket) => {
      socket.write('220 hi\r\n');
      socket.once('data', () => socket.end('250-x\r\n'.repeat(20)));
    });
    try {
      const result = await probe({ host: HOST, port: server.port, from: 'a@b.example', to: ['c@d.example'], ehlo: 'x.invalid', starttls: 'auto', send: false, timeoutMs: 5_000 });
      assert.equal(result.failure?.kind, 'protocol');
    } finally {
      await server.close();
    }
  });
});

describe('the time limit', () => {
  // A child process, so that what keeps the event loop alive after the command returned (a half-closed socket, a
  // timer) is measured too: the server here never closes its side, as a blackholed or hostile peer would not.
  test('--timeout 1 against a server that accepts TCP and never greets: the process is gone within ~3 s', { timeout: 30_000 }, async () => {
    const server = await rawServer(() => undefined);
    try {
      const result = await childCli('probe', '--host', HOST, '--port', String(server.port), ...envelope, '--timeout', '1');
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /did not answer within 1 s/);
      assert.ok(result.lived >= 900 && result.lived < 3_000, `lived ${result.lived} ms after main started`);
    } finally {
      await server.close();
    }
  });

  test('--tenant against a server that greets and then hangs: all three tests share the one limit', { timeout: 10_000 }, async () => {
    const server = await rawServer((socket) => socket.write('220 hi\r\n'));
    const started = Date.now();
    try {
      const result = await cli('probe', '--tenant', 'examples/contoso-locked.json', '--host', HOST, '--port', String(server.port), '--timeout', '1', '--format', 'json');
      assert.equal(result.code, 2, result.stderr);
      const report = JSON.parse(result.stdout) as { runs: { result: { failure: { kind: string } | null } }[] };
      assert.deepEqual(
        report.runs.map((run) => run.result.failure?.kind),
        ['timeout', 'timeout', 'timeout'],
      );
      assert.ok(Date.now() - started < 3_000, `took ${Date.now() - started} ms`);
    } finally {
      await server.close();
    }
  });

  test('a server that never answers QUIT does not hold the probe: exit 0 about a second later', { timeout: 10_000 }, async () => {
    const server = await scriptedServer('220 hi\r\n', (command) => (/^QUIT/i.test(command) ? '' : '250 ok\r\n'));
    const started = Date.now();
    try {
      const result = await cli('probe', '--host', HOST, '--port', String(server.port), ...envelope, '--timeout', '10');
      assert.equal(result.code, 0, result.stderr);
      assert.ok(server.commands.includes('QUIT'));
      assert.ok(Date.now() - started < 3_500, `took ${Date.now() - started} ms`);
    } finally {
      await server.close();
    }
  });
});
