/**
 * Secure Email Gateway vendors recognised by their MX host names and SPF includes, as data. Used to name an inferred
 * gateway and to read DNS; no egress addresses are stored (they change; the tenant's connector is the better source).
 * Each entry says where its patterns come from and when they were recorded; `confidence: 'unverified'` marks patterns
 * that no source at hand confirmed.
 */
export interface GatewayVendor {
  name: string;
  mx: RegExp;
  /** SPF include domains the vendor publishes for outbound mail it sends for customers. */
  spfIncludes: RegExp[];
  source: string;
  recorded: string;
  confidence: 'community' | 'unverified';
}

const CIPP = 'CIPP DNSHealth MailProviders/*.json (MxMatch, SpfInclude), via anchors.md §4';
const PARSEDMARC = 'parsedmarc base_reverse_dns_map.csv ("Email Security" type), via anchors.md §8b';

export const GATEWAY_VENDORS: readonly GatewayVendor[] = [
  { name: 'Mimecast', mx: /\.mimecast\.(com|co\.za)$/i, spfIncludes: [/(^|\.)_netblocks\.mimecast\.com$/i], source: CIPP, recorded: '2026-11', confidence: 'community' },
  { name: 'Proofpoint', mx: /\.(pphosted|ppe-hosted)\.com$/i, spfIncludes: [/\.pphosted\.com$/i, /\.ppe-hosted\.com$/i], source: `${CIPP}; ${PARSEDMARC}`, recorded: '2026-11', confidence: 'community' },
  { name: 'Cisco Secure Email', mx: /\.iphmx\.com$/i, spfIncludes: [/\.iphmx\.com$/i], source: `${CIPP}; ${PARSEDMARC}`, recorded: '2026-11', confidence: 'community' },
  { name: 'Barracuda Email Security', mx: /\.barracudanetworks\.com$/i, spfIncludes: [/(^|\.)spf\.ess\.barracudanetworks\.com$/i], source: `${CIPP}; ${PARSEDMARC}`, recorded: '2026-11', confidence: 'community' },
  { name: 'Broadcom (Symantec) Email Security.cloud', mx: /\.messagelabs\.com$/i, spfIncludes: [/\.messagelabs\.com$/i], source: CIPP, recorded: '2026-11', confidence: 'community' },
  { name: 'Trend Micro Email Security', mx: /\.tmes\.trendmicro\.(com|eu)$/i, spfIncludes: [/\.tmes\.trendmicro\.(com|eu)$/i], source: 'not confirmed by a source at hand', recorded: '2026-11', confidence: 'unverified' },
  { name: 'Hornetsecurity', mx: /\.hornetsecurity\.com$/i, spfIncludes: [/(^|\.)spf\.hornetsecurity\.com$/i], source: CIPP, recorded: '2026-11', confidence: 'community' },
  { name: 'Sophos Email', mx: /\.hydra\.sophos\.com$/i, spfIncludes: [/\.hydra\.sophos\.com$/i], source: CIPP, recorded: '2026-11', confidence: 'community' },
  { name: 'Forcepoint Email Security', mx: /\.mailcontrol\.com$/i, spfIncludes: [/\.mailcontrol\.com$/i], source: 'not confirmed by a source at hand', recorded: '2026-11', confidence: 'unverified' },
  { name: 'Check Point Harmony Email', mx: /\.(checkpoint|avanan)\.(com|net)$/i, spfIncludes: [/\.(checkpoint|avanan)\.(com|net)$/i], source: 'not confirmed by a source at hand', recorded: '2026-11', confidence: 'unverified' },
  { name: 'SpamTitan', mx: /\.spamtitan\.com$/i, spfIncludes: [/\.spamtitan\.com$/i], source: CIPP, recorded: '2026-11', confidence: 'community' },
  { name: 'Trustwave MailMarshal', mx: /\.mailmarshal\.cloud$/i, spfIncludes: [], source: 'not confirmed by a source at hand', recorded: '2026-11', confidence: 'unverified' },
  { name: 'Libraesva', mx: /\.libraesva\.email$/i, spfIncludes: [], source: 'not confirmed by a source at hand', recorded: '2026-11', confidence: 'unverified' },
];

/** Exchange Online's own MX hosts (S60: the classic and the DNSSEC-signed forms). */
export const EXCHANGE_ONLINE_MX = /\.(mail\.protection\.outlook\.com|mx\.microsoft)$/i;

export function vendorForMx(host: string): GatewayVendor | undefined {
  const name = host.toLowerCase().replace(/\.$/, '');
  return GATEWAY_VENDORS.find((vendor) => vendor.mx.test(name));
}

export function vendorForSpfInclude(domain: string): GatewayVendor | undefined {
  const name = domain.toLowerCase().replace(/\.$/, '');
  return GATEWAY_VENDORS.find((vendor) => vendor.spfIncludes.some((pattern) => pattern.test(name)));
}
