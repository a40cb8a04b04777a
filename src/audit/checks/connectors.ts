/**
 * RejectDirectSend and the inbound connector lockdown (eop-behaviour.md §2, §3).
 */
import { normaliseDomain } from '../../eop/addresses.js';
import { compileIpList, formatIpv4Interval, ipv4Interval, subtractIntervals } from '../../eop/ip.js';
import { sharedCertificateName } from '../../profile/vendors.js';
import type { InboundConnector } from '../../snapshot/schema.js';
import { fail, ipv4Cover, notApplicable, pass, type AuditContext, type Indexed } from '../context.js';
import { isAbsentFromExport, propertyEvidence } from '../evidence.js';
import type { CheckOutcome, Evidence } from '../model.js';

type Check = (context: AuditContext) => CheckOutcome;

const at = (index: number, property: string) => `InboundConnector[${index}].${property}`;
const NO_GATEWAY = 'no gateway in front of Exchange Online: no gateway profile was given and none could be inferred';

/** Runs `body` with the gateway connector, or says why the check does not apply. */
function withGateway(context: AuditContext, body: (gateway: Indexed<InboundConnector>) => CheckOutcome): CheckOutcome {
  if (!context.hasGateway) return notApplicable(NO_GATEWAY);
  if (!context.gateway) return notApplicable('there is no gateway Partner connector to examine (see EOPL-002)');
  return body(context.gateway);
}

