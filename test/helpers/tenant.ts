/**
 * Builds snapshots for tests from small overrides, through the real parser (so quirks and defaults apply).
 */
import { parseSnapshot, type Snapshot } from '../../src/snapshot/parse.js';

export const SEG_IPS = ['203.0.113.10', '203.0.113.11', '198.51.100.0/28'];
export const SEG_CERT = { subject: 'CN=mx1.seg.example.net', san: ['mx1.seg.example.net'] };

export function acceptedDomains() {
  return [
    { DomainName: 'contoso.com', DomainType: 'Authoritative', Default: true, MatchSubDomains: false },
    { DomainName: 'contoso.co.uk', DomainType: 'Authoritative', Default: false, MatchSubDomains: true },
    { DomainName: 'contosolabs.com', DomainType: 'InternalRelay', Default: false, MatchSubDomains: false },
    { DomainName: 'partner-relay.example', DomainType: 'ExternalRelay', Default: false, MatchSubDomains: false },
    { DomainName: 'contoso.onmicrosoft.com', DomainType: 'Authoritative', InitialDomain: true },
  ];
}

export function partnerConnector(overrides: Record<string, unknown> = {}) {
  return {
    Name: 'From SEG',
    Enabled: true,
    ConnectorType: 'Partner',
    SenderDomains: ['smtp:*;1'],
    SenderIPAddresses: SEG_IPS,
    TlsSenderCertificateName: null,
    RestrictDomainsToIPAddresses: false,
    RestrictDomainsToCertificate: false,
    RequireTls: false,
    ...overrides,
  };
}

export function onPremisesConnector(overrides: Record<string, unknown> = {}) {
  return {
    Name: 'Inbound from on-premises',
    Enabled: true,
    ConnectorType: 'OnPremises',
    SenderDomains: ['smtp:*;1'],
    SenderIPAddresses: [],
    TlsSenderCertificateName: 'mail.contoso.com',
    CloudServicesMailEnabled: true,
    ...overrides,
  };
}

export function rule(overrides: Record<string, unknown>) {
  return { Name: 'rule', Priority: 0, State: 'Enabled', Mode: 'Enforce', StopRuleProcessing: false, ...overrides };
}

export interface TenantOptions {
  rejectDirectSend?: boolean;
  connectors?: Record<string, unknown>[];
  rules?: Record<string, unknown>[];
  connectionFilter?: Record<string, unknown>;
}

export function tenant(options: TenantOptions = {}): Snapshot {
  return parseSnapshot({
    Meta: { eoplockSnapshot: 1, tenant: 'Contoso', initialDomain: 'contoso.onmicrosoft.com', capturedAt: '2026-11-20T09:00:00Z' },
    OrganizationConfig: { Name: 'contoso.onmicrosoft.com', RejectDirectSend: options.rejectDirectSend ?? false },
    AcceptedDomain: acceptedDomains(),
    InboundConnector: options.connectors ?? [],
    TransportRule: options.rules ?? [],
    HostedConnectionFilterPolicy: options.connectionFilter ? [{ Name: 'Default', ...options.connectionFilter }] : [],
  }).snapshot;
}
