/**
 * The EOP lab against real SMTP peers nobody here wrote (swaks, nodemailer), the probe against the lab and against
 * misbehaving servers, and the lab's robustness. Loopback only, bounded in count and time.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { DEFAULT_ASSUMPTIONS, resolveAssumptions } from '../../src/eop/assumptions.js';
import { startLab, type RunningLab } from '../../src/lab/lab.js';
import type { TransactionRecord } from '../../src/lab/eop-server.js';
import { probe, type ProbeOptions } from '../../src/probe/probe.js';
import { inferProfile } from '../../src/profile/profile.js';
import { loadSnapshotFile } from '../../src/snapshot/load.js';
import { partnerConnector, rule, tenant } from '../helpers/tenant.js';

const run = promisify(execFile);
const HOST = '127.0.0.1';

const locked = (await loadSnapshotFile('examples/contoso-locked.json')).snapshot;
const exposed = (await loadSnapshotFile('examples/contoso-exposed.json')).snapshot;

async function lab(snapshot = locked, extra: Partial<Parameters<typeof startLab>[0]> = {}): Promise<RunningLab & { records: TransactionRecord[] }> {
  const records: TransactionRecord[] = [];
  const running = await startLab({
    snapshot,
    assumptions: DEFAULT_ASSUMPTIONS,
    profile: inferProfile(snapshot),
    listen: { host: HOST, port: 0 },
    onTransaction: (record) => records.push(record),
    ...extra,
  });
  return Object.assign(running, { records });
}

/** swaks, when it is on PATH; otherwise its tests skip with this reason (nodemailer drives the same paths below). */
async function onPath(name: string): Promise<boolean> {
  for (const folder of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    if (await access(join(folder, name), constants.X_OK).then(() => true, () => false)) return true;
  }
  return false;
}
const noSwaks = (await onPath('swaks')) ? false : 'swaks not installed: apt-get install swaks';

