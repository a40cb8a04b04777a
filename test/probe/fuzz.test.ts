/**
 * Fuzzing the probe's flags (--from, --to, --ehlo, --host) with hostile values against a loopback SMTP server: the
 * command never crashes, a refusal is one line naming the flag, a refused run writes no --out file and connects to
 * nobody, and whatever runs, the server reads nothing but EHLO, MAIL FROM, RCPT TO, RSET and QUIT — never DATA, never
 * a command split out of an address.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { isDomainName, isEhloName, isMailbox, isReversePath } from '../../src/util/smtp-syntax.js';
import { cli, tempFolder } from '../helpers/cli.js';
import { HOST, recordingServer, type RecordingServer } from './servers.js';

const { path } = tempFolder('eoplock-probe-fuzz-');

/** Pieces an attacker would put into an address or a name. */
const hostilePiece = fc.constantFrom(
  '\r\n',
  '\n',
  '\r',
  '\u0000',
  '\u001b[2J',
  '\u2028',
  '\u202e',
  '\t',
  ' ',
  '<',
  '>',
  '"',
  '\\',
  '@',
  '.',
  '..',
  '\r\nDATA\r\n',
  '>\r\nRCPT TO:<x@evil.example>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\nRSET\r\nMAIL FROM:<',
  'é',
  '[192.0.2.1]',
  '*',
  'a'.repeat(70),
);
const word = fc.constantFrom('a', 'ceo', 'first.last', 'x+tag', '"john smith"', 'contoso', 'example', 'mail-1', 'xn--bcher-kva');
const address = fc.constantFrom('a@b.example', 'ceo@contoso.com', '"q r"@d.example', 'u@[192.0.2.1]', '');
/** A plain valid address (often, so that both outcomes are exercised), or one made of valid and hostile pieces. */
const value = fc.oneof(
  { arbitrary: address, weight: 5 },
  fc.array(fc.oneof(word, hostilePiece), { minLength: 1, maxLength: 6 }).map((parts) => parts.join('')),
  fc.tuple(address, hostilePiece, fc.nat({ max: 30 })).map(([text, piece, at]) => text.slice(0, at) + piece + text.slice(at)),
);

const ALLOWED_VERBS = new Set(['EHLO', 'MAIL', 'RCPT', 'RSET', 'QUIT']);

describe('fuzzing the probe flags', () => {
  let server: RecordingServer;
  before(async () => {
    server = await recordingServer();
  });
  after(async () => {
    await server.close();
  });

  test('exit 0/1/2, one-line errors naming the flag, no --out on exit 2, and the server reads only envelope commands', { timeout: 60_000 }, async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        value,
        fc.array(value, { minLength: 1, maxLength: 2 }),
        fc.oneof({ arbitrary: fc.constantFrom('eoplock-probe.invalid', '[127.0.0.1]', 'bücher.example'), weight: 4 }, value),
        fc.constantFrom('text', 'json', 'junit'),
        async (from, to, ehlo, format) => {
          const out = join(path(), `out-${runs++}.txt`);
          const connectionsBefore = server.connections;
          const commandsBefore = server.commands.length;
          const args = ['probe', '--host', HOST, '--port', String(server.port), '--from', from, '--ehlo', ehlo, '--timeout', '5', '--format', format, '--out', out];
          for (const recipient of to) args.push('--to', recipient);
          const result = await cli(...args);
          try {
            assert.ok([0, 1, 2].includes(result.code), `exit ${result.code}`);
            assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
            assert.doesNotMatch(result.stderr, /internal error/);
            const valid = isReversePath(from) && to.every(isMailbox) && isEhloName(ehlo);
            if (!valid) {
              assert.equal(result.code, 2);
              const lines = result.stderr.trimEnd().split('\n');
              assert.equal(lines.length, 1, result.stderr);
              assert.match(lines[0] ?? '', /^eoplock: error: at --(from|to|ehlo): /);
              assert.doesNotMatch(result.stderr, /[\r\u0000\u001b\u2028\u202e]/, 'the value is shown escaped');
              assert.equal(existsSync(out), false, 'no --out file on exit 2');
              assert.equal(server.connections, connectionsBefore, 'refused before connecting');
            } else {
              assert.equal(result.code, 0, result.stderr);
              assert.ok(existsSync(out));
            }
            const commands = server.commands.slice(commandsBefore);
            for (const line of commands) assert.ok(ALLOWED_VERBS.has(line.split(/[ :]/)[0]?.toUpperCase() ?? ''), `unexpected command ${JSON.stringify(line)}`);
            assert.equal(commands.filter((line) => /^MAIL /i.test(line)).length, valid ? 1 : 0);
            // RCPT TO follows only an accepted MAIL FROM (smtp-server is stricter than RFC 5321 about some senders)
            assert.ok(commands.filter((line) => /^RCPT /i.test(line)).length <= (valid ? to.length : 0));
          } finally {
            await rm(out, { force: true });
          }
        },
      ),
      { numRuns: 100, seed: 13 },
    );
    assert.equal(server.messages.length, 0, 'no message was ever delivered');
  });

  // Only invalid hosts are generated: a valid name would be looked up in DNS, and these tests stay on loopback.
  test('bad --host values are refused in one line naming --host, before any lookup', { timeout: 30_000 }, async () => {
    const badHost = fc
      .oneof(
        fc.constantFrom('localhost.\r\nDATA', '127.0.0.1\n', 'host name', '', '-x.example', '[::1]', 'a_b.example', '\u001b]0;x\u0007'),
        fc.tuple(word, hostilePiece, word).map((parts) => parts.join('')),
      )
      .filter((host) => isIP(host) === 0 && !isDomainName(host.replace(/\.$/, '')));
    await fc.assert(
      fc.asyncProperty(badHost, async (host) => {
        const result = await cli('probe', '--host', host, '--port', '1', '--from', 'a@b.example', '--to', 'c@d.example', '--timeout', '2');
        assert.equal(result.code, 2);
        assert.doesNotMatch(result.stderr, /^\s+at |internal error/m);
        assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr);
        assert.match(result.stderr, /^eoplock: error: at --host: /);
        assert.doesNotMatch(result.stderr, /[\r\u0000\u001b\u2028\u202e]/);
      }),
      { numRuns: 60, seed: 13 },
    );
  });
});
