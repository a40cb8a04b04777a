/**
 * The audit's checks, as data: stable id, title, severity, why, how to fix, sources and control mappings.
 * The logic of each lives in checks/*.ts under the same id. Each control mapping was judged against the control's own
 * text and says how it relates (model.ts ControlRelation): CISA SCuBA from the ScubaGear baselines (exo.md,
 * securitysuite.md), ORCA from its check scripts (cammurray/orca Checks/), CIS Microsoft 365 Foundations from the
 * audit items that quote it (the benchmark itself is licensed), Maester and CIPP from their test definitions.
 */
import type { CheckMeta } from './model.js';

export const CATALOGUE: readonly CheckMeta[] = [
  {
    id: 'EOPL-001',
    title: 'RejectDirectSend is on',
    severity: 'high',
    why:
      'With RejectDirectSend off, anyone on the internet can connect to the tenant\'s EOP endpoint and send as any address in ' +
      'an accepted domain (Direct Send). With it on, anonymous mail whose envelope (P1) sender is an accepted domain and that ' +
      'matches no connector by IP or certificate is refused with 550 5.7.68. It does not check the From header.',
    fix: 'Give every legitimate Direct Send source (scanners, applications) a Partner connector by IP or certificate first, then:\n  Set-OrganizationConfig -RejectDirectSend $true',
    sources: ['S1', 'S2', 'S3'],
    controls: [
      { framework: 'CIS', id: '6.5.5', relation: 'exact' },
      { framework: 'Maester', id: 'MT.1062', relation: 'exact' },
      { framework: 'CIPP', id: 'EXODirectSend', relation: 'exact' },
      { framework: 'ORCA', id: 'ORCA-249', relation: 'proposed', why: 'added in cammurray/orca PR #341, not in a release; informational there, not a failure' },
    ],
  },
  {
    id: 'EOPL-002',
    title: 'An enabled Partner connector for the gateway exists',
    severity: 'high',
    why:
      'Behind a gateway, EOP can only tell gateway mail from direct mail through an inbound connector that identifies the gateway ' +
      'by IP address or certificate. Without one, every message is anonymous to EOP.',
    fix:
      'New-InboundConnector -Name \'From Secure Email Gateway\' -ConnectorType Partner -SenderDomains \'*\' ' +
      "-TlsSenderCertificateName '<gateway certificate name>' -RestrictDomainsToCertificate $true -RequireTls $true",
    sources: ['S9', 'S3'],
    controls: [],
  },
  {
    id: 'EOPL-003',
    title: 'The gateway connector is of type Partner',
    severity: 'high',
    why:
      'RestrictDomainsToIPAddresses, RestrictDomainsToCertificate and RequireTls are enforced only on Partner connectors. On an ' +
      'OnPremises connector they do nothing, so a lockdown built on one stops nothing.',
    fix: 'Create a separate Partner connector for the gateway (an OnPremises connector for hybrid mail may stay beside it).',
    sources: ['S7', 'S9'],
    controls: [],
  },
  {
    id: 'EOPL-004',
    title: 'The gateway connector covers every sender domain (SenderDomains *)',
    severity: 'high',
    why:
      'A restricting connector applies to the sender domains it lists. Only SenderDomains * makes the restriction cover mail ' +
      'from every domain, including spoofs of your own.',
    fix: "Set-InboundConnector -Identity '<gateway connector>' -SenderDomains '*'",
    sources: ['S7', 'S9', 'S3'],
    controls: [],
  },
  {
    id: 'EOPL-005',
    title: 'The gateway connector restricts mail to the gateway\'s IPs or certificate',
    severity: 'high',
    why:
      'RestrictDomainsToIPAddresses or RestrictDomainsToCertificate makes EOP refuse mail for your domains that does not come from ' +
      'the gateway (550 5.7.51), whatever the sender domain. RejectDirectSend alone leaves spoofs with a foreign envelope sender, ' +
      'the null sender and plain outside mail open.',
    fix: "Set-InboundConnector -Identity '<gateway connector>' -RestrictDomainsToCertificate $true   # or -RestrictDomainsToIPAddresses $true",
    sources: ['S9', 'S10', 'S3'],
    controls: [],
  },
  {
    id: 'EOPL-006',
    title: 'Partner connector SenderIPAddresses are valid (IPv4, /24 to /32, no ranges)',
    severity: 'medium',
    why:
      'SenderIPAddresses on inbound connectors takes single IPv4 addresses or CIDR blocks from /24 to /32 only. IPv6 is not ' +
      'supported and a-b ranges are not valid; such entries match nothing.',
    fix: 'List the gateway\'s addresses as /24–/32 IPv4 blocks; for IPv6 or very wide ranges, identify the gateway by certificate instead.',
    sources: ['S7'],
    controls: [],
  },
  {
    id: 'EOPL-007',
    title: 'The gateway connector covers every gateway address',
    severity: 'high',
    why:
      'Gateway addresses missing from SenderIPAddresses are refused with 5.7.51 once the connector restricts by IP, and are ' +
      'anonymous to EOP before that: legitimate mail from them breaks or is treated as Direct Send.',
    fix: "Set-InboundConnector -Identity '<gateway connector>' -SenderIPAddresses @{Add='<missing address>'}",
    sources: ['S7', 'S9'],
    controls: [],
  },
  {
    id: 'EOPL-008',
    title: 'The gateway connector lists no address outside the gateway\'s',
    severity: 'medium',
    why:
      'Every address on a restricting connector can deliver mail for your domains without passing the gateway. Addresses that ' +
      'are not the gateway\'s widen the door the connector is meant to close.',
    fix: "Set-InboundConnector -Identity '<gateway connector>' -SenderIPAddresses @{Remove='<address>'}",
    sources: ['S7', 'S9'],
    controls: [],
  },
  {
    id: 'EOPL-009',
    title: 'IP addresses and a certificate are not mixed on one Partner connector',
    severity: 'medium',
    why:
      'The Exchange product group advises against configuring IPs and a certificate on the same Partner connector; use separate ' +
      'connectors so that each identifies its sender one way.',
    fix: 'Split the connector: one restricted by certificate, another (if needed) restricted by IP.',
    sources: ['S11'],
    controls: [],
  },
  {
    id: 'EOPL-010',
    title: 'The gateway connector requires TLS',
    severity: 'medium',
    why: 'RequireTls on a Partner connector refuses gateway mail sent in plain text; gateways always support TLS to EOP.',
    fix: "Set-InboundConnector -Identity '<gateway connector>' -RequireTls $true",
    sources: ['S7'],
    controls: [],
  },
  {
    id: 'EOPL-011',
    title: 'TlsSenderCertificateName matches the gateway\'s certificate',
    severity: 'high',
    why:
      'A certificate-restricted connector accepts only mail whose TLS certificate carries this name. A name that is not the ' +
      'gateway\'s refuses the gateway\'s mail (5.7.51); a broader wildcard admits other hosts.',
    fix: "Set-InboundConnector -Identity '<gateway connector>' -TlsSenderCertificateName '<gateway certificate name>'",
    sources: ['S7', 'S10'],
    controls: [],
  },
  {
    id: 'EOPL-038',
    title: 'No connector trusts a certificate name other parties can obtain',
    severity: 'high',
    why:
      'A connector that identifies its sender by TlsSenderCertificateName accepts whoever presents a certificate the name ' +
      'matches, and a wildcard matches every name below it. A name a gateway vendor presents for all its customers, or a ' +
      'wildcard over a public cloud zone where every customer names its own hosts (such as *.cloudapp.azure.com), is ' +
      'presented by other parties too: their mail passes the connector\'s restriction as if it came from this tenant\'s ' +
      'gateway. Microsoft warns against connectors that identify senders by what other tenants share. The evidence says who ' +
      'else can present the name, and the source.',
    fix: "Set-InboundConnector -Identity '<connector>' -TlsSenderCertificateName '<a name only your gateway presents>'   # or a tenant-specific certificate or addresses, where the vendor offers them",
    sources: ['S7', 'S12', 'S9'],
    controls: [],
  },
  {
    id: 'EOPL-012',
    title: 'No Partner connector identifies senders by domain only',
    severity: 'low',
    why:
      'A Partner connector without IP addresses or a certificate does not exempt anything from RejectDirectSend (only IP or ' +
      'certificate matches count) and is overridden by a restricting connector. It gives a false sense of an allow-list.',
    fix: 'Give the connector the sender\'s IP addresses or certificate name, or remove it.',
    sources: ['S1', 'S11'],
    controls: [],
  },
  {
    id: 'EOPL-013',
    title: 'A safety-net transport rule exists',
    severity: 'medium',
    why:
      'A rule that quarantines or rejects mail not arriving from the gateway (or from on-premises, AuthAs Internal) is the second ' +
      'layer Microsoft recommends: it still acts if the connector is loosened by mistake. A rule counts when it applies to all ' +
      'mail (or selects it only by sender address, sender scope or recipient) and excepts the gateway by its addresses ' +
      '(ExceptIfSenderIpRanges), by EOP\'s X-MS-Exchange-Organization-AuthAs stamp, or by a header the gateway stamps; ' +
      'EOPL-035 to EOPL-037 judge those exceptions and the rule\'s scope.',
    fix:
      'Microsoft\'s form (fact base §4.3) quarantines, and so does eoplock\'s plan by default:\n' +
      "  New-TransportRule -Name 'Quarantine mail not from the gateway' -Priority 0 -Quarantine $true -StopRuleProcessing $true " +
      "-ExceptIfSenderIpRanges <gateway IPs> -ExceptIfHeaderContainsMessageHeader 'X-MS-Exchange-Organization-AuthAs' " +
      "-ExceptIfHeaderContainsWords 'Internal'\n" +
      'To reject instead (eoplock plan --safety-net reject), replace -Quarantine $true with ' +
      "-RejectMessageEnhancedStatusCode '5.7.1' -RejectMessageReasonText '<why, and whom to contact>'.",
    sources: ['S3', 'S18'],
    controls: [],
  },
  {
    id: 'EOPL-014',
    title: 'The safety-net rule is enabled and in Enforce mode',
    severity: 'medium',
    why: 'A disabled rule, or one in Audit or AuditAndNotify mode, only logs: it protects nothing.',
    fix: "Enable-TransportRule -Identity '<rule>'; Set-TransportRule -Identity '<rule>' -Mode Enforce",
    sources: ['S18', 'S22'],
    controls: [],
  },
  {
    id: 'EOPL-015',
    title: 'The safety-net rule runs before any rule that sets SCL -1 or stops processing',
    severity: 'medium',
    why: 'Rules run in priority order; an earlier rule with StopRuleProcessing (often an SCL -1 allow rule) ends evaluation before the safety net runs.',
    fix: "Set-TransportRule -Identity '<safety-net rule>' -Priority 0",
    sources: ['S18', 'S20'],
    controls: [],
  },
  {
    id: 'EOPL-016',
    title: 'The safety-net rule excepts every gateway address',
    severity: 'high',
    why:
      'Gateway addresses missing from ExceptIfSenderIpRanges have their legitimate mail quarantined or rejected by the rule. ' +
      'Addresses outside the rule\'s own SenderIpRanges condition are never blocked by it and need no exception (EOPL-037 ' +
      'says which senders the condition leaves out); a rule that lets the gateway through by a header it stamps passes here ' +
      'and is judged by EOPL-035.',
    fix: "Set-TransportRule -Identity '<safety-net rule>' -ExceptIfSenderIpRanges <every gateway address>",
    sources: ['S18', 'S3'],
    controls: [],
  },
  {
    id: 'EOPL-017',
    title: 'The safety-net rule does not rely on FromScope NotInOrganization',
    severity: 'medium',
    why:
      'FromScope NotInOrganization matches senders outside the accepted domains. An anonymous spoof of your own domain is neither ' +
      'InOrganization (that needs an authenticated connection) nor NotInOrganization, so the rule lets exactly the CEO-spoof ' +
      'through. Microsoft\'s version applies to all messages and excepts the gateway IPs and AuthAs Internal.',
    fix: "Set-TransportRule -Identity '<safety-net rule>' -FromScope $null   # apply to all messages; keep the IP and AuthAs exceptions",
    sources: ['S18', 'S21', 'S3'],
    controls: [],
  },
  {
    id: 'EOPL-035',
    title: 'The safety-net rule has no exception an outside sender can meet',
    severity: 'high',
    why:
      'EOP keeps the headers a sender writes. Its header firewall removes only the X-MS-Exchange-Organization-* headers from ' +
      'mail not authenticated as internal, and it stamps X-MS-Exchange-Organization-AuthAs itself (Anonymous on mail sent ' +
      'straight to it). An exception on any other header — a gateway\'s "X-Gateway-Scanned: yes" — is met by every attacker ' +
      'who adds that header, so the safety net lets exactly the mail it exists for through; so does an AuthAs exception ' +
      'that accepts Anonymous. The evidence gives the header and the value an attacker would add.',
    fix:
      'Except the gateway by its addresses, never by a header it stamps, and on-premises by EOP\'s AuthAs stamp; the ' +
      'header exception the finding names is replaced:\n' +
      "  Set-TransportRule -Identity '<safety-net rule>' -ExceptIfSenderIpRanges <gateway IPs> " +
      "-ExceptIfHeaderContainsMessageHeader 'X-MS-Exchange-Organization-AuthAs' -ExceptIfHeaderContainsWords 'Internal'\n" +
      "  # and, when the gateway's header was in ExceptIfHeaderMatchesMessageHeader: -ExceptIfHeaderMatchesMessageHeader $null -ExceptIfHeaderMatchesPatterns $null",
    sources: ['S33', 'S3', 'S18'],
    controls: [],
  },
  {
    id: 'EOPL-036',
    title: 'The safety-net rule excepts no addresses beyond the gateway\'s',
    severity: 'medium',
    why:
      'Every address in ExceptIfSenderIpRanges skips the safety net. A range wider than the gateway (a /24 around a /28, a ' +
      'cloud provider\'s shared pool) lets every other host in it send straight to EOP past the rule. Addresses of the ' +
      'tenant\'s own connectors (scanners, hybrid servers) are known senders and are not counted; the evidence lists the ' +
      'rest, as CIDR blocks.',
    fix: "Set-TransportRule -Identity '<safety-net rule>' -ExceptIfSenderIpRanges <the gateway's addresses and the known senders' only>",
    sources: ['S18', 'S3'],
    controls: [],
  },
  {
    id: 'EOPL-037',
    title: 'The safety-net rule applies to every sender, IPv6 included',
    severity: 'medium',
    why:
      'A SenderIpRanges condition limits the rule to the listed senders. A rule scoped to IPv4 (0.0.0.0/0, ' +
      '0.0.0.0-255.255.255.255) never applies to mail that reaches EOP over IPv6, so IPv6 senders are not covered at all — ' +
      'whatever its exceptions list. Microsoft\'s rule applies to all messages.',
    fix: "Set-TransportRule -Identity '<safety-net rule>' -SenderIpRanges $null   # apply to all messages; keep the exceptions",
    sources: ['S18', 'S3'],
    controls: [],
  },
  {
    id: 'EOPL-018',
    title: 'No transport rule bypasses spam filtering (SetSCL -1)',
    severity: 'medium',
    why:
      'SCL -1 makes EOP skip spam filtering for whatever the rule matches, and overrides spam, bulk and phishing verdicts (not ' +
      'malware or high-confidence phishing); spoofs that reach EOP inherit the bypass. With Enhanced Filtering on the gateway ' +
      'connector, Microsoft says to disable SCL -1 bypass rules.',
    fix: "Disable-TransportRule -Identity '<rule>'   # and use Enhanced Filtering for the gateway instead",
    sources: ['S18', 'S23', 'S29', 'S32'],
    controls: [
      { framework: 'CIS', id: '6.2.2', relation: 'partial', why: 'CIS: no rule allow-lists specific sender domains; EOPL-018 fails every enabled rule that sets SCL -1' },
      { framework: 'ORCA', id: 'ORCA-118-2', relation: 'partial', why: 'ORCA flags SCL -1 rules keyed on sender domains or IP ranges without an Authentication-Results condition; EOPL-018 flags every one' },
      { framework: 'ORCA', id: 'ORCA-118-4', relation: 'partial', why: 'ORCA flags SCL -1 rules for your own domains only' },
      { framework: 'Maester', id: 'MT.1043', relation: 'exact' },
    ],
  },
  {
    id: 'EOPL-019',
    title: 'Anti-spam policies allow no senders or sender domains',
    severity: 'medium',
    why: 'AllowedSenders and AllowedSenderDomains skip spam filtering (SFV:SKA) for addresses that are trivially spoofed.',
    fix: "Set-HostedContentFilterPolicy -Identity '<policy>' -AllowedSenders $null -AllowedSenderDomains $null",
    sources: ['S28', 'S29'],
    controls: [
      { framework: 'CIS', id: '2.1.14', relation: 'partial', why: 'CIS: no allowed sender domains; EOPL-019 also fails allowed senders' },
      { framework: 'ORCA', id: 'ORCA-109', relation: 'partial', why: 'allowed senders only; EOPL-019 also fails allowed domains' },
      { framework: 'ORCA', id: 'ORCA-118-1', relation: 'partial', why: 'allowed domains only; EOPL-019 also fails allowed senders' },
      { framework: 'ORCA', id: 'ORCA-118-3', relation: 'partial', why: 'your own domains as allowed domains only' },
      { framework: 'SCuBA', id: 'MS.SECURITYSUITE.6.2v1', relation: 'partial', why: 'no allowed domains; the baseline says allowed senders MAY be added, EOPL-019 fails them too' },
    ],
  },
  {
    id: 'EOPL-020',
    title: 'The connection filter IP Allow List is empty',
    severity: 'medium',
    why: 'Addresses on the IP Allow List skip spam filtering for everything they send.',
    fix: "Set-HostedConnectionFilterPolicy -Identity Default -IPAllowList @{}",
    sources: ['S30'],
    controls: [
      { framework: 'CIS', id: '2.1.12', relation: 'exact' },
      { framework: 'ORCA', id: 'ORCA-114', relation: 'exact' },
      { framework: 'SCuBA', id: 'MS.SECURITYSUITE.8.1v1', relation: 'exact' },
    ],
  },
  {
    id: 'EOPL-021',
    title: 'The connection filter safe list is off',
    severity: 'low',
    why: 'EnableSafeList adds a Microsoft-managed list of senders that skip spam filtering.',
    fix: 'Set-HostedConnectionFilterPolicy -Identity Default -EnableSafeList $false',
    sources: ['S30'],
    controls: [
      { framework: 'CIS', id: '2.1.13', relation: 'exact' },
      { framework: 'SCuBA', id: 'MS.SECURITYSUITE.8.2v1', relation: 'exact' },
    ],
  },
  {
    id: 'EOPL-022',
    title: 'Enhanced Filtering skip-lists the gateway on its connector',
    severity: 'high',
    why:
      'With the MX at a gateway, EOP sees the gateway as the sender, so SPF, DKIM and DMARC are judged implicitly. Enhanced ' +
      'Filtering (EFSkipIPs = the gateway\'s addresses, or EFSkipLastIP) recovers the real source. Without it, Honor DMARC policy ' +
      'is not applied at all: spoofs that fail DMARC p=reject are still delivered.',
    fix: "Set-InboundConnector -Identity '<gateway connector>' -EFSkipIPs <gateway addresses> -EFSkipLastIP $false",
    sources: ['S23', 'S26', 'S38'],
    controls: [
      { framework: 'ORCA', id: 'ORCA-233', relation: 'partial', why: 'ORCA passes any skip listing on the SenderDomains * connectors; EOPL-022 asks for the gateway\'s addresses (or the last hop) on the gateway connector' },
      { framework: 'ORCA', id: 'ORCA-233_1', relation: 'partial', why: 'ORCA-233_1 also fails test mode and EFUsers scoping (EOPL-023)' },
    ],
  },
  {
    id: 'EOPL-023',
    title: 'Enhanced Filtering applies to every recipient (no EFUsers)',
    severity: 'medium',
    why: 'With EFUsers set, Enhanced Filtering applies only when every recipient of a message is listed; all other mail is judged as if it were off.',
    fix: "Set-InboundConnector -Identity '<gateway connector>' -EFUsers $null",
    sources: ['S23'],
    controls: [{ framework: 'ORCA', id: 'ORCA-233_1', relation: 'partial', why: 'ORCA-233_1 also fails connectors with Enhanced Filtering off or in test mode (EOPL-022)' }],
  },
  {
    id: 'EOPL-024',
    title: 'Anti-phishing spoof intelligence is on',
    severity: 'medium',
    why: 'Spoof intelligence gives implicit spoof protection for senders without (or with weak) SPF, DKIM and DMARC. Judged for the policies that apply to the recipients of each accepted domain (Strict, then Standard preset, custom policies by rule priority, the default last); Microsoft\'s preset policies keep Microsoft\'s values and are not judged, and a policy no recipient reaches is named, not failed.',
    fix: "Set-AntiPhishPolicy -Identity '<policy>' -EnableSpoofIntelligence $true",
    sources: ['S26', 'S29'],
    controls: [
      { framework: 'CIS', id: '2.1.7', relation: 'related', why: 'CIS asks that an anti-phishing policy exists' },
      { framework: 'ORCA', id: 'ORCA-180', relation: 'exact' },
    ],
  },
  {
    id: 'EOPL-025',
    title: 'Anti-phishing honours DMARC (reject → Reject, quarantine → Quarantine)',
    severity: 'medium',
    why: 'HonorDmarcPolicy applies the sending domain\'s own p=reject or p=quarantine. With the MX at a gateway it only applies where Enhanced Filtering is on. Judged for the policies that apply to the recipients of each accepted domain (Strict, then Standard preset, custom policies by rule priority, the default last); Microsoft\'s preset policies keep Microsoft\'s values and are not judged, and a policy no recipient reaches is named, not failed.',
    fix: "Set-AntiPhishPolicy -Identity '<policy>' -HonorDmarcPolicy $true -DmarcRejectAction Reject -DmarcQuarantineAction Quarantine",
    sources: ['S26', 'S29'],
    controls: [{ framework: 'ORCA', id: 'ORCA-244', relation: 'partial', why: 'ORCA checks HonorDmarcPolicy only; EOPL-025 also checks the reject and quarantine actions' }],
  },
  {
    id: 'EOPL-026',
    title: 'Spoofed mail that fails composite authentication is quarantined',
    severity: 'low',
    why: 'AuthenticationFailAction MoveToJmf (the default, and the Standard preset\'s value) delivers detected spoofs to Junk, where users still open them; the guide and the Strict preset quarantine. Judged for the policies that apply to the recipients of each accepted domain (Strict, then Standard preset, custom policies by rule priority, the default last); Microsoft\'s preset policies keep Microsoft\'s values and are not judged, and a policy no recipient reaches is named, not failed.',
    fix: "Set-AntiPhishPolicy -Identity '<policy>' -AuthenticationFailAction Quarantine",
    sources: ['S26', 'S29'],
    controls: [{ framework: 'ORCA', id: 'ORCA-112', relation: 'partial', why: 'ORCA-112 asks for MoveToJmf at its Standard level and Quarantine at Strict; EOPL-026 asks for Quarantine' }],
  },
  {
    id: 'EOPL-027',
    title: 'Mailbox intelligence is on',
    severity: 'low',
    why: 'Mailbox intelligence (Defender for Office 365) learns each user\'s contacts and improves impersonation detection. For the preset policies, who gets it is the Defender for Office 365 rule (Get-ATPProtectionPolicyRule). Judged for the policies that apply to the recipients of each accepted domain (Strict, then Standard preset, custom policies by rule priority, the default last); Microsoft\'s preset policies keep Microsoft\'s values and are not judged, and a policy no recipient reaches is named, not failed.',
    fix: "Set-AntiPhishPolicy -Identity '<policy>' -EnableMailboxIntelligence $true -EnableMailboxIntelligenceProtection $true",
    sources: ['S26', 'S29'],
    controls: [{ framework: 'ORCA', id: 'ORCA-115', relation: 'related', why: 'ORCA-115 checks EnableMailboxIntelligenceProtection; EOPL-027 checks EnableMailboxIntelligence' }],
  },
  {
    id: 'EOPL-028',
    title: 'The bulk threshold is 6 or lower',
    severity: 'low',
    why: 'BulkThreshold defaults to 7; the Standard preset uses 6 and Strict 5. Judged for the policies that apply to the recipients of each accepted domain (Strict, then Standard preset, custom policies by rule priority, the default last); Microsoft\'s preset policies keep Microsoft\'s values and are not judged, and a policy no recipient reaches is named, not failed.',
    fix: "Set-HostedContentFilterPolicy -Identity '<policy>' -BulkThreshold 6",
    sources: ['S28', 'S29'],
    controls: [{ framework: 'ORCA', id: 'ORCA-100', relation: 'partial', why: 'ORCA passes 4 to 6 (Strict: 4); EOPL-028 passes any value up to 6' }],
  },
  {
    id: 'EOPL-029',
    title: 'High-confidence spam and phishing are quarantined',
    severity: 'low',
    why: 'The recommended settings quarantine high-confidence spam, phishing and high-confidence phishing rather than delivering them to Junk. Judged for the policies that apply to the recipients of each accepted domain (Strict, then Standard preset, custom policies by rule priority, the default last); Microsoft\'s preset policies keep Microsoft\'s values and are not judged, and a policy no recipient reaches is named, not failed.',
    fix: "Set-HostedContentFilterPolicy -Identity '<policy>' -HighConfidenceSpamAction Quarantine -PhishSpamAction Quarantine -HighConfidencePhishAction Quarantine",
    sources: ['S28', 'S29'],
    controls: [
      { framework: 'ORCA', id: 'ORCA-140', relation: 'partial', why: 'high-confidence spam only' },
      { framework: 'ORCA', id: 'ORCA-142', relation: 'partial', why: 'phishing only' },
    ],
  },
  {
    id: 'EOPL-030',
    title: 'DKIM signing is enabled for every custom accepted domain',
    severity: 'medium',
    why: 'DKIM lets receivers, and DMARC, verify mail from your domains; an unsigned domain is easier to spoof convincingly.',
    fix: "Set-DkimSigningConfig -Identity '<domain>' -Enabled $true   # after publishing the selector CNAMEs from Get-DkimSigningConfig",
    sources: ['S36'],
    controls: [
      { framework: 'CIS', id: '2.1.9', relation: 'partial', why: 'CIS: every Exchange Online domain; EOPL-030 skips *.onmicrosoft.com and parked domains (SPF "v=spf1 -all")' },
      { framework: 'SCuBA', id: 'MS.EXO.3.1v1', relation: 'partial', why: 'SCuBA: all domains; EOPL-030 skips *.onmicrosoft.com and parked domains' },
      { framework: 'ORCA', id: 'ORCA-108', relation: 'partial', why: 'ORCA checks custom domains with MX records; EOPL-030 also skips parked domains' },
    ],
  },
  {
    id: 'EOPL-031',
    title: 'Each domain publishes SPF ending in -all or ~all',
    severity: 'medium',
    why: 'SPF lists who may send as the domain. Microsoft accepts soft fail (~all) for Direct Send set-ups; ?all and +all authorise anyone.',
    fix: 'Publish "v=spf1 <your senders> include:spf.protection.outlook.com -all" (or ~all) at each domain.',
    sources: ['S6', 'S9', 'S2'],
    controls: [
      { framework: 'CIS', id: '2.1.8', relation: 'partial', why: 'the CIS remediation publishes -all; EOPL-031 also passes ~all' },
      { framework: 'SCuBA', id: 'MS.EXO.2.2v2', relation: 'partial', why: '"fails all non-approved senders" means hard fail (-all) in the baseline; EOPL-031 also passes ~all' },
      { framework: 'ORCA', id: 'ORCA-235', relation: 'partial', why: 'ORCA passes only -all; EOPL-031 also passes ~all' },
    ],
  },
  {
    id: 'EOPL-032',
    title: 'Each domain publishes DMARC at p=quarantine or p=reject with a rua address',
    severity: 'medium',
    why: 'DMARC tells receivers, and EOP through Honor DMARC, to refuse mail that fails authentication; rua reports show who sends as you.',
    fix: 'Publish "_dmarc.<domain> TXT v=DMARC1; p=reject; rua=mailto:<reports address>" (p=quarantine as a step).',
    sources: ['S38'],
    controls: [
      { framework: 'CIS', id: '2.1.10', relation: 'partial', why: 'CIS ends at p=quarantine or p=reject with pct=100 and rua and ruf addresses; EOPL-032 checks p and rua' },
      { framework: 'SCuBA', id: 'MS.EXO.4.1v1', relation: 'partial', why: 'SCuBA: a record at every second-level domain; EOPL-032 checks each custom accepted domain, and its policy and rua' },
      { framework: 'SCuBA', id: 'MS.EXO.4.2v1', relation: 'partial', why: 'SCuBA requires p=reject; EOPL-032 passes p=quarantine' },
      { framework: 'SCuBA', id: 'MS.EXO.4.4v1', relation: 'partial', why: 'SCuBA asks for an agency contact in rua and ruf; EOPL-032 checks rua only' },
    ],
  },
  {
    id: 'EOPL-034',
    title: 'The gateway connector covers every accepted domain',
    severity: 'high',
    why:
      'AssociatedAcceptedDomains limits a connector to the listed recipient domains. A domain that is not listed — typically one ' +
      'added after the lockdown — receives mail sent straight to EOP unrestricted.',
    fix: "Set-InboundConnector -Identity '<gateway connector>' -AssociatedAcceptedDomains $null   # or add the missing domains",
    sources: ['S7', 'S11'],
    controls: [],
  },
  {
    id: 'EOPL-033',
    title: 'Every domain\'s MX points to the gateway',
    severity: 'high',
    why:
      'Internet mail follows the MX. A domain whose MX points straight at Exchange Online bypasses the gateway for all its mail; ' +
      'once the gateway connector restricts with SenderDomains *, that mail is refused with 5.7.51 instead. Either way the ' +
      'domain is not behind the gateway. (Never build the expected EOP MX host from a pattern; it is read from DNS.)',
    fix: 'Point the domain\'s MX at the gateway (and let the gateway relay it to EOP), or take the domain out of the lockdown deliberately.',
    sources: ['S9', 'S3', 'S58'],
    controls: [],
  },
  {
    id: 'EOPL-090',
    title: 'Proof: no class of transaction is accepted by EOP without passing the gateway',
    severity: 'high',
    why:
      'The decision is a function of the configuration, so every transaction falls into one of finitely many classes the ' +
      'configuration cannot tell apart (each boundary of each address list it reads, each certificate name, accepted or named ' +
      'domain, tested header value and authentication result). "eoplock prove" decides one representative of every class, ' +
      'sent straight to EOP, against this snapshot. A class accepted for delivery to a tenant mailbox that did not come from the ' +
      'gateway (or a Direct Send source on its own connector) is a bypass: proof of exposure, grouped by cause, with a ' +
      'representative transaction and the emulator\'s trace. The builtin corpus (Direct Send spoof, foreign envelope sender with ' +
      'your From, null sender, IPv6, a foreign certificate, a forged AuthAs header, plain outside mail) is among the classes. ' +
      'What EOP\'s content filtering (spam, phishing, malware) then does is not emulated: it may still junk or quarantine the ' +
      'message, unless a rule set SCL -1 (then only malware and high-confidence phishing are still acted on, S32).',
    fix: 'Fix the configuration findings above; run "eoplock prove <snapshot> --trace" for each cause, and rerun until it says "0 bypasses".',
    sources: ['S1', 'S3', 'S9', 'S18', 'S32'],
    controls: [],
  },
  {
    id: 'EOPL-091',
    title: 'Proof: no legitimate mail path is refused',
    severity: 'high',
    why:
      'Every class of transaction from the gateway (by its addresses and certificate) or from a Direct Send source with its own ' +
      'IP connector runs through the emulator, as do the legitimate paths the snapshot implies (hybrid mail, SPF-listed ' +
      'Direct Send sources). One that is refused or quarantined breaks real mail.',
    fix: 'Give the refused source a Partner connector by IP or certificate, or add it to the gateway connector or the rule\'s exceptions.',
    sources: ['S1', 'S9', 'S18'],
    controls: [],
  },
];
