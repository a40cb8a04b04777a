/**
 * The snapshot's MX records, apart from profile.ts (which parses profile files with zod): the decision engine reads them,
 * and the threads that read a trace in parts load the engine, not the profile parser.
 */
import { normaliseDomain } from '../eop/addresses.js';
import type { Snapshot } from '../snapshot/parse.js';

/** MX hosts of every accepted domain that has DNS data in the snapshot, as `{ domain, host, preference }`. */
export function mxRecords(snapshot: Snapshot): { domain: string; host: string; preference: number }[] {
  const records: { domain: string; host: string; preference: number }[] = [];
  for (const [domain, data] of Object.entries(snapshot.Dns)) {
    for (const value of data.MX) {
      const match = /^\s*(\d+)\s+(\S+)\s*$/.exec(value);
      const host = normaliseDomain(match ? (match[2] as string) : value);
      records.push({ domain: normaliseDomain(domain), host, preference: match ? Number(match[1]) : 0 });
    }
  }
  return records;
}
