/**
 * Sources cited by traces, checks and reports: the IDs of eop-behaviour.md §0 with their titles and addresses.
 */
export interface Source {
  title: string;
  url: string;
}

export const SOURCES: Readonly<Record<string, Source>> = {
  S1: { title: 'Set-OrganizationConfig (RejectDirectSend)', url: 'https://learn.microsoft.com/powershell/module/exchangepowershell/set-organizationconfig' },
  S2: {
    title: 'Introducing more control over Direct Send in Exchange Online',
    url: 'https://techcommunity.microsoft.com/blog/exchange/introducing-more-control-over-direct-send-in-exchange-online/4408790',
  },
  S3: {
    title: 'Direct Send vs sending directly to an Exchange Online tenant',
    url: 'https://techcommunity.microsoft.com/blog/exchange/direct-send-vs-sending-directly-to-an-exchange-online-tenant/4439865',
  },
  S6: {
    title: 'Set up a multifunction device or application to send email (Direct Send)',
    url: 'https://learn.microsoft.com/exchange/mail-flow-best-practices/how-to-set-up-a-multifunction-device-or-application-to-send-email-using-microsoft-365-or-office-365',
  },
  S7: { title: 'New-InboundConnector', url: 'https://learn.microsoft.com/powershell/module/exchangepowershell/new-inboundconnector' },
  S9: {
    title: 'Manage mail flow using a third-party cloud service',
    url: 'https://learn.microsoft.com/exchange/mail-flow-best-practices/manage-mail-flow-using-third-party-cloud',
  },
  S10: {
    title: 'TLS Certificates in Exchange Hybrid – Common Issues & How to Fix them',
    url: 'https://techcommunity.microsoft.com/blog/exchange/tls-certificates-in-exchange-hybrid---common-issues--how-to-fix-them/4420592',
  },
  S11: { title: 'Partner connector selection (Exchange product group)', url: 'https://github.com/MicrosoftDocs/OfficeDocs-Exchange/issues/900' },
  S18: { title: 'New-TransportRule', url: 'https://learn.microsoft.com/powershell/module/exchangepowershell/new-transportrule' },
  S20: { title: 'Mail flow rules in Exchange Online', url: 'https://learn.microsoft.com/exchange/security-and-compliance/mail-flow-rules/mail-flow-rules' },
  S21: {
    title: 'Mail flow rule conditions and exceptions',
    url: 'https://learn.microsoft.com/exchange/security-and-compliance/mail-flow-rules/conditions-and-exceptions',
  },
  S22: { title: 'Test mail flow rules', url: 'https://learn.microsoft.com/exchange/security-and-compliance/mail-flow-rules/test-mail-flow-rules' },
  S23: {
    title: 'Enhanced Filtering for Connectors',
    url: 'https://learn.microsoft.com/exchange/mail-flow-best-practices/use-connectors-to-configure-mail-flow/enhanced-filtering-for-connectors',
  },
  S26: { title: 'Anti-phishing policies', url: 'https://learn.microsoft.com/defender-office-365/anti-phishing-policies-about' },
  S28: { title: 'Set-HostedContentFilterPolicy', url: 'https://learn.microsoft.com/powershell/module/exchangepowershell/set-hostedcontentfilterpolicy' },
  S29: {
    title: 'Recommended settings for EOP and Defender for Office 365',
    url: 'https://learn.microsoft.com/defender-office-365/recommended-settings-for-eop-and-office365',
  },
  S30: { title: 'Configure connection filtering', url: 'https://learn.microsoft.com/defender-office-365/connection-filter-policies-configure' },
  S36: { title: 'Configure DKIM', url: 'https://learn.microsoft.com/defender-office-365/email-authentication-dkim-configure' },
  S38: { title: 'Configure DMARC', url: 'https://learn.microsoft.com/defender-office-365/email-authentication-dmarc-configure' },
  S49: {
    title: 'Email NDRs and SMTP errors in Exchange Online',
    url: 'https://learn.microsoft.com/exchange/troubleshoot/email-delivery/ndr/non-delivery-reports-in-exchange-online',
  },
  S58: {
    title: 'Phishing actors exploit complex routing and misconfigurations to spoof domains (Microsoft Threat Intelligence)',
    url: 'https://www.microsoft.com/en-us/security/blog/2026/01/06/phishing-actors-exploit-complex-routing-and-misconfigurations-to-spoof-domains/',
  },
};
