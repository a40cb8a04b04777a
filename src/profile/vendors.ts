/**
 * Secure Email Gateway vendors recognised by their MX host names, as data. Used only to name an inferred gateway;
 * no egress addresses are stored here (they change, and the tenant's own connector is the better source).
 * Patterns from the vendors' published MX host names (CIPP DNSHealth MailProviders, parsedmarc's reverse-DNS map).
 */
export interface GatewayVendor {
  name: string;
  mx: RegExp;
}

export const GATEWAY_VENDORS: readonly GatewayVendor[] = [
  { name: 'Mimecast', mx: /\.mimecast\.(com|co\.za)$/i },
  { name: 'Proofpoint', mx: /\.(pphosted|ppe-hosted)\.com$/i },
  { name: 'Cisco Secure Email', mx: /\.iphmx\.com$/i },
  { name: 'Barracuda Email Security', mx: /\.barracudanetworks\.com$/i },
  { name: 'Broadcom (Symantec) Email Security.cloud', mx: /\.messagelabs\.com$/i },
  { name: 'Trend Micro Email Security', mx: /\.tmes\.trendmicro\.(com|eu)$/i },
  { name: 'Hornetsecurity', mx: /\.hornetsecurity\.com$/i },
  { name: 'Sophos Email', mx: /\.hydra\.sophos\.com$/i },
  { name: 'Forcepoint Email Security', mx: /\.mailcontrol\.com$/i },
  { name: 'SpamTitan', mx: /\.spamtitan\.com$/i },
  { name: 'Trustwave MailMarshal', mx: /\.mailmarshal\.cloud$/i },
  { name: 'Libraesva', mx: /\.libraesva\.email$/i },
];

/** Exchange Online's own MX hosts (S60: the classic and the DNSSEC-signed forms). */
export const EXCHANGE_ONLINE_MX = /\.(mail\.protection\.outlook\.com|mx\.microsoft)$/i;

export function vendorForMx(host: string): GatewayVendor | undefined {
  const name = host.toLowerCase().replace(/\.$/, '');
  return GATEWAY_VENDORS.find((vendor) => vendor.mx.test(name));
}
