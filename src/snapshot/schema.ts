/**
 * The snapshot schema: what eoplock reads from each cmdlet section, validated with zod after the quirks are undone
 * (see quirks.ts). Objects are loose: properties eoplock does not read are kept as they are.
 */
import * as z from 'zod';
import { hasControl, visible } from '../util/display.js';
import { isDomainName, isDomainPattern } from '../util/smtp-syntax.js';

const list = z.array(z.string());
const optionalList = list.nullish().transform((value) => value ?? []);
const optionalBool = (fallback: boolean) =>
  z
    .boolean()
    .nullish()
    .transform((value) => value ?? fallback);

/** A value for an error message: control characters made visible, cut to a readable length. */
const shown = (value: unknown) => {
  const text = visible(String(value));
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
};
/**
 * A domain as Exchange configuration holds one (RFC 5321 labels, see util/smtp-syntax.ts): `contoso.com`, a trailing
 * dot, `*.contoso.com`, and with `any` the bare `*` of SenderDomains. These names end up in DNS queries and in the
 * probe's SMTP command lines, so a control character or a line break in one is an error.
 */
const domainPattern = (options: { any?: boolean } = {}) =>
  z.string().refine((value) => isDomainPattern(value, options), {
    error: (issue) => `"${shown(issue.input)}" is not a domain name${options.any ? ', *.domain or *' : ' or *.domain'}`,
  });
/**
 * A `Dns` key: the domain whose records the entry holds, as the export script and `eoplock pull` write it (an accepted
 * domain's name). A domain name by the same rule as AcceptedDomain's (so IDN labels too), with a trailing dot allowed;
 * no wildcard and no address-space form, which are not names that DNS records belong to. Keys reach DNS lookups and
 * every report, so a control character, a space or an empty key is an error.
 */
const dnsDomainKey = z.string().refine((value) => isDomainName(value.endsWith('.') ? value.slice(0, -1) : value), {
  error: (issue) => `the key "${shown(issue.input)}" is not a domain name (a Dns key names the domain its records belong to)`,
});
/** A free-form value (a certificate name, an address) that must not hold control characters. */
const noControl = z.string().refine((value) => !hasControl(value) && !value.includes('\t'), {
  error: (issue) => `"${shown(issue.input)}" holds a control character`,
});

export const MetaSchema = z.looseObject({
  eoplockSnapshot: z.literal(1, { error: 'Meta.eoplockSnapshot must be 1 (the only snapshot format version so far)' }),
  tenant: z.string().nullish(),
  initialDomain: domainPattern().nullish(),
  capturedAt: z.string().nullish(),
});

export const OrganizationConfigSchema = z.looseObject({
  Name: z.string().nullish(),
  Identity: z.string().nullish(),
  RejectDirectSend: optionalBool(false),
});

export const AcceptedDomainSchema = z.looseObject({
  DomainName: domainPattern(),
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
  SenderDomains: optionalList.pipe(z.array(domainPattern({ any: true }))),
  SenderIPAddresses: optionalList,
  TlsSenderCertificateName: noControl.nullish().transform((value) => (value ? value : null)),
  RestrictDomainsToIPAddresses: optionalBool(false),
  RestrictDomainsToCertificate: optionalBool(false),
  RequireTls: optionalBool(false),
  AssociatedAcceptedDomains: optionalList.pipe(z.array(domainPattern())),
  TrustedOrganizations: optionalList.pipe(z.array(noControl)),
  TreatMessagesAsInternal: optionalBool(false),
  CloudServicesMailEnabled: optionalBool(false),
  EFSkipLastIP: optionalBool(false),
  EFSkipIPs: optionalList,
  EFUsers: optionalList.pipe(z.array(noControl)),
});

/**
 * Rule properties a plan may set on an existing rule, which its rollback restores exactly: text, lists of text,
 * true/false (null or absent: not set). Anything else in them is refused, so no rollback sets something else.
 */
const RULE_PROPERTIES_A_PLAN_SETS: Readonly<Record<string, z.ZodType>> = {
  SenderIpRanges: list.nullish(),
  ExceptIfSenderIpRanges: list.nullish(),
  HeaderContainsWords: list.nullish(),
  ExceptIfHeaderContainsWords: list.nullish(),
  ExceptIfHeaderContainsMessageHeader: z.string().nullish(),
  RejectMessageEnhancedStatusCode: z.string().nullish(),
  RejectMessageReasonText: z.string().nullish(),
  Quarantine: z.boolean().nullish(),
  FromScope: z.string().nullish(),
};

