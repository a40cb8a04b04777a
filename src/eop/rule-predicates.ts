/**
 * The transport-rule predicates, as data: every condition parameter of New-TransportRule (S18, S21), which of them
 * the emulator evaluates, and how. Each condition `X` has an exception `ExceptIfX` with the same semantics.
 * Predicates that are not evaluated are reported as such; a rule that uses one is never silently true or false.
 */
import { addressInHeader, domainOf, findAcceptedDomain, isSameOrSubdomain, normaliseDomain } from './addresses.js';
import type { Assumptions } from './assumptions.js';
import { compiledIpList, findInList, type IpAddress } from './ip.js';
import type { AcceptedDomain } from '../snapshot/schema.js';
import type { AuthAs, HeaderField } from './types.js';

/** What a rule sees of the message. */
export interface RuleContext {
  clientIp: IpAddress;
  clientIpText: string;
  mailFrom: string;
  /** The header From address, or null when the transaction carried no From header. */
  headerFrom: string | null;
  recipients: string[];
  /** Headers after EOP's header firewall and stamping (see decide.ts). */
  headers: HeaderField[];
  authAs: AuthAs;
  acceptedDomains: readonly AcceptedDomain[];
  assumptions: Assumptions;
}

export interface PredicateResult {
  matched: boolean;
  reason: string;
}

interface PredicateDefinition {
  /** The parameter names the predicate reads (the first is its name). */
  parameters: readonly string[];
  evaluate: (values: unknown[], context: RuleContext) => PredicateResult;
}

const asList = (value: unknown): string[] =>
  Array.isArray(value) ? value.map((item) => String(item)) : value == null ? [] : [String(value)];

/** The sender addresses a sender condition looks at, per the rule's SenderAddressLocation (S18). */
export function senderAddresses(location: unknown, context: RuleContext): { addresses: string[]; note: string } {
  const envelope = context.mailFrom.toLowerCase();
  const header = context.headerFrom;
  switch (String(location ?? 'Header')) {
    case 'Envelope':
      return { addresses: [envelope], note: 'envelope sender (SenderAddressLocation Envelope)' };
    case 'HeaderOrEnvelope':
      return {
        addresses: [...new Set([header ?? envelope, envelope])],
        note: 'header From or envelope sender (SenderAddressLocation HeaderOrEnvelope)',
      };
    default:
      return header
        ? { addresses: [header], note: 'header From' }
        : { addresses: [envelope], note: 'envelope sender (no From header given)' };
  }
}

function fromScope(scope: string, address: string, context: RuleContext): boolean {
  const accepted = findAcceptedDomain(domainOf(address), context.acceptedDomains, context.assumptions);
  const internalDomain = accepted !== null && accepted.domain.DomainType !== 'ExternalRelay';
  if (scope === 'InOrganization') return context.authAs === 'Internal' && internalDomain;
  if (scope === 'NotInOrganization') return !internalDomain;
  return false;
}

function headerValues(context: RuleContext, name: string): string[] {
  const wanted = name.trim().toLowerCase();
  return context.headers.filter((field) => field.name.toLowerCase() === wanted).map((field) => field.value);
}

const wordPatterns = new Map<string, RegExp | null>();

/** Exchange's "includes any of these words": case-insensitive word or phrase match. */
function containsWord(value: string, word: string): boolean {
  let regex = wordPatterns.get(word);
  if (regex === undefined) {
    const escaped = word.trim().replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+');
    regex = escaped ? new RegExp(`(?:^|[^\\p{L}\\p{N}_])${escaped}(?:$|[^\\p{L}\\p{N}_])`, 'iu') : null;
    if (wordPatterns.size > 10_000) wordPatterns.clear();
    wordPatterns.set(word, regex);
  }
  return regex !== null && regex.test(value);
}

const compiledPatterns = new Map<string, RegExp>();

/** .NET-style patterns used by Exchange, run case-insensitively (S21). Throws on a pattern JS cannot compile. */
function patternMatches(value: string, pattern: string): boolean {
  let regex = compiledPatterns.get(pattern);
  if (!regex) {
    regex = new RegExp(pattern, 'i');
    if (compiledPatterns.size > 10_000) compiledPatterns.clear();
    compiledPatterns.set(pattern, regex);
  }
  return regex.test(value);
}

/** A header condition: the named header's values tested against words or patterns (S18, S21). */
function headerPredicate(
  context: RuleContext,
  header: unknown,
  tests: unknown,
  label: string,
  matches: (value: string, test: string) => boolean,
): PredicateResult {
  const values = headerValues(context, String(header));
  const list = asList(tests);
  const hit = values.find((value) => list.some((item) => matches(value, item)));
  return {
    matched: hit !== undefined,
    reason: `header ${String(header)} ${values.length ? `is "${values.join('", "')}"` : 'is absent'}; ${label} [${list.join(', ')}]`,
  };
}

