/**
 * The EOP lab: a real SMTP server (smtp-server) whose every decision comes from decide() for a snapshot. Replies
 * come at the stage the verdict names; accepted messages get EOP's headers and are stored as .eml; every transaction
 * is appended to transactions.jsonl.
 */
import { randomUUID } from 'node:crypto';
import { decideAuthenticated } from '../eop/authenticate.js';
import type { DnsResolver } from '../dns/resolver.js';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import type { Server as NetServer, Socket } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Assumptions } from '../eop/assumptions.js';
import { decide } from '../eop/decide.js';
import type { PresentedCertificate, Transaction, Verdict } from '../eop/types.js';
import { parseHeaderBlock } from '../headers/parse.js';
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

export interface EopLabOptions {
  snapshot: Snapshot;
  /** DNS for the authentication layer at DATA (SPF for the evaluated IP, the From domain's DMARC). */
  resolver: DnsResolver;
  assumptions: Assumptions;
  tls: CertificatePair;
  /** Where accepted messages and transactions.jsonl go; nothing is stored without it. */
  store?: string;
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
  private readonly sockets = new Set<Socket>();
  private stored = 0;

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
    const net = (this.server as unknown as { server: NetServer }).server;
    net.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      const timer = setTimeout(() => socket.destroy(), limits.sessionTimeoutMs);
      timer.unref();
      socket.once('close', () => {
        clearTimeout(timer);
        this.sockets.delete(socket);
      });
    });
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
      void this.record(transaction, { ...verdict, ...reply });
      return callback(smtpError(reply));
    }
    state.rcptTo = candidates;
    callback();
  }

  /** Returns the error to answer DATA with, or undefined to accept. */
  private async onData(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<(Error & { responseCode: number }) | undefined> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size <= this.options.limits.maxMessageBytes) chunks.push(chunk);
    }
    if (stream.sizeExceeded || size > this.options.limits.maxMessageBytes) {
      return Object.assign(new Error('5.3.4 Message size exceeds fixed maximum message size'), { responseCode: 552 });
    }
    const raw = Buffer.concat(chunks).toString('utf8');
    const split = raw.search(/\r?\n\r?\n/);
    const headerBlock = split >= 0 ? raw.slice(0, split) : raw;
    const body = split >= 0 ? raw.slice(split).replace(/^\r?\n/, '') : '';
    const state = this.states.get(session.id);
    const transaction = this.transaction(session, state?.rcptTo ?? [], await parseHeaderBlock(headerBlock));
    const verdict = await decideAuthenticated(this.options.snapshot, transaction, this.options.resolver, { assumptions: this.options.assumptions });
    if (verdict.action === 'reject' && verdict.disposition === 'none') {
      await this.record(transaction, verdict);
      return smtpError(verdict);
    }
    let file: string | undefined;
    if (this.options.store) {
      const id = randomUUID();
      const stamped = stampHeaders({ transaction, verdict, serverName: this.options.serverName, id, date: new Date(), tls: session.secure });
      file = `${new Date().toISOString().replace(/[:.]/g, '-')}-${++this.stored}-${verdict.disposition}.eml`;
      await mkdir(this.options.store, { recursive: true });
      await writeFile(join(this.options.store, file), `${stamped}${headerFirewall(headerBlock, verdict.authAs)}\r\n${body}`);
    }
    await this.record(transaction, verdict, file);
    return undefined;
  }

  private async record(transaction: Transaction, verdict: Verdict, file?: string): Promise<void> {
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
    };
    this.options.onTransaction?.(record);
    if (this.options.store) {
      await mkdir(this.options.store, { recursive: true });
      await appendFile(join(this.options.store, 'transactions.jsonl'), `${JSON.stringify(record)}\n`);
    }
  }

  listen(port: number, host: string): Promise<{ host: string; port: number }> {
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
