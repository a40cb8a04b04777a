/**
 * The verification probe: an SMTP client (nodemailer's SMTPConnection) that connects, says EHLO, upgrades with
 * STARTTLS, and sends MAIL FROM and RCPT TO — then RSET and QUIT. It never sends DATA unless asked (`send`), so
 * nothing is delivered. Every reply is recorded with its stage.
 *
 * SMTPConnection's public send() always continues to DATA, so the envelope-only dialogue uses its command queue
 * (`_sendCommand` / `_responseActions`, stable in the pinned nodemailer 10.6.1); connect, EHLO, STARTTLS and reply
 * parsing stay nodemailer's. A guard refuses to run if those internals are missing.
 *
 * Hostile input and hostile servers:
 * - every command line goes through one gate (`_sendCommand`, wrapped per connection) that refuses CR, LF and NUL:
 *   an address holding a line break would otherwise smuggle `DATA`, a message and `.` into the session. The lines
 *   the probe will write are also checked before it connects, so bad input is refused without any traffic
 *   ({@link InputError}, exit 2);
 * - every reply is checked before nodemailer acts on it (`_processResponse`, wrapped per connection): lines
 *   `NNN-text` closed by one `NNN text` line with the same code, at most {@link MAX_REPLY_LINES} lines and
 *   {@link MAX_REPLY_BYTES} bytes. nodemailer ends a reply at any line that is not a continuation (a blank line
 *   included), so `250-…` lines with no final line would otherwise pass for a 250;
 * - the whole probe has one time limit (`timeoutMs`, or an earlier `deadline` shared by several probes), and every
 *   socket is destroyed, not half-closed, when it ends: nothing keeps the process alive past the limit.
 */
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { InputError } from '../errors.js';
import { assertSmtpLine, isSmtpLine, shorten } from '../util/smtp-syntax.js';

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
  /** The time the whole probe may take, from connecting to QUIT. */
  timeoutMs: number;
  /** An earlier end (`Date.now()` milliseconds) shared by several probes run one after another. */
  deadline?: number;
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

/** The most lines one reply may have (an EHLO reply has a dozen or two). */
export const MAX_REPLY_LINES = 256;
/** The most bytes one reply may have while it is received (nodemailer's `maxResponseSize`). */
export const MAX_REPLY_BYTES = 64 * 1024;
/** The longest wait for the reply to QUIT before the socket is destroyed anyway. */
const QUIT_WAIT_MS = 1_000;

interface Internals {
  _sendCommand(command: string, logged?: string): void;
  _onData(chunk: Buffer): unknown;
  _processResponse(): unknown;
  _responseActions: ((reply: string) => void)[];
  _responseQueue: string[];
}

/** Why a reply (lines joined by `\n`, as nodemailer queues them) is not an SMTP reply; null when it is one. */
export function replyProblem(reply: string): string | null {
  const lines = reply.split('\n');
  if (lines.length > MAX_REPLY_LINES) return `a reply of more than ${MAX_REPLY_LINES} lines`;
  const code = lines[0]?.slice(0, 3) ?? '';
  for (const [index, line] of lines.entries()) {
    const final = index === lines.length - 1;
    const shape = /^([2-5]\d\d)([ -]|$)/.exec(line);
    if (!shape) {
      if (final && line === '' && index > 0) return `a multiline reply ended without its final "${code} …" line`;
      return `a reply line is not "NNN text" with a code from 200 to 599: "${shorten(line, 80)}"`;
    }
    if (shape[1] !== code) return `one reply mixes the codes ${code} and ${shape[1]}`;
    const continued = shape[2] === '-';
    if (continued && final) return `a multiline reply ended without its final "${code} …" line`;
    if (!continued && !final) return `a reply went on after its final line "${shorten(line, 80)}"`;
  }
  return null;
}

