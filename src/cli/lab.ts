/**
 * `eoplock lab <snapshot>`: the EOP lab and its gateway hop on loopback, until SIGINT or SIGTERM.
 */
import { parseAssumeFlags, resolveAssumptions } from '../eop/assumptions.js';
import { liveResolver } from '../dns/live-resolver.js';
import { InputError } from '../errors.js';
import { parseByteSize } from '../util/size.js';
import { DEFAULT_STORE_QUOTA } from '../lab/eop-server.js';
import { startLab, type Endpoint } from '../lab/lab.js';
import { inferProfile } from '../profile/profile.js';
import { loadSnapshotFile } from '../snapshot/load.js';
import { visible } from '../util/display.js';
import { readTextFile } from '../util/files.js';
import type { Io } from './io.js';
import { loadProfile, type ProfileOptions } from './profile-options.js';

export interface LabCommandOptions extends ProfileOptions {
  listen: string;
  gatewayListen?: string;
  gatewaySource: string;
  store?: string;
  /** Most .eml files in --store, those already there included (default 10,000). */
  storeMaxMessages?: number;
  /** Most bytes of .eml files and transactions.jsonl in --store, as given: `1GB`, `500MB`, `2000000` (default 1 GB). */
  storeMaxBytes?: string;
  tlsCert?: string;
  tlsKey?: string;
  xclientFrom: string[];
  assume: string[];
  maxClients: number;
  maxMessageSize: number;
  idleTimeout: number;
  sessionTimeout: number;
  /** DNS server for the authentication layer; default the snapshot's Dns section. */
  resolver?: string;
}

/** `127.0.0.1:2525` or `[::1]:2525` → endpoint. */
export function parseEndpoint(text: string, where: string): Endpoint {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new InputError(`expected HOST:PORT, got "${text}"`, { where });
  return { host: (match[1] ?? match[2]) as string, port };
}

const LOOPBACK = /^(127\.|::1$|localhost$)/;

export async function labCommand(io: Io, snapshotFile: string, options: LabCommandOptions, signal?: AbortSignal): Promise<number> {
  const listen = parseEndpoint(options.listen, '--listen');
  const gatewayListen = options.gatewayListen ? parseEndpoint(options.gatewayListen, '--gateway-listen') : undefined;
  for (const [name, value] of [['--max-clients', options.maxClients], ['--max-message-size', options.maxMessageSize], ['--idle-timeout', options.idleTimeout], ['--session-timeout', options.sessionTimeout]] as const) {
    if (!(value > 0)) throw new InputError(`expected a positive number, got ${value}`, { where: name });
  }
  const storeMaxMessages = options.storeMaxMessages ?? DEFAULT_STORE_QUOTA.maxMessages;
  if (!(Number.isSafeInteger(storeMaxMessages) && storeMaxMessages > 0)) throw new InputError(`expected a positive whole number, got ${storeMaxMessages}`, { where: '--store-max-messages' });
  const storeMaxBytes = options.storeMaxBytes === undefined ? DEFAULT_STORE_QUOTA.maxBytes : parseByteSize(options.storeMaxBytes, '--store-max-bytes');
  if (!!options.tlsCert !== !!options.tlsKey) throw new InputError('give both --tls-cert and --tls-key', { where: '--tls-cert' });
  const assumptions = resolveAssumptions(parseAssumeFlags(options.assume));
  const { snapshot } = await loadSnapshotFile(snapshotFile);
  const profile = (await loadProfile(options)) ?? inferProfile(snapshot);
  const tls = options.tlsCert && options.tlsKey ? { cert: await readTextFile(options.tlsCert), key: await readTextFile(options.tlsKey) } : undefined;
  const lab = await startLab({
    snapshot,
    assumptions,
    profile,
    listen,
    ...(gatewayListen ? { gatewayListen } : {}),
    gatewaySource: options.gatewaySource,
    ...(options.store ? { store: options.store, storeQuota: { maxMessages: storeMaxMessages, maxBytes: storeMaxBytes } } : {}),
    xclientFrom: options.xclientFrom,
    ...(tls ? { tls } : {}),
    ...(options.resolver ? { resolver: liveResolver(options.resolver) } : {}),
    limits: { maxClients: options.maxClients, maxMessageBytes: options.maxMessageSize, idleTimeoutMs: options.idleTimeout * 1000, sessionTimeoutMs: options.sessionTimeout * 1000 },
    onTransaction: (record) => {
      const verdict = record.verdict;
      const outcome = record.reply
        ? `${record.reply.code} ${record.reply.enhanced} at DATA: the store is full (the verdict: accepted → ${verdict.disposition})`
        : verdict.action === 'reject'
          ? `${verdict.code} ${verdict.enhanced} at ${verdict.stage.toUpperCase()}`
          : `accepted → ${verdict.disposition}`;
      io.stdout(
        `${record.time} ${visible(record.clientIp)} <${visible(record.mailFrom)}> → ${record.rcptTo.map(visible).join(', ')}: ${outcome}` +
          `${verdict.connector ? ` via "${visible(verdict.connector)}"` : ''}\n`,
      );
    },
    onNotice: (message) => io.stderr(`eoplock: warning: ${visible(message)}\n`),
  }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EADDRINUSE' || error.code === 'EACCES' || error.code === 'EADDRNOTAVAIL') {
      throw new InputError(`cannot listen: ${error.message}`, { where: error.message.includes(String(gatewayListen?.port)) ? '--gateway-listen' : '--listen' });
    }
    throw error;
  });
  io.stdout(`EOP lab for ${visible(snapshot.Meta.tenant ?? snapshotFile)} listening on ${lab.eop.host}:${lab.eop.port} (STARTTLS, client certificates requested)\n`);
  if (lab.gateway) {
    io.stdout(
      `Gateway hop on ${lab.gateway.host}:${lab.gateway.port}: relays from ${options.gatewaySource}` +
        `${lab.gatewayAddress ? ` (standing for ${lab.gatewayAddress})` : ''} presenting ${lab.gatewayCertificateName}\n`,
    );
  }
  if (!LOOPBACK.test(listen.host)) io.stderr('eoplock: warning: the lab listens on a non-loopback address; it is a test server, not a mail server\n');
  if (options.store) io.stdout(`Messages and transactions.jsonl in ${visible(options.store)} (at most ${storeMaxMessages} messages and ${storeMaxBytes} bytes in all)\n`);
  io.stdout('Ctrl-C stops it (transactions in flight finish first).\n');

  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    signal?.addEventListener('abort', stop, { once: true });
  });
  io.stdout('Stopping: finishing transactions in flight…\n');
  await lab.close(5_000);
  return 0;
}
