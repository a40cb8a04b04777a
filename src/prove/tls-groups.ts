/**
 * TLS regions the configuration treats alike for one client IP region (the search's sixth pruning, exact): the cell
 * of the first TLS region of a group is searched, and its classes count for every TLS region of the group.
 *
 * What reads the TLS of a class (src/eop/stages.ts connection, connectorMatch, attribution, partnerRestriction; the
 * search's originOf, legitimateShape and causes):
 * - the name a certificate matches each connector's TlsSenderCertificateName with (matchCertificateName, under the
 *   search's assumptions): which connectors are candidates by certificate, the restriction to a certificate, the
 *   precedence between candidates, and the cause's "matched by certificate …" text;
 * - whether there is TLS at all, where a connector that requires TLS can be a candidate (its addresses hold the
 *   cell's, or the certificate matches it) or where the class comes from the gateway (legitimateShape);
 * - whether a certificate name is in an accepted domain, where an OnPremises connector can be a candidate
 *   (attribution of relayed mail);
 * - the region's origin with the cell's address, and the connectors its certificate name lies within.
 * No transport rule, policy or authentication check reads TLS.
 */
import { normaliseDomain } from '../eop/addresses.js';
import type { Assumptions } from '../eop/assumptions.js';
import { certificateNames, matchCertificateName } from '../eop/certificate.js';
import { AcceptedIndex } from '../eop/compile.js';
import { compiledIpList, findInList, parseIp } from '../eop/ip.js';
import type { Snapshot } from '../snapshot/parse.js';
import { originOfCell, type DerivedClassSpace } from './classes.js';

/** Per client IP region, per TLS region: how many TLS regions the cell stands for (0: another cell stands for it). */
export type TlsWeightsOf = (clientIp: number) => readonly number[];

export function tlsGroups(snapshot: Snapshot, assumptions: Assumptions, space: DerivedClassSpace): TlsWeightsOf {
  const accepted = new AcceptedIndex(snapshot.AcceptedDomain, assumptions['accepted-subdomains']);
  const connectors = snapshot.InboundConnector.map((connector) => ({
    connector,
    addresses: compiledIpList(connector.SenderIPAddresses),
    name: (connector.TlsSenderCertificateName ?? '').trim(),
  }));
  const regions = space.tls.map((region) => {
    const certificate = region.value?.certificate;
    const names = certificate ? certificateNames(certificate) : [];
    // As the connector stage asks (the name as configured) and as a cause's text does (normalised).
    const matches = connectors.map((entry) => (certificate && entry.name !== '' ? matchCertificateName(entry.connector.TlsSenderCertificateName as string, names, assumptions) : null));
    const shown = connectors.map((entry) => (certificate && entry.name !== '' ? matchCertificateName(normaliseDomain(entry.name), names, assumptions) : null));
    return {
      present: region.value !== undefined,
      matches,
      inAccepted: names.some((name) => accepted.find(normaliseDomain(name)) !== null),
      fixed: `${JSON.stringify(matches)}|${JSON.stringify(shown)}|${region.connectors.join(',')}|${region.origin ?? '-'}`,
    };
  });
  const byRegion = new Map<number, readonly number[]>();
  return (clientIp) => {
    let weights = byRegion.get(clientIp);
    if (weights) return weights;
    const ip = space.clientIp[clientIp];
    const address = parseIp(ip?.value ?? '');
    const byAddress = connectors.map((entry) => address !== null && findInList(entry.addresses, address) !== null);
    const keys = regions.map((region, position) => {
      const origin = originOfCell(space, clientIp, position);
      const candidate = (index: number) => byAddress[index] === true || region.matches[index] !== null;
      const tlsRead = origin === 'gateway' || connectors.some((entry, index) => entry.connector.RequireTls && candidate(index));
      const onPremises = connectors.some((entry, index) => entry.connector.ConnectorType === 'OnPremises' && candidate(index));
      return `${region.fixed}|${origin}|${tlsRead ? region.present : '*'}|${onPremises ? region.inAccepted : '*'}`;
    });
    const first = new Map<string, number>();
    const made = keys.map(() => 0);
    keys.forEach((key, position) => {
      const at = first.get(key);
      if (at === undefined) {
        first.set(key, position);
        made[position] = 1;
      } else made[at] = (made[at] as number) + 1;
    });
    weights = made;
    byRegion.set(clientIp, weights);
    return weights;
  };
}
