/**
 * The gateway profile: what the tenant *intends* — the Secure Email Gateway's addresses, certificate name and MX
 * hosts — given on the command line, in a file, or inferred from the snapshot. Pure.
 */
import * as z from 'zod';
import { normaliseDomain } from '../eop/addresses.js';
import { compileIpList, ipv4Interval, mergeIntervals, parseIpEntry, type IpEntry } from '../eop/ip.js';
import { InputError } from '../errors.js';
import type { Snapshot } from '../snapshot/parse.js';
import type { InboundConnector } from '../snapshot/schema.js';
import { mxRecords } from './mx.js';
import { EXCHANGE_ONLINE_MX, vendorForMx } from './vendors.js';

export interface GatewayProfile {
  /** The gateway's name (vendor or connector), for reports. */
  name: string | null;
  /** Egress addresses: single IPv4/IPv6, CIDR or range. */
  ips: string[];
  /** The name the gateway's TLS certificate carries (wildcards allowed). */
  certificateName: string | null;
  /** The gateway's MX hosts. */
  mxHosts: string[];
  /** JSON path the addresses were inferred from (`InboundConnector[1].SenderIPAddresses`), or null when given. */
  ipsSource: string | null;
  /** Where the profile came from, in words a report can print. */
  origin: { kind: 'given' | 'inferred' | 'none'; from: string[] };
}

export const ProfileFileSchema = z.strictObject({
  name: z.string().min(1).optional(),
  ips: z.array(z.string()).optional(),
  certificateName: z.string().min(1).optional(),
  mxHosts: z.array(z.string()).optional(),
});
export type ProfileFile = z.output<typeof ProfileFileSchema>;

const CERTIFICATE_NAME = /^(\*\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}\.?$/i;

/** Builds a profile from what the user gave (a file's content and/or flags); validates every value. */
export function givenProfile(input: { file?: ProfileFile; fileName?: string; ips?: string[]; certificateName?: string }): GatewayProfile {
  const from: string[] = [];
  if (input.fileName) from.push(input.fileName);
  if (input.ips?.length) from.push('--seg-ip');
  if (input.certificateName) from.push('--seg-cert');
  const ips = [...(input.file?.ips ?? []), ...(input.ips ?? [])];
  ips.forEach((ip, index) => {
    const parsed = parseIpEntry(ip);
    if ('error' in parsed) {
      const fromFile = index < (input.file?.ips?.length ?? 0);
      throw new InputError(`"${ip}" is ${parsed.error}`, {
        file: fromFile ? input.fileName : undefined,
        where: fromFile ? `ips[${index}]` : '--seg-ip',
      });
    }
  });
  const certificateName = input.certificateName ?? input.file?.certificateName ?? null;
  if (certificateName !== null && !CERTIFICATE_NAME.test(certificateName)) {
    throw new InputError(`"${certificateName}" is not a host name (a leading "*." wildcard is allowed, nothing else)`, {
      file: input.certificateName ? undefined : input.fileName,
      where: input.certificateName ? '--seg-cert' : 'certificateName',
    });
  }
  return {
    name: input.file?.name ?? null,
    ips,
    certificateName: certificateName ? normaliseDomain(certificateName) : null,
    mxHosts: (input.file?.mxHosts ?? []).map(normaliseDomain),
    ipsSource: null,
    origin: { kind: 'given', from },
  };
}

/** The Partner connector that looks like the gateway's: `SenderDomains *`, preferring restricted ones. */
export function gatewayConnector(snapshot: Snapshot): { connector: InboundConnector; index: number } | null {
  const candidates = snapshot.InboundConnector.map((connector, index) => ({ connector, index })).filter(
    ({ connector }) =>
      connector.Enabled &&
      connector.ConnectorType === 'Partner' &&
      connector.SenderDomains.some((domain) => domain.trim() === '*') &&
      (connector.SenderIPAddresses.length > 0 || connector.TlsSenderCertificateName !== null || connector.EFSkipIPs.length > 0),
  );
  const score = ({ connector }: { connector: InboundConnector }) =>
    (connector.RestrictDomainsToIPAddresses || connector.RestrictDomainsToCertificate ? 2 : 0) +
    (connector.SenderIPAddresses.length > 0 || connector.TlsSenderCertificateName ? 1 : 0);
  return [...candidates].sort((a, b) => score(b) - score(a) || a.index - b.index)[0] ?? null;
}

