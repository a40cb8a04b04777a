/**
 * The lab against hostile senders: organisation headers smuggled behind a bare CR or LF, a header block over the
 * limit, and a store that fills up (its quota). Raw SMTP over loopback, so the bytes sent are exactly the bytes
 * written; bounded in count and time.
 */
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { labCommand } from '../../src/cli/lab.js';
import { DEFAULT_ASSUMPTIONS } from '../../src/eop/assumptions.js';
import { analyseHeaders } from '../../src/headers/analyse.js';
import { readMessageHeaders, splitHeaderLines, splitMessage } from '../../src/headers/parse.js';
import type { StoreQuota, TransactionRecord } from '../../src/lab/eop-server.js';
import { startLab, type RunningLab } from '../../src/lab/lab.js';
import { inferProfile } from '../../src/profile/profile.js';
import { loadSnapshotFile } from '../../src/snapshot/load.js';
import { cli } from '../helpers/cli.js';

const HOST = '127.0.0.1';
const exposed = (await loadSnapshotFile('examples/contoso-exposed.json')).snapshot;

interface Lab extends RunningLab {
  records: TransactionRecord[];
  notices: string[];
}

async function lab(store: string, storeQuota?: StoreQuota, more: Partial<Parameters<typeof startLab>[0]> = {}): Promise<Lab> {
  const records: TransactionRecord[] = [];
  const notices: string[] = [];
  const running = await startLab({
    snapshot: exposed,
    assumptions: DEFAULT_ASSUMPTIONS,
    profile: inferProfile(exposed),
    listen: { host: HOST, port: 0 },
    store,
    ...(storeQuota ? { storeQuota } : {}),
    ...more,
    onTransaction: (record) => records.push(record),
    onNotice: (notice) => notices.push(notice),
  });
  return Object.assign(running, { records, notices });
}

/**
 * One SMTP session on a plain socket: the greeting, then each command after the reply to the one before. `DATA`
 * is followed by the message, sent as it is (bare CR and LF included) and ended with CRLF.CRLF. Returns the replies.
 */