const EVALUATED: readonly PredicateDefinition[] = [
  {
    parameters: ['FromScope', 'SenderAddressLocation'],
    evaluate: ([scope, location], context) => {
      const { addresses, note } = senderAddresses(location, context);
      const matched = addresses.some((address) => fromScope(String(scope), address, context));
      const detail =
        String(scope) === 'InOrganization'
          ? `needs an authenticated (Internal) connection and a sender in an accepted domain; AuthAs is ${context.authAs}`
          : 'needs a sender outside the accepted domains (or in an external-relay domain)';
      return { matched, reason: `FromScope ${String(scope)} on ${note} ${addresses.join(', ') || '<>'}: ${detail}` };
    },
  },
  {
    parameters: ['From', 'SenderAddressLocation'],
    evaluate: ([from, location], context) => {
      const wanted = asList(from).map((entry) => (addressInHeader(entry) ?? entry).toLowerCase());
      const { addresses, note } = senderAddresses(location, context);
      const hit = addresses.find((address) => wanted.includes(address));
      return { matched: hit !== undefined, reason: `From [${wanted.join(', ')}] on ${note} ${addresses.join(', ') || '<>'}` };
    },
  },
  {
    parameters: ['SenderDomainIs', 'SenderAddressLocation'],
    evaluate: ([domains, location], context) => {
      const wanted = asList(domains).map(normaliseDomain);
      const { addresses, note } = senderAddresses(location, context);
      const hit = addresses.some((address) => {
        const domain = domainOf(address);
        return domain !== null && wanted.some((entry) => isSameOrSubdomain(domain, entry));
      });
      return { matched: hit, reason: `SenderDomainIs [${wanted.join(', ')}] on ${note} ${addresses.join(', ') || '<>'}` };
    },
  },
  {
    parameters: ['SenderIpRanges'],
    evaluate: ([ranges], context) => {
      const list = compiledIpList(Array.isArray(ranges) ? (ranges as string[]) : asList(ranges));
      if (list.invalid.length > 0) {
        throw new Error(`invalid SenderIpRanges entries: ${list.invalid.map((entry) => entry.text).join(', ')}`);
      }
      const hit = findInList(list, context.clientIp);
      return {
        matched: hit !== null,
        reason: `SenderIpRanges: last hop ${context.clientIpText} ${hit ? `is in ${hit.text}` : 'is in none of the ranges'}`,
      };
    },
  },
  {
    parameters: ['RecipientDomainIs'],
    evaluate: ([domains], context) => {
      const wanted = asList(domains).map(normaliseDomain);
      const hit = context.recipients.find((recipient) => {
        const domain = domainOf(recipient);
        return domain !== null && wanted.some((entry) => isSameOrSubdomain(domain, entry));
      });
      return { matched: hit !== undefined, reason: `RecipientDomainIs [${wanted.join(', ')}]${hit ? `: ${hit}` : ''}` };
    },
  },
  {
    parameters: ['SentToScope'],
    evaluate: ([scope], context) => {
      const inside = (recipient: string) => {
        const accepted = findAcceptedDomain(domainOf(recipient), context.acceptedDomains, context.assumptions);
        return accepted !== null && accepted.domain.DomainType !== 'ExternalRelay';
      };
      const value = String(scope);
      if (value !== 'InOrganization' && value !== 'NotInOrganization') {
        throw new Error(`SentToScope ${value} needs partner-domain data the snapshot does not hold`);
      }
      const matched = context.recipients.some((recipient) => (value === 'InOrganization' ? inside(recipient) : !inside(recipient)));
      return { matched, reason: `SentToScope ${value}` };
    },
  },
  {
    parameters: ['HeaderContainsMessageHeader', 'HeaderContainsWords'],
    evaluate: ([header, words], context) => headerPredicate(context, header, words, 'words', containsWord),
  },
  {
    parameters: ['HeaderMatchesMessageHeader', 'HeaderMatchesPatterns'],
    evaluate: ([header, patterns], context) => headerPredicate(context, header, patterns, 'patterns', patternMatches),
  },
];

/**
 * Condition parameters of New-TransportRule that the emulator does not evaluate (content, attachments, directory
 * attributes, classifications…). Listed so that a rule using one is reported, not mis-evaluated.
 */
