/**
 * `eoplock queries`: wiring only. The queries themselves are built in src/trace/queries.ts.
 */
import { normaliseDomain } from '../eop/addresses.js';
import { citedSourceIds, sourceFooter } from '../eop/sources.js';
import { InputError } from '../errors.js';
import { inferProfile } from '../profile/profile.js';
import { loadSnapshotFile } from '../snapshot/load.js';
import { buildQueries, type QueryPurpose } from '../trace/queries.js';
import { emit, type Io } from './io.js';
import { loadProfile, type ProfileOptions } from './profile-options.js';

export interface QueriesOptions extends ProfileOptions {
  snapshot?: string;
  kind?: 'kql' | 'powershell';
  /** What the queries are for: bypasses (the default) or the impact summary that `eoplock impact` reads. */
  for?: QueryPurpose;
  days: number;
  out?: string;
}

export async function queriesCommand(io: Io, options: QueriesOptions): Promise<number> {
  if (!Number.isInteger(options.days) || options.days < 1 || options.days > 90) throw new InputError('expected a whole number of days from 1 to 90', { where: '--days' });
  const purpose = options.for ?? 'bypass';
  const snapshot = options.snapshot ? (await loadSnapshotFile(options.snapshot)).snapshot : null;
  const profile = (await loadProfile(options)) ?? (snapshot ? inferProfile(snapshot) : null);
  // The impact summary counts all inbound mail; only the bypass queries compare sources with the gateway.
  if (purpose === 'bypass' && (!profile || profile.ips.length === 0)) {
    throw new InputError('the queries need the gateway\'s addresses: give --seg-ip (or a snapshot whose gateway connector lists them)', { where: 'gateway profile' });
  }
  const acceptedDomains = snapshot ? [...new Set(snapshot.AcceptedDomain.map((domain) => normaliseDomain(domain.DomainName)))].sort() : [];
  const queries = buildQueries({ gatewayIps: profile?.ips ?? [], acceptedDomains, days: options.days }).filter(
    (query) => query.purpose === purpose && (!options.kind || query.kind === options.kind) && (acceptedDomains.length > 0 || query.id !== 'kql-spoofed-internal'),
  );
  const text = queries
    .map((query) => {
      const comment = query.kind === 'kql' ? '//' : '#';
      const cited = citedSourceIds(query.title);
      // Each query is pasted on its own: its comment carries the address of every source its title cites.
      const sources = cited.length > 0 ? sourceFooter(cited, 'Source:').map((line) => `${comment} ${line.trim()}\n`).join('') : '';
      return `${comment} ${query.title}\n${sources}${query.text}\n`;
    })
    .join('\n');
  await emit(io, text, options.out, { human: true });
  return 0;
}