/** swaks up to RCPT (no DATA unless `data`); returns its transcript. */
async function swaks(port: number, from: string, to: string, data = false): Promise<string> {
  const args = ['--server', `${HOST}:${port}`, '--from', from, '--to', to, '--helo', 'mail.attacker.example', '--timeout', '10'];
  if (!data) args.push('--quit-after', 'RCPT');
  const result = await run('swaks', args, { timeout: 30_000 }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
  return result.stdout;
}


/** nodemailer's SMTP client sends one message (over STARTTLS): the command the lab refused and its reply, or the final reply. */
async function nodemailerSend(port: number, from: string, to: string): Promise<{ command: string; response: string }> {
  const connection = new SMTPConnection({ host: HOST, port, name: 'mail.attacker.example', tls: { rejectUnauthorized: false } });
  await new Promise<void>((resolve, reject) => {
    connection.once('error', reject);
    connection.connect(() => resolve());
  });
  try {
    return await new Promise((resolve) =>
      connection.send({ from, to: [to] }, `From: <${from}>\r\nTo: <${to}>\r\nSubject: lab\r\n\r\nHello\r\n`, (error, info) => {
        const failed = error as (Error & { command?: string; response?: string }) | null;
        resolve(failed ? { command: failed.command ?? failed.message, response: failed.response ?? '' } : { command: 'accepted', response: (info as { response?: string }).response ?? '' });
      }),
    );
  } finally {
    connection.quit();
  }
}

/** A lab on the locked and one on the exposed tenant for the suite it is called in, started before and closed after. */
function labsForSuite(): { locked: () => Awaited<ReturnType<typeof lab>>; exposed: () => Awaited<ReturnType<typeof lab>> } {
  let lockedLab: Awaited<ReturnType<typeof lab>> | undefined;
  let exposedLab: Awaited<ReturnType<typeof lab>> | undefined;
  before(async () => {
    lockedLab = await lab(locked);
    exposedLab = await lab(exposed);
  });
  after(async () => {
    await lockedLab?.close(0);
    await exposedLab?.close(0);
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the lab did not start');
    return value;
  };
  return { locked: () => started(lockedLab), exposed: () => started(exposedLab) };
}

describe('swaks against the lab', { skip: noSwaks }, () => {
  const labs = labsForSuite();

  test('a Direct Send spoof gets 550 5.7.68 at RCPT on the locked tenant', async () => {
    const transcript = await swaks(labs.locked().eop.port, 'ceo@contoso.com', 'alice@contoso.com');
    assert.match(transcript, /RCPT TO:<alice@contoso\.com>\s*\n<\*\* 550 5\.7\.68 TenantInboundAttribution; Direct Send not allowed for this organization from unauthorized sources/);
  });

  test('the same spoof is accepted on the exposed tenant', async () => {
    const transcript = await swaks(labs.exposed().eop.port, 'ceo@contoso.com', 'alice@contoso.com');
    assert.match(transcript, /RCPT TO:<alice@contoso\.com>\s*\n<[-~]\s+250 /);
  });

  test('a foreign sender bypassing the gateway gets 550 5.7.51', async () => {
    const transcript = await swaks(labs.locked().eop.port, 'attacker@fabrikam.example', 'alice@contoso.com');
    assert.match(transcript, /<\*\* 550 5\.7\.51 TenantInboundAttribution; There is a partner connector configured/);
  });

  test('a recipient the tenant does not host gets 550 5.7.64', async () => {
    const transcript = await swaks(labs.locked().eop.port, 'attacker@fabrikam.example', 'someone@not-hosted.example');
    assert.match(transcript, /<\*\* 550 5\.7\.64 TenantAttribution; Relay Access Denied/);
    assert.ok(labs.locked().records.some((record) => record.verdict.enhanced === '5.7.64' && record.verdict.stage === 'rcpt'));
  });
});

describe('nodemailer against the lab: the paths swaks takes', () => {
  const labs = labsForSuite();

  test('a Direct Send spoof gets 550 5.7.68 at RCPT on the locked tenant', async () => {
    const sent = await nodemailerSend(labs.locked().eop.port, 'ceo@contoso.com', 'alice@contoso.com');
    assert.deepEqual(sent, { command: 'RCPT TO', response: '550 5.7.68 TenantInboundAttribution; Direct Send not allowed for this organization from unauthorized sources' });
  });

  test('the same spoof is accepted on the exposed tenant', async () => {
    const sent = await nodemailerSend(labs.exposed().eop.port, 'ceo@contoso.com', 'alice@contoso.com');
    assert.equal(sent.command, 'accepted');
    assert.match(sent.response, /^250 /);
    assert.equal(labs.exposed().records.at(-1)?.verdict.action, 'accept');
  });

  test('a foreign sender bypassing the gateway gets 550 5.7.51', async () => {
    const sent = await nodemailerSend(labs.locked().eop.port, 'attacker@fabrikam.example', 'alice@contoso.com');
    assert.equal(sent.command, 'RCPT TO');
    assert.match(sent.response, /^550 5\.7\.51 TenantInboundAttribution; There is a partner connector configured/);
  });

  test('a recipient the tenant does not host gets 550 5.7.64', async () => {
    const sent = await nodemailerSend(labs.locked().eop.port, 'attacker@fabrikam.example', 'someone@not-hosted.example');
    assert.equal(sent.command, 'RCPT TO');
    assert.match(sent.response, /^550 5\.7\.64 TenantAttribution; Relay Access Denied/);
    assert.ok(labs.locked().records.some((record) => record.verdict.enhanced === '5.7.64' && record.verdict.stage === 'rcpt'));
  });
});

describe('the gateway hop and stored messages', () => {
  let running: Awaited<ReturnType<typeof lab>>;
  let store = '';
  before(async () => {
    store = await mkdtemp(join(tmpdir(), 'eoplock-lab-'));
    running = await lab(locked, { gatewayListen: { host: HOST, port: 0 }, store });
  });
  after(async () => {
    await running.close(0);
    await rm(store, { recursive: true, force: true });
  });

  /** One message sent by nodemailer's SMTP client through the gateway hop; its reply. */
  async function throughGateway(to: string[], text: string): Promise<{ response?: string }> {
    const connection = new SMTPConnection({ host: HOST, port: running.gateway?.port ?? 0, tls: { rejectUnauthorized: false } });
    await new Promise<void>((resolve, reject) => {
      connection.once('error', reject);
      connection.connect(() => resolve());
    });
    const info = await new Promise<{ response?: string }>((resolve, reject) =>
      connection.send({ from: 'orders@fabrikam.example', to }, text, (error, result) => (error ? reject(error) : resolve(result as { response?: string }))),
    );
    connection.quit();
    return info;
  }

  test('mail sent by nodemailer through the gateway hop is accepted and stored with the headers EOP adds', async () => {
    const info = await throughGateway(
      ['alice@contoso.com'],
      'From: Orders <orders@fabrikam.example>\r\nTo: alice@contoso.com\r\nSubject: Order 1\r\nX-MS-Exchange-Organization-AuthAs: Internal\r\n\r\nHello\r\n',
    );
    assert.match(info.response ?? '', /^250 Relayed: Queued mail for delivery/);
    const record = running.records.at(-1);
    assert.equal(record?.clientIp, '203.0.113.10', 'the relay stands for the gateway address');
    assert.equal(record?.verdict.connector, 'From Secure Email Gateway (certificate)');
    assert.equal(record?.certificate?.subject, 'CN=mx1.seg.example.net');
    const files = (await readdir(store)).filter((name) => name.endsWith('.eml'));
    assert.equal(files.length, 1);
    const eml = await readFile(join(store, files[0] as string), 'utf8');
    assert.match(eml, /^Received: from mx1\.seg\.example\.net \(203\.0\.113\.10\) by .* with ESMTPS id /);
    assert.match(eml, /\r\nX-MS-Exchange-Organization-AuthAs: Partner\r\n/);
    // Enhanced Filtering on the gateway connector skip-lists the gateway hop: SPF is judged for the client behind it.
    assert.match(eml, /\r\nAuthentication-Results: spf=none smtp\.mailfrom=fabrikam\.example; dkim=none \(message not signed\) header\.d=none; dmarc=none action=none header\.from=fabrikam\.example; compauth=fail reason=001\r\n/);
    assert.match(eml, /\r\nX-MS-Exchange-SkipListedInternetSender: ip=\[127\.0\.0\.1\]\r\n/);
    assert.match(eml, /X-Forefront-Antispam-Report: CIP:203\.0\.113\.10;.*H:mx1\.seg\.example\.net;.*DIR:INB;/);
    assert.match(eml, /Received: from \[127\.0\.0\.1\] \(127\.0\.0\.1\) by mx1\.seg\.example\.net \(eoplock lab gateway\)/);
    assert.doesNotMatch(eml, /X-MS-Exchange-Organization-AuthAs: Internal/, 'the forged header was removed by the header firewall');
    const log = (await readFile(join(store, 'transactions.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as TransactionRecord);
    assert.equal(log.at(-1)?.file, files[0]);
  });

  test('recipients the EOP lab refuses behind the gateway hop are named in its reply', async () => {
    const info = await throughGateway(['alice@contoso.com', 'someone@unknown-domain.example'], 'From: Orders <orders@fabrikam.example>\r\nSubject: Order 2\r\n\r\nHello\r\n');
    assert.match(info.response ?? '', /^250 Relayed: Queued mail for delivery; refused by EOP for 1 recipient\(s\): someone@unknown-domain\.example$/);
  });
});

describe('lab behaviour', () => {
  test('XCLIENT ADDR is honoured only from --xclient-from addresses', async () => {
    const running = await lab(locked, { xclientFrom: ['127.0.0.1'] });
    try {
      const talk = await rawSession(running.eop.port, ['EHLO test', 'XCLIENT ADDR=203.0.113.10', 'EHLO test', 'MAIL FROM:<a@fabrikam.example>', 'RCPT TO:<alice@contoso.com>', 'QUIT'], '127.0.0.1');
      assert.match(talk, /XCLIENT/);
      assert.match(talk, /550 5\.7\.51/, 'the gateway address without its certificate is still restricted (certificate connector)');
      const other = await rawSession(running.eop.port, ['EHLO test', 'XCLIENT ADDR=203.0.113.10', 'QUIT'], '127.0.0.3');
      assert.match(other, /550 Error: Not allowed/);
    } finally {
      await running.close(0);
    }
  });

  const ruleRejectLab = () => {
    const snapshot = tenant({ rules: [rule({ Name: 'block', SenderDomainIs: ['fabrikam.example'], RejectMessageReasonText: 'No fabrikam' })] });
    return lab(snapshot, { assumptions: resolveAssumptions({ 'rule-reject-stage': 'end-of-data' }) });
  };

  test('a rule reject comes at the end of DATA with rule-reject-stage=end-of-data (swaks)', { skip: noSwaks }, async () => {
    const running = await ruleRejectLab();
    try {
      const transcript = await swaks(running.eop.port, 'x@fabrikam.example', 'alice@contoso.com', true);
      assert.match(transcript, /RCPT TO:<alice@contoso\.com>\s*\n<[-~]\s+250 /);
      assert.match(transcript, /<\*\* 550 5\.7\.1 No fabrikam/);
    } finally {
      await running.close(0);
    }
  });

  test('a rule reject comes at the end of DATA with rule-reject-stage=end-of-data (nodemailer)', async () => {
    const running = await ruleRejectLab();
    try {
      const sent = await nodemailerSend(running.eop.port, 'x@fabrikam.example', 'alice@contoso.com');
      assert.equal(sent.command, 'DATA', 'RCPT was accepted; the reject came after the message');
      assert.match(sent.response, /^550 5\.7\.1 No fabrikam/);
    } finally {
      await running.close(0);
    }
  });

  test('a certificate-bound connector matches the certificate the client really presents', async () => {
    const snapshot = tenant({ connectors: [partnerConnector({ SenderIPAddresses: [], TlsSenderCertificateName: 'relay.partner.example', RestrictDomainsToCertificate: true })] });
    const running = await lab(snapshot);
    try {
      const { selfSignedCertificate } = await import('../../src/lab/certificates.js');
      const good = await selfSignedCertificate('relay.partner.example');
      const bad = await selfSignedCertificate('relay.attacker.example');
      const base: ProbeOptions = { host: HOST, port: running.eop.port, from: 'x@partner.example', to: ['alice@contoso.com'], ehlo: 'relay', starttls: 'require', send: false, timeoutMs: 10_000 };
      assert.equal((await probe({ ...base, clientCertificate: good })).outcome?.code, 250);
      assert.equal((await probe({ ...base, clientCertificate: bad })).outcome?.enhanced, '5.7.51');
      assert.equal((await probe({ ...base, starttls: 'never' })).outcome?.enhanced, '5.7.51');
    } finally {
      await running.close(0);
    }
  });
});

/** A plain-socket session: sends each line after the previous reply; returns everything the server said. */
function rawSession(port: number, lines: string[], localAddress = HOST): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port, localAddress });
    let transcript = '';
    let next = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(transcript);
    }, 10_000);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      transcript += chunk;
      if (/^\d{3} [^\n]*\r?\n$/m.test(chunk.split(/\r?\n/).slice(-2).join('\n') + '\n') && next < lines.length) socket.write(`${lines[next++]}\r\n`);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(transcript);
    });
    socket.on('error', reject);
  });
}

