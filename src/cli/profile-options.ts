/**
 * The gateway-profile flags shared by audit, plan and drift: --seg-ip, --seg-cert, --seg.
 * The flag definitions are part of every --help; the profile code (zod, YAML) loads only when a command reads them.
 */
import type { Command } from 'commander';
import type { GatewayProfile } from '../profile/profile.js';

export interface ProfileOptions {
  segIp: string[];
  segCert?: string;
  seg?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function addProfileOptions(command: Command): Command {
  return command
    .option('--seg-ip <address>', "the gateway's egress address: IPv4/IPv6, CIDR or a-b range (repeatable)", collect, [])
    .option('--seg-cert <name>', "the name on the gateway's TLS certificate (a leading *. wildcard is allowed)")
    .option('--seg <file>', 'gateway profile file (JSON or YAML): name, ips, certificateName, mxHosts');
}

export function profileOptionsFrom(options: Record<string, unknown>): ProfileOptions {
  return {
    segIp: options.segIp as string[],
    ...(typeof options.segCert === 'string' ? { segCert: options.segCert } : {}),
    ...(typeof options.seg === 'string' ? { seg: options.seg } : {}),
  };
}

/** The profile the user gave, or null to infer it from each snapshot. */
export async function loadProfile(options: ProfileOptions): Promise<GatewayProfile | null> {
  if (!options.seg && options.segIp.length === 0 && !options.segCert) return null;
  const [{ givenProfile, ProfileFileSchema }, { parseDataFile }, { readTextFile }] = await Promise.all([
    import('../profile/profile.js'),
    import('../util/data-file.js'),
    import('../util/files.js'),
  ]);
  const file = options.seg ? parseDataFile(await readTextFile(options.seg), ProfileFileSchema, options.seg) : undefined;
  return givenProfile({
    ...(file ? { file } : {}),
    ...(options.seg ? { fileName: options.seg } : {}),
    ips: options.segIp,
    ...(options.segCert ? { certificateName: options.segCert } : {}),
  });
}
