/**
 * The transport-rule predicates, as data: every condition parameter of New-TransportRule (S18, S21), which of them
 * the emulator evaluates, and how. Each condition `X` has an exception `ExceptIfX` with the same semantics.
 * Predicates that are not evaluated are reported as such; a rule that uses one is never silently true or false.
 * Attachment conditions are evaluated over the attachments a transaction lists: a message that lists none has none,
 * so every attachment condition is a plain non-match for it; what a listed attachment does not say (its name, size,
 * content, the files inside an archive) leaves the conditions that need it not evaluated.
 */
import { addressInHeader, domainOf, findAcceptedDomain, isSameOrSubdomain, normaliseDomain } from './addresses.js';
import type { Assumptions } from './assumptions.js';
import { compiledIpList, findInList, type IpAddress } from './ip.js';
import type { AcceptedDomain } from '../snapshot/schema.js';
import type { AuthAs, HeaderField, TransactionAttachment } from './types.js';

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
  /** The message's attachments as the transaction lists them; absent or empty: the message has none; `'unknown'`: not said. */
  attachments?: readonly TransactionAttachment[] | 'unknown' | undefined;
}

export interface PredicateResult {
  matched: boolean;
  reason: string;
}

export interface PredicateDefinition {
  /** The parameter names the predicate reads (the first is its name). */
  parameters: readonly string[];
  evaluate: (values: unknown[], context: RuleContext) => PredicateResult;
}

export const asList = (value: unknown): string[] =>
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

const NO_ATTACHMENTS = 'the message has no attachments (the transaction lists none)';

/**
 * Extensions of files that hold other files. Exchange inspects the files inside attachments too (S18,
 * AttachmentExtensionMatchesWords), so an archive whose files the transaction does not list leaves the extension
 * condition open.
 */
const CONTAINER_EXTENSIONS = new Set(['zip', '7z', 'rar', 'tar', 'gz', 'tgz', 'bz2', 'xz', 'cab', 'iso', 'img', 'eml', 'msg']);

const extensionOf = (name: string): string | null => {
  const dot = name.lastIndexOf('.');
  return dot >= 0 && dot < name.length - 1 ? name.slice(dot + 1).toLowerCase() : null;
};

/** The attachments a rule can judge: the listed ones (none when absent); throws when the transaction does not say. */
function listedAttachments(parameter: string, context: RuleContext): readonly TransactionAttachment[] {
  if (context.attachments === 'unknown') throw new Error(`${parameter}: the transaction does not say whether the message has attachments`);
  return context.attachments ?? [];
}

/** Every file the attachments carry, the files listed inside them included. */
function allFiles(attachments: readonly TransactionAttachment[]): TransactionAttachment[] {
  return attachments.flatMap((attachment) => [attachment, ...allFiles(attachment.files ?? [])]);
}

/**
 * A ByteQuantifiedSize as Get-TransportRule returns it (`10 MB (10,485,760 bytes)`) or as it is given (`10MB`, `512 KB`,
 * a plain number of bytes; S18: B, KB, MB, GB, TB). Throws on anything else.
 */
export function quantifiedBytes(value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  const text = String(value).trim();
  const exact = /\(([\d,]+) bytes\)/i.exec(text);
  if (exact) return Number((exact[1] as string).replace(/,/g, ''));
  const match = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB)?$/i.exec(text);
  if (!match) throw new Error(`AttachmentSizeOver "${text}" is not a size`);
  const power = ['B', 'KB', 'MB', 'GB', 'TB'].indexOf((match[2] ?? 'B').toUpperCase());
  return Math.round(Number(match[1]) * 1024 ** power);
}

/** An attachment condition that needs the attachments' content: a non-match without attachments, else not evaluated. */
function attachmentContentPredicate(parameter: string): PredicateDefinition {
  return {
    parameters: [parameter],
    evaluate: (_values, context) => {
      const attachments = listedAttachments(parameter, context);
      if (attachments.length === 0) return { matched: false, reason: `${parameter}: ${NO_ATTACHMENTS}` };
      throw new Error(`${parameter} needs the content of the ${attachments.length} attachment(s), which the transaction does not carry`);
    },
  };
}

