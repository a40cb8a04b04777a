/**
 * The bench tenant: 50 inbound connectors, 300 transport rules, 20 accepted domains, RejectDirectSend on — the
 * generator of bench/decide.ts (same seed, same draws, so the same tenant), for the benchmarks that need it
 * (bench/prove.ts). `rnd` continues the sequence after the tenant, as bench/decide.ts does for its transactions.
 */
import { parseSnapshot, type Snapshot } from '../src/snapshot/parse.js';

/** A deterministic pseudo-random sequence (mulberry32), so every run measures the same tenant. */
export function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface BenchTenant {
  snapshot: Snapshot;
  domains: { DomainName: string; DomainType: string }[];
  connectors: Record<string, unknown>[];
  rules: Record<string, unknown>[];
  /** The random sequence, past the draws the tenant used. */
  rnd: () => number;
}

export function benchTenant(seed = 20261127): BenchTenant {
  const rnd = random(seed);
  const octet = () => Math.floor(rnd() * 256);
  const domains = Array.from({ length: 20 }, (_, i) => ({ DomainName: `brand${i}.example`, DomainType: i % 5 === 4 ? 'InternalRelay' : 'Authoritative' }));
  const connectors: Record<string, unknown>[] = Array.from({ length: 50 }, (_, i) => {
    if (i === 0) return { Name: 'SEG (certificate)', ConnectorType: 'Partner', SenderDomains: ['smtp:*;1'], TlsSenderCertificateName: '*.seg.example.net', RestrictDomainsToCertificate: true, RequireTls: true };
    if (i === 1) return { Name: 'Hybrid', ConnectorType: 'OnPremises', SenderDomains: ['smtp:*;1'], TlsSenderCertificateName: 'mail.brand0.example' };
    return {
      Name: `Partner ${i}`,
      ConnectorType: 'Partner',
      SenderDomains: [i % 3 === 0 ? 'smtp:*;1' : `smtp:partner${i}.example;1`],
      SenderIPAddresses: Array.from({ length: 1 + (i % 4) }, (_, k) => (k % 2 ? `${10 + i}.${octet()}.${octet()}.0/24` : `${10 + i}.${octet()}.${octet()}.${octet()}`)),
      RestrictDomainsToIPAddresses: i % 7 === 0,
    };
  });
  const ruleKinds = [
    (i: number) => ({ SenderIpRanges: [`${100 + (i % 50)}.0.0.0/16`, `${100 + (i % 50)}.1.0.1-${100 + (i % 50)}.1.0.200`], SetSCL: -1 }),
    (i: number) => ({ SenderDomainIs: [`newsletter${i}.example`], Quarantine: true }),
    (i: number) => ({ HeaderContainsMessageHeader: 'X-Campaign', HeaderContainsWords: [`campaign-${i}`], SetSCL: 6 }),
    (i: number) => ({ HeaderMatchesMessageHeader: 'Subject', HeaderMatchesPatterns: [`^\\[ticket-${i}\\]`], SetSCL: 1 }),
    (i: number) => ({ FromScope: 'NotInOrganization', RecipientDomainIs: [`brand${i % 20}.example`], ExceptIfSenderIpRanges: ['203.0.113.0/24'], ApplyHtmlDisclaimerText: 'External' }),
    (i: number) => ({ From: [`vip${i}@brand0.example`], ExceptIfHeaderContainsMessageHeader: 'X-MS-Exchange-Organization-AuthAs', ExceptIfHeaderContainsWords: ['Internal'], Quarantine: true }),
  ];
  const rules: Record<string, unknown>[] = Array.from({ length: 300 }, (_, i) => ({
    Name: `Rule ${i}`,
    Priority: i,
    State: i % 11 === 0 ? 'Disabled' : 'Enabled',
    Mode: i % 13 === 0 ? 'Audit' : 'Enforce',
    ...(ruleKinds[i % ruleKinds.length] as (i: number) => Record<string, unknown>)(i),
  }));
  const { snapshot } = parseSnapshot({
    Meta: { eoplockSnapshot: 1, tenant: 'Bench' },
    OrganizationConfig: { RejectDirectSend: true },
    AcceptedDomain: domains,
    InboundConnector: connectors,
    TransportRule: rules,
  });
  return { snapshot, domains, connectors, rules, rnd };
}