/** Checks the types of properties kept as they are (not in the shape, which would put them first in the output). */
function alsoOfType(properties: Readonly<Record<string, z.ZodType>>) {
  return (value: Record<string, unknown>, context: z.RefinementCtx) => {
    for (const [key, schema] of Object.entries(properties)) {
      const result = schema.safeParse(value[key]);
      if (result.success) continue;
      for (const issue of result.error.issues) {
        context.addIssue({ code: 'custom', message: issue.message, path: [key, ...issue.path], input: issue.input });
      }
    }
  };
}

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
}).superRefine(alsoOfType(RULE_PROPERTIES_A_PLAN_SETS));

export const HostedConnectionFilterPolicySchema = z.looseObject({
  Name: z.string().nullish(),
  IPAllowList: optionalList,
  IPBlockList: optionalList,
});

const looseArray = z.array(z.looseObject({})).nullish().transform((value) => value ?? []);

/**
 * A rule that says who a policy applies to: Get-AntiPhishRule, Get-HostedContentFilterRule, and the preset security
 * policies' Get-EOPProtectionPolicyRule and Get-ATPProtectionPolicyRule (src/eop/policy-scope.ts reads them). `State`
 * as the export writes it (Windows PowerShell 5.1's numbers are mapped by quirks.ts); absent means Enabled, the
 * cmdlets' default. The recipient conditions and exceptions are lists of text.
 */
export const PolicyRuleSchema = z
  .looseObject({
    Name: z.string().nullish(),
    State: z
      .enum(['Enabled', 'Disabled'])
      .nullish()
      .transform((value) => value ?? 'Enabled'),
    Priority: z.number().int().min(0).nullish(),
  })
  .superRefine(
    alsoOfType(
      Object.fromEntries(
        ['RecipientDomainIs', 'SentTo', 'SentToMemberOf'].flatMap((name) => [
          [name, z.array(noControl).nullish()],
          [`ExceptIf${name}`, z.array(noControl).nullish()],
        ]),
      ),
    ),
  );
/**
 * A rule section: null when the snapshot does not have it (the export could not read it), which is not the same as
 * an empty list (the tenant has no such rules): without the rules, who a policy applies to is unknown.
 */
const ruleSection = z
  .array(PolicyRuleSchema)
  .nullish()
  .transform((value) => value ?? null);
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

/**
 * A `Dns` entry without its `MX`, `TXT` or `DMARC` key: the export script leaves a list out when its lookup failed
 * ("It was left out of Dns", with a Meta.warnings line), so the absence is recorded in the entry's `Failed` map (what
 * `eoplock pull` writes for a failed lookup; src/dns/facts.ts reads it) instead of being taken for "no record".
 */
function noteAbsentDnsLists(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const entry = value as Record<string, unknown>;
  const absent = ['MX', 'TXT', 'DMARC'].filter((key) => entry[key] === undefined);
  if (absent.length === 0) return value;
  const failed = entry.Failed !== null && typeof entry.Failed === 'object' && !Array.isArray(entry.Failed) ? entry.Failed : {};
  const why = 'absent from the snapshot (the export leaves a record list out when its lookup failed; see Meta.warnings)';
  return { ...entry, Failed: { ...Object.fromEntries(absent.map((key) => [key, why])), ...failed } };
}

export const SnapshotSchema = z.looseObject({
  Meta: MetaSchema,
  OrganizationConfig: z
    .array(OrganizationConfigSchema)
    .length(1, { error: 'OrganizationConfig must hold exactly one object (Get-OrganizationConfig returns one)' }),
  AcceptedDomain: z.array(AcceptedDomainSchema).min(1, { error: 'a tenant has at least one accepted domain' }),
  InboundConnector: z.array(InboundConnectorSchema).nullish().transform((value) => value ?? []),
  TransportRule: z.array(TransportRuleSchema).nullish().transform((value) => value ?? []),
  AntiPhishPolicy: looseArray,
  AntiPhishRule: ruleSection,
  HostedContentFilterPolicy: looseArray,
  HostedContentFilterRule: ruleSection,
  EOPProtectionPolicyRule: ruleSection,
  ATPProtectionPolicyRule: ruleSection,
  HostedConnectionFilterPolicy: z
    .array(HostedConnectionFilterPolicySchema)
    .nullish()
    .transform((value) => value ?? []),
  DkimSigningConfig: looseArray,
  Dns: z
    .record(dnsDomainKey, z.preprocess(noteAbsentDnsLists, DnsDomainSchema))
    .nullish()
    .transform((value) => value ?? {}),
});

export type SnapshotDocument = z.output<typeof SnapshotSchema>;
export type AcceptedDomain = z.output<typeof AcceptedDomainSchema>;
export type InboundConnector = z.output<typeof InboundConnectorSchema>;
export type TransportRule = z.output<typeof TransportRuleSchema>;
export type OrganizationConfig = z.output<typeof OrganizationConfigSchema>;
export type DnsDomain = z.output<typeof DnsDomainSchema>;
export type PolicyRule = z.output<typeof PolicyRuleSchema>;