const ATTACHMENT_PREDICATES: readonly PredicateDefinition[] = [
  {
    parameters: ['AttachmentExtensionMatchesWords'],
    evaluate: ([words], context) => {
      const attachments = listedAttachments('AttachmentExtensionMatchesWords', context);
      const wanted = asList(words).map((word) => word.trim().replace(/^\./, '').toLowerCase());
      if (attachments.length === 0) return { matched: false, reason: `AttachmentExtensionMatchesWords [${wanted.join(', ')}]: ${NO_ATTACHMENTS}` };
      const files = allFiles(attachments);
      const hit = files.find((file) => file.name !== undefined && wanted.includes(extensionOf(file.name) ?? ''));
      if (hit) return { matched: true, reason: `AttachmentExtensionMatchesWords [${wanted.join(', ')}]: attachment "${hit.name}"` };
      if (files.some((file) => file.name === undefined)) throw new Error('AttachmentExtensionMatchesWords: an attachment has no file name in the transaction');
      const closed = files.find((file) => file.files === undefined && CONTAINER_EXTENSIONS.has(extensionOf(file.name ?? '') ?? ''));
      if (closed) throw new Error(`AttachmentExtensionMatchesWords: Exchange also inspects the files inside "${closed.name}", which the transaction does not list`);
      return { matched: false, reason: `AttachmentExtensionMatchesWords [${wanted.join(', ')}]: no attachment has one of these extensions (${files.map((file) => file.name).join(', ')})` };
    },
  },
  {
    parameters: ['AttachmentNameMatchesPatterns'],
    evaluate: ([patterns], context) => {
      const attachments = listedAttachments('AttachmentNameMatchesPatterns', context);
      const list = asList(patterns);
      if (attachments.length === 0) return { matched: false, reason: `AttachmentNameMatchesPatterns [${list.join(', ')}]: ${NO_ATTACHMENTS}` };
      const hit = attachments.find((file) => file.name !== undefined && list.some((pattern) => patternMatches(file.name as string, pattern)));
      if (hit) return { matched: true, reason: `AttachmentNameMatchesPatterns [${list.join(', ')}]: attachment "${hit.name}"` };
      if (attachments.some((file) => file.name === undefined)) throw new Error('AttachmentNameMatchesPatterns: an attachment has no file name in the transaction');
      return { matched: false, reason: `AttachmentNameMatchesPatterns [${list.join(', ')}]: no attachment name matches (${attachments.map((file) => file.name).join(', ')})` };
    },
  },
  {
    parameters: ['AttachmentSizeOver'],
    evaluate: ([limit], context) => {
      const attachments = listedAttachments('AttachmentSizeOver', context);
      const bytes = quantifiedBytes(limit);
      if (attachments.length === 0) return { matched: false, reason: `AttachmentSizeOver ${bytes} bytes: ${NO_ATTACHMENTS}` };
      const hit = attachments.find((file) => file.size !== undefined && file.size > bytes);
      if (hit) return { matched: true, reason: `AttachmentSizeOver ${bytes} bytes: "${hit.name ?? 'an attachment'}" is ${hit.size} bytes` };
      if (attachments.some((file) => file.size === undefined)) throw new Error('AttachmentSizeOver: an attachment has no size in the transaction');
      return { matched: false, reason: `AttachmentSizeOver ${bytes} bytes: every attachment is smaller or equal` };
    },
  },
  ...[
    'AttachmentContainsWords',
    'AttachmentHasExecutableContent',
    'AttachmentIsPasswordProtected',
    'AttachmentIsUnsupported',
    'AttachmentMatchesPatterns',
    'AttachmentProcessingLimitExceeded',
    'AttachmentPropertyContainsWords',
  ].map(attachmentContentPredicate),
];

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
  ...ATTACHMENT_PREDICATES,
];

/**
 * Condition parameters of New-TransportRule that the emulator does not evaluate (content, directory attributes,
 * classifications…). Listed so that a rule using one is reported, not mis-evaluated.
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
export interface ConfiguredPredicate {
  parameter: string;
  /** null: a predicate the emulator does not evaluate. */
  definition: PredicateDefinition | null;
  values: unknown[];
}

const configuredCache = new WeakMap<object, { conditions: ConfiguredPredicate[]; exceptions: ConfiguredPredicate[] }>();

/** The predicates a rule configures, found once per rule object (snapshots are immutable during a run). */
export function configuredPredicates(rule: Record<string, unknown>): { conditions: ConfiguredPredicate[]; exceptions: ConfiguredPredicate[] } {
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

/** Evaluates one configured predicate: not emulated, or one that cannot be evaluated here, is `matched: null`. */
export function evaluatePredicate({ parameter, definition, values }: ConfiguredPredicate, context: RuleContext): PredicateOutcome {
  if (!definition) return { parameter, matched: null, reason: `not evaluated: ${parameter} is not emulated` };
  try {
    const result = definition.evaluate(values, context);
    return { parameter, matched: result.matched, reason: result.reason };
  } catch (error) {
    return { parameter, matched: null, reason: `not evaluated: ${(error as Error).message}` };
  }
}

/** Evaluates every configured condition (prefix `''`) or exception (prefix `'ExceptIf'`) of a rule. */
export function evaluatePredicates(
  rule: Record<string, unknown>,
  prefix: '' | 'ExceptIf',
  context: RuleContext,
): PredicateOutcome[] {
  const configured = configuredPredicates(rule);
  return (prefix === '' ? configured.conditions : configured.exceptions).map((predicate) => evaluatePredicate(predicate, context));
}
