/**
 * Snapshots whose names carry control characters, line breaks, table pipes and bidi overrides, for the tests that
 * check human-facing output (terminal text, PLAN.md) escapes them while JSON and SARIF keep them exact.
 */
import fc from 'fast-check';

/** A character visible() escapes: what must never reach human-facing output raw. */
// eslint-disable-next-line no-control-regex
export const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/;
/** The same, LF included: for text that must stay on one line. */
// eslint-disable-next-line no-control-regex
export const RAW_CONTROL_OR_LF = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/;

export const FORGED_CONNECTOR = 'From SEG\r\n# forged heading | x |\u001b]0;pwned\u0007\u2028';
export const FORGED_RULE = 'Block outside\r\n# forged rule | x | y |\u0000\u202e';
export const FORGED_TENANT = 'Contoso\r\n# forged tenant\u001b[2J\u2028';

/** A small tenant: one gateway Partner connector (by IP), one FromScope NotInOrganization rule. */
export function hostileSnapshot(names: { connector?: string; rule?: string; tenant?: string } = {}): Record<string, unknown> {
  return {
    Meta: { eoplockSnapshot: 1, tenant: names.tenant ?? FORGED_TENANT, initialDomain: 'contoso.onmicrosoft.com', capturedAt: '2026-11-20T09:00:00Z' },
    OrganizationConfig: { Name: 'contoso.onmicrosoft.com', RejectDirectSend: false },
    AcceptedDomain: [
      { DomainName: 'contoso.com', DomainType: 'Authoritative', Default: true },
      { DomainName: 'contoso.onmicrosoft.com', DomainType: 'Authoritative', InitialDomain: true },
    ],
    InboundConnector: [
      {
        Name: names.connector ?? FORGED_CONNECTOR,
        Enabled: true,
        ConnectorType: 'Partner',
        SenderDomains: ['smtp:*;1'],
        SenderIPAddresses: ['203.0.113.10'],
        TlsSenderCertificateName: null,
        RestrictDomainsToIPAddresses: false,
        RestrictDomainsToCertificate: false,
        RequireTls: false,
      },
    ],
    TransportRule: [
      {
        Name: names.rule ?? FORGED_RULE,
        Priority: 0,
        State: 'Enabled',
        Mode: 'Enforce',
        FromScope: 'NotInOrganization',
        RejectMessageReasonText: 'Refused\r\nforged reply',
        RejectMessageEnhancedStatusCode: '5.7.1',
        StopRuleProcessing: false,
      },
    ],
    Dns: {
      'contoso.com': {
        MX: ['10 mx1.seg\u001b]0;pwned\u0007.example.net'],
        TXT: ['v=spf1 ip4:203.0.113.10\r\n# forged spf -all'],
        DMARC: ['v=DMARC1; p=none\u2028; rua=mailto:dmarc@contoso.com'],
        DKIM: { selector1: 'selector1\u0000._domainkey.contoso.onmicrosoft.com' },
      },
    },
  };
}

/** Names mixing ordinary text with control, separator, pipe, backtick and bidi characters. */
export const hostileName = fc
  .string({
    unit: fc.oneof(
      fc.constantFrom('a', 'Z', ' ', '|', '`', '\\', '#', '*', '\t', 'é', '😀', '\r\n'),
      fc.integer({ min: 0, max: 0x1f }).map((code) => String.fromCharCode(code)),
      fc.integer({ min: 0x7f, max: 0x9f }).map((code) => String.fromCharCode(code)),
      fc.constantFrom('\u2028', '\u2029', '\u202a', '\u202e', '\u2066', '\u2069', '\u200e', '\u200f', '\u061c', '\u001b[31m', '\u001b]0;t\u0007'),
    ),
    minLength: 1,
    maxLength: 24,
  })
  // A visible first character: a name is never blank, and trimming cannot change which object it names.
  .map((tail) => `N${tail}`);