describe('the probe', () => {
  let running: Awaited<ReturnType<typeof lab>>;
  before(async () => {
    running = await lab(locked);
  });
  after(async () => {
    await running.close(0);
  });
  const options = (extra: Partial<ProbeOptions> = {}): ProbeOptions => ({
    host: HOST,
    port: running.eop.port,
    from: 'ceo@contoso.com',
    to: ['alice@contoso.com'],
    ehlo: 'eoplock-probe.invalid',
    starttls: 'auto',
    send: false,
    timeoutMs: 5_000,
    ...extra,
  });

  test('reproduces the lab verdicts at RCPT, over TLS, and never sends DATA', async () => {
    const spoof = await probe(options());
    assert.equal(spoof.tls, true);
    assert.deepEqual(spoof.outcome && [spoof.outcome.stage, spoof.outcome.code, spoof.outcome.enhanced], ['rcpt', 550, '5.7.68']);
    assert.deepEqual(spoof.steps.map((step) => step.stage), ['connect', 'mail', 'rcpt', 'rset']);
    const foreign = await probe(options({ from: 'x@fabrikam.example' }));
    assert.equal(foreign.outcome?.enhanced, '5.7.51');
    const exposedLab = await lab(exposed);
    try {
      const accepted = await probe({ ...options({ from: 'x@fabrikam.example' }), port: exposedLab.eop.port });
      assert.equal(accepted.outcome?.action, 'accept');
      assert.equal(accepted.outcome?.stage, 'rcpt');
      assert.equal(exposedLab.records.length, 0, 'no message reached the lab: no DATA was sent');
    } finally {
      await exposedLab.close(0);
    }
  });

  test('--send sends one labelled message', async () => {
    const exposedLab = await lab(exposed);
    try {
      const sent = await probe({ ...options({ from: 'x@fabrikam.example', send: true }), port: exposedLab.eop.port });
      assert.equal(sent.outcome?.stage, 'data');
      assert.equal(sent.outcome?.code, 250);
      assert.equal(exposedLab.records.length, 1);
    } finally {
      await exposedLab.close(0);
    }
  });

  const misbehaving = (onSocket: (socket: Socket) => void): Promise<{ server: Server; port: number }> =>
    new Promise((resolve) => {
      const server = createServer(onSocket);
      server.listen(0, HOST, () => resolve({ server, port: (server.address() as { port: number }).port }));
    });

  for (const [name, behaviour, kind] of [
    ['garbage instead of a greeting', (socket: Socket) => socket.end('\u0000\u00ff garbage that is not SMTP\r\n'), 'protocol'],
    ['421 at the greeting', (socket: Socket) => socket.end('421 4.3.2 Service not available\r\n'), 'protocol'],
    ['silence', () => undefined, 'timeout'],
  ] as const) {
    test(`a server that answers with ${name} ends with a clear error within the timeout`, async () => {
      const { server, port } = await misbehaving(behaviour);
      const started = Date.now();
      try {
        const result = await probe(options({ port, timeoutMs: 1_500 }));
        assert.equal(result.failure?.kind, kind, JSON.stringify(result.failure));
        assert.ok(result.failure?.message.includes(`${HOST}:${port}`));
        assert.ok(Date.now() - started < 5_000, 'within its timeout');
        assert.equal(result.outcome, null);
      } finally {
        server.close();
      }
    });
  }

  test('a closed port is "refused"', async () => {
    const { server, port } = await misbehaving(() => undefined);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const result = await probe(options({ port, timeoutMs: 2_000 }));
    assert.equal(result.failure?.kind, 'refused');
  });
});

