/**
 * The verification probe: an SMTP client (nodemailer's SMTPConnection) that connects, says EHLO, upgrades with
 * STARTTLS, and sends MAIL FROM and RCPT TO — then RSET and QUIT. It never sends DATA unless asked (`send`), so
 * nothing is delivered. Every reply is recorded with its stage.
 *
 * SMTPConnection's public send() always continues to DATA, so the envelope-only dialogue uses its command queue
 * (`_sendCommand` / `_responseActions`, stable in the pinned nodemailer 10.6.1); connect, EHLO, STARTTLS and reply
 * parsing stay nodemailer's. A guard refuses to run if those internals are missing.
 */
import SMTPConnection from 'nodemailer/lib/smtp-connection';

export type ProbeStage = 'connect' | 'mail' | 'rcpt' | 'data' | 'rset';

export interface ProbeStep {
  stage: ProbeStage;
  command: string;
  code: number;
  enhanced: string | null;
  text: string;
}

export interface ProbeOptions {
  host: string;
  port: number;
  from: string;
  to: string[];
  ehlo: string;
  starttls: 'auto' | 'require' | 'never';
  clientCertificate?: { cert: string; key: string };
  /** Send a small labelled test message (DATA). Off by default. */
  send: boolean;
  timeoutMs: number;
  /** Local address to connect from (tests on loopback). */
  localAddress?: string;
}

export type ProbeFailureKind = 'refused' | 'timeout' | 'tls' | 'protocol' | 'unreachable' | 'closed';

export interface ProbeResult {
  host: string;
  port: number;
  tls: boolean;
  steps: ProbeStep[];
  /** The reply that decided the transaction: the first 4xx/5xx, or the last 2xx. */
  outcome: { action: 'accept' | 'reject'; stage: ProbeStage; code: number; enhanced: string | null; text: string } | null;
  /** Set when the probe could not hold an SMTP conversation at all. */
  failure: { kind: ProbeFailureKind; message: string } | null;
}

interface Internals {
  _sendCommand(command: string): void;
  _responseActions: ((reply: string) => void)[];
}

function parseReply(reply: string): { code: number; enhanced: string | null; text: string } {
  const last = reply.trim().split(/\r?\n/).at(-1) ?? '';
  const code = Number(/^(\d{3})/.exec(reply)?.[1] ?? 0);
  const body = reply.replace(/^\d{3}[ -]/gm, '').replace(/\s*\r?\n\s*/g, ' ').trim();
  const enhanced = /^([245]\.\d{1,3}\.\d{1,3})\b/.exec(body)?.[1] ?? null;
  return { code: code || Number(/^(\d{3})/.exec(last)?.[1] ?? 0), enhanced, text: enhanced ? body.slice(enhanced.length).trim() : body };
}

/** A clear sentence for a connection failure, by nodemailer's error code and the socket's. */
export function describeFailure(error: unknown, options: Pick<ProbeOptions, 'host' | 'port' | 'timeoutMs'>): { kind: ProbeFailureKind; message: string } {
  const failure = error as { code?: string; message?: string; responseCode?: number; response?: string };
  const where = `${options.host}:${options.port}`;
  const text = failure.message ?? String(error);
  if (/ECONNREFUSED/.test(text) || failure.code === 'ECONNREFUSED') return { kind: 'refused', message: `${where} refused the connection (nothing listens there)` };
  if (failure.code === 'ETIMEDOUT' || /timeout/i.test(text)) {
    return {
      kind: 'timeout',
      message: `${where} did not answer within ${Math.round(options.timeoutMs / 1000)} s (outbound port ${options.port} is often blocked by ISPs and cloud networks; try from another network)`,
    };
  }
  if (/EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN/.test(text)) return { kind: 'unreachable', message: `${where} cannot be reached: ${text}` };
  if (failure.code === 'ETLS' || /TLS|SSL|certificate/i.test(text)) return { kind: 'tls', message: `TLS with ${where} failed: ${text}` };
  if (failure.responseCode) return { kind: 'protocol', message: `${where} refused the session: ${failure.response ?? failure.responseCode}` };
  if (failure.code === 'EPROTOCOL' || /Invalid greeting|Unexpected|protocol/i.test(text)) return { kind: 'protocol', message: `${where} did not speak SMTP: ${text}` };
  return { kind: 'closed', message: `the session with ${where} ended: ${text}` };
}