function session(port: number, commands: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port });
    const replies: string[] = [];
    let buffer = '';
    let next = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no reply after ${replies.join(' | ')}`));
    }, 15_000);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const complete = /(?:^|\r\n)(\d{3}) [^\r\n]*\r\n$/.exec(buffer);
      if (!complete) return;
      replies.push(buffer.trimEnd().split('\r\n').at(-1) as string);
      buffer = '';
      if (next < commands.length) socket.write(commands[next++] as string);
      else {
        clearTimeout(timer);
        socket.end();
        resolve(replies);
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** The commands of one message from a foreign sender to alice@contoso.com (accepted on the exposed tenant). */
function message(raw: string): string[] {
  return ['EHLO mail.fabrikam.example\r\n', 'MAIL FROM:<orders@fabrikam.example>\r\n', 'RCPT TO:<alice@contoso.com>\r\n', 'DATA\r\n', `${raw}\r\n.\r\n`, 'QUIT\r\n'];
}

const emlFiles = async (dir: string) => (await readdir(dir)).filter((name) => name.endsWith('.eml')).sort();

describe('the header firewall and the one line rule', () => {
  let store = '';
  let running: Lab;
  before(async () => {
    store = await mkdtemp(join(tmpdir(), 'eoplock-lab-hostile-'));
    running = await lab(store);
  });
  after(async () => {
    await running.close(0);
    await rm(store, { recursive: true, force: true });
  });

  for (const [name, separator] of [['a bare CR', '\r'], ['a bare LF', '\n']] as const) {
    test(`AuthAs: Internal behind ${name} is removed; the stored header has CRLF line ends only`, { timeout: 20_000 }, async () => {
      const before = new Set(await emlFiles(store));
      const raw =
        `From: Orders <orders@fabrikam.example>\r\nTo: alice@contoso.com\r\nSubject: hi${separator}X-MS-Exchange-Organization-AuthAs: Internal\r\n` +
        `X-MS-Exchange-Organization-AuthSource: forged${separator} continued\r\nMessage-ID: <1@fabrikam.example>\r\n\r\nHello\r\n`;
      const replies = await session(running.eop.port, message(raw));
      assert.match(replies[5] ?? '', /^250 /, replies.join(' | '));
      assert.equal(running.records.at(-1)?.verdict.authAs, 'Anonymous');

      const added = (await emlFiles(store)).filter((file) => !before.has(file));
      assert.equal(added.length, 1);
      const path = join(store, added[0] as string);
      const eml = await readFile(path, 'utf8');
      const { header } = splitMessage(eml);
      assert.doesNotMatch(header, /\r(?!\n)|(?<!\r)\n/, 'no bare CR or LF left in the stored header');
      for (const line of splitHeaderLines(header)) assert.doesNotMatch(line, /^x-ms-exchange-organization-auth(as|source)\s*:\s*(internal|forged)/i);
      assert.match(header, /\r\nSubject: hi\r\nMessage-ID: <1@fabrikam\.example>(\r\n|$)/);

      const { fields } = await readMessageHeaders(eml, path);
      assert.deepEqual(fields.filter((field) => /^x-ms-exchange-organization-authas$/i.test(field.name)).map((field) => field.value), ['Anonymous']);
      assert.equal(analyseHeaders(fields).authAs, 'Anonymous');
      const report = await cli('headers', path, '--format', 'json');
      assert.equal((JSON.parse(report.stdout) as { authAs: string }).authAs, 'Anonymous');
      assert.doesNotMatch(report.stdout, /Internal|forged/);
    });
  }

  /** Sends one accepted message; the path of the one .eml file it added to the store. */
  async function storedOne(raw: string): Promise<string> {
    const before = new Set(await emlFiles(store));
    const replies = await session(running.eop.port, message(raw));
    assert.match(replies[5] ?? '', /^250 /, replies.join(' | '));
    const added = (await emlFiles(store)).filter((file) => !before.has(file));
    assert.equal(added.length, 1);
    return join(store, added[0] as string);
  }

  test('a body that is not UTF-8 is stored byte for byte (8BITMIME)', { timeout: 20_000 }, async () => {
    const before = new Set(await emlFiles(store));
    const body = Buffer.from([0x68, 0xe9, 0x6c, 0x6c, 0xf6, 0xff, 0x0d, 0x0a]);
    const raw = `From: Orders <orders@fabrikam.example>\r\nSubject: latin1\r\n\r\n${body.toString('latin1')}`;
    // The session writes strings as UTF-8: send the message's bytes as latin1 through a socket of their own.
    const replies = await new Promise<string[]>((resolve, reject) => {
      const socket = connect({ host: HOST, port: running.eop.port });
      const steps = [...message('').slice(0, 4).map((line) => Buffer.from(line)), Buffer.concat([Buffer.from(raw, 'latin1'), Buffer.from('\r\n.\r\n')]), Buffer.from('QUIT\r\n')];
      const got: string[] = [];
      let buffer = '';
      let next = 0;
      socket.on('data', (chunk) => {
        buffer += chunk.toString('latin1');
        if (!/(?:^|\r\n)\d{3} [^\r\n]*\r\n$/.test(buffer)) return;
        got.push(buffer.trimEnd().split('\r\n').at(-1) as string);
        buffer = '';
        if (next < steps.length) socket.write(steps[next++] as Buffer);
        else {
          socket.end();
          resolve(got);
        }
      });
      socket.on('error', reject);
    });
    assert.match(replies[5] ?? '', /^250 /, replies.join(' | '));
    const added = (await emlFiles(store)).filter((file) => !before.has(file));
    assert.equal(added.length, 1);
    const eml = await readFile(join(store, added[0] as string));
    assert.ok(eml.includes(body), 'the body bytes as sent');
    assert.ok(!eml.includes(Buffer.from('\ufffd')), 'no replacement character');
  });

  test('a header that begins with a folded line continues a note field, not the lab\'s verdict', { timeout: 20_000 }, async () => {
    const raw = ' (spoofed) reject 550 5.7.1; disposition=reject\r\nFrom: Orders <orders@fabrikam.example>\r\nSubject: folded\r\n\r\nHello\r\n';
    const { fields } = await readMessageHeaders(await readFile(await storedOne(raw), 'utf8'), 'folded.eml');
    const verdict = fields.find((field) => field.name === 'X-Eoplock-Lab-Verdict');
    assert.match(verdict?.value ?? '', /^accept 250 2\.6\.0; disposition=\w+$/, 'the verdict field as the lab wrote it');
    assert.match(fields.find((field) => field.name === 'X-Eoplock-Lab-Note')?.value ?? '', /began with a folded line.*\(spoofed\) reject 550/s);
  });

  test('an organisation header behind a NUL is removed too', { timeout: 20_000 }, async () => {
    const raw = 'From: Orders <orders@fabrikam.example>\r\n\u0000X-MS-Exchange-Organization-AuthAs: Internal\r\nSubject: nul\r\n\r\nHello\r\n';
    const eml = await readFile(await storedOne(raw), 'utf8');
    assert.doesNotMatch(eml, /AuthAs: Internal/);
  });

  test('a refused recipient is logged alone, not with the recipients before it', { timeout: 20_000 }, async () => {
    const count = running.records.length;
    const replies = await session(running.eop.port, [
      'EHLO mail.fabrikam.example\r\n',
      'MAIL FROM:<orders@fabrikam.example>\r\n',
      'RCPT TO:<alice@contoso.com>\r\n',
      'RCPT TO:<bob@contoso.com>\r\n',
      'RCPT TO:<someone@unknown-domain.example>\r\n',
      'QUIT\r\n',
    ]);
    assert.match(replies[5] ?? '', /^5\d\d /, replies.join(' | '));
    const refused = running.records.slice(count).filter((record) => record.verdict.action === 'reject');
    assert.equal(refused.length, 1);
    assert.deepEqual(refused[0]?.rcptTo, ['someone@unknown-domain.example']);
  });

  test('a header block over 1 MB is refused with 552 5.3.4 and nothing is stored', { timeout: 20_000 }, async () => {
    const before = await emlFiles(store);
    const raw = `From: orders@fabrikam.example\r\nSubject: ${'a'.repeat(1024 * 1024)}\r\n\r\nHello\r\n`;
    const replies = await session(running.eop.port, message(raw));
    assert.match(replies[5] ?? '', /^552 5\.3\.4 Message header size exceeds fixed maximum size \(header block over 1 MB\)/);
    assert.deepEqual(await emlFiles(store), before);
    const again = await session(running.eop.port, message('From: orders@fabrikam.example\r\nSubject: after\r\n\r\nHello\r\n'));
    assert.match(again[5] ?? '', /^250 /, 'the lab keeps serving');
  });
});

describe('the store quota', () => {
  let store = '';
  before(async () => {
    store = await mkdtemp(join(tmpdir(), 'eoplock-lab-quota-'));
  });
  after(async () => {
    await rm(store, { recursive: true, force: true });
  });

  test('messages: what the folder holds counts; the message over the quota gets 452 4.3.1 and is not stored', { timeout: 30_000 }, async () => {
    const folder = join(store, 'messages');
    await mkdir(folder);
    await writeFile(join(folder, 'earlier.eml'), 'Subject: from an earlier run\r\n\r\n');
    const running = await lab(folder, { maxMessages: 3, maxBytes: 1024 * 1024 * 1024 });
    try {
      const replies: string[] = [];
      for (let index = 1; index <= 3; index++) replies.push((await session(running.eop.port, message(`From: orders@fabrikam.example\r\nSubject: ${index}\r\n\r\nHello\r\n`)))[5] ?? '');
      assert.match(replies[0] as string, /^250 /);
      assert.match(replies[1] as string, /^250 /);
      assert.equal(replies[2], '452 4.3.1 Insufficient system storage: the eoplock lab store is full (message not stored)');
      const files = await emlFiles(folder);
      assert.equal(files.length, 3, files.join(', '));
      assert.deepEqual((await readdir(folder)).filter((name) => !name.endsWith('.eml')), ['transactions.jsonl'], 'nothing else, nothing partial');
      const stored = await Promise.all(files.map((file) => readFile(join(folder, file), 'utf8')));
      assert.equal(stored.filter((text) => /\r\nSubject: 3\r\n/.test(text)).length, 0);
      assert.equal(running.notices.length, 1);
      assert.match(running.notices[0] as string, /the store is full: .* holds 3 of 3 messages; accepted messages are answered 452 4\.3\.1 and not stored/);
      const log = (await readFile(join(folder, 'transactions.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as TransactionRecord);
      assert.deepEqual(log.at(-1)?.reply, { code: 452, enhanced: '4.3.1', text: 'Insufficient system storage: the eoplock lab store is full (message not stored)' });
      assert.equal(log.at(-1)?.file, undefined);
      // A fourth message: the same reply, and no second notice.
      assert.match((await session(running.eop.port, message('From: orders@fabrikam.example\r\nSubject: 4\r\n\r\nHello\r\n')))[5] ?? '', /^452 4\.3\.1 /);
      assert.equal(running.notices.length, 1);
    } finally {
      await running.close(0);
    }
  });

  test('bytes: .eml files and transactions.jsonl together never go over the quota', { timeout: 30_000 }, async () => {
    const folder = join(store, 'bytes');
    const maxBytes = 12_000;
    const running = await lab(folder, { maxMessages: 100, maxBytes });
    try {
      const small = await session(running.eop.port, message(`From: orders@fabrikam.example\r\nSubject: small\r\n\r\n${'x'.repeat(2_000)}\r\n`));
      assert.match(small[5] ?? '', /^250 /);
      const big = await session(running.eop.port, message(`From: orders@fabrikam.example\r\nSubject: big\r\n\r\n${'x'.repeat(20_000)}\r\n`));
      assert.match(big[5] ?? '', /^452 4\.3\.1 /);
      for (let index = 0; index < 20; index++) await session(running.eop.port, ['EHLO x\r\n', 'MAIL FROM:<a@fabrikam.example>\r\n', 'RCPT TO:<nobody@not-hosted.example>\r\n', 'QUIT\r\n']);
      const names = await readdir(folder);
      assert.equal(names.filter((name) => name.endsWith('.eml')).length, 1);
      const sizes = await Promise.all(names.map(async (name) => (await stat(join(folder, name))).size));
      const total = sizes.reduce((sum, size) => sum + size, 0);
      assert.ok(total <= maxBytes, `${total} bytes`);
      assert.ok(total > maxBytes - 1_000, `transactions.jsonl was written until it was full (${total} bytes)`);
      assert.ok(running.notices.some((notice) => /holds \d+ of 12000 bytes/.test(notice)));
      assert.equal(running.records.length, 22, 'every transaction is still reported');
    } finally {
      await running.close(0);
    }
  });

  test('eoplock lab --store-max-messages: the refusal in the log, the notice once on stderr', { timeout: 30_000 }, async () => {
    const folder = join(store, 'cli');
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, HOST, () => resolve()));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    let out = '';
    let err = '';
    const controller = new AbortController();
    const running = labCommand(
      { stdout: (text) => void (out += text), stderr: (text) => void (err += text), color: false, progress: false },
      'examples/contoso-exposed.json',
      { segIp: [], listen: `${HOST}:${port}`, gatewaySource: '127.0.0.2', store: folder, storeMaxMessages: 1, storeMaxBytes: '10MB', xclientFrom: [], assume: [], maxClients: 10, maxMessageSize: 1_000_000, idleTimeout: 10, sessionTimeout: 60 },
      controller.signal,
    );
    for (let index = 0; index < 50 && !out.includes('listening'); index++) await sleep(100);
    try {
      assert.match(out, /\(at most 1 messages and 10485760 bytes in all\)/);
      for (let index = 0; index < 3; index++) await session(port, message(`From: orders@fabrikam.example\r\nSubject: ${index}\r\n\r\nHello\r\n`));
      assert.match(out, /<orders@fabrikam\.example> → alice@contoso\.com: accepted → /);
      assert.equal(out.match(/452 4\.3\.1 at DATA: the store is full \(the verdict: accepted → \w+\)/g)?.length, 2);
      assert.equal(err.match(/^eoplock: warning: the store is full: /gm)?.length, 1, err);
    } finally {
      controller.abort();
      assert.equal(await running, 0);
    }
  });
});

describe('the store against a planted link', () => {
  test('a symbolic link planted at transactions.jsonl is not written through', { timeout: 30_000 }, async () => {
    const folder = await mkdtemp(join(tmpdir(), 'eoplock-lab-link-'));
    try {
      const target = join(folder, 'victim.txt');
      await writeFile(target, 'precious\n');
      await symlink(target, join(folder, 'transactions.jsonl'));
      const running = await lab(folder);
      try {
        await session(running.eop.port, message('From: orders@fabrikam.example\r\nSubject: hi\r\n\r\nHello\r\n'));
      } finally {
        await running.close(0);
      }
      assert.equal(await readFile(target, 'utf8'), 'precious\n', 'the link target is unchanged');
      assert.equal((await lstat(join(folder, 'transactions.jsonl'))).isSymbolicLink(), true);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  test('a log that cannot be written stops the log, not the lab: a refused recipient, then more sessions', { timeout: 30_000 }, async () => {
    const folder = await mkdtemp(join(tmpdir(), 'eoplock-lab-link-'));
    try {
      await writeFile(join(folder, 'victim.txt'), 'precious\n');
      await symlink(join(folder, 'victim.txt'), join(folder, 'transactions.jsonl'));
      const running = await lab(folder);
      try {
        // A recipient refused at RCPT is logged while the session goes on (the write that fails must not stop the lab).
        await session(running.eop.port, ['EHLO a.example\r\n', 'MAIL FROM:<x@fabrikam.example>\r\n', 'RCPT TO:<y@unknown-domain.example>\r\n', 'QUIT\r\n']);
        await sleep(200);
        const replies = await session(running.eop.port, message('From: orders@fabrikam.example\r\nSubject: after\r\n\r\nHello\r\n'));
        assert.match(replies[5] ?? '', /^250 /, `the lab still answers: ${replies.join(' | ')}`);
        assert.equal(running.notices.filter((notice) => /cannot write transactions\.jsonl in the store \(ELOOP\)/.test(notice)).length, 1, running.notices.join(' | '));
      } finally {
        await running.close(0);
      }
      assert.equal(await readFile(join(folder, 'victim.txt'), 'utf8'), 'precious\n');
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});

describe('the gateway hop ends sessions as the lab does', () => {
  test('a client sending a byte at a time is cut off at the session limit, and close() does not wait for it', { timeout: 30_000 }, async () => {
    const folder = await mkdtemp(join(tmpdir(), 'eoplock-lab-gateway-'));
    const running = await lab(folder, undefined, { gatewayListen: { host: HOST, port: 0 }, limits: { idleTimeoutMs: 60_000, sessionTimeoutMs: 1_000 } });
    try {
      const gateway = running.gateway;
      assert.ok(gateway);
      const closed = await new Promise<boolean>((resolve) => {
        const socket = connect({ host: HOST, port: gateway.port });
        // A byte every 200 ms: never idle, so only the session limit can end it.
        const drip = setInterval(() => socket.write('N'), 200);
        const bound = setTimeout(() => {
          clearInterval(drip);
          socket.destroy();
          resolve(false);
        }, 15_000);
        socket.on('close', () => {
          clearInterval(drip);
          clearTimeout(bound);
          resolve(true);
        });
        socket.on('error', () => undefined);
      });
      assert.equal(closed, true, 'the gateway hop closed the session');
      // A client that stays connected does not hold up close() beyond its grace.
      const idle = connect({ host: HOST, port: gateway.port });
      idle.on('error', () => undefined);
      await new Promise((resolve) => idle.once('data', resolve));
      let done = false;
      const closing = running.close(200).then(() => (done = true));
      await Promise.race([closing, sleep(10_000)]);
      assert.equal(done, true, 'close() returned with a client still connected');
      idle.destroy();
    } finally {
      await running.close(0).catch(() => undefined);
      await rm(folder, { recursive: true, force: true });
    }
  });
});
