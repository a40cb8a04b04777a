/**
 * The EOP lab: a real SMTP server (smtp-server) whose every decision comes from decide() for a snapshot. Replies
 * come at the stage the verdict names; accepted messages get EOP's headers and are stored as .eml; every transaction
 * is appended to transactions.jsonl.
 */
import { randomUUID } from 'node:crypto';
import { decideAuthenticated } from '../dns/authenticate.js';
import type { DnsResolver } from '../dns/resolver.js';
import { constants } from 'node:fs';
import { appendFile, mkdir, readdir, stat, unlink, writeFile } from 'node:fs/promises';
import type { Server as NetServer, Socket } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Assumptions } from '../eop/assumptions.js';
import { InputError } from '../errors.js';
import { decide } from '../eop/decide.js';
import type { PresentedCertificate, Transaction, Verdict } from '../eop/types.js';
import { headerBlockOverLimit, MAX_HEADER_TEXT, parseHeaderBlock, splitMessage } from '../headers/parse.js';
import type { Snapshot } from '../snapshot/parse.js';
import type { CertificatePair } from './certificates.js';
import { headerFirewall, stampHeaders } from './stamp.js';

export interface LabLimits {
  maxClients: number;
  /** Largest message accepted, in bytes. */
  maxMessageBytes: number;
  /** Idle time before a connection is dropped. */
  idleTimeoutMs: number;
  /** Longest a connection may last. */
  sessionTimeoutMs: number;
}

export const DEFAULT_LIMITS: LabLimits = { maxClients: 2000, maxMessageBytes: 10 * 1024 * 1024, idleTimeoutMs: 60_000, sessionTimeoutMs: 600_000 };

/**
 * How much the store folder may hold: .eml files, and bytes of .eml files and transactions.jsonl together. What the
 * folder already holds when the lab starts counts, so the folder never grows past the quota.
 */
export interface StoreQuota {
  maxMessages: number;
  maxBytes: number;
}

export const DEFAULT_STORE_QUOTA: StoreQuota = { maxMessages: 10_000, maxBytes: 1024 * 1024 * 1024 };

/** The reply to a message the verdict accepts when storing it would go over the store quota. */
const STORE_FULL = { code: 452, enhanced: '4.3.1', text: 'Insufficient system storage: the eoplock lab store is full (message not stored)' } as const;

export interface EopLabOptions {
  snapshot: Snapshot;
  /** DNS for the authentication layer at DATA (SPF for the evaluated IP, the From domain's DMARC). */
  resolver: DnsResolver;
  assumptions: Assumptions;
  tls: CertificatePair;
  /** Where accepted messages and transactions.jsonl go; nothing is stored without it. */
  store?: string;
  /** Limits on the store folder (default {@link DEFAULT_STORE_QUOTA}). */
  storeQuota?: StoreQuota;
  /** Called once when a limit of the store quota is reached (and when the folder is already over it at start). */
  onNotice?: (message: string) => void;
  /** Client addresses allowed to use XCLIENT ADDR= (tests and demos). */
  xclientFrom: string[];
  /** Loopback source addresses standing for public ones (`127.0.0.2` → the gateway's address). */
  addressMap: Map<string, string>;
  limits: LabLimits;
  serverName: string;
  /** Called for every finished or refused transaction (also written to transactions.jsonl). */
  onTransaction?: (record: TransactionRecord) => void;
}

export interface TransactionRecord {
  time: string;
  clientIp: string;
  helo: string | null;
  tls: boolean;
  certificate: PresentedCertificate | null;
  mailFrom: string;
  rcptTo: string[];
  verdict: Pick<Verdict, 'action' | 'stage' | 'code' | 'enhanced' | 'text' | 'disposition' | 'authAs' | 'assumptions'> & { connector: string | null };
  /** The stored message, relative to the store folder. */
  file?: string;
  /** The lab's own reply when it is not the verdict's: {@link STORE_FULL} (the message was accepted but not stored). */
  reply?: { code: number; enhanced: string; text: string };
}

interface SessionState {
  certificate: PresentedCertificate | null;
  rcptTo: string[];
}

function certificateOf(socket: TLSSocket): PresentedCertificate | null {
  const peer = socket.getPeerCertificate?.();
  if (!peer || Object.keys(peer).length === 0) return null;
  const cn = Array.isArray(peer.subject?.CN) ? peer.subject.CN[0] : peer.subject?.CN;
  const san = (peer.subjectaltname ?? '')
    .split(/,\s*/)
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4));
  return { subject: cn ? `CN=${cn}` : '', san };
}

