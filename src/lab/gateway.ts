/**
 * The gateway hop of the lab: an SMTP listener that plays the Secure Email Gateway. It accepts mail, adds its
 * Received header, and relays to the EOP lab from the gateway's source address, presenting the gateway's client
 * certificate over STARTTLS — so the legitimate path is real end to end. The EOP lab's reply is passed back.
 */
import type { Server as NetServer } from 'node:net';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { CertificatePair } from './certificates.js';
import { FOLDED_START_NOTE, messageTooLarge, readMessageData, Sessions, type LabLimits } from './eop-server.js';

export interface GatewayHopOptions {
  /** The gateway's host name (its certificate's name). */
  name: string;
  /** Server certificate for clients of the gateway, and client certificate towards EOP. */
  certificate: CertificatePair;
  /** The EOP lab to relay to. */
  eop: { host: string; port: number };
  /** The loopback address the relay connects from (the lab maps it to the gateway's public address). */
  sourceAddress: string;
  limits: LabLimits;
}

function relayError(error: unknown): Error & { responseCode: number } {
  const failure = error as { responseCode?: number; response?: string; message?: string };
  const text = (failure.response ?? failure.message ?? 'relay failed').replace(/^\d{3}[ -]/, '');
  return Object.assign(new Error(text), { responseCode: failure.responseCode && failure.responseCode >= 400 ? failure.responseCode : 451 });
}

/** Bytes kept free under the EOP lab's size limit for the Received field the hop adds (and its note, if any). */
const RECEIVED_ROOM = 1024;

export class GatewayHop {
  readonly server: SMTPServer;
  private readonly sessions: Sessions;

  constructor(private readonly options: GatewayHopOptions) {
    this.server = new SMTPServer({
      name: options.name,
      banner: `${options.name} ESMTP (eoplock lab gateway)`,
      key: options.certificate.key,
      cert: options.certificate.cert,
      authOptional: true,
      disabledCommands: ['AUTH'],
      // Room for the Received field the hop adds: a message the hop takes is one the EOP lab takes after it.
      size: options.limits.maxMessageBytes - RECEIVED_ROOM,
      maxClients: options.limits.maxClients,
      socketTimeout: options.limits.idleTimeoutMs,
      closeTimeout: 5_000,
      logger: false,
      onData: (stream, session, callback) => {
        this.relay(stream, session).then(
          (response) => callback(null, response),
          (error: unknown) => callback(relayError(error)),
        );
      },
    });
    this.server.on('error', () => undefined);
    // As the EOP lab's: a session ends after sessionTimeoutMs however busy.
    this.sessions = new Sessions(this.server, options.limits.sessionTimeoutMs);
  }

  private async relay(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> {
    const chunks = await readMessageData(stream, this.options.limits.maxMessageBytes - RECEIVED_ROOM);
    if (!chunks) throw messageTooLarge();
    const received =
      `Received: from ${session.hostNameAppearsAs || 'unknown'} (${session.remoteAddress}) by ${this.options.name} ` +
      `(eoplock lab gateway) with ${session.secure ? 'ESMTPS' : 'ESMTP'}; ${new Date().toUTCString().replace('GMT', '+0000')}\r\n`;
    // A message whose header begins with a folded line would continue the Received field above it (and could add a
    // "from [address]" of its choosing to the hop the EOP lab reads): a field of its own takes the line instead.
    const first = chunks[0]?.[0];
    const folded = first === 0x20 || first === 0x09 ? `${FOLDED_START_NOTE}\r\n` : '';
    const message = Buffer.concat([Buffer.from(received + folded), ...chunks]);
    const connection = new SMTPConnection({
      host: this.options.eop.host,
      port: this.options.eop.port,
      localAddress: this.options.sourceAddress,
      name: this.options.name,
      requireTLS: true,
      tls: { rejectUnauthorized: false, cert: this.options.certificate.cert, key: this.options.certificate.key },
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        connection.once('error', reject);
        connection.connect(() => resolve());
      });
      const info = await new Promise<{ response?: string; rejected?: string[] }>((resolve, reject) => {
        connection.send(
          { from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((rcpt) => rcpt.address) },
          message,
          (error, result) => (error ? reject(error) : resolve(result as { response?: string; rejected?: string[] })),
        );
      });
      connection.quit();
      // Recipients the EOP lab refused are said in the reply (a gateway would bounce them later; the hop does not).
      const refused = info.rejected ?? [];
      const note = refused.length > 0 ? `; refused by EOP for ${refused.length} recipient(s): ${refused.slice(0, 5).join(', ')}${refused.length > 5 ? ', …' : ''}` : '';
      return `Relayed: ${(info.response ?? '').replace(/^250[ -]/, '')}${note}`;
    } finally {
      connection.close();
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

  /** Stops accepting, lets relays in flight finish (up to `graceMs`), then closes what is left. */
  close(graceMs = 5_000): Promise<void> {
    return this.sessions.close(graceMs);
  }
}