export const NOT_EVALUATED_PREDICATES: readonly string[] = [
  'ADComparisonAttribute',
  'AnyOfCcHeader',
  'AnyOfCcHeaderMemberOf',
  'AnyOfRecipientAddressContainsWords',
  'AnyOfRecipientAddressMatchesPatterns',
  'AnyOfToCcHeader',
  'AnyOfToCcHeaderMemberOf',
  'AnyOfToHeader',
  'AnyOfToHeaderMemberOf',
  'AttachmentContainsWords',
  'AttachmentExtensionMatchesWords',
  'AttachmentHasExecutableContent',
  'AttachmentIsPasswordProtected',
  'AttachmentIsUnsupported',
  'AttachmentMatchesPatterns',
  'AttachmentNameMatchesPatterns',
  'AttachmentProcessingLimitExceeded',
  'AttachmentPropertyContainsWords',
  'AttachmentSizeOver',
  'BetweenMemberOf1',
  'ContentCharacterSetContainsWords',
  'FromAddressContainsWords',
  'FromAddressMatchesPatterns',
  'FromMemberOf',
  'HasClassification',
  'HasNoClassification',
  'HasSenderOverride',
  'ManagerAddresses',
  'MessageContainsDataClassifications',
  'MessageSizeOver',
  'MessageTypeMatches',
  'RecipientADAttributeContainsWords',
  'RecipientADAttributeMatchesPatterns',
  'RecipientAddressContainsWords',
  'RecipientAddressMatchesPatterns',
  'RecipientInSenderList',
  'SCLOver',
  'SenderADAttributeContainsWords',
  'SenderADAttributeMatchesPatterns',
  'SenderInRecipientList',
  'SenderManagementRelationship',
  'SentTo',
  'SentToMemberOf',
  'SubjectContainsWords',
  'SubjectMatchesPatterns',
  'SubjectOrBodyContainsWords',
  'SubjectOrBodyMatchesPatterns',
  'WithImportance',
];

/** True when a rule property holds a configured value (not null, empty, or false). */
export function isSet(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  return true;
}

export interface PredicateOutcome {
  parameter: string;
  /** null: not evaluated. */
  matched: boolean | null;
  reason: string;
}

/** One configured predicate of a rule, with the values it reads. */
interface ConfiguredPredicate {
  parameter: string;
  /** null: a predicate the emulator does not evaluate. */
  definition: PredicateDefinition | null;
  values: unknown[];
}

const configuredCache = new WeakMap<object, { conditions: ConfiguredPredicate[]; exceptions: ConfiguredPredicate[] }>();

/** The predicates a rule configures, found once per rule object (snapshots are immutable during a run). */
function configuredPredicates(rule: Record<string, unknown>): { conditions: ConfiguredPredicate[]; exceptions: ConfiguredPredicate[] } {
  let cached = configuredCache.get(rule);
  if (cached) return cached;
  const collect = (prefix: '' | 'ExceptIf'): ConfiguredPredicate[] => {
    const found: ConfiguredPredicate[] = [];
    for (const definition of EVALUATED) {
      const [first, ...rest] = definition.parameters;
      if (!first) continue;
      const name = `${prefix}${first}`;
      if (!isSet(rule[name])) continue;
      // SenderAddressLocation has no ExceptIf form: it applies to conditions and exceptions alike (S18).
      const values = [rule[name], ...rest.map((parameter) => rule[parameter === 'SenderAddressLocation' ? parameter : `${prefix}${parameter}`])];
      found.push({ parameter: name, definition, values });
    }
    for (const parameter of NOT_EVALUATED_PREDICATES) {
      const name = `${prefix}${parameter}`;
      if (isSet(rule[name])) found.push({ parameter: name, definition: null, values: [] });
    }
    return found;
  };
  cached = { conditions: collect(''), exceptions: collect('ExceptIf') };
  configuredCache.set(rule, cached);
  return cached;
}

/** Evaluates every configured condition (prefix `''`) or exception (prefix `'ExceptIf'`) of a rule. */
export function evaluatePredicates(
  rule: Record<string, unknown>,
  prefix: '' | 'ExceptIf',
  context: RuleContext,
): PredicateOutcome[] {
  const configured = configuredPredicates(rule);
  return (prefix === '' ? configured.conditions : configured.exceptions).map(({ parameter, definition, values }) => {
    if (!definition) return { parameter, matched: null, reason: `not evaluated: ${parameter} is not emulated` };
    try {
      const result = definition.evaluate(values, context);
      return { parameter, matched: result.matched, reason: result.reason };
    } catch (error) {
      return { parameter, matched: null, reason: `not evaluated: ${(error as Error).message}` };
    }
  });
}
