/**
 * The live DNS resolver: node:dns/promises with a chosen server, behind the {@link DnsResolver} contract of
 * ./resolver.ts. An edge module: only the commands that look names up (`dns`, `audit --live-dns`, `dmarc`, `lab`,
 * `pull`) load it.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { Resolver } from 'node:dns/promises';
import { InputError } from '../errors.js';
import type { DnsResolver } from './resolver.js';

/**
 * `IP`, `IP:PORT`, `[IPv6]` or `[IPv6]:PORT` → a server string node:dns accepts. Anything else, a port outside
 * 1–65535 included, is an input error naming `--resolver`.
 */
export function parseServer(text: string): string {
  const value = text.trim();
  const bad = (why: string) => new InputError(`"${text}" is not a DNS server address: ${why} (expected IP, IP:PORT or [IPv6]:PORT)`, { where: '--resolver' });
  if (value.includes('%')) throw bad('a zone index (%…) is not supported');
  let address = value;
  let port: string | null = null;
  const bracketed = /^\[([^\]]*)\](?::(\d*))?$/.exec(value);
  if (bracketed) {
    address = bracketed[1] as string;
    port = bracketed[2] ?? null;
    if (!isIPv6(address)) throw bad('the address in brackets is not IPv6');
  } else if (!isIPv6(value)) {
    const colon = value.lastIndexOf(':');
    if (colon >= 0) {
      address = value.slice(0, colon);
      port = value.slice(colon + 1);
    }
    if (!isIPv4(address)) throw bad(value === '' ? 'it is empty' : 'not an IPv4 or IPv6 address');
  }
  if (port !== null) {
    if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) throw bad('the port must be a number from 1 to 65535');
    return isIPv6(address) ? `[${address}]:${Number(port)}` : `${address}:${Number(port)}`;
  }
  return address;
}

export function liveResolver(server?: string, timeoutMs = 5_000): DnsResolver {
  const resolver = new Resolver({ timeout: timeoutMs, tries: 2 });
  if (server !== undefined) {
    const parsed = parseServer(server);
    try {
      resolver.setServers([parsed]);
    } catch (error) {
      throw new InputError(`"${server}" is not a DNS server address node:dns accepts: ${(error as Error).message}`, { where: '--resolver' });
    }
  }
  return (name, rrtype) => resolver.resolve(name, rrtype);
}
