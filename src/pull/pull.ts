/**
 * A tenant snapshot from the admin REST endpoint: the same read cmdlets, keys and Meta as
 * scripts/Export-EoplockSnapshot.ps1, so every command reads both.
 */
import { dnsSection, dnsSectionFailures, domainsToLookUp } from '../dns/dns-section.js';
import type { DnsResolver } from '../dns/resolver.js';
import { ExoApiError, type ExoClient } from './exo-client.js';

/** The export script's sections, in its order; the first four are required. */
export const SNAPSHOT_SECTIONS = [
  { cmdlet: 'Get-OrganizationConfig', key: 'OrganizationConfig', required: true },
  { cmdlet: 'Get-AcceptedDomain', key: 'AcceptedDomain', required: true },
  { cmdlet: 'Get-InboundConnector', key: 'InboundConnector', required: true },
  { cmdlet: 'Get-TransportRule', key: 'TransportRule', required: true },
  { cmdlet: 'Get-AntiPhishPolicy', key: 'AntiPhishPolicy', required: false },
  { cmdlet: 'Get-AntiPhishRule', key: 'AntiPhishRule', required: false },
  { cmdlet: 'Get-HostedContentFilterPolicy', key: 'HostedContentFilterPolicy', required: false },
  { cmdlet: 'Get-HostedContentFilterRule', key: 'HostedContentFilterRule', required: false },
  { cmdlet: 'Get-HostedConnectionFilterPolicy', key: 'HostedConnectionFilterPolicy', required: false },
  { cmdlet: 'Get-DkimSigningConfig', key: 'DkimSigningConfig', required: false },
  { cmdlet: 'Get-EOPProtectionPolicyRule', key: 'EOPProtectionPolicyRule', required: false },
  // Only in tenants with Microsoft Defender for Office 365; elsewhere the call fails and the key is left out.
  { cmdlet: 'Get-ATPProtectionPolicyRule', key: 'ATPProtectionPolicyRule', required: false },
] as const;

export interface PullOptions {
  /** DNS for the Dns section; null skips it (as -SkipDns). */
  resolver: DnsResolver | null;
  now?: Date;
  onStep?: (text: string) => void;
}

/** Pulls one tenant; throws ExoApiError when a required cmdlet fails. */
export async function pullSnapshot(client: ExoClient, options: PullOptions): Promise<Record<string, unknown>> {
  const warnings: string[] = [];
  const meta: Record<string, unknown> = {
    eoplockSnapshot: 1,
    tenant: null,
    initialDomain: null,
    capturedAt: (options.now ?? new Date()).toISOString(),
    exportedBy: 'eoplock pull (adminapi/beta InvokeCommand, unsupported by Microsoft)',
    warnings,
  };
  const snapshot: Record<string, unknown> = { Meta: meta };
  for (const section of SNAPSHOT_SECTIONS) {
    options.onStep?.(`Running ${section.cmdlet}`);
    try {
      const { rows, warnings: serviceWarnings } = await client.invoke(section.cmdlet);
      snapshot[section.key] = rows;
      for (const warning of serviceWarnings) warnings.push(`${section.cmdlet}: ${warning}`);
    } catch (error) {
      if (section.required || !(error instanceof ExoApiError) || error.status === 401) throw error;
      warnings.push(`${section.cmdlet} failed (${error.message}); "${section.key}" was left out.`);
    }
  }
  const organisation = (snapshot.OrganizationConfig as Record<string, unknown>[])[0];
  const accepted = snapshot.AcceptedDomain as Record<string, unknown>[];
  if (!organisation) throw new ExoApiError('Get-OrganizationConfig returned nothing; nothing was written', 'Get-OrganizationConfig', null);
  if (accepted.length === 0) throw new ExoApiError('Get-AcceptedDomain returned nothing; nothing was written', 'Get-AcceptedDomain', null);
  meta.tenant = String(organisation.DisplayName ?? organisation.Name ?? '') || null;
  const initial = accepted.find((domain) => String(domain.InitialDomain) === 'True' || domain.InitialDomain === true);
  if (initial) meta.initialDomain = String(initial.DomainName);
  else warnings.push('No accepted domain is marked InitialDomain; Meta.initialDomain is empty.');

  if (options.resolver) {
    options.onStep?.('Looking up DNS records');
    const names = [...new Set(domainsToLookUp(accepted.map((domain) => String(domain.DomainName ?? '').replace(/^\*\./, ''))).filter((name) => name !== '' && !name.endsWith('.onmicrosoft.us')))];
    const dns = await dnsSection(names, options.resolver);
    snapshot.Dns = dns;
    for (const failure of dnsSectionFailures(dns)) warnings.push(`DNS lookup of ${failure.domain} ${failure.record} failed: ${failure.reason}; recorded in Dns["${failure.domain}"].Failed.`);
  } else {
    warnings.push('DNS lookups were skipped (--skip-dns); the snapshot has no Dns key.');
  }
  return snapshot;
}
