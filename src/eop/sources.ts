/**
 * Every source eoplock cites — in traces, checks, assumptions, plans and reports — with its title and address.
 * The S-numbers are those of the project's fact base on EOP's inbound behaviour; `GUIDE` is the lockdown guide whose
 * steps eoplock implements and corrects. `docs/sources.md` is generated from this table
 * (`node --import tsx scripts/sources-doc.ts`), and a test keeps the two in step and checks that every id cited in
 * src/ is here. Pure: no `node:` imports (the emulator also runs in a browser).
 */
export interface Source {
  title: string;
  /** The main address. */
  url: string;
  /** Further addresses the source spans (a second page, a mirror). */
  also?: readonly string[];
  /** What a reader should know about the source (how it was read, how sure the address is). */
  note?: string;
}

/** The id of the lockdown guide eoplock implements and corrects. */
export const GUIDE_ID = 'GUIDE';

export const SOURCES: Readonly<Record<string, Source>> = {
  GUIDE: {
    title: 'The guide: MSB365 blog, "How to lock down Exchange Online so EOP refuses direct external mail" (27 Apr 2026)',
    url: 'https://www.msb365.blog/?p=6164',
    note: 'Where eoplock departs from the guide (the NotInOrganization safety net, the order of the connectors, test 4), it says so and cites Microsoft.',
  },
  S1: { title: 'Set-OrganizationConfig (RejectDirectSend)', url: 'https://learn.microsoft.com/powershell/module/exchangepowershell/set-organizationconfig' },
  S2: {
    title: 'Exchange Team blog, "Introducing more control over Direct Send in Exchange Online" (28 Apr 2025; FAQ added 12 Aug 2025)',
    url: 'https://techcommunity.microsoft.com/blog/exchange/introducing-more-control-over-direct-send-in-exchange-online/4408790',
  },
  S2a: {
    title: 'Microsoft reply in the comment thread of S2 (message trace and 5.7.68)',
    url: 'https://techcommunity.microsoft.com/blog/exchange/introducing-more-control-over-direct-send-in-exchange-online/4408790/replies/4433873',
  },
  S2b: {
    title: 'Customer comment in the thread of S2 (valid and invalid senders)',
    url: 'https://techcommunity.microsoft.com/blog/exchange/introducing-more-control-over-direct-send-in-exchange-online/4408790/replies/4433613',
  },
  S3: {
    title: 'Exchange Team blog, "Direct Send vs sending directly to an Exchange Online tenant" (Aug 2025)',
    url: 'https://techcommunity.microsoft.com/blog/exchange/direct-send-vs-sending-directly-to-an-exchange-online-tenant/4439865',
    note: 'Read through Microsoft Japan support\'s translation.',
  },
  S4: { title: 'Petri, summary of S2', url: 'https://petri.com/exchange-online-control-email-protection/' },
  S5: {
    title: 'Message Center MC1093237, RejectDirectSend preview (mirror)',
    url: 'https://mwpro.co.uk/blog/2025/06/13/microsoft-exchange-online-new-reject-direct-send-parameter-preview-mc1093237',
  },
  S6: {
    title: 'Microsoft Learn: set up a multifunction device or application to send email (Direct Send)',
    url: 'https://learn.microsoft.com/exchange/mail-flow-best-practices/how-to-set-up-a-multifunction-device-or-application-to-send-email-using-microsoft-365-or-office-365',
  },
  S7: { title: 'New-InboundConnector', url: 'https://learn.microsoft.com/powershell/module/exchangepowershell/new-inboundconnector' },
  S8: { title: 'Set-InboundConnector', url: 'https://learn.microsoft.com/powershell/module/exchangepowershell/set-inboundconnector' },
  S9: {
    title: 'Microsoft Learn: manage mail flow using a third-party cloud service',
    url: 'https://learn.microsoft.com/exchange/mail-flow-best-practices/manage-mail-flow-using-third-party-cloud',
  },
  S10: {
    title: 'Exchange Team blog, "TLS Certificates in Exchange Hybrid – Common Issues & How to Fix them" (Jun 2025)',
    url: 'https://techcommunity.microsoft.com/blog/exchange/tls-certificates-in-exchange-hybrid---common-issues--how-to-fix-them/4420592',
  },
  S11: { title: 'GitHub issue quoting the Exchange product group on Partner connector selection', url: 'https://github.com/MicrosoftDocs/OfficeDocs-Exchange/issues/900' },
  S12: {
    title: 'Message Center MC1226222, on-premises connector guidance (Feb 2026, mirror)',
    url: 'https://mwpro.co.uk/blog/2026/02/04/updated-prevent-fix-guidance-for-on-premises-connectors-configuration-mc1226222',
  },
  S13: {
    title: 'Microsoft Learn: updated requirements for SMTP relay (and the 2023 Exchange Team blog post)',
    url: 'https://learn.microsoft.com/exchange/mail-flow-best-practices/updated-requirements-smtp-relay',
    also: ['https://techcommunity.microsoft.com/t5/exchange-team-blog/updated-requirements-for-smtp-relay-through-exchange-online/ba-p/3851357'],
  },
  S14: { title: 'Microsoft Q&A support guide on the relay requirements', url: 'https://learn.microsoft.com/en-us/answers/a/11582569' },
  S15: {
    title: 'Microsoft Learn: inbound connector FAQ',
    url: 'https://learn.microsoft.com/exchange/mail-flow-best-practices/use-connectors-to-configure-mail-flow/inbound-connector-faq',
  },
  S16: { title: 'Exchange Team blog, "Office 365 Message Attribution" (2019)', url: 'https://techcommunity.microsoft.com/t5/exchange-team-blog/office-365-message-attribution/ba-p/749143' },
  S17: {
    title: 'EOP Field Notes, "Use headers to determine which Exchange Online tenant a message was attributed to" (X-EOPTenantAttributedMessage)',
    url: 'https://blogs.technet.microsoft.com/eopfieldnotes/2019/01/03/use-headers-to-determine-which-exchange-online-tenant-a-message-was-attributed-to/',
  },
  S18: { title: 'New-TransportRule', url: 'https://learn.microsoft.com/powershell/module/exchangepowershell/new-transportrule' },
  S19: { title: 'Get-TransportRule', url: 'https://learn.microsoft.com/powershell/module/exchangepowershell/get-transportrule' },
  S20: { title: 'Microsoft Learn: mail flow rules in Exchange Online', url: 'https://learn.microsoft.com/exchange/security-and-compliance/mail-flow-rules/mail-flow-rules' },
  S21: {
    title: 'Microsoft Learn: mail flow rule conditions and exceptions',
    url: 'https://learn.microsoft.com/exchange/security-and-compliance/mail-flow-rules/conditions-and-exceptions',
  },
  S22: { title: 'Microsoft Learn: test mail flow rules', url: 'https://learn.microsoft.com/exchange/security-and-compliance/mail-flow-rules/test-mail-flow-rules' },
  S23: {
    title: 'Microsoft Learn: Enhanced Filtering for Connectors',
    url: 'https://learn.microsoft.com/exchange/mail-flow-best-practices/use-connectors-to-configure-mail-flow/enhanced-filtering-for-connectors',
    note: 'The current page and an older revision kept in the MicrosoftDocs/OfficeDocs-Exchange repository.',
  },
  S24: { title: 'Microsoft Learn: anti-spam message headers', url: 'https://learn.microsoft.com/defender-office-365/message-headers-eop-mdo' },
  S25: { title: 'Microsoft Learn: email authentication in Microsoft 365 (compauth)', url: 'https://learn.microsoft.com/defender-office-365/email-authentication-about' },
  S26: { title: 'Microsoft Learn: anti-phishing policies', url: 'https://learn.microsoft.com/defender-office-365/anti-phishing-policies-about' },
  S27: { title: 'New-AntiPhishPolicy (the same parameters as Set-AntiPhishPolicy)', url: 'https://learn.microsoft.com/powershell/module/exchangepowershell/new-antiphishpolicy' },
  S28: { title: 'Set-HostedContentFilterPolicy', url: 'https://learn.microsoft.com/powershell/module/exchangepowershell/set-hostedcontentfilterpolicy' },
  S29: {
    title: 'Microsoft Learn: recommended settings for EOP and Defender for Office 365',
    url: 'https://learn.microsoft.com/defender-office-365/recommended-settings-for-eop-and-office365',
  },
  S30: { title: 'Microsoft Learn: configure connection filtering', url: 'https://learn.microsoft.com/defender-office-365/connection-filter-policies-configure' },
  S31: { title: 'Set-HostedConnectionFilterPolicy', url: 'https://learn.microsoft.com/powershell/module/exchangepowershell/set-hostedconnectionfilterpolicy' },
  S32: {
    title: 'Microsoft Learn: order and precedence of email protection',
    url: 'https://learn.microsoft.com/defender-office-365/how-policies-and-protections-are-combined',
  },
  S33: { title: 'Microsoft Learn (Exchange 2013): header firewall and organisation X-headers', url: 'https://learn.microsoft.com/exchange/header-firewall-exchange-2013-help' },
  S34: { title: 'Microsoft Learn: journaling in Exchange Online', url: 'https://learn.microsoft.com/exchange/security-and-compliance/journaling/journaling' },
  S35: {
    title: 'MSXFAQ, X-MS-Exchange-Organization-AuthAs (quotes the Microsoft blog post "Advanced Office 365 Routing: Locking Down Exchange On-Premises")',
    url: 'http://www.msxfaq.de/cloud/exchangeonline/transport/x-ms-exchange-organization-authas.htm',
  },
  S36: {
    title: 'Microsoft Learn: DKIM (and the 2025 documentation change that added the new CNAME format)',
    url: 'https://learn.microsoft.com/defender-office-365/email-authentication-dkim-configure',
    also: ['http://www.webkkk.net/MicrosoftDocs/defender-docs/pull/295/files'],
  },
  S37: {
    title: 'Real Get-DkimSigningConfig and Get-InboundConnector JSON captured over the Exchange Online admin API (fixtures of an open-source Go collector)',
    url: 'https://github.com/rknightion/graph2otel',
  },
  S38: { title: 'Microsoft Learn: DMARC', url: 'https://learn.microsoft.com/defender-office-365/email-authentication-dmarc-configure' },
  S39: { title: 'Get-MessageTrace', url: 'https://learn.microsoft.com/powershell/module/exchangepowershell/get-messagetrace' },
  S40: { title: 'Get-MessageTraceV2', url: 'https://learn.microsoft.com/powershell/module/exchangepowershell/get-messagetracev2' },
  S41: { title: 'Get-MessageTraceDetailV2 (and Get-MessageTraceDetail)', url: 'https://learn.microsoft.com/powershell/module/exchangepowershell/get-messagetracedetailv2' },
  S42: { title: 'Microsoft Learn: new message trace in the EAC', url: 'https://learn.microsoft.com/exchange/monitoring/trace-an-email-message/new-message-trace' },
  S43: {
    title: 'Microsoft Graph: exchangeMessageTrace resource; list messageTraces',
    url: 'https://learn.microsoft.com/graph/api/resources/exchangemessagetrace',
    also: ['https://learn.microsoft.com/graph/api/messagetracingroot-list-messagetraces'],
  },
  S44: {
    title: 'Exchange Team blog, message trace through the Graph API (22 Jan 2026)',
    url: 'https://techcommunity.microsoft.com/blog/Exchange/message-trace-support-using-graph-api-is-now-in-public-preview/4488587',
  },
  S45: { title: 'Start-HistoricalSearch', url: 'https://learn.microsoft.com/powershell/module/exchangepowershell/start-historicalsearch' },
  S46: {
    title: 'Microsoft Learn: message trace in the modern EAC (report columns, custom_data)',
    url: 'https://learn.microsoft.com/exchange/monitoring/trace-an-email-message/message-trace-modern-eac',
  },
  S47: {
    title: 'Legacy Reporting Web Service, MessageTrace report',
    url: 'https://learn.microsoft.com/previous-versions/office/developer/o365-enterprise-developers/jj984335(v=office.15)',
  },
  S48: { title: 'Microsoft Defender XDR: the EmailEvents table', url: 'https://learn.microsoft.com/defender-xdr/advanced-hunting-emailevents-table' },
  S49: {
    title: 'Microsoft Learn: email non-delivery reports and SMTP errors in Exchange Online',
    url: 'https://learn.microsoft.com/exchange/troubleshoot/email-delivery/ndr/non-delivery-reports-in-exchange-online',
  },
  S50: {
    title: 'Microsoft Learn: 5.7.64 relay access denied; KB 3212877 (certificate chain)',
    url: 'https://learn.microsoft.com/exchange/troubleshoot/email-delivery/ndr/relay-access-denied-smtp',
    also: ['https://support.microsoft.com/help/3212877'],
  },
  S51: { title: 'Microsoft Learn: ATTR35, mail sent to the wrong region', url: 'https://learn.microsoft.com/exchange/troubleshoot/email-delivery/wrong-office-365-region-exo' },
  S52: {
    title: 'Microsoft Learn: fix issues with printers, scanners and line-of-business applications that send email',
    url: 'https://learn.microsoft.com/exchange/mail-flow-best-practices/fix-issues-with-printers-scanners-and-lob-applications-that-send-email-using-off',
  },
  S53: {
    title: 'Microsoft Learn: Exchange Online Admin API (preview) — overview, getting started, authentication, OrganizationConfig endpoint',
    url: 'https://learn.microsoft.com/exchange/reference/admin-api-overview',
    also: [
      'https://learn.microsoft.com/exchange/reference/admin-api-get-started',
      'https://learn.microsoft.com/en-us/exchange/reference/admin-api-authentication',
      'https://learn.microsoft.com/en-us/exchange/reference/admin-api-endpoints-organization-config',
    ],
  },
  S54: {
    title: 'Vasil Michev, "All you need to know about Exchange Online Admin API", parts 1 and 2',
    url: 'https://michev.info/blog/post/5822/all-you-need-to-know-about-exchange-online-admin-api-or-how-to-run-cmdlets-without-powershell',
    also: ['https://michev.info/blog/post/7180/all-you-need-to-know-about-exchange-online-admin-api-or-how-to-run-cmdlets-without-powershell-part-2'],
  },
  S55: { title: 'CIPP-API, New-ExoRequest.ps1', url: 'https://github.com/KelvinTegelaar/CIPP-API/blob/master/Modules/CIPPCore/Public/GraphHelper/New-ExoRequest.ps1' },
  S56: { title: 'Microsoft Learn: app-only authentication in Exchange Online PowerShell', url: 'https://learn.microsoft.com/powershell/exchange/app-only-auth-powershell-v2' },
  S57: { title: 'Practical365, the Exchange Admin API', url: 'https://practical365.com/exchange-admin-api' },
  S58: {
    title: 'Microsoft Threat Intelligence, "Phishing actors exploit complex routing and misconfigurations to spoof domains" (Jan 2026), and SecurityWeek\'s report',
    url: 'https://www.microsoft.com/en-us/security/blog/2026/01/06/phishing-actors-exploit-complex-routing-and-misconfigurations-to-spoof-domains/',
    also: ['https://www.securityweek.com/complex-routing-misconfigurations-exploited-for-domain-spoofing-in-phishing-attacks/'],
  },
  S59: {
    title: 'Issues reporting that Exchange Online\'s Authentication-Results has no authserv-id (go-msgauth, MimeKit)',
    url: 'https://github.com/emersion/go-msgauth/issues/64',
    also: ['https://github.com/jstedfast/MimeKit/issues/490'],
  },
  S60: {
    title: 'Exchange Team blog, inbound SMTP DANE with DNSSEC (mx.microsoft MX hosts), and a 2026 migration write-up',
    url: 'https://techcommunity.microsoft.com/t5/exchange-team-blog/implementing-inbound-smtp-dane-with-dnssec-for-exchange-online/ba-p/3939694',
    also: ['https://www.captaindns.com/en/blog/microsoft-365-mx-dnssec-migration-2026'],
  },
  S61: { title: 'InfoGuard Labs, "Ghost-Sender" (9 Jun 2026)', url: 'https://labs.infoguard.ch/posts/ghost-sender/' },
  S62: { title: 'Salesforce knowledge article on 5.7.68', url: 'https://help.salesforce.com/s/articleView?id=005133045&type=1' },
  S63: {
    title: 'Other clients of the admin API that do not use PowerShell (ExoHelper, m365-exporter, aad-aws-sync)',
    url: 'https://github.com/GreyCorbel/ExoHelper',
    also: ['https://github.com/cloudeteer/m365-exporter', 'https://github.com/dfds/aad-aws-sync'],
  },
  S64: {
    title: 'Microsoft Learn: external senders and the delist portal (5.7.606–649)',
    url: 'https://learn.microsoft.com/defender-office-365/external-senders-use-the-delist-portal-to-unblock-yourself',
  },
  S65: {
    title: 'Exchange Team blog, "Demystifying and troubleshooting hybrid mail flow: when is a message internal?"',
    url: 'https://techcommunity.microsoft.com/t5/exchange-team-blog/demystifying-and-troubleshooting-hybrid-mail-flow-when-is-a/ba-p/1420838',
  },
  S66: {
    title: 'Microsoft Learn: configure Multi-Geo in-region routing (preview, 26 Sep 2025)',
    url: 'https://learn.microsoft.com/microsoft-365/enterprise/configure-multi-geo-in-region-routing-in-preview',
    note: 'The address is inferred from the article\'s file name.',
  },
};