describe('robustness', () => {
  test('1,000 concurrent connections are all greeted; the lab keeps serving and memory stays bounded', async () => {
    const running = await lab(locked);
    const rssBefore = process.memoryUsage().rss;
    try {
      const greetings = await Promise.all(
        Array.from({ length: 1000 }, () =>
          new Promise<string>((resolve) => {
            const socket = connect({ host: HOST, port: running.eop.port });
            socket.setEncoding('utf8');
            socket.setTimeout(20_000, () => socket.destroy());
            let got = '';
            socket.on('data', (chunk: string) => {
              got += chunk;
              if (got.includes('\n')) socket.end('QUIT\r\n');
            });
            socket.on('close', () => resolve(got));
            socket.on('error', () => resolve(got));
          }),
        ),
      );
      assert.equal(greetings.filter((greeting) => greeting.startsWith('220 ')).length, 1000);
      const after = await probe({ host: HOST, port: running.eop.port, from: 'ceo@contoso.com', to: ['alice@contoso.com'], ehlo: 'x', starttls: 'never', send: false, timeoutMs: 5_000 });
      assert.equal(after.outcome?.enhanced, '5.7.68');
      assert.ok(process.memoryUsage().rss - rssBefore < 300 * 1024 * 1024, 'memory stays bounded');
    } finally {
      await running.close(0);
    }
  });

  test('a slowloris client is cut off by the session timeout while others are served', async () => {
    const running = await lab(locked, { limits: { sessionTimeoutMs: 1_500, idleTimeoutMs: 1_000 } });
    try {
      const socket = connect({ host: HOST, port: running.eop.port });
      socket.on('error', () => undefined);
      const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now())));
      const started = Date.now();
      const drip = setInterval(() => {
        if (!socket.destroyed) socket.write('E');
      }, 200);
      const served = await probe({ host: HOST, port: running.eop.port, from: 'ceo@contoso.com', to: ['alice@contoso.com'], ehlo: 'x', starttls: 'never', send: false, timeoutMs: 5_000 });
      assert.equal(served.outcome?.enhanced, '5.7.68');
      const end = await closed;
      clearInterval(drip);
      assert.ok(end - started < 4_000, `cut off after ${end - started} ms`);
    } finally {
      await running.close(0);
    }
  });

  test('a 1 MB line, binary garbage and pipelined commands do not crash the lab', async () => {
    const running = await lab(locked);
    try {
      const long = await new Promise<string>((resolve) => {
        const socket = connect({ host: HOST, port: running.eop.port });
        let got = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => {
          got += chunk;
        });
        socket.once('data', () => socket.write(`EHLO ${'a'.repeat(1024 * 1024)}\r\n`));
        socket.on('error', () => undefined);
        socket.on('close', () => resolve(got));
        setTimeout(() => socket.destroy(), 5_000);
      });
      assert.match(long, /^220 /);
      assert.match(long, /\n5\d\d |\n421 /, 'refused, not crashed');

      const garbage = await new Promise<string>((resolve) => {
        const socket = connect({ host: HOST, port: running.eop.port });
        let got = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => {
          got += chunk;
        });
        socket.once('data', () => socket.write(Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 37) % 256))));
        socket.on('error', () => undefined);
        socket.on('close', () => resolve(got));
        setTimeout(() => socket.end('\r\nQUIT\r\n'), 500);
        setTimeout(() => socket.destroy(), 5_000);
      });
      assert.match(garbage, /^220 /);

      const pipelined = await new Promise<string>((resolve) => {
        const socket = connect({ host: HOST, port: running.eop.port });
        let got = '';
        socket.setEncoding('utf8');
        socket.once('data', () => socket.write('EHLO pipe.example\r\nMAIL FROM:<ceo@contoso.com>\r\nRCPT TO:<alice@contoso.com>\r\nRSET\r\nMAIL FROM:<x@fabrikam.example>\r\nRCPT TO:<alice@contoso.com>\r\nQUIT\r\n'));
        socket.on('data', (chunk: string) => {
          got += chunk;
        });
        socket.on('close', () => resolve(got));
        setTimeout(() => socket.destroy(), 5_000);
      });
      const replies = pipelined.split('\r\n').filter((line) => /^\d{3} /.test(line)).map((line) => /^(5\d\d \d\.\d+\.\d+)/.exec(line)?.[1] ?? line.slice(0, 3));
      assert.deepEqual(replies, ['220', '250', '250', '550 5.7.68', '250', '250', '550 5.7.51', '221']);

      const still = await probe({ host: HOST, port: running.eop.port, from: 'ceo@contoso.com', to: ['alice@contoso.com'], ehlo: 'x', starttls: 'never', send: false, timeoutMs: 5_000 });
      assert.equal(still.outcome?.enhanced, '5.7.68');
    } finally {
      await running.close(0);
    }
  });
});
