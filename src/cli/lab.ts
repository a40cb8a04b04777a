/**
 * `eoplock lab <snapshot>`: the EOP lab and its gateway hop on loopback, until SIGINT or SIGTERM.
 */
import { parseAssumeFlags, resolveAssumptions } from '../eop/assumptions.js';
import { liveResolver } from '../dns/resolver.js';
import { InputError } from '../errors.js';
import { startLab, type Endpoint } from '../lab/lab.js';
import { inferProfile } from '../profile/profile.js';
import { loadSnapshotFile } from '../snapshot/load.js';
import { readTextFile } from '../util/files.js';
import type { Io } from './io.js';
import { loadProfile, type ProfileOptions } from './profile-options.js';

export interface LabCommandOptions extends ProfileOptions {
  listen: string;
  gatewayListen?: string;
  gatewaySource: string;
  store?: string;
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
    ...(options.store ? { store: options.store } : {}),
    xclientFrom: options.xclientFrom,
    ...(tls ? { tls } : {}),
    ...(options.resolver ? { resolver: liveResolver(options.resolver) } : {}),
    limits: { maxClients: options.maxClients, maxMessageBytes: options.maxMessageSize, idleTimeoutMs: options.idleTimeout * 1000, sessionTimeoutMs: options.sessionTimeout * 1000 },
    onTransaction: (record) => {
      const verdict = record.verdict;
      io.stdout(
        `${record.time} ${record.clientIp} <${record.mailFrom}> → ${record.rcptTo.join(', ')}: ` +
          `${verdict.action === 'reject' ? `${verdict.code} ${verdict.enhanced} at ${verdict.stage.toUpperCase()}` : `accepted → ${verdict.disposition}`}` +
          `${verdict.connector ? ` via "${verdict.connector}"` : ''}\n`,
      );
    },
  }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EADDRINUSE' || error.code === 'EACCES' || error.code === 'EADDRNOTAVAIL') {
      throw new InputError(`cannot listen: ${error.message}`, { where: error.message.includes(String(gatewayListen?.port)) ? '--gateway-listen' : '--listen' });
    }
    throw error;
  });
  io.stdout(`EOP lab for ${snapshot.Meta.tenant ?? snapshotFile} listening on ${lab.eop.host}:${lab.eop.port} (STARTTLS, client certificates requested)\n`);
  if (lab.gateway) {
    io.stdout(
      `Gateway hop on ${lab.gateway.host}:${lab.gateway.port}: relays from ${options.gatewaySource}` +
        `${lab.gatewayAddress ? ` (standing for ${lab.gatewayAddress})` : ''} presenting ${lab.gatewayCertificateName}\n`,
    );
  }
  if (!LOOPBACK.test(listen.host)) io.stderr('eoplock: warning: the lab listens on a non-loopback address; it is a test server, not a mail server\n');
  if (options.store) io.stdout(`Messages and transactions.jsonl in ${options.store}\n`);
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