function parseReply(reply: string): { code: number; enhanced: string | null; text: string } {
  const code = Number(/^(\d{3})/.exec(reply)?.[1] ?? 0);
  const body = reply.replace(/^\d{3}[ -]?/gm, '').replace(/\s*\r?\n\s*/g, ' ').trim();
  const enhanced = /^([245]\.\d{1,3}\.\d{1,3})\b/.exec(body)?.[1] ?? null;
  return { code, enhanced, text: enhanced ? body.slice(enhanced.length).trim() : body };
}

function seconds(milliseconds: number): string {
  return `${Math.round(milliseconds / 100) / 10} s`;
}

/** A clear sentence for a connection failure, by nodemailer's error code and the socket's. */
export function describeFailure(error: unknown, options: Pick<ProbeOptions, 'host' | 'port' | 'timeoutMs'>): { kind: ProbeFailureKind; message: string } {
  const failure = error as { code?: string; originalCode?: string; message?: string; responseCode?: number; response?: string; waitingFor?: string };
  const where = `${options.host}:${options.port}`;
  const text = failure.message ?? String(error);
  // nodemailer's code (ESOCKET, EDNS, ETLS, EPROTOCOL, ETIMEDOUT…), and the socket's underneath it when there is one
  const code = failure.originalCode ?? failure.code;
  if (code === 'ECONNREFUSED' || /ECONNREFUSED/.test(text)) return { kind: 'refused', message: `${where} refused the connection (nothing listens there)` };
  if (failure.code === 'ETIMEDOUT' || code === 'ETIMEDOUT') {
    if (failure.waitingFor) return { kind: 'timeout', message: `${where} did not answer ${failure.waitingFor} within the probe's time limit of ${seconds(options.timeoutMs)}` };
    return {
      kind: 'timeout',
      message: `${where} did not answer within ${seconds(options.timeoutMs)} (outbound port ${options.port} is often blocked by ISPs and cloud networks; try from another network)`,
    };
  }
  if (failure.code === 'EPROTOCOL') {
    if (failure.responseCode) return { kind: 'protocol', message: `${where} refused the session: ${shorten(failure.response ?? String(failure.responseCode), 300)}` };
    return { kind: 'protocol', message: `${where} did not speak SMTP: ${shorten(text, 300)}` };
  }
  if (failure.code === 'EDNS' || /EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN/.test(code ?? '')) return { kind: 'unreachable', message: `${where} cannot be reached: ${shorten(text, 300)}` };
  if (failure.code === 'ETLS') return { kind: 'tls', message: `TLS with ${where} failed: ${shorten(text, 300)}` };
  if (failure.responseCode) return { kind: 'protocol', message: `${where} refused the session: ${shorten(failure.response ?? String(failure.responseCode), 300)}` };
  if (/EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN/.test(text)) return { kind: 'unreachable', message: `${where} cannot be reached: ${shorten(text, 300)}` };
  if (/TLS|SSL|certificate/i.test(text)) return { kind: 'tls', message: `TLS with ${where} failed: ${shorten(text, 300)}` };
  if (/Invalid greeting|Unexpected|protocol/i.test(text)) return { kind: 'protocol', message: `${where} did not speak SMTP: ${shorten(text, 300)}` };
  return { kind: 'closed', message: `the session with ${where} ended: ${shorten(text, 300)}` };
}

/** The command lines the probe writes itself, each checked before anything is sent. */
function checkInput(options: ProbeOptions): void {
  assertSmtpLine(`EHLO ${options.ehlo}`, 'ehlo');
  assertSmtpLine(`MAIL FROM:<${options.from}>`, 'from');
  for (const to of options.to) assertSmtpLine(`RCPT TO:<${to}>`, 'to');
}

function timeoutError(waitingFor: string | null): Error {
  return Object.assign(new Error('timeout'), { code: 'ETIMEDOUT', ...(waitingFor ? { waitingFor } : {}) });
}