/** Infers the gateway from the snapshot: its gateway connector and the MX records in `Dns`. */
export function inferProfile(snapshot: Snapshot): GatewayProfile {
  const from: string[] = [];
  const found = gatewayConnector(snapshot);
  const mx = mxRecords(snapshot).filter((record) => !EXCHANGE_ONLINE_MX.test(record.host));
  const mxHosts = [...new Set(mx.map((record) => record.host))];
  let ips: string[] = [];
  let certificateName: string | null = null;
  let ipsSource: string | null = null;
  if (found) {
    const { connector, index } = found;
    const property = connector.SenderIPAddresses.length > 0 ? 'SenderIPAddresses' : 'EFSkipIPs';
    ips = [...connector[property]];
    ipsSource = ips.length > 0 ? `InboundConnector[${index}].${property}` : null;
    certificateName = connector.TlsSenderCertificateName ? normaliseDomain(connector.TlsSenderCertificateName) : null;
    const used = [
      ...(connector.SenderIPAddresses.length > 0 ? ['SenderIPAddresses'] : connector.EFSkipIPs.length > 0 ? ['EFSkipIPs'] : []),
      ...(certificateName ? ['TlsSenderCertificateName'] : []),
    ];
    from.push(`InboundConnector[${index}] "${connector.Name}" (${used.join(', ')})`);
  }
  if (mxHosts.length > 0) {
    from.push(`MX records in Dns for ${[...new Set(mx.map((record) => record.domain))].join(', ')}`);
  }
  const vendor = mxHosts.map(vendorForMx).find((entry) => entry !== undefined);
  return {
    name: vendor?.name ?? found?.connector.Name ?? (mxHosts[0] ? `gateway at ${mxHosts[0]}` : null),
    ips,
    certificateName,
    mxHosts,
    ipsSource,
    origin: { kind: found || mxHosts.length > 0 ? 'inferred' : 'none', from },
  };
}

/** True when the profile describes a gateway at all (addresses, a certificate or MX hosts). */
export function hasGateway(profile: GatewayProfile): boolean {
  return profile.ips.length > 0 || profile.certificateName !== null || profile.mxHosts.length > 0;
}

/** The most IPv4 addresses a gateway profile may hold: a /14 (1,024 blocks of /24). */
export const MAX_GATEWAY_IPV4_ADDRESSES = 1024 * 256;

/**
 * Why a profile trusts so much as the gateway that nothing could be told from it, or null: IPv4 addresses beyond a /14
 * (0.0.0.0/0, a /8), an IPv6 entry wider than a /32, or a certificate name that is a wildcard over a single label
 * (`*.com`). Gateways send from a few blocks and present a name in their own domain; with such a profile every
 * class from there counts as the gateway's, so a search for a bypass would find none and prove nothing, and a plan
 * would restrict the connector to a good part of the Internet.
 */
export function profileTooWide(profile: GatewayProfile): string | null {
  const entries = compileIpList(profile.ips).entries;
  const ipv4 = mergeIntervals(entries.map(ipv4Interval).filter((interval): interval is [number, number] => interval !== null));
  const addresses = ipv4.reduce((sum, [low, high]) => sum + (high - low + 1), 0);
  const where = profile.origin.kind === 'inferred' && profile.ipsSource ? ` (from ${profile.ipsSource})` : '';
  if (addresses > MAX_GATEWAY_IPV4_ADDRESSES) {
    const wide = entries.filter((entry) => entry.family === 'ipv4').sort((a, b) => (ipv4Size(b) ?? 0) - (ipv4Size(a) ?? 0))[0];
    return `the gateway's addresses${where} cover ${addresses.toLocaleString('en-US')} IPv4 addresses (the widest entry: ${wide?.text ?? '?'}), more than a /14 (${MAX_GATEWAY_IPV4_ADDRESSES.toLocaleString('en-US')})`;
  }
  const wideV6 = entries.find((entry) => entry.family === 'ipv6' && entry.form === 'cidr' && (entry.prefix ?? 128) < 32);
  if (wideV6) return `the gateway's addresses${where} include ${wideV6.text}, an IPv6 block wider than a /32`;
  const name = profile.certificateName ? normaliseDomain(profile.certificateName) : null;
  if (name && (name === '*' || (name.startsWith('*.') && !name.slice(2).includes('.')))) {
    return `the gateway's certificate name ${name} matches a host in any domain under .${name.slice(2) || '*'}`;
  }
  return null;
}

function ipv4Size(entry: IpEntry): number | null {
  const interval = ipv4Interval(entry);
  return interval ? interval[1] - interval[0] + 1 : null;
}