export async function probe(options: ProbeOptions): Promise<ProbeResult> {
  const result: ProbeResult = { host: options.host, port: options.port, tls: false, steps: [], outcome: null, failure: null };
  const connection = new SMTPConnection({
    host: options.host,
    port: options.port,
    name: options.ehlo,
    ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    ignoreTLS: options.starttls === 'never',
    requireTLS: options.starttls === 'require',
    opportunisticTLS: options.starttls === 'auto',
    tls: { rejectUnauthorized: false, ...(options.clientCertificate ?? {}) },
    connectionTimeout: options.timeoutMs,
    greetingTimeout: options.timeoutMs,
    socketTimeout: options.timeoutMs,
  });
  let ended: Error | null = null;
  const waiters = new Set<(error: Error) => void>();
  const fail = (error: Error) => {
    ended ??= error;
    for (const waiter of waiters) waiter(error);
    waiters.clear();
  };
  connection.on('error', fail);
  connection.on('end', () => fail(new Error('the server closed the connection')));

  const deadline = <T>(work: Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })), options.timeoutMs);
      const onFail = (error: Error) => {
        clearTimeout(timer);
        reject(error);
      };
      if (ended) return onFail(ended);
      waiters.add(onFail);
      work.then(
        (value) => {
          clearTimeout(timer);
          waiters.delete(onFail);
          resolve(value);
        },
        onFail,
      );
    });

  const command = (stage: ProbeStage, text: string): Promise<ProbeStep> => {
    const internals = connection as unknown as Partial<Internals>;
    if (typeof internals._sendCommand !== 'function' || !Array.isArray(internals._responseActions)) {
      throw new Error('this nodemailer version does not expose its command queue; eoplock pins nodemailer 10.6.1');
    }
    return deadline(
      new Promise<ProbeStep>((resolve) => {
        internals._responseActions?.push((reply) => resolve({ stage, command: text, ...parseReply(reply) }));
        internals._sendCommand?.(text);
      }),
    );
  };

  try {
    await deadline(new Promise<void>((resolve) => connection.connect(() => resolve())));
    result.tls = connection.secure;
    result.steps.push({ stage: 'connect', command: `EHLO ${options.ehlo}${result.tls ? ' + STARTTLS' : ''}`, code: 250, enhanced: null, text: 'session established' });
    if (options.send) {
      const message =
        `From: <${options.from}>\r\nTo: ${options.to.map((to) => `<${to}>`).join(', ')}\r\nSubject: eoplock verification probe (test message)\r\n` +
        `X-Eoplock-Probe: 1\r\n\r\nThis is a test message sent by "eoplock probe --send" to verify mail flow. It can be deleted.\r\n`;
      await deadline(
        new Promise<void>((resolve) => {
          connection.send({ from: options.from, to: options.to }, message, (error, info) => {
            if (error) {
              const failure = error as { command?: string; responseCode?: number; response?: string };
              const stage: ProbeStage = /RCPT/i.test(failure.command ?? '') ? 'rcpt' : /MAIL/i.test(failure.command ?? '') ? 'mail' : 'data';
              result.steps.push({ stage, command: failure.command ?? 'DATA', ...parseReply(failure.response ?? `${failure.responseCode ?? 0} ${error.message}`) });
            } else {
              result.steps.push({ stage: 'data', command: 'DATA', ...parseReply((info as { response?: string }).response ?? '250 OK') });
            }
            resolve();
          });
        }),
      );
    } else {
      const mail = await command('mail', `MAIL FROM:<${options.from}>`);
      result.steps.push(mail);
      if (mail.code >= 200 && mail.code < 300) {
        for (const to of options.to) result.steps.push(await command('rcpt', `RCPT TO:<${to}>`));
      }
      result.steps.push(await command('rset', 'RSET'));
    }
    connection.quit();
  } catch (error) {
    if (result.steps.length === 0 || !(error as { responseCode?: number }).responseCode) result.failure = describeFailure(error, options);
  } finally {
    connection.close();
  }
  const decisive = result.steps.filter((step) => step.stage !== 'connect' && step.stage !== 'rset');
  const refusal = decisive.find((step) => step.code >= 400);
  const last = decisive.at(-1);
  const pick = refusal ?? last;
  result.outcome = pick ? { action: refusal ? 'reject' : 'accept', stage: pick.stage, code: pick.code, enhanced: pick.enhanced, text: pick.text } : null;
  if (result.failure) result.outcome = null;
  return result;
}

/** `--expect` against an outcome: a 3-digit code, an enhanced code (5.7.68), or `accept` / `reject`. */
export function meetsExpectation(result: ProbeResult, expect: string): boolean {
  const outcome = result.outcome;
  if (!outcome) return false;
  const wanted = expect.trim().toLowerCase();
  if (wanted === 'accept' || wanted === 'reject') return outcome.action === wanted;
  if (/^\d{3}$/.test(wanted)) return outcome.code === Number(wanted);
  return (outcome.enhanced ?? '') === wanted;
}
