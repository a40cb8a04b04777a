/**
 * The snapshot schema: what eoplock reads from each cmdlet section, validated with zod after the quirks are undone
 * (see quirks.ts). Objects are loose: properties eoplock does not read are kept as they are.
 */
import { z } from 'zod';

const list = z.array(z.string());
const optionalList = list.nullish().transform((value) => value ?? []);
const optionalBool = (fallback: boolean) =>
  z
    .boolean()
    .nullish()
    .transform((value) => value ?? fallback);

export const MetaSchema = z.looseObject({
  eoplockSnapshot: z.literal(1, { error: 'Meta.eoplockSnapshot must be 1 (the only snapshot format version so far)' }),
  tenant: z.string().nullish(),
  initialDomain: z.string().nullish(),
  capturedAt: z.string().nullish(),
});

export const OrganizationConfigSchema = z.looseObject({
  Name: z.string().nullish(),
  Identity: z.string().nullish(),
  RejectDirectSend: optionalBool(false),
});

export const AcceptedDomainSchema = z.looseObject({
  DomainName: z.string().min(1),
  DomainType: z.enum(['Authoritative', 'InternalRelay', 'ExternalRelay']),
  Default: optionalBool(false),
  MatchSubDomains: optionalBool(false),
  InitialDomain: optionalBool(false),
  Name: z.string().nullish(),
});

export const InboundConnectorSchema = z.looseObject({
  Name: z.string().min(1),
  Enabled: optionalBool(true),
  ConnectorType: z.enum(['Partner', 'OnPremises']),
  SenderDomains: optionalList,
  SenderIPAddresses: optionalList,
  TlsSenderCertificateName: z.string().nullish().transform((value) => (value ? value : null)),
  RestrictDomainsToIPAddresses: optionalBool(false),
  RestrictDomainsToCertificate: optionalBool(false),
  RequireTls: optionalBool(false),
  AssociatedAcceptedDomains: optionalList,
  TrustedOrganizations: optionalList,
  TreatMessagesAsInternal: optionalBool(false),
  CloudServicesMailEnabled: optionalBool(false),
  EFSkipLastIP: optionalBool(false),
  EFSkipIPs: optionalList,
  EFUsers: optionalList,
});

export const TransportRuleSchema = z.looseObject({
  Name: z.string().min(1),
  Priority: z.number().int().min(0),
  State: z
    .enum(['Enabled', 'Disabled'])
    .nullish()
    .transform((value) => value ?? 'Enabled'),
  Mode: z
    .enum(['Enforce', 'Audit', 'AuditAndNotify'])
    .nullish()
    .transform((value) => value ?? 'Enforce'),
  StopRuleProcessing: optionalBool(false),
});

export const HostedConnectionFilterPolicySchema = z.looseObject({
  Name: z.string().nullish(),
  IPAllowList: optionalList,
  IPBlockList: optionalList,
});

const looseArray = z.array(z.looseObject({})).nullish().transform((value) => value ?? []);
const dnsValues = z
  .union([z.string(), z.array(z.string())])
  .nullish()
  .transform((value) => (value == null ? [] : Array.isArray(value) ? value : [value]));

export const DnsDomainSchema = z.looseObject({
  MX: dnsValues,
  TXT: dnsValues,
  DMARC: dnsValues,
  DKIM: z
    .union([z.string(), z.array(z.string()), z.record(z.string(), z.union([z.string(), z.array(z.string())]))])
    .nullish()
    .transform((value): Record<string, string[]> => {
      if (value == null) return {};
      if (typeof value === 'string') return { '*': [value] };
      if (Array.isArray(value)) return { '*': value };
      return Object.fromEntries(Object.entries(value).map(([selector, v]) => [selector, Array.isArray(v) ? v : [v]]));
    }),
});

export const SnapshotSchema = z.looseObject({
  Meta: MetaSchema,
  OrganizationConfig: z
    .array(OrganizationConfigSchema)
    .length(1, { error: 'OrganizationConfig must hold exactly one object (Get-OrganizationConfig returns one)' }),
  AcceptedDomain: z.array(AcceptedDomainSchema).min(1, { error: 'a tenant has at least one accepted domain' }),
  InboundConnector: z.array(InboundConnectorSchema).nullish().transform((value) => value ?? []),
  TransportRule: z.array(TransportRuleSchema).nullish().transform((value) => value ?? []),
  AntiPhishPolicy: looseArray,
  AntiPhishRule: looseArray,
  HostedContentFilterPolicy: looseArray,
  HostedContentFilterRule: looseArray,
  HostedConnectionFilterPolicy: z
    .array(HostedConnectionFilterPolicySchema)
    .nullish()
    .transform((value) => value ?? []),
  DkimSigningConfig: looseArray,
  Dns: z
    .record(z.string(), DnsDomainSchema)
    .nullish()
    .transform((value) => value ?? {}),
});

export type SnapshotDocument = z.output<typeof SnapshotSchema>;
export type AcceptedDomain = z.output<typeof AcceptedDomainSchema>;
export type InboundConnector = z.output<typeof InboundConnectorSchema>;
export type TransportRule = z.output<typeof TransportRuleSchema>;
export type OrganizationConfig = z.output<typeof OrganizationConfigSchema>;
export type DnsDomain = z.output<typeof DnsDomainSchema>;