/** An error smtp-server sends as the reply: the enhanced code goes into the text (smtp-server hides its own). */
function smtpError(verdict: Pick<Verdict, 'code' | 'enhanced' | 'text'>): Error & { responseCode: number } {
  return Object.assign(new Error(`${verdict.enhanced} ${verdict.text}`), { responseCode: verdict.code });
}

export class EopLab {
  readonly server: SMTPServer;
  private readonly states = new Map<string, SessionState>();
  private readonly sessions: Sessions;
  private stored = 0;
  /** Writing transactions.jsonl failed once: the log is stopped (record). */
  private logFailed = false;
  /** What the store folder holds (counted at {@link listen}, then kept up to date), against the quota. */
  private readonly usage = { messages: 0, bytes: 0 };
  private readonly noticed = new Set<'messages' | 'bytes'>();

  constructor(private readonly options: EopLabOptions) {
    const { limits } = options;
    this.server = new SMTPServer({
      name: options.serverName,
      banner: 'Microsoft ESMTP MAIL Service ready (eoplock EOP lab)',
      key: options.tls.key,
      cert: options.tls.cert,
      requestCert: true,
      rejectUnauthorized: false,
      authOptional: true,
      disabledCommands: ['AUTH'],
      size: limits.maxMessageBytes,
      maxClients: limits.maxClients,
      socketTimeout: limits.idleTimeoutMs,
      closeTimeout: 5_000,
      useXClient: options.xclientFrom.length > 0 ? options.xclientFrom : false,
      logger: false,
      onConnect: (session, callback) => {
        this.states.set(session.id, { certificate: null, rcptTo: [] });
        callback();
      },
      onSecure: (socket, session, callback) => {
        const state = this.states.get(session.id);
        if (state) state.certificate = certificateOf(socket as TLSSocket);
        callback();
      },
      onMailFrom: (_address, session, callback) => {
        const state = this.states.get(session.id);
        if (state) state.rcptTo = [];
        callback();
      },
      onRcptTo: (address, session, callback) => this.onRcptTo(address.address, session, callback),
      onData: (stream, session, callback) => {
        this.onData(stream, session).then(
          (error) => callback(error ?? null, 'Queued mail for delivery'),
          (error: unknown) => callback(Object.assign(new Error(`4.3.0 Temporary lab error: ${(error as Error).message}`), { responseCode: 451 })),
        );
      },
      onClose: (session) => {
        this.states.delete(session.id);
      },
    });
    this.server.on('error', () => undefined);
    this.sessions = new Sessions(this.server, limits.sessionTimeoutMs);
  }

  /** The transaction as decide() sees it; the address map turns loopback sources into the addresses they stand for. */
  private transaction(session: SMTPServerSession, rcptTo: string[], headers?: Transaction['headers']): Transaction {
    const state = this.states.get(session.id);
    const address = session.remoteAddress.replace(/^::ffff:/, '');
    return {
      clientIp: this.options.addressMap.get(address) ?? address,
      helo: session.hostNameAppearsAs || undefined,
      ...(session.secure ? { tls: state?.certificate ? { certificate: state.certificate } : {} } : {}),
      mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
      rcptTo,
      ...(headers ? { headers } : {}),
      // The lab does not take the MIME body apart: attachment conditions are "not evaluated", never "no attachments".
      attachments: 'unknown',
    };
  }

  private onRcptTo(address: string, session: SMTPServerSession, callback: (error?: Error | null) => void): void {
    const state = this.states.get(session.id);
    if (!state) return callback(new Error('4.3.0 session state lost'));
    const candidates = [...state.rcptTo, address];
    const transaction = this.transaction(session, candidates);
    let verdict: Verdict;
    try {
      verdict = decide(this.options.snapshot, transaction, { assumptions: this.options.assumptions });
    } catch (error) {
      return callback(Object.assign(new Error(`5.1.3 ${(error as Error).message}`), { responseCode: 501 }));
    }
    const reply = verdict.recipients?.find((entry) => entry.recipient === address) ?? verdict;
    if (reply.action === 'reject' && reply.stage === 'rcpt') {
      // The record names the refused recipient only: the others stay in the transaction and are recorded with it (a
      // log of refusals that listed every recipient so far grew with the square of a session's RCPTs).
      void this.record({ ...transaction, rcptTo: [address] }, { ...verdict, ...reply });
      return callback(smtpError(reply));
    }
    state.rcptTo = candidates;
    callback();
  }

