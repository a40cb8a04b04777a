/**
 * Starting the whole lab: the EOP listener and, optionally, the gateway hop in front of it.
 */
import type { Assumptions } from '../eop/assumptions.js';
import { snapshotResolver, type DnsResolver } from '../dns/resolver.js';
import { compileIpList, formatIpv4Interval, ipv4Interval } from '../eop/ip.js';
import type { GatewayProfile } from '../profile/profile.js';
import type { Snapshot } from '../snapshot/parse.js';
import { hostForCertificateName, selfSignedCertificate, type CertificatePair } from './certificates.js';
import { DEFAULT_LIMITS, EopLab, type LabLimits, type StoreQuota, type TransactionRecord } from './eop-server.js';
import { GatewayHop } from './gateway.js';

export interface Endpoint {
  host: string;
  port: number;
}

export interface LabOptions {
  snapshot: Snapshot;
  assumptions: Assumptions;
  profile: GatewayProfile;
  listen: Endpoint;
  gatewayListen?: Endpoint;
  /** Loopback address the gateway hop relays from; it stands for the gateway's first IPv4 address. */
  gatewaySource?: string;
  store?: string;
  /** Limits on the store folder (default: 10,000 messages, 1 GB, counting what it already holds). */
  storeQuota?: StoreQuota;
  xclientFrom?: string[];
  tls?: CertificatePair;
  limits?: Partial<LabLimits>;
  /** DNS for the authentication layer (SPF, DMARC); default: the snapshot's Dns section (offline). */
  resolver?: DnsResolver;
  onTransaction?: (record: TransactionRecord) => void;
  /** Called once when a limit of the store quota is reached. */
  onNotice?: (message: string) => void;
}

export interface RunningLab {
  eop: Endpoint;
  gateway: Endpoint | null;
  /** The address the gateway hop's relay stands for, or null. */
  gatewayAddress: string | null;
  gatewayCertificateName: string | null;
  close(graceMs?: number): Promise<void>;
}

/** The first host address of the gateway's first IPv4 entry. */
function gatewayAddressOf(profile: GatewayProfile): string | null {
  for (const entry of compileIpList(profile.ips).entries) {
    const interval = ipv4Interval(entry);
    if (!interval) continue;
    const host = entry.form === 'cidr' && (entry.prefix ?? 32) < 31 ? interval[0] + 1 : interval[0];
    return formatIpv4Interval([host, host]);
  }
  return null;
}

export async function startLab(options: LabOptions): Promise<RunningLab> {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const serverName = 'eoplock-lab.mail.protection.outlook.example';
  const tls = options.tls ?? (await selfSignedCertificate(serverName));
  const gatewaySource = options.gatewaySource ?? '127.0.0.2';
  const gatewayAddress = options.gatewayListen ? gatewayAddressOf(options.profile) : null;
  const addressMap = new Map<string, string>(gatewayAddress ? [[gatewaySource, gatewayAddress]] : []);
  const eop = new EopLab({
    snapshot: options.snapshot,
    resolver: options.resolver ?? snapshotResolver(options.snapshot),
    assumptions: options.assumptions,
    tls,
    ...(options.store ? { store: options.store } : {}),
    ...(options.storeQuota ? { storeQuota: options.storeQuota } : {}),
    xclientFrom: options.xclientFrom ?? [],
    addressMap,
    limits,
    serverName,
    ...(options.onTransaction ? { onTransaction: options.onTransaction } : {}),
    ...(options.onNotice ? { onNotice: options.onNotice } : {}),
  });
  const eopEndpoint = await eop.listen(options.listen.port, options.listen.host);
  let gateway: GatewayHop | null = null;
  let gatewayEndpoint: Endpoint | null = null;
  const gatewayCertificateName = options.profile.certificateName ? hostForCertificateName(options.profile.certificateName) : null;
  if (options.gatewayListen) {
    const name = gatewayCertificateName ?? 'gateway.lab.example';
    gateway = new GatewayHop({ name, certificate: await selfSignedCertificate(name), eop: eopEndpoint, sourceAddress: gatewaySource, limits });
    try {
      gatewayEndpoint = await gateway.listen(options.gatewayListen.port, options.gatewayListen.host);
    } catch (error) {
      await eop.close(0);
      throw error;
    }
  }
  return {
    eop: eopEndpoint,
    gateway: gatewayEndpoint,
    gatewayAddress,
    gatewayCertificateName: gateway ? (gatewayCertificateName ?? 'gateway.lab.example') : null,
    close: async (graceMs = 5_000) => {
      await Promise.all([eop.close(graceMs), gateway?.close(graceMs)]);
    },
  };
}
