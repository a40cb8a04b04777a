/**
 * The guide's verification tests, generated from a snapshot, with the reply the emulator expects for each — assuming
 * the probe connects from an address that no connector lists. Pure.
 */
import { normaliseDomain } from '../eop/addresses.js';
import type { Assumptions } from '../eop/assumptions.js';
import { decide } from '../eop/decide.js';
import type { Snapshot } from '../snapshot/parse.js';

export interface TenantProbe {
  id: string;
  name: string;
  from: string;
  to: string;
  /** `5.7.68`, `5.7.51`, … or `accept`. */
  expect: string;
  why: string;
}

/** A documentation address standing for "the machine the probe runs on": anonymous to the tenant. */
const PROBE_CLIENT = '198.51.100.254';

export function tenantProbes(snapshot: Snapshot, options: { to?: string; assumptions: Assumptions }): TenantProbe[] {
  // a wildcard accepted domain (`*.contoso.com`) names no address to send to
  const domains = snapshot.AcceptedDomain.filter((domain) => domain.DomainType !== 'ExternalRelay' && !domain.DomainName.trim().startsWith('*'));
  const primary = normaliseDomain(
    (domains.find((domain) => domain.Default) ?? domains.find((domain) => !/\.onmicrosoft\.com$/i.test(domain.DomainName)) ?? domains[0])?.DomainName ?? 'contoso.com',
  );
  const to = options.to ?? `postmaster@${primary}`;
  const cases = [
    { id: 'own-domain-p1', name: 'Guide test 1: Direct Send as an internal sender', from: `eoplock-probe@${primary}` },
    { id: 'foreign-p1', name: 'Guide test 2: a foreign sender bypassing the gateway', from: 'eoplock-probe@probe.eoplock.example' },
    { id: 'null-sender', name: 'The null sender (bounces) bypassing the gateway', from: '' },
  ];
  return cases.map((entry) => {
    const verdict = decide(snapshot, { clientIp: PROBE_CLIENT, helo: 'eoplock-probe', mailFrom: entry.from, rcptTo: [to] }, { assumptions: options.assumptions });
    const expect = verdict.action === 'reject' && verdict.stage === 'rcpt' ? verdict.enhanced : 'accept';
    const why =
      expect === 'accept'
        ? 'the emulator accepts this envelope for this configuration (an exposure, unless the gateway is meant to be bypassed)'
        : `the emulator refuses it at RCPT: ${verdict.code} ${verdict.enhanced} ${verdict.text.split(';')[0]}`;
    return { ...entry, to, expect, why };
  });
}