export const CONNECTOR_CHECKS: Record<string, Check> = {
  'EOPL-001': ({ snapshot }) => {
    const config = snapshot.OrganizationConfig[0];
    if (!config) return notApplicable('the snapshot holds no OrganizationConfig');
    const value = config.RejectDirectSend === true;
    const evidence = [propertyEvidence(config, 'OrganizationConfig[0].RejectDirectSend', 'RejectDirectSend', { expected: 'true', message: `RejectDirectSend is ${value ? 'on' : 'off'}` })];
    if (value) return pass('RejectDirectSend is on', evidence);
    return fail(
      isAbsentFromExport(config, 'RejectDirectSend')
        ? 'RejectDirectSend is not in the export, and its default (off) accepts Direct Send spoofs of your domains'
        : 'RejectDirectSend is off: Direct Send spoofs of your domains are accepted',
      evidence,
    );
  },

  'EOPL-002': (context) => {
    if (!context.hasGateway) return notApplicable(NO_GATEWAY);
    const { gateway, gatewayCandidates } = context;
    if (gateway?.item.Enabled && gateway.item.ConnectorType === 'Partner') {
      return pass(`"${gateway.item.Name}" serves the gateway`, [
        { path: at(gateway.index, 'Name'), actual: gateway.item.Name, message: 'enabled Partner connector for the gateway' },
      ]);
    }
    const disabled = gatewayCandidates.filter(({ item }) => !item.Enabled);
    return fail('no enabled Partner connector identifies the gateway by IP or certificate', [
      ...disabled.map(({ item, index }) => ({ path: at(index, 'Enabled'), actual: false, expected: 'true', message: `"${item.Name}" matches the gateway but is disabled` })),
      ...(disabled.length === 0 ? [{ path: 'InboundConnector', actual: context.snapshot.InboundConnector.length, message: 'no connector lists the gateway\'s addresses or certificate' }] : []),
    ]);
  },

  'EOPL-003': (context) => {
    if (!context.hasGateway) return notApplicable(NO_GATEWAY);
    const onPremises = context.gatewayCandidates.filter(({ item }) => item.Enabled && item.ConnectorType === 'OnPremises' && (item.RestrictDomainsToIPAddresses || item.RestrictDomainsToCertificate));
    if (onPremises.length > 0 && !context.gateway) {
      return fail('the gateway is identified only by an OnPremises connector, whose restrictions are never enforced', onPremises.map(({ item, index }) => ({
        path: at(index, 'ConnectorType'),
        actual: item.ConnectorType,
        expected: 'Partner',
        message: `"${item.Name}" sets RestrictDomainsTo* on an OnPremises connector: enforced only on Partner connectors`,
      })));
    }
    return withGateway(context, ({ item, index }) =>
      pass(`"${item.Name}" is a Partner connector`, [{ path: at(index, 'ConnectorType'), actual: item.ConnectorType, message: 'Partner' }]),
    );
  },

  'EOPL-004': (context) =>
    withGateway(context, ({ item, index }) =>
      item.SenderDomains.includes('*')
        ? pass('SenderDomains is *', [{ path: at(index, 'SenderDomains'), actual: item.SenderDomains, message: 'covers every sender domain' }])
        : fail(`SenderDomains covers only ${item.SenderDomains.join(', ') || 'nothing'}`, [
            { path: at(index, 'SenderDomains'), actual: item.SenderDomains, expected: '*', message: 'mail from other sender domains is not restricted by this connector' },
          ]),
    ),

  'EOPL-005': (context) =>
    withGateway(context, ({ item, index }) => {
      if (item.RestrictDomainsToIPAddresses || item.RestrictDomainsToCertificate) {
        return pass(`restricted by ${item.RestrictDomainsToCertificate ? 'certificate' : 'IP address'}`, [
          {
            path: at(index, item.RestrictDomainsToCertificate ? 'RestrictDomainsToCertificate' : 'RestrictDomainsToIPAddresses'),
            actual: true,
            message: 'mail that does not come from the gateway is refused with 5.7.51',
          },
        ]);
      }
      return fail(`"${item.Name}" does not restrict: mail sent straight to EOP is accepted`, [
        propertyEvidence(item, at(index, 'RestrictDomainsToIPAddresses'), 'RestrictDomainsToIPAddresses', { expected: 'true (or RestrictDomainsToCertificate)', message: 'not restricted by IP' }),
        propertyEvidence(item, at(index, 'RestrictDomainsToCertificate'), 'RestrictDomainsToCertificate', { expected: 'true (or RestrictDomainsToIPAddresses)', message: 'not restricted by certificate' }),
      ]);
    }),

  'EOPL-006': ({ snapshot }) => {
    const evidence: Evidence[] = [];
    snapshot.InboundConnector.forEach((connector, index) => {
      if (!connector.Enabled || connector.ConnectorType !== 'Partner') return;
      connector.SenderIPAddresses.forEach((text, position) => {
        const problem = partnerAddressProblem(text);
        if (problem) evidence.push({ path: `${at(index, 'SenderIPAddresses')}[${position}]`, actual: text, expected: 'IPv4 address or /24–/32 block', message: `"${connector.Name}": ${problem}` });
      });
    });
    if (evidence.length > 0) return fail(`${evidence.length} SenderIPAddresses entr${evidence.length === 1 ? 'y is' : 'ies are'} not valid for an inbound connector`, evidence);
    return pass('every Partner connector address is an IPv4 address or a /24–/32 block');
  },

  'EOPL-007': (context) =>
    withGateway(context, ({ item, index }) => {
      if (context.gatewayEntries.length === 0) return notApplicable('the gateway profile lists no addresses');
      if (item.SenderIPAddresses.length === 0 && item.RestrictDomainsToCertificate) {
        return notApplicable(`"${item.Name}" identifies the gateway by certificate, not by address`);
      }
      if (context.profile.ipsSource === at(index, 'SenderIPAddresses')) {
        return notApplicable(`the gateway's addresses were inferred from ${context.profile.ipsSource}: give --seg-ip to compare`);
      }
      const cover = ipv4Cover(compileIpList(item.SenderIPAddresses).entries);
      const evidence: Evidence[] = [];
      for (const entry of context.gatewayEntries) {
        const interval = ipv4Interval(entry);
        if (!interval) {
          evidence.push({ path: at(index, 'SenderIPAddresses'), actual: item.SenderIPAddresses, message: `gateway address ${entry.text} is IPv6, which inbound connectors cannot list: identify the gateway by certificate` });
          continue;
        }
        const missing = subtractIntervals(interval, cover);
        if (missing.length > 0) {
          evidence.push({
            path: at(index, 'SenderIPAddresses'),
            actual: item.SenderIPAddresses,
            expected: `to include ${entry.text}`,
            message: `gateway address ${entry.text} is not covered: ${missing.map(formatIpv4Interval).join(', ')} missing`,
          });
        }
      }
      return evidence.length > 0
        ? fail(`${evidence.length} gateway address entr${evidence.length === 1 ? 'y is' : 'ies are'} not covered by "${item.Name}"`, evidence)
        : pass(`every gateway address is covered by "${item.Name}"`);
    }),

  'EOPL-008': (context) =>
    withGateway(context, ({ item, index }) => {
      if (context.gatewayEntries.length === 0) return notApplicable('the gateway profile lists no addresses');
      if (context.profile.ipsSource === at(index, 'SenderIPAddresses')) {
        return notApplicable(`the gateway's addresses were inferred from ${context.profile.ipsSource}: give --seg-ip to compare`);
      }
      const gatewayCover = ipv4Cover(context.gatewayEntries);
      const evidence: Evidence[] = [];
      item.SenderIPAddresses.forEach((text, position) => {
        const entry = compileIpList([text]).entries[0];
        const interval = entry ? ipv4Interval(entry) : null;
        if (!interval) return;
        const extra = subtractIntervals(interval, gatewayCover);
        if (extra.length > 0) {
          evidence.push({ path: `${at(index, 'SenderIPAddresses')}[${position}]`, actual: text, message: `${extra.map(formatIpv4Interval).join(', ')} is not a gateway address` });
        }
      });
      return evidence.length > 0 ? fail(`"${item.Name}" lists addresses that are not the gateway's`, evidence) : pass('every listed address is the gateway\'s');
    }),

  'EOPL-009': ({ snapshot }) => {
    const evidence: Evidence[] = [];
    snapshot.InboundConnector.forEach((connector, index) => {
      if (connector.Enabled && connector.ConnectorType === 'Partner' && connector.SenderIPAddresses.length > 0 && connector.TlsSenderCertificateName) {
        evidence.push({
          path: at(index, 'TlsSenderCertificateName'),
          actual: { SenderIPAddresses: connector.SenderIPAddresses, TlsSenderCertificateName: connector.TlsSenderCertificateName },
          message: `"${connector.Name}" has both IP addresses and a certificate name`,
        });
      }
    });
    return evidence.length > 0 ? fail('a Partner connector mixes IP addresses and a certificate', evidence) : pass('no Partner connector mixes IP addresses and a certificate');
  },

  'EOPL-010': (context) =>
    withGateway(context, ({ item, index }) =>
      item.RequireTls
        ? pass('RequireTls is on', [{ path: at(index, 'RequireTls'), actual: true, message: 'plain-text delivery is refused' }])
        : fail(`"${item.Name}" accepts the gateway's mail without TLS`, [propertyEvidence(item, at(index, 'RequireTls'), 'RequireTls', { expected: 'true', message: 'RequireTls is off' })]),
    ),

  'EOPL-011': (context) =>
    withGateway(context, ({ item, index }) => {
      const wanted = context.profile.certificateName;
      if (!wanted) return notApplicable('the gateway profile names no certificate');
      const configured = item.TlsSenderCertificateName ? normaliseDomain(item.TlsSenderCertificateName) : null;
      if (!configured) {
        return item.RestrictDomainsToCertificate
          ? fail('the connector restricts by certificate but names none', [{ path: at(index, 'TlsSenderCertificateName'), actual: null, expected: wanted, message: 'no certificate name' }])
          : notApplicable(`"${item.Name}" does not identify the gateway by certificate`);
      }
      return configured === wanted
        ? pass(`TlsSenderCertificateName is ${configured}`, [{ path: at(index, 'TlsSenderCertificateName'), actual: configured, message: 'matches the gateway\'s certificate' }])
        : fail(`TlsSenderCertificateName is ${configured}, the gateway's certificate is ${wanted}`, [
            { path: at(index, 'TlsSenderCertificateName'), actual: configured, expected: wanted, message: 'does not match the gateway\'s certificate name' },
          ]);
    }),

  'EOPL-038': ({ snapshot }) => {
    const evidence: Evidence[] = [];
    snapshot.InboundConnector.forEach((connector, index) => {
      if (!connector.Enabled || !connector.TlsSenderCertificateName) return;
      const shared = sharedCertificateName(connector.TlsSenderCertificateName);
      if (!shared) return;
      evidence.push({
        path: at(index, 'TlsSenderCertificateName'),
        actual: connector.TlsSenderCertificateName,
        expected: 'a name only this tenant\'s sender presents',
        message:
          `"${connector.Name}" trusts ${connector.TlsSenderCertificateName}, which ${shared.who} can present: their mail passes ` +
          `the connector as this tenant's own. To narrow it: ${shared.narrows}. Source (${shared.confidence}): ${shared.source}`,
      });
    });
    return evidence.length > 0
      ? fail(`${evidence.length} connector(s) trust a certificate name other parties can present`, evidence)
      : pass('no enabled connector trusts a certificate name known to be shared with other parties');
  },

  'EOPL-034': (context) =>
    withGateway(context, ({ item, index }) => {
      if (item.AssociatedAcceptedDomains.length === 0) return pass(`"${item.Name}" applies to every accepted domain`);
      const listed = new Set(item.AssociatedAcceptedDomains.map(normaliseDomain));
      const missing = context.snapshot.AcceptedDomain.map((domain) => normaliseDomain(domain.DomainName)).filter((name) => !listed.has(name));
      return missing.length > 0
        ? fail(`${missing.length} accepted domain(s) are outside "${item.Name}"`, [
            { path: at(index, 'AssociatedAcceptedDomains'), actual: item.AssociatedAcceptedDomains, expected: `to include ${missing.join(', ')} (or be empty)`, message: `mail for ${missing.join(', ')} sent straight to EOP is not restricted` },
          ])
        : pass(`"${item.Name}" lists every accepted domain`);
    }),

  'EOPL-012': ({ snapshot }) => {
    const evidence: Evidence[] = [];
    snapshot.InboundConnector.forEach((connector, index) => {
      if (connector.Enabled && connector.ConnectorType === 'Partner' && connector.SenderIPAddresses.length === 0 && !connector.TlsSenderCertificateName && connector.TrustedOrganizations.length === 0) {
        evidence.push({ path: at(index, 'SenderDomains'), actual: connector.SenderDomains, message: `"${connector.Name}" identifies senders by domain only: it exempts nothing from RejectDirectSend and a restricting connector overrides it` });
      }
    });
    return evidence.length > 0 ? fail(`${evidence.length} Partner connector(s) identify senders by domain only`, evidence) : pass('every Partner connector identifies its sender by IP address or certificate');
  },
};

/** Why an address is not valid in an inbound connector's SenderIPAddresses (S7), or null. */
export function partnerAddressProblem(text: string): string | null {
  const entry = compileIpList([text]);
  const parsed = entry.entries[0];
  if (!parsed) return `"${text}" is ${entry.invalid[0]?.error ?? 'not an address'}`;
  if (parsed.family === 'ipv6') return `${text} is IPv6, which inbound connectors do not support`;
  if (parsed.form === 'range') return `${text} is a range; only addresses and CIDR blocks are valid`;
  if (parsed.form === 'cidr' && (parsed.prefix ?? 32) < 24) return `${text} is wider than /24`;
  return null;
}
