/**
 * `eoplock pull`: wiring only. Reads a tenant (or many) over the unsupported admin REST endpoint and writes
 * snapshots atomically; validates each before writing.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { liveResolver } from '../dns/live-resolver.js';
import { InputError } from '../errors.js';
import { appOnlyTokens, deviceCodeTokens, readCertificate, type AuthEndpoints, type TokenSource } from '../pull/auth.js';
import { CLOUDS, type Cloud } from '../pull/clouds.js';
import { ExoApiError, ExoClient } from '../pull/exo-client.js';
import { pullSnapshot } from '../pull/pull.js';
import { redactSecrets } from '../pull/redact.js';
import { parseSnapshot } from '../snapshot/parse.js';
import { visible } from '../util/display.js';
import { readTextFile, writeFileAtomic } from '../util/files.js';
import { mapLimit } from './audit.js';
import { progressBar, showProgress, type Io } from './io.js';

export interface PullCommandOptions {
  tenant?: string;
  tenants?: string;
  appId?: string;
  certificate?: string;
  key?: string;
  deviceCode: boolean;
  cloud: Cloud;
  out?: string;
  outDir?: string;
  skipDns: boolean;
  resolver?: string;
  concurrency: number;
  /** Test hooks: a loopback authority and API, and the CA that signed their certificates. */
  endpoints?: { login: string; exchange: string; ca?: string; authorityMetadata?: string };
  sleep?: (ms: number) => Promise<void>;
}

const TENANT = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63})$/i;

async function tenantList(options: PullCommandOptions): Promise<string[]> {
  if (options.tenant && options.tenants) throw new InputError('give --tenant or --tenants, not both', { where: '--tenants' });
  if (options.tenant) {
    if (!TENANT.test(options.tenant)) throw new InputError(`"${options.tenant}" is neither a tenant id (GUID) nor a domain`, { where: '--tenant' });
    return [options.tenant];
  }
  if (!options.tenants) throw new InputError('give --tenant <id or initial domain>, or --tenants FILE', { where: 'arguments' });
  const lines = (await readTextFile(options.tenants)).split(/\r?\n/);
  const tenants: string[] = [];
  for (const [index, raw] of lines.entries()) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    if (!TENANT.test(line)) throw new InputError(`"${line}" is neither a tenant id (GUID) nor a domain`, { file: options.tenants, where: `line ${index + 1}` });
    tenants.push(line);
  }
  if (tenants.length === 0) throw new InputError('no tenants listed', { file: options.tenants });
  return tenants;
}

export async function pullCommand(io: Io, options: PullCommandOptions): Promise<number> {
  const tenants = await tenantList(options);
  if (tenants.length === 1 && options.tenant && !options.out) throw new InputError('give --out FILE for the snapshot', { where: '--out' });
  if (options.tenants && !options.outDir) throw new InputError('give --out-dir DIR for the snapshots of --tenants', { where: '--out-dir' });
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1) throw new InputError(`expected a whole number of at least 1, got ${String(options.concurrency)}`, { where: '--concurrency' });
  if (options.deviceCode === Boolean(options.certificate)) throw new InputError('choose one way to sign in: --certificate FILE (app-only) or --device-code', { where: '--certificate/--device-code' });
  if (!options.appId || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(options.appId)) throw new InputError('give --app-id: the application (client) id of your Entra app registration', { where: '--app-id' });
  if (options.deviceCode && tenants.length > 1) throw new InputError('--device-code signs in one person to one tenant; use --certificate for --tenants', { where: '--device-code' });
  const certificate = options.certificate ? readCertificate(await readTextFile(options.certificate), options.key ? await readTextFile(options.key) : undefined, options.certificate) : null;
  const cloud = options.endpoints ?? CLOUDS[options.cloud];
  const endpoints: AuthEndpoints = {
    login: cloud.login,
    resource: cloud.exchange,
    ...(options.endpoints?.ca ? { ca: options.endpoints.ca } : {}),
    ...(options.endpoints?.authorityMetadata ? { authorityMetadata: options.endpoints.authorityMetadata } : {}),
  };
  const resolver = options.skipDns ? null : liveResolver(options.resolver);
  if (options.outDir) await mkdir(options.outDir, { recursive: true });
  io.stderr('eoplock pull uses adminapi/beta InvokeCommand, the endpoint the ExchangeOnlineManagement module uses. Microsoft does not support calling it directly and may change it; scripts/Export-EoplockSnapshot.ps1 is the supported path.\n');

  let done = 0;
  const failures: string[] = [];
  await mapLimit(tenants, options.concurrency, async (tenant) => {
    const target = options.tenant ? (options.out as string) : join(options.outDir as string, `${tenant.toLowerCase()}.json`);
    try {
      const token: TokenSource = certificate ? appOnlyTokens(options.appId as string, tenant, certificate, endpoints) : deviceCodeTokens(options.appId as string, tenant, endpoints, io.stderr);
      const client = new ExoClient({
        baseUrl: cloud.exchange,
        tenant,
        token,
        appOnly: certificate !== null,
        ...(options.endpoints?.ca ? { ca: options.endpoints.ca } : {}),
        ...(options.sleep ? { sleep: options.sleep } : {}),
        onRetry: (cmdlet, attempt, wait, status) => io.stderr(`${tenant}: ${cmdlet} throttled (HTTP ${status}); retry ${attempt} in ${wait} s\n`),
      });
      const snapshot = await pullSnapshot(client, { resolver, ...(tenants.length === 1 && io.progress ? { onStep: (text: string) => io.stderr(`${text}…\n`) } : {}) });
      parseSnapshot(snapshot); // validate before writing: a snapshot every command reads
      await writeFileAtomic(target, `${JSON.stringify(snapshot, null, 2)}\n`);
      const warnings = (snapshot.Meta as { warnings: string[] }).warnings;
      io.stdout(`${tenant}: wrote ${visible(target)}${warnings.length > 0 ? ` (${warnings.length} warning(s): ${visible(warnings.join(' '))})` : ''}\n`);
    } catch (error) {
      // Server and MSAL text can echo what was sent: secrets are redacted before anything is printed.
      const message = visible(redactSecrets(error instanceof ExoApiError ? `${error.cmdlet}: ${error.message}` : error instanceof InputError ? error.describe() : (error as Error).message));
      failures.push(`${tenant}: ${message}`);
      io.stderr(`eoplock: error: ${tenant}: ${message}\n`);
    } finally {
      done++;
      if (tenants.length > 1 && io.progress) showProgress(io, progressBar('pull', done, tenants.length));
    }
  });
  if (failures.length > 0 && tenants.length > 1) io.stderr(`${failures.length} of ${tenants.length} tenant(s) failed; the others were written.\n`);
  return failures.length > 0 ? 1 : 0;
}
