/**
 * Every behaviour of EOP that Microsoft does not document ([U] in eop-behaviour.md) is an entry here: an id, a
 * default, the alternatives, and where the uncertainty is described. The emulator reads these values only through
 * {@link resolveAssumptions}; every verdict lists the ids it relied on. `eoplock assumptions` prints this table and
 * `--assume ID=VALUE` switches one.
 */
import { InputError } from '../errors.js';

export interface AssumptionDefinition {
  id: string;
  question: string;
  default: string;
  /** Every allowed value with what it means. */
  values: Readonly<Record<string, string>>;
  /** Why the default was chosen. */
  rationale: string;
  /** eop-behaviour.md sections and source IDs. */
  sources: string[];
}

export const ASSUMPTIONS = [
  {
    id: 'attribution-reject-stage',
    question: 'At which SMTP step does EOP send 550 5.7.68, 5.7.51, 5.7.64 and the IP Block List reject?',
    default: 'rcpt',
    values: {
      rcpt: 'in reply to RCPT TO (the first point where both the sender and the recipient tenant are known)',
      data: 'in reply to the end of DATA',
    },
    rationale:
      'Community SMTP probe tools report 5.7.68 and 5.7.51 at RCPT TO; Microsoft documents no verb. Microsoft says these ' +
      'rejects happen at the protocol layer, so they are never after acceptance.',
    sources: ['§2.2', '§3.3', '§12', 'S2a'],
  },
  {
    id: 'attribution-reject-order',
    question:
      'When both RejectDirectSend (5.7.68) and a restricting Partner connector (5.7.51) would reject a message, which reply is sent?',
    default: 'direct-send-first',
    values: {
      'direct-send-first': '550 5.7.68 (the guide expects it for an accepted-domain P1 sender)',
      'partner-restriction-first': '550 5.7.51',
    },
    rationale:
      'The guide\'s Test 1 expects 5.7.68 for a spoofed internal sender once both controls are on; Microsoft documents ' +
      'no order. Either way the message is rejected; only the code differs.',
    sources: ['§2.1', '§3.3', '§12'],
  },
  {
    id: 'connector-precedence',
    question: 'When several enabled inbound connectors match a connection, which one is used?',
    default: 'certificate-first',
    values: {
      'certificate-first': 'a certificate match wins over an IP match; ties go to the connector listed first',
      'ip-first': 'an IP match wins over a certificate match; ties go to the connector listed first',
      'config-order': 'the first matching connector in the snapshot wins',
    },
    rationale:
      'Microsoft documents no selection algorithm. A certificate is the stronger identity and the one Microsoft ' +
      'recommends for lockdown connectors.',
    sources: ['§3.2', '§12', 'S11'],
  },
  {
    id: 'restriction-satisfied-by',
    question:
      'A Partner connector restricts mail to its IPs or certificate. Is a message that matched a *different* connector by IP or certificate (a scanner connector, the hybrid connector) exempt?',
    default: 'any-connector',
    values: {
      'any-connector': 'yes: a match with any enabled connector by IP or certificate attributes the message, so no 5.7.51',
      'restricting-connector-only': 'no: only a match with the restricting connector itself avoids 5.7.51',
    },
    rationale:
      'Hybrid tenants with a restricted Partner connector keep on-premises mail flowing through their OnPremises ' +
      'connector (S10 describes 5.7.51 only when that connector no longer matches), which fits the default.',
    sources: ['§3.2', '§3.3', 'S10', 'S11'],
  },
  {
    id: 'accepted-subdomains',
    question: 'Is a subdomain of an accepted domain (sales.contoso.com under contoso.com) treated as accepted?',
    default: 'match-subdomains-flag',
    values: {
      'match-subdomains-flag': 'only when the accepted domain has MatchSubDomains set',
      exact: 'never: only the exact accepted domain names',
      always: 'always',
    },
    rationale: 'MatchSubDomains is the documented switch for this; how RejectDirectSend reads it is not documented.',
    sources: ['§2.1', '§12'],
  },
  {
    id: 'certificate-wildcard',
    question: 'Which certificate names does a connector\'s TlsSenderCertificateName of *.example.com match?',
    default: 'subdomains-and-apex',
    values: {
      'subdomains-and-apex': 'example.com itself and any name below it (mx.example.com, a.b.example.com)',
      subdomains: 'any name below example.com (mx.example.com, a.b.example.com), not example.com itself',
      'single-label': 'exactly one label below example.com (mx.example.com only)',
    },
    rationale:
      'The New-/Set-InboundConnector reference says of TlsSenderCertificateName: "Wildcards are supported to indicate a domain ' +
      'and all subdomains (for example, *.contoso.com)". The default follows that text: the domain and every name below it. ' +
      'How EOP compares the names on the certificate is not described, so the narrower readings stay switchable.',
    sources: ['§3.1', 'S7', 'S8'],
  },
  {
    id: 'require-tls-without-tls',
    question: 'A Partner connector with RequireTls receives mail without TLS. What happens?',
    default: 'connector-not-matched',
    values: {
      'connector-not-matched':
        'the connector does not match the connection; the message is then handled as if no connector matched (5.7.51 or 5.7.68 where those apply)',
      ignored: 'RequireTls is not enforced (the connector matches by IP anyway)',
    },
    rationale: 'RequireTls "rejects non-TLS mail" (S7) but the reply is not documented; not matching reuses the documented rejects.',
    sources: ['§3.1', 'S7'],
  },
  {
    id: 'partner-authas',
    question: 'What does X-MS-Exchange-Organization-AuthAs say for mail that arrived through a Partner connector?',
    default: 'Partner',
    values: {
      Partner: 'Partner',
      Anonymous: 'Anonymous',
    },
    rationale: 'AuthAs has a Partner value (S33) but no EXO page says when it is stamped. Neither value is Internal, so rules that test for Internal behave the same.',
    sources: ['§1.4', '§12', 'S33'],
  },
  {
    id: 'rule-reject-stage',
    question: 'How does a transport rule\'s reject reach the sender?',
    default: 'after-data',
    values: {
      'after-data': 'the SMTP session accepts the message (250) and the sender receives an NDR afterwards',
      'end-of-data': 'EOP answers the end of DATA with the 5xx reply',
    },
    rationale: 'The sender gets an NDR with the enhanced code (S18, S49); whether the session itself rejects is undocumented.',
    sources: ['§4.2', '§12', 'S18', 'S49'],
  },
  {
    id: 'dmarc-reject-stage',
    question: 'When Honor DMARC rejects a message (DmarcRejectAction Reject), how does the 5.7.509 reach the sender?',
    default: 'end-of-data',
    values: {
      'end-of-data': 'EOP answers the end of DATA with 550 5.7.509',
      'after-data': 'the SMTP session accepts the message (250) and the sender receives an NDR with 5.7.509 afterwards',
    },
    rationale:
      'The 5.7.509 text is documented (S49) and the default action is Reject (S29), but not whether the session or an NDR carries it. ' +
      'DMARC needs the From header, which EOP has only at the end of DATA, so that is the earliest point it can answer.',
    sources: ['§6.4', '§9', 'S26', 'S29', 'S49'],
  },
  {
    id: 'ip-allow-list-vs-dmarc',
    question:
      'A message whose connecting IP is on the connection filter\'s IP Allow List fails DMARC or spoof checks. Does the allow override Honor DMARC and the spoof action?',
    default: 'allow-wins',
    values: {
      'allow-wins': 'yes: the message is delivered (the IP Allow List is a tenant allow)',
      'dmarc-acts': 'no: Honor DMARC and the spoof action still apply',
    },
    rationale:
      'S32\'s IP Allow List table says "Tenant wins: Email delivered to mailbox" for phishing, spam and bulk verdicts (only malware ' +
      'and high-confidence phishing win over it) but has no spoof row, and S26\'s list of Honor DMARC overrides does not name the ' +
      'IP Allow List. Allow-wins is the default so that the emulator never shows a block that may not happen.',
    sources: ['§6.3', '§6.4', '§6.6', 'S26', 'S30', 'S32'],
  },
  {
    id: 'audit-mode-stop',
    question: 'Does StopRuleProcessing on a matched rule in Audit or AuditAndNotify mode stop later rules?',
    default: 'ignored',
    values: {
      ignored: 'no: a test-mode rule takes no action, so later rules still run',
      honoured: 'yes: later rules are skipped even though the rule is in a test mode',
    },
    rationale: 'Test modes "log actions, nothing affects delivery" (S18); StopRuleProcessing in test modes is not described.',
    sources: ['§4.1', 'S18', 'S22'],
  },
  {
    id: 'ip-block-list',
    question: 'What happens to a connection from an address on the connection filter\'s IP Block List?',
    default: 'reject',
    values: {
      reject: 'rejected with 550 5.7.513 (not visible in message trace)',
      drop: 'accepted in the session and silently dropped',
    },
    rationale: 'S30 says rejected; S32 says silently dropped. The NDR table lists 5.7.513 for the customer block list.',
    sources: ['§6.6', '§9', 'S30', 'S32'],
  },
  {
    id: 'policy-recipient-domain',
    question:
      'An anti-phishing, anti-spam or preset policy rule has RecipientDomainIs (or ExceptIfRecipientDomainIs). Is it tested against the address the message is sent to?',
    default: 'recipient-address',
    values: {
      'recipient-address': 'yes: the domain of the address the message is sent to (or a subdomain of a listed domain) matches',
      'primary-address':
        'no: only the recipient\'s primary address counts; a snapshot holds no mailboxes, so for one address the condition is unresolved (the policy may apply)',
    },
    rationale:
      'The Set-AntiPhishRule, Set-HostedContentFilterRule and Set-EOPProtectionPolicyRule references say the condition "looks for ' +
      'recipients with email addresses in the specified domains"; the Defender portal pages say "recipients … with a primary email ' +
      'address in the specified accepted domain". Most mail is addressed to the primary address. The audit, which asks about the ' +
      'recipients of each accepted domain, does not depend on this.',
    sources: ['§6.3'],
  },
] as const satisfies readonly AssumptionDefinition[];