  /** Returns the error to answer DATA with, or undefined to accept. */
  private async onData(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<(Error & { responseCode: number }) | undefined> {
    const chunks = await readMessageData(stream, this.options.limits.maxMessageBytes);
    if (!chunks) return messageTooLarge();
    // The header ends at the first empty line, lines ending as eoplock's header reader ends them (CRLF, CR or LF).
    // Split on the bytes (latin1 maps each byte to one character), so that the body is stored as it came: the server
    // offers 8BITMIME, and a body that is not UTF-8 must not come out with U+FFFD in place of its bytes. The header is
    // read as UTF-8 (SMTPUTF8).
    const raw = Buffer.concat(chunks);
    const parts = splitMessage(raw.toString('latin1'));
    const body = raw.subarray(raw.length - Buffer.byteLength(parts.body, 'latin1'));
    const message = { header: raw.subarray(0, Buffer.byteLength(parts.header, 'latin1')).toString('utf8') };
    if (headerBlockOverLimit(message.header)) {
      return Object.assign(new Error(`5.3.4 Message header size exceeds fixed maximum size (header block over ${MAX_HEADER_TEXT})`), { responseCode: 552 });
    }
    const state = this.states.get(session.id);
    const transaction = this.transaction(session, state?.rcptTo ?? [], await parseHeaderBlock(message.header));
    const verdict = await decideAuthenticated(this.options.snapshot, transaction, this.options.resolver, { assumptions: this.options.assumptions });
    if (verdict.action === 'reject' && verdict.disposition === 'none') {
      await this.record(transaction, verdict);
      return smtpError(verdict);
    }
    let file: string | undefined;
    if (this.options.store) {
      const id = randomUUID();
      // The sender's header with CRLF line ends (no bare CR left to be read as a line of its own), then the body as sent.
      const header = headerFirewall(message.header, verdict.authAs);
      // A header that begins with a folded line would continue the last field stamped above it (the verdict): a field
      // of its own is stamped last to take it.
      const stamped =
        stampHeaders({ transaction, verdict, serverName: this.options.serverName, id, date: new Date(), tls: session.secure }) +
        (/^[ \t]/.test(header) ? `${FOLDED_START_NOTE}\r\n` : '');
      const content = Buffer.concat([Buffer.from(`${stamped}${header === '' ? '' : `${header}\r\n`}\r\n`, 'utf8'), body]);
      if (!this.reserve(1, content.length)) {
        await this.record(transaction, verdict, undefined, STORE_FULL);
        return Object.assign(new Error(`${STORE_FULL.enhanced} ${STORE_FULL.text}`), { responseCode: STORE_FULL.code });
      }
      const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${++this.stored}-${verdict.disposition}.eml`;
      const path = join(this.options.store, name);
      try {
        await mkdir(this.options.store, { recursive: true });
        await writeFile(path, content, { flag: 'wx' });
      } catch (error) {
        this.release(1, content.length);
        // Nothing partial is left behind.
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') await unlink(path).catch(() => undefined);
        throw error;
      }
      file = name;
    }
    await this.record(transaction, verdict, file);
    return undefined;
  }

  private get quota(): StoreQuota {
    return this.options.storeQuota ?? DEFAULT_STORE_QUOTA;
  }

  /** Counts `messages` and `bytes` against the store quota; false (and nothing counted) when they do not fit. */
  private reserve(messages: number, bytes: number): boolean {
    const overMessages = messages > 0 && this.usage.messages + messages > this.quota.maxMessages;
    const overBytes = this.usage.bytes + bytes > this.quota.maxBytes;
    if (overMessages) this.notice('messages');
    if (overBytes) this.notice('bytes');
    if (overMessages || overBytes) return false;
    this.usage.messages += messages;
    this.usage.bytes += bytes;
    return true;
  }

  private release(messages: number, bytes: number): void {
    this.usage.messages -= messages;
    this.usage.bytes -= bytes;
  }

  private notice(limit: 'messages' | 'bytes'): void {
    if (this.noticed.has(limit)) return;
    this.noticed.add(limit);
    this.options.onNotice?.(
      limit === 'messages'
        ? `the store is full: ${this.options.store} holds ${this.usage.messages} of ${this.quota.maxMessages} messages; accepted messages are answered ${STORE_FULL.code} ${STORE_FULL.enhanced} and not stored`
        : `the store is full: ${this.options.store} holds ${this.usage.bytes} of ${this.quota.maxBytes} bytes; accepted messages are answered ${STORE_FULL.code} ${STORE_FULL.enhanced} and not stored, and transactions.jsonl gets only the records that still fit`,
    );
  }

  /** Counts what the store folder already holds (.eml files and transactions.jsonl) against the quota. */
  private async countStore(): Promise<void> {
    const store = this.options.store;
    if (!store) return;
    let names: string[];
    try {
      names = await readdir(store);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code === 'ENOTDIR') throw new InputError('is not a folder', { file: store, where: '--store' });
      if (code === 'EACCES' || code === 'EPERM') throw new InputError('permission denied', { file: store, where: '--store' });
      throw error;
    }
    for (const name of names) {
      if (!name.endsWith('.eml') && name !== 'transactions.jsonl') continue;
      const info = await stat(join(store, name)).catch(() => null);
      if (!info?.isFile()) continue;
      if (name.endsWith('.eml')) this.usage.messages++;
      this.usage.bytes += info.size;
    }
    if (this.usage.messages >= this.quota.maxMessages) this.notice('messages');
    if (this.usage.bytes >= this.quota.maxBytes) this.notice('bytes');
  }

  private async record(transaction: Transaction, verdict: Verdict, file?: string, reply?: TransactionRecord['reply']): Promise<void> {
    const record: TransactionRecord = {
      time: new Date().toISOString(),
      clientIp: transaction.clientIp,
      helo: transaction.helo ?? null,
      tls: transaction.tls !== undefined,
      certificate: transaction.tls?.certificate ?? null,
      mailFrom: transaction.mailFrom,
      rcptTo: transaction.rcptTo,
      verdict: {
        action: verdict.action,
        stage: verdict.stage,
        code: verdict.code,
        enhanced: verdict.enhanced,
        text: verdict.text,
        disposition: verdict.disposition,
        authAs: verdict.authAs,
        assumptions: verdict.assumptions,
        connector: verdict.connector?.name ?? null,
      },
      ...(file ? { file } : {}),
      ...(reply ? { reply: { ...reply } } : {}),
    };
    this.options.onTransaction?.(record);
    if (this.options.store && !this.logFailed) {
      const line = `${JSON.stringify(record)}\n`;
      if (!this.reserve(0, Buffer.byteLength(line))) return;
      try {
        await mkdir(this.options.store, { recursive: true });
        // O_NOFOLLOW: a symbolic link planted at the log's name is refused, never written through.
        await appendFile(join(this.options.store, 'transactions.jsonl'), line, { flag: APPEND_NO_FOLLOW });
      } catch (error) {
        // A log that cannot be written (a symbolic link at its name, a full disk) stops the log, not the lab: said once.
        this.logFailed = true;
        this.options.onNotice?.(`cannot write transactions.jsonl in the store (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): transactions are no longer logged there`);
      }
    }
  }

  async listen(port: number, host: string): Promise<{ host: string; port: number }> {
    await this.countStore();
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        const address = (this.server as unknown as { server: NetServer }).server.address();
        resolve({ host, port: typeof address === 'object' && address ? address.port : port });
      });
    });
  }

  /** Stops accepting, lets transactions in flight finish (up to `graceMs`), then closes what is left. */
  close(graceMs = 5_000): Promise<void> {
    return this.sessions.close(graceMs);
  }
}

/**
 * The sessions of an SMTP server (the EOP lab's and the gateway hop's): each ended after `sessionTimeoutMs` however
 * busy (a client sending a byte a second never reaches the idle timeout), and `close` that waits at most `graceMs`
 * for them.
 */
export class Sessions {
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly server: SMTPServer,
    sessionTimeoutMs: number,
  ) {
    const net = (server as unknown as { server: NetServer }).server;
    net.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      const timer = setTimeout(() => socket.destroy(), sessionTimeoutMs);
      timer.unref();
      socket.once('close', () => {
        clearTimeout(timer);
        this.sockets.delete(socket);
      });
    });
  }

  /** Stops accepting, lets the sessions in flight finish (up to `graceMs`), then closes what is left. */
  close(graceMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        for (const socket of this.sockets) socket.destroy();
      }, graceMs);
      timer.unref();
      this.server.close(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/**
 * The field the lab (and its gateway hop) writes after its own when a message's header begins with a folded line:
 * the line, which has no field name, continues this field instead of one the lab wrote.
 */
export const FOLDED_START_NOTE = 'X-Eoplock-Lab-Note: the header as sent began with a folded line (no field name), which continues this field';

/** Append to a file, creating it, and refuse a symbolic link at its name. */
const APPEND_NO_FOLLOW = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW;

/**
 * The message a client sent at DATA, or null when it is larger than `maxBytes` (the stream is still read to its end,
 * as SMTP requires, but nothing past the limit is kept).
 */
export async function readMessageData(stream: SMTPServerDataStream, maxBytes: number): Promise<Buffer[] | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= maxBytes) chunks.push(chunk);
  }
  return stream.sizeExceeded || size > maxBytes ? null : chunks;
}

/** The reply to a message over the size limit. */
export function messageTooLarge(): Error & { responseCode: number } {
  return Object.assign(new Error('5.3.4 Message size exceeds fixed maximum message size'), { responseCode: 552 });
}
