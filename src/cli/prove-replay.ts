/**
 * `eoplock prove --replay`: each finding's representative sent over real SMTP (nodemailer's client) to the EOP lab
 * for the same snapshot, on loopback, and the lab's reply compared with the emulator's. Each representative connects
 * from its own loopback address (127.77.x.y), which the lab's address map turns into the representative's client IP;
 * a certificate is presented as a self-signed one with the same names. Linux routes all of 127.0.0.0/8 to loopback;
 * elsewhere the replay fails and says so.
 */
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { Assumptions } from '../eop/assumptions.js';
import type { PresentedCertificate, Transaction } from '../eop/types.js';
import { snapshotResolver } from '../dns/resolver.js';
import { selfSignedCertificate, type CertificatePair } from '../lab/certificates.js';
import { DEFAULT_LIMITS, EopLab } from '../lab/eop-server.js';
import type { ProofFinding } from '../prove/types.js';
import type { ReplayOutcome } from '../report/prove.js';
import type { Snapshot } from '../snapshot/parse.js';

const HOST = '127.0.0.1';
const SERVER_NAME = 'eoplock-lab.mail.protection.outlook.example';
const TIMEOUT_MS = 15_000;

/** The loopback address representative `index` connects from. */
export function loopbackSource(index: number): string {
  return `127.77.${Math.floor(index / 254) % 256}.${(index % 254) + 1}`;
}

/** The raw header block of a transaction (its headers, or a minimal From-less block), then a short body. */
function messageOf(transaction: Transaction): string {
  const headers = transaction.headers;
  const fields: [string, string][] = !headers
    ? []
    : Array.isArray(headers)
      ? headers.map((field) => [field.name, field.value])
      : Object.entries(headers).flatMap(([name, value]) => (Array.isArray(value) ? value.map((item): [string, string] => [name, item]) : [[name, value]]));
  const block = fields.map(([name, value]) => `${name}: ${value.replace(/\r?\n/g, ' ')}\r\n`).join('');
  return `${block}Subject: eoplock prove replay\r\n\r\nA representative of a class of transactions, replayed by eoplock prove.\r\n`;
}

function certificateNames(certificate: PresentedCertificate): { commonName: string; altNames: string[] } {
  const cn = /(?:^|,)\s*CN=([^,]+)/i.exec(certificate.subject)?.[1]?.trim() ?? (certificate.subject.includes('=') ? '' : certificate.subject.trim());
  const altNames = certificate.san ?? [];
  return { commonName: cn || altNames[0] || 'unnamed.invalid', altNames };
}

interface Reply {
  code: number | null;
  command: string | null;
  note?: string;
}

async function send(port: number, source: string, transaction: Transaction, certificate: CertificatePair | null): Promise<Reply> {
  const connection = new SMTPConnection({
    host: HOST,
    port,
    localAddress: source,
    name: transaction.helo ?? 'eoplock-prove.invalid',
    ignoreTLS: !transaction.tls,
    requireTLS: transaction.tls !== undefined,
    connectionTimeout: TIMEOUT_MS,
    greetingTimeout: TIMEOUT_MS,
    socketTimeout: TIMEOUT_MS,
    tls: { rejectUnauthorized: false, ...(certificate ? { cert: certificate.cert, key: certificate.key } : {}) },
  });
  try {
    await new Promise<void>((resolve, reject) => {
      connection.once('error', reject);
      connection.connect(() => resolve());
    });
  } catch (error) {
    return { code: null, command: null, note: `no SMTP conversation from ${source}: ${(error as Error).message}` };
  }
  connection.on('error', () => undefined);
  try {
    return await new Promise<Reply>((resolve) =>
      connection.send({ from: transaction.mailFrom, to: transaction.rcptTo }, messageOf(transaction), (error, info) => {
        const failed = error as (Error & { command?: string; responseCode?: number }) | null;
        if (failed) resolve({ code: failed.responseCode ?? null, command: failed.command ?? null, ...(failed.responseCode ? {} : { note: failed.message }) });
        else resolve({ code: Number(/^\d{3}/.exec((info as { response?: string }).response ?? '')?.[0] ?? 250), command: 'end of DATA' });
      }),
    );
  } finally {
    connection.quit();
    connection.close();
  }
}

/** Replays each finding's representative (in order) against a lab started for `snapshot`; the lab is closed after. */
export async function replayFindings(snapshot: Snapshot, assumptions: Assumptions, findings: readonly ProofFinding[]): Promise<ReplayOutcome[]> {
  const addressMap = new Map(findings.map((finding, index) => [loopbackSource(index), finding.representative.transaction.clientIp]));
  const lab = new EopLab({
    snapshot,
    resolver: snapshotResolver(snapshot),
    assumptions,
    tls: await selfSignedCertificate(SERVER_NAME),
    xclientFrom: [],
    addressMap,
    limits: { ...DEFAULT_LIMITS, maxClients: 100, idleTimeoutMs: TIMEOUT_MS, sessionTimeoutMs: 4 * TIMEOUT_MS },
    serverName: SERVER_NAME,
  });
  const { port } = await lab.listen(0, HOST);
  try {
    const outcomes: ReplayOutcome[] = [];
    for (const [index, finding] of findings.entries()) {
      const { transaction, verdict } = finding.representative;
      const presented = transaction.tls?.certificate;
      const certificate = presented ? await selfSignedCertificate(certificateNames(presented).commonName, certificateNames(presented).altNames) : null;
      const reply = await send(port, loopbackSource(index), transaction, certificate);
      const expected = verdict.code;
      const status: ReplayOutcome['status'] = reply.code === null ? 'failed' : reply.code === expected ? 'same' : 'different';
      const note =
        reply.note ??
        (status === 'different' && transaction.authentication
          ? 'the lab computes SPF and DKIM itself from the snapshot\'s DNS; the representative carries its own results'
          : undefined);
      outcomes.push({ key: finding.key, expected, observed: reply.code, command: reply.command, status, ...(note ? { note } : {}) });
    }
    return outcomes;
  } finally {
    await lab.close(0);
  }
}
