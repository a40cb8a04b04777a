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
  /** What the vendor's egress to Exchange Online shares between all its customers (absent: nothing recorded). */
  shared?: SharedInfrastructure;
}

/**
 * Gateway infrastructure a vendor uses for every customer. A lockdown connector that trusts it trusts every customer
 * of the vendor: another customer's account can relay mail to this tenant through the same addresses and certificate
 * (the class of the 2024 EchoSpoofing relay abuse, ECHOSPOOFING below).
 */
export interface SharedInfrastructure {
  /** The egress addresses are shared ranges (per region or platform), not addresses of one customer. */
  addresses: boolean;
  /** Certificate names (as a connector's TlsSenderCertificateName) the vendor presents for every customer. */
  certificateNames: RegExp[];
  /** What narrows the trust to this tenant's own account, where the vendor offers it. */
  narrows: string;
  source: string;
  /** `vendor-documented`: the vendor's own guide says so; `community`: third-party material; `unverified`: inferred. */
  confidence: 'vendor-documented' | 'community' | 'unverified';
}

/**
 * EchoSpoofing (Guardio Labs, July 2024): spammers relayed spoofed mail from their own Microsoft 365 tenants through
 * Proofpoint's relay servers, which accepted mail from any Microsoft 365 tenant for a customer's domain and sent it on
 * SPF- and DKIM-aligned from Proofpoint's shared infrastructure (millions of messages a day as Disney, IBM, Nike…).
 * Proofpoint's fix restricted which Microsoft 365 tenants may relay. Reported by ITPro, 2024-07-30
 * (https://www.itpro.com/security/a-flaw-in-proofpoints-anti-phishing-platform-allowed-a-hacker-to-send-millions-of-spam-emails)
 * and Symantec's "EchoSpoofing is back" (https://www.security.com/expert-perspectives/echospoofing-back), which
 * describes a 2025 variant through an email hygiene provider. [C]
 */
export const ECHOSPOOFING =
  'EchoSpoofing, Guardio Labs, July 2024 (reported by ITPro 2024-07-30; Symantec "EchoSpoofing is back", 2025) [C]';

const NARROW_GENERIC =
  'trust only what is this tenant\'s own: a dedicated egress address or a tenant-specific certificate where the vendor offers one, ' +
  'or a transport rule that requires a header with a secret value the gateway adds for this tenant only';

const CIPP = 'CIPP DNSHealth MailProviders/*.json (MxMatch, SpfInclude), via anchors.md §4';
const PARSEDMARC = 'parsedmarc base_reverse_dns_map.csv ("Email Security" type), via anchors.md §8b';