/** A source id as cited in text: S1…S66 with an optional letter (S2a), or GUIDE. */
const CITED_ID = /\bS\d{1,3}[a-z]?\b/g;
/** Text that refers to the guide by name. */
const GUIDE_MENTION = /\bthe guide(?:'s)?\b/i;

/**
 * The source ids a text cites, in the order of `SOURCES` (the guide first). An S-number that is not in the table is
 * kept, so that a caller can say it is unknown; the guide is included when the text speaks of "the guide".
 */
export function citedSourceIds(text: string): string[] {
  const found = new Set(text.match(CITED_ID) ?? []);
  if (GUIDE_MENTION.test(text)) found.add(GUIDE_ID);
  return sortSourceIds(found);
}

/** Ids in the order of the table (GUIDE, S1, S2, S2a, S2b, S3 …); ids outside it last, as given. */
export function sortSourceIds(ids: Iterable<string>): string[] {
  const order = Object.keys(SOURCES);
  const rank = (id: string) => {
    const index = order.indexOf(id);
    return index === -1 ? order.length : index;
  };
  return [...new Set(ids)].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** The source ids among references that also name fact-base sections (`§2.1`) or assumptions: those that resolve. */
export function sourceIdsOf(references: Iterable<string>): string[] {
  return sortSourceIds([...references].filter((reference) => reference in SOURCES));
}

/**
 * Plain-text lines that resolve cited ids: a heading, then one line per id with its title and address (and further
 * addresses below it). Empty when nothing is cited. For text reports; `headers`, `simulate --trace`, `assumptions`,
 * `monitor` and PLAN.md end with it.
 */
export function sourceFooter(ids: Iterable<string>, heading = 'Sources cited above (all: docs/sources.md):'): string[] {
  const sorted = sortSourceIds(ids);
  if (sorted.length === 0) return [];
  const width = Math.max(...sorted.map((id) => id.length));
  const lines = [heading];
  for (const id of sorted) {
    const source = SOURCES[id];
    if (!source) {
      lines.push(`  ${id.padEnd(width)}  (not in eoplock's source list)`);
      continue;
    }
    lines.push(`  ${id.padEnd(width)}  ${source.title}`);
    lines.push(`  ${' '.repeat(width)}  ${source.url}`);
    for (const url of source.also ?? []) lines.push(`  ${' '.repeat(width)}  ${url}`);
  }
  return lines;
}
