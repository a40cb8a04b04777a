/**
 * The replies EOP sends, as data, with their sources (eop-behaviour.md §9).
 */
export interface ReplyText {
  code: number;
  enhanced: string;
  text: string;
  sources: string[];
}

export const REPLIES = {
  directSendRejected: {
    code: 550,
    enhanced: '5.7.68',
    text: 'TenantInboundAttribution; Direct Send not allowed for this organization from unauthorized sources',
    sources: ['S2', 'S4', 'S62', '§2.2'],
  },
  partnerConnectorRestricted: {
    code: 550,
    enhanced: '5.7.51',
    text:
      "TenantInboundAttribution; There is a partner connector configured that matched the message's recipient domain. " +
      'The connector had either the RestrictDomainsToIPAddresses or RestrictDomainsToCertificate set',
    sources: ['S10', '§3.3'],
  },
  relayDenied: {
    code: 550,
    enhanced: '5.7.64',
    text: 'TenantAttribution; Relay Access Denied',
    sources: ['S50', 'S52', '§9'],
  },
  customerBlockList: {
    code: 550,
    enhanced: '5.7.513',
    text: 'Service unavailable, Client host [{ip}] blocked by {domain} using Customer Block list (AS16012607)',
    sources: ['S30', 'S49', '§9'],
  },
  tooManyRecipients: {
    code: 452,
    enhanced: '4.5.3',
    text: 'Too many recipients',
    sources: ['S49', '§9'],
  },
  noFromHeader: {
    code: 550,
    enhanced: '5.7.512',
    text: 'Access denied, message must be RFC 5322 section 3.6.2 compliant and include a valid From address',
    sources: ['S49', '§9'],
  },
  dmarcRejected: {
    code: 550,
    enhanced: '5.7.509',
    text: 'Access denied, sending domain [{domain}] does not pass DMARC verification',
    sources: ['S49', '§9'],
  },
  recipientOk: { code: 250, enhanced: '2.1.5', text: 'Recipient OK', sources: [] },
  queued: { code: 250, enhanced: '2.6.0', text: 'Queued mail for delivery', sources: [] },
} as const satisfies Record<string, ReplyText>;

/** Envelope recipients accepted from one sender domain in one transaction before 4.5.3 (S49). */
export const MAX_RECIPIENTS_PER_TRANSACTION = 200;

export function fillReply(text: string, values: Record<string, string>): string {
  return text.replace(/\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole);
}