export const GATEWAY_VENDORS: readonly GatewayVendor[] = [
  {
    name: 'Mimecast',
    mx: /\.mimecast\.(com|co\.za)$/i,
    spfIncludes: [/(^|\.)_netblocks\.mimecast\.com$/i],
    source: CIPP,
    recorded: '2026-11',
    confidence: 'community',
    shared: {
      addresses: true,
      certificateNames: [/^\*\.mimecast\.(com|co\.za)$/i, /\.mimecast\.(com|co\.za)$/i],
      narrows: NARROW_GENERIC,
      source:
        'Mimecast, "Connect Process: Microsoft 365 Mail Lockdown" (mimecastsupport.zendesk.com/hc/en-us/articles/34000358773523): the ' +
        'connector is told to require the certificate *.mimecast.com and the IP ranges of the customer\'s Mimecast region, both the same for every customer of that region',
      confidence: 'vendor-documented',
    },
  },
  {
    name: 'Proofpoint',
    mx: /\.(pphosted|ppe-hosted)\.com$/i,
    spfIncludes: [/\.pphosted\.com$/i, /\.ppe-hosted\.com$/i],
    source: `${CIPP}; ${PARSEDMARC}`,
    recorded: '2026-11',
    confidence: 'community',
    shared: {
      addresses: true,
      certificateNames: [/^\*\.(pphosted|ppe-hosted)\.com$/i, /\.(pphosted|ppe-hosted)\.com$/i],
      narrows: `${NARROW_GENERIC}; Proofpoint Protection Server (not Essentials) customers can have dedicated hosts whose names and addresses are theirs alone (unverified)`,
      source:
        `${ECHOSPOOFING}; Proofpoint Essentials lockdown guides list the shared ranges 67.231.144.0/20-style /24s and 148.163.128.0/19 for every ` +
        'customer (Vircom help "Locking Down O365 Connections", 2023) and *.ppe-hosted.com as the name to trust',
      confidence: 'community',
    },
  },
  {
    name: 'Cisco Secure Email',
    mx: /\.iphmx\.com$/i,
    spfIncludes: [/\.iphmx\.com$/i],
    source: `${CIPP}; ${PARSEDMARC}`,
    recorded: '2026-11',
    confidence: 'community',
    shared: {
      addresses: false,
      certificateNames: [/^\*\.iphmx\.com$/i],
      narrows: 'trust the addresses Cisco assigned to this tenant (the welcome e-mail lists them), not the *.iphmx.com name',
      source:
        'Cisco community, "Office 365 configuration for Cloud Email Security" (community.cisco.com/t5/security-knowledge-base/…/3189638): ' +
        'each customer is given its own assigned IP addresses; whether the *.iphmx.com certificate is shared between customers is not documented (unverified)',
      confidence: 'community',
    },
  },
  {
    name: 'Barracuda Email Security',
    mx: /\.barracudanetworks\.com$/i,
    spfIncludes: [/(^|\.)spf\.ess\.barracudanetworks\.com$/i],
    source: `${CIPP}; ${PARSEDMARC}`,
    recorded: '2026-11',
    confidence: 'community',
    shared: {
      addresses: true,
      certificateNames: [/^\*\.barracudanetworks\.com$/i, /\.ess\.barracudanetworks\.com$/i],
      narrows: NARROW_GENERIC,
      source:
        'Barracuda Campus, "Barracuda Email Security Service IP Ranges" (campus.barracuda.com/product/essentials/doc/78810332): one set of ' +
        'ranges per instance (AU, CA, DE, UK, US) for every customer of that instance, to be added to Office 365 whole',
      confidence: 'vendor-documented',
    },
  },
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

/** The vendor whose name is the profile's, or whose MX hosts or shared certificate names the profile carries. */
export function vendorForGateway(gateway: { name: string | null; mxHosts: readonly string[]; certificateName: string | null }): GatewayVendor | undefined {
  const byName = gateway.name ? GATEWAY_VENDORS.find((vendor) => vendor.name.toLowerCase() === gateway.name?.toLowerCase()) : undefined;
  if (byName) return byName;
  for (const host of gateway.mxHosts) {
    const vendor = vendorForMx(host);
    if (vendor) return vendor;
  }
  const certificate = gateway.certificateName;
  return certificate ? GATEWAY_VENDORS.find((vendor) => vendor.shared?.certificateNames.some((pattern) => pattern.test(certificate))) : undefined;
}

export function vendorForSpfInclude(domain: string): GatewayVendor | undefined {
  const name = domain.toLowerCase().replace(/\.$/, '');
  return GATEWAY_VENDORS.find((vendor) => vendor.spfIncludes.some((pattern) => pattern.test(name)));
}

/**
 * Public cloud zones in which every customer picks its own host name: a wildcard connector certificate name that spans
 * such a zone trusts any customer of the cloud who obtains a certificate for a name of their own in it (domain
 * validation proves control of the host, nothing more). `customerLabels`: how many labels a customer's own name adds
 * to `zone` (`<label>.<region>.cloudapp.azure.com` adds 2), so a wildcard at or above that depth is shared.
 */
export interface SharedHostingZone {
  name: string;
  zone: string;
  customerLabels: number;
  source: string;
  recorded: string;
  confidence: 'vendor-documented' | 'community' | 'unverified';
}

export const SHARED_HOSTING_ZONES: readonly SharedHostingZone[] = [
  {
    name: 'Microsoft Azure public IP DNS names',
    zone: 'cloudapp.azure.com',
    customerLabels: 2,
    source:
      'Microsoft Learn, "Create a fully qualified domain name for a VM in the Azure portal" (learn.microsoft.com/azure/virtual-machines/create-fqdn) ' +
      'and the Azure network API\'s PublicIPAddressDnsSettings.domainNameLabel: any customer names a public IP with a label of its choice, ' +
      'and its FQDN is that label in the regional zone <region>.cloudapp.azure.com',
    recorded: '2026-12',
    confidence: 'vendor-documented',
  },
];

/** Why a connector's certificate name is one other parties can present, or null when it is not known to be. */
export interface SharedCertificateName {
  /** Who else can present a certificate the name matches, in words. */
  who: string;
  /** What narrows the trust to this tenant's own sender. */
  narrows: string;
  source: string;
  confidence: 'vendor-documented' | 'community' | 'unverified';
}

const labelsOf = (name: string) => name.split('.').filter((label) => label !== '');

/**
 * Whether a TlsSenderCertificateName (as a connector holds it) matches certificates other parties can obtain: a
 * gateway vendor's name shared by all its customers, a wildcard over a public cloud zone where every customer names its
 * own hosts, or a wildcard directly under a top-level domain.
 */
export function sharedCertificateName(certificateName: string): SharedCertificateName | null {
  const name = certificateName.trim().toLowerCase().replace(/\.$/, '');
  const vendor = GATEWAY_VENDORS.find((entry) => entry.shared?.certificateNames.some((pattern) => pattern.test(name)));
  if (vendor?.shared) {
    return { who: `every customer of ${vendor.name} (the vendor presents it for all of them)`, narrows: vendor.shared.narrows, source: vendor.shared.source, confidence: vendor.shared.confidence };
  }
  if (!name.startsWith('*.')) return null;
  const base = labelsOf(name.slice(2));
  if (base.length === 1) {
    return { who: `anyone who registers a domain under .${base[0]}`, narrows: 'name the gateway\'s own host or domain', source: 'the wildcard spans a whole top-level domain', confidence: 'vendor-documented' };
  }
  for (const zone of SHARED_HOSTING_ZONES) {
    const zoneLabels = labelsOf(zone.zone);
    const baseName = base.join('.');
    const spansZone = zone.zone === baseName || zone.zone.endsWith(`.${baseName}`);
    const insideShallow = baseName.endsWith(`.${zone.zone}`) && base.length - zoneLabels.length < zone.customerLabels;
    if (spansZone || insideShallow) {
      return {
        who: `any customer of ${zone.name} (${zone.zone}), who names hosts there and can obtain a certificate for them`,
        narrows: 'name the gateway\'s own host (a name in a domain the tenant or the gateway operator owns)',
        source: zone.source,
        confidence: zone.confidence,
      };
    }
  }
  return null;
}