export type AssumptionId = (typeof ASSUMPTIONS)[number]['id'];
type ValuesOf<Id extends AssumptionId> = keyof Extract<(typeof ASSUMPTIONS)[number], { id: Id }>['values'] & string;
export type Assumptions = { [Id in AssumptionId]: ValuesOf<Id> };

export const DEFAULT_ASSUMPTIONS: Assumptions = Object.fromEntries(
  ASSUMPTIONS.map((entry) => [entry.id, entry.default]),
) as Assumptions;

/** Merges overrides into the defaults, refusing unknown ids and values. */
export function resolveAssumptions(overrides: Partial<Record<string, string>> = {}): Assumptions {
  const resolved: Record<string, string> = { ...DEFAULT_ASSUMPTIONS };
  for (const [id, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const definition = ASSUMPTIONS.find((entry) => entry.id === id);
    if (!definition) {
      throw new InputError(`unknown assumption "${id}"; known: ${ASSUMPTIONS.map((entry) => entry.id).join(', ')}`, {
        where: '--assume',
      });
    }
    if (!Object.hasOwn(definition.values, value)) {
      throw new InputError(
        `"${value}" is not a value of ${id}; choose one of: ${Object.keys(definition.values).join(', ')}`,
        { where: '--assume' },
      );
    }
    resolved[id] = value;
  }
  return resolved as Assumptions;
}

/** Parses `ID=VALUE` strings from the command line. */
export function parseAssumeFlags(flags: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    if (eq <= 0 || eq === flag.length - 1) {
      throw new InputError(`expected ID=VALUE, got "${flag}" (see "eoplock assumptions")`, { where: '--assume' });
    }
    out[flag.slice(0, eq).trim()] = flag.slice(eq + 1).trim();
  }
  return out;
}