export async function probe(options: ProbeOptions): Promise<ProbeResult> {
  checkInput(options);
  const result: ProbeResult = { host: options.host, port: options.port, tls: false, steps: [], outcome: null, failure: null };
  const started = Date.now();
  const end = Math.min(started + options.timeoutMs, options.deadline ?? Number.POSITIVE_INFINITY);
  const budget = end - started;
  if (budget <= 0) {
    result.failure = { kind: 'timeout', message: `no time was left for this test: the probe's ${seconds(options.timeoutMs)} were used up` };
    return result;
  }

  const connection = new SMTPConnection({
    host: options.host,
    port: options.port,
    name: options.ehlo,
    ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    ignoreTLS: options.starttls === 'never',
    requireTLS: options.starttls === 'require',
    opportunisticTLS: options.starttls === 'auto',
    tls: { rejectUnauthorized: false, ...(options.clientCertificate ?? {}) },
    connectionTimeout: budget,
    greetingTimeout: budget,
    socketTimeout: budget,
    dnsTimeout: budget,
    maxResponseSize: MAX_REPLY_BYTES,
    // close() destroys the socket instead of half-closing it and waiting (5 s by default) for the server's FIN
    socketCloseTimeout: 0,
  });
  const internals = connection as unknown as Partial<Internals>;
  if (
    typeof internals._sendCommand !== 'function' ||
    typeof internals._processResponse !== 'function' ||
    typeof internals._onData !== 'function' ||
    !Array.isArray(internals._responseActions) ||
    !Array.isArray(internals._responseQueue)
  ) {
    throw new Error('this nodemailer version does not expose its command queue; eoplock pins nodemailer 10.6.1');
  }
  const sendCommand = internals._sendCommand.bind(connection);
  const processResponse = internals._processResponse.bind(connection);
  const onData = internals._onData.bind(connection);

  let ended: Error | null = null;
  const waiters = new Set<(error: Error) => void>();
  const fail = (error: Error) => {
    ended ??= error;
    for (const waiter of waiters) waiter(ended);
    waiters.clear();
  };
  connection.on('error', fail);
  connection.on('end', () => {
    // a reply still waiting for its final line when the server hung up was never going to be SMTP
    const pending = internals._responseQueue?.at(-1);
    fail(
      typeof pending === 'string' && /^\d+-/.test(pending.slice(pending.lastIndexOf('\n') + 1))
        ? Object.assign(new Error('the server closed the connection in the middle of a multiline reply'), { code: 'EPROTOCOL' })
        : new Error('the server closed the connection'),
    );
  });

  // The one gate every command line passes, nodemailer's own (EHLO, STARTTLS, QUIT, MAIL FROM in --send) included.
  internals._sendCommand = (line: string, logged?: string) => {
    if (!isSmtpLine(line)) {
      fail(new InputError(`refusing to send a command holding a line break or NUL`, { where: 'SMTP command' }));
      connection.close();
      return;
    }
    sendCommand(line, logged);
  };
  const notSmtp = (problem: string) => {
    if (internals._responseQueue) internals._responseQueue.length = 0;
    fail(Object.assign(new Error(problem), { code: 'EPROTOCOL' }));
    connection.close();
  };
  // What the server sends is queued by nodemailer reply by reply; a server cannot have more replies outstanding than
  // the probe sent commands, so a queue that grows past MAX_REPLY_LINES (a flood of blank lines, of one-line replies)
  // ends the session instead of growing without bound.
  internals._onData = (chunk: Buffer) => {
    if (ended) return undefined;
    const outcome = onData(chunk);
    if ((internals._responseQueue?.length ?? 0) > MAX_REPLY_LINES + options.to.length) notSmtp(`more than ${MAX_REPLY_LINES} replies or blank lines arrived unasked`);
    return outcome;
  };
  // Every complete reply is checked before nodemailer acts on it; once the session has ended nothing is processed.
  let replies = 0;
  internals._processResponse = () => {
    const queue = internals._responseQueue ?? [];
    if (ended) {
      queue.length = 0;
      return false;
    }
    const next = queue[0];
    if (typeof next === 'string' && next.trim() !== '' && !/^\d+-/.test(next.slice(next.lastIndexOf('\n') + 1))) {
      replies++;
      const problem = replyProblem(next);
      if (problem) {
        notSmtp(problem);
        return false;
      }
    }
    return processResponse();
  };

  let waitingFor: string | null = null;
  const timer = setTimeout(() => fail(timeoutError(waitingFor ?? (replies > 0 ? 'EHLO or STARTTLS' : null))), budget);
  /** The work, or the first failure: an error event, the server closing, or the time limit. */
  const guard = <T>(work: Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (ended) return reject(ended);
      waiters.add(reject);
      work.then(
        (value) => {
          waiters.delete(reject);
          if (ended) reject(ended);
          else resolve(value);
        },
        (error: unknown) => {
          waiters.delete(reject);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });

  // Lines from the input were checked by checkInput() before connecting; the _sendCommand gate checks every line again.
  const exchange = (line: string): Promise<string> => {
    waitingFor = line.split(':')[0] ?? line;
    return guard(
      new Promise<string>((resolve) => {
        internals._responseActions?.push(resolve);
        internals._sendCommand?.(line);
      }),
    );
  };
  const command = async (stage: ProbeStage, line: string): Promise<ProbeStep> => ({ stage, command: line, ...parseReply(await exchange(line)) });

  /** QUIT, waiting a moment for the reply; a server that does not answer it changes nothing. */
  const quit = async (): Promise<void> => {
    const wait = Math.min(QUIT_WAIT_MS, end - Date.now());
    if (wait <= 0 || ended) return;
    let quitTimer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([exchange('QUIT'), new Promise((resolve) => (quitTimer = setTimeout(resolve, wait)))]);
    } catch {
      // the session is over either way
    } finally {
      clearTimeout(quitTimer);
    }
  };

  try {
    await guard(new Promise<void>((resolve, reject) => connection.connect((error?: Error | null) => (error ? reject(error) : resolve()))));
    result.tls = connection.secure;
    result.steps.push({ stage: 'connect', command: `EHLO ${options.ehlo}${result.tls ? ' + STARTTLS' : ''}`, code: 250, enhanced: null, text: 'session established' });
    if (options.send) {
      // The null sender is a bounce's envelope; its message still needs a From address (RFC 5322 §3.6.2; EOP refuses
      // a message without a valid one with 5.7.512), so it is MAILER-DAEMON at the EHLO name, as a bouncing MTA writes.
      const headerFrom = options.from === '' ? `MAILER-DAEMON@${options.ehlo}` : options.from;
      const message =
        `From: <${headerFrom}>\r\nTo: ${options.to.map((to) => `<${to}>`).join(', ')}\r\nSubject: eoplock verification probe (test message)\r\n` +
        `X-Eoplock-Probe: 1\r\n\r\nThis is a test message sent by "eoplock probe --send" to verify mail flow. It can be deleted.\r\n`;
      waitingFor = 'MAIL FROM, RCPT TO or DATA';
      await guard(
        new Promise<void>((resolve, reject) => {
          connection.send({ from: options.from, to: options.to }, message, (error, info) => {
            if (error) {
              const failure = error as { command?: string; responseCode?: number; response?: string };
              const command = failure.command ?? '';
              const stage: ProbeStage | null = /RCPT/i.test(command) ? 'rcpt' : /MAIL/i.test(command) ? 'mail' : /DATA/i.test(command) ? 'data' : null;
              // no reply to a command: the session itself failed
              if (!stage || !failure.responseCode) return reject(error);
              result.steps.push({ stage, command, ...parseReply(failure.response ?? `${failure.responseCode} ${error.message}`) });
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
    await quit();
  } catch (error) {
    if (error instanceof InputError) throw error;
    // a command refused at the gate fails the probe as bad input, not as a failed conversation
    const first = ended as Error | null;
    if (first instanceof InputError) throw first;
    if (result.steps.length === 0 || !(error as { responseCode?: number }).responseCode) result.failure = describeFailure(error, options);
  } finally {
    clearTimeout(timer);
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
