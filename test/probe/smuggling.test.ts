/**
 * Command smuggling through the probe: a CR/LF in --from, --to, --ehlo or in a --tenant snapshot's accepted domain
 * would have written `DATA`, a message and `.` into the session while the report said no message was delivered.
 * Each is refused with exit 2 before any connection, and the server sees nothing. Also: the report's text is escaped,
 * and "No message was delivered" appears only when no DATA was sent.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { InputError } from '../../src/errors.js';
import { probe } from '../../src/probe/probe.js';
import { cli, tempFolder } from '../helpers/cli.js';
import { HOST, recordingServer, scriptedServer, type RecordingServer } from './servers.js';

const { file, path } = tempFolder('eoplock-probe-smuggling-');

describe('command smuggling', () => {
  let server: RecordingServer;
  before(async () => {
    server = await recordingServer();
  });
  after(async () => {
    await server.close();
  });
  const probeArgs = (...extra: string[]) => ['probe', '--host', HOST, '--port', String(server.port), '--timeout', '10', ...extra];
  const seen = () => ({ connections: server.connections, commands: [...server.commands], messages: server.messages.length });

  test('control: a clean envelope reaches MAIL FROM, RCPT TO and RSET, never DATA', async () => {
    const before = seen();
    const result = await cli(...probeArgs('--from', 'a@b.example', '--to', 'c@d.example'));
    assert.equal(result.code, 0, result.stderr);
    const commands = server.commands.slice(before.commands.length);
    assert.deepEqual(
      commands.map((line) => line.split(/[ :]/)[0]),
      ['EHLO', 'MAIL', 'RCPT', 'RSET', 'QUIT'],
    );
    assert.equal(server.messages.length, before.messages);
    assert.match(result.stdout, /No message was delivered/);
  });

  for (const [name, args, where] of [
    ['--from with CRLF DATA', ['--from', 'a@b.example\r\nDATA', '--to', 'c@d.example'], '--from'],
    ['--from with a whole smuggled message', ['--from', 'a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\nRSET\r\nMAIL FROM:<a@b.example', '--to', 'c@d.example'], '--from'],
    ['--to with CRLF DATA', ['--from', 'a@b.example', '--to', 'c@d.example\r\nDATA'], '--to'],
    ['a second --to with LF', ['--from', 'a@b.example', '--to', 'c@d.example', '--to', 'e@f.example\nDATA'], '--to'],
    ['--from with NUL', ['--from', 'a@b.example\u0000DATA', '--to', 'c@d.example'], '--from'],
    ['--ehlo with CRLF MAIL FROM', ['--ehlo', 'x.invalid\r\nMAIL FROM:<a@b.example>', '--from', 'a@b.example', '--to', 'c@d.example'], '--ehlo'],
    ['--host with CRLF', ['--from', 'a@b.example', '--to', 'c@d.example'], '--host'],
    ['--send and a header in --from', ['--send', '--from', 'a@b.example\r\nBcc: victim@d.example', '--to', 'c@d.example'], '--from'],
  ] as const) {
    test(`${name}: exit 2 naming the flag, the value shown escaped, nothing sent`, async () => {
      const before = seen();
      const argv = where === '--host' ? ['probe', '--host', `${HOST}\r\nDATA`, '--port', String(server.port), ...args] : probeArgs(...args);
      const result = await cli(...argv);
      assert.equal(result.code, 2, result.stdout);
      assert.equal(result.stdout, '');
      const lines = result.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0] ?? '', new RegExp(`^eoplock: error: at ${where}: ".*\\\\[rn0].*" is not`));
      assert.doesNotMatch(result.stderr, /\r|\u0000/);
      assert.deepEqual(seen(), before, 'the server saw no connection, no command and no message');
    });
  }

  test('--tenant: a CRLF in an accepted domain of the snapshot is refused by the schema (exit 2), nothing sent', async () => {
    const snapshot = JSON.parse(await readFile('examples/contoso-locked.json', 'utf8')) as { AcceptedDomain: { DomainName: string }[] };
    const first = snapshot.AcceptedDomain[0];
    assert.ok(first);
    first.DomainName = 'contoso.com>\r\nDATA\r\nSubject: smuggled\r\n\r\nhi\r\n.\r\nRSET\r\nMAIL FROM:<x@contoso.com';
    const crafted = await file('crafted.json', JSON.stringify(snapshot));
    const out = join(path(), 'crafted-report.json');
    const before = seen();
    const result = await cli(...probeArgs('--tenant', crafted, '--format', 'json', '--out', out));
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^eoplock: error: .*crafted\.json: at AcceptedDomain\[0\]\.DomainName: "contoso\.com>\\r\\nDATA.*" is not a domain name/);
    assert.equal(result.stderr.trimEnd().split('\n').length, 1);
    assert.equal(existsSync(out), false);
    assert.deepEqual(seen(), before);
  });

  test('--tenant: a CRLF in a connector SenderDomains entry is refused too', async () => {
    const snapshot = JSON.parse(await readFile('examples/contoso-locked.json', 'utf8')) as { InboundConnector: { SenderDomains: unknown }[] };
    const connector = snapshot.InboundConnector[0];
    assert.ok(connector);
    connector.SenderDomains = ['smtp:*;1', 'contoso.com\r\nDATA'];
    const crafted = await file('crafted-connector.json', JSON.stringify(snapshot));
    const before = seen();
    const result = await cli(...probeArgs('--tenant', crafted));
    assert.equal(result.code, 2);
    assert.match(result.stderr, /crafted-connector\.json: at InboundConnector\[0\]\.SenderDomains\[1\]: "contoso\.com\\r\\nDATA" is not a domain name/);
    assert.deepEqual(seen(), before);
  });

  test('the library refuses a command line with CR, LF or NUL before connecting (InputError)', async () => {
    const before = seen();
    const base = { host: HOST, port: server.port, ehlo: 'x.invalid', starttls: 'never' as const, send: false, timeoutMs: 5_000 };
    for (const [from, to, ehlo] of [
      ['a@b.example\r\nDATA', 'c@d.example', 'x.invalid'],
      ['a@b.example', 'c@d.example\nDATA', 'x.invalid'],
      ['a@b.example', 'c@d.example', 'x.invalid\u0000'],
    ] as const) {
      await assert.rejects(probe({ ...base, from, to: [to], ehlo }), (error: unknown) => error instanceof InputError && !/[\r\n\0]/.test(error.message));
      await assert.rejects(probe({ ...base, from, to: [to], ehlo, send: true }), InputError);
    }
    assert.deepEqual(seen(), before);
  });

  test('valid unusual addresses go through as they are: the null sender, a quoted local part, an address literal', async () => {
    const start = server.commands.length;
    const result = await cli(...probeArgs('--from', '', '--to', '"john smith"@d.example', '--to', 'u@[192.0.2.1]', '--ehlo', '[127.0.0.1]'));
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(server.commands.slice(start, start + 4), ['EHLO [127.0.0.1]', 'MAIL FROM:<>', 'RCPT TO:<"john smith"@d.example>', 'RCPT TO:<u@[192.0.2.1]>']);
  });
});

describe('the text report', () => {
  test('"No message was delivered" only when no DATA was sent; with --send the message is reported instead', async () => {
    const server = await recordingServer();
    try {
      const args = ['probe', '--host', HOST, '--port', String(server.port), '--from', 'a@b.example', '--to', 'c@d.example', '--timeout', '10'];
      const without = await cli(...args);
      assert.equal(without.code, 0, without.stderr);
      assert.match(without.stdout, /No message was delivered/);
      assert.equal(server.messages.length, 0);
      const sent = await cli(...args, '--send');
      assert.equal(sent.code, 0, sent.stderr);
      assert.equal(server.messages.length, 1);
      assert.doesNotMatch(sent.stdout, /No message was delivered/);
      assert.match(sent.stdout, /--send: one test message was accepted at DATA/);
    } finally {
      await server.close();
    }
  });

  test('--send refused at RCPT: no DATA, and the report says so', async () => {
    const server = await recordingServer({ rcptRefusal: '5.7.68 TenantInboundAttribution; Rejecting.' });
    try {
      const result = await cli('probe', '--host', HOST, '--port', String(server.port), '--from', 'a@b.example', '--to', 'c@d.example', '--send', '--expect', '5.7.68');
      assert.equal(result.code, 0, result.stdout + result.stderr);
      // with PIPELINING nodemailer sends DATA along with RCPT TO; the server refuses it, and no message follows
      assert.equal(server.messages.length, 0);
      assert.match(result.stdout, /No message was delivered: --send was given, but no test was accepted up to DATA/);
    } finally {
      await server.close();
    }
  });

  test('server reply text with control characters is shown escaped', async () => {
    const hostile = '5.7.1 \u001b]0;owned\u0007\u001b[2Jno \u202ebidi';
    const server = await scriptedServer('220 hi\r\n', (command) =>
      /^RCPT/i.test(command) ? `550 ${hostile}\r\n` : /^QUIT/i.test(command) ? null : '250 ok\r\n',
    );
    try {
      const result = await cli('probe', '--host', HOST, '--port', String(server.port), '--from', 'a@b.example', '--to', 'c@d.example');
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /reject at RCPT: 550 5\.7\.1 \\e\]0;owned\\x07\\e\[2Jno \\u202ebidi/);
      assert.doesNotMatch(result.stdout, /[\u001b\u0007\u202e]/);
      const json = await cli('probe', '--host', HOST, '--port', String(server.port), '--from', 'a@b.example', '--to', 'c@d.example', '--format', 'json');
      const report = JSON.parse(json.stdout) as { runs: { result: { outcome: { text: string } } }[] };
      assert.equal(report.runs[0]?.result.outcome.text, '\u001b]0;owned\u0007\u001b[2Jno \u202ebidi', 'JSON keeps the exact value');
    } finally {
      await server.close();
    }
  });
});
