/**
 * Transport rules compiled for the fast path: each rule's conditions and exceptions become closures that return a
 * boolean (no reason text), and an index finds the few rules a transaction can match — by sender address or domain,
 * recipient domain, client address interval, or a word of a header value — so that a rule that cannot match is
 * never called. The results are those of rules.ts (evaluateTransportRules) in every field but each rule's `reasons`,
 * which only the traced path writes; test/eop/fast-path.test.ts checks that over random tenants and transactions.
 *
 * A rule whose outcome can depend on a predicate that is not evaluated for this one transaction (attachment
 * conditions with listed attachments, a pattern JavaScript cannot compile) is evaluated through rule-predicates.ts
 * exactly as the traced path does.
 */
import type { TransportRule } from '../snapshot/schema.js';
import { addressInHeader, normaliseDomain } from './addresses.js';
import type { Assumptions } from './assumptions.js';
import { compileIpList, type IpEntry } from './ip.js';
import { IntervalIndex, IpSet, type ClientAddress } from './ip-table.js';
import { asList, configuredPredicates, evaluatePredicates, isSet, type ConfiguredPredicate, type RuleContext } from './rule-predicates.js';
import { ruleRejectReply, describeActions } from './rules.js';
import type { AuthAs, RuleEvaluation, TransactionAttachment } from './types.js';

/** What the compiled predicates read of one transaction (built by the rules stage). */
export interface RuleFacts {
  address: ClientAddress;
  /** The envelope sender, lower case. */
  envelope: string;
  /** The header From address (lower case), or null. */
  headerFrom: string | null;
  /** domainOf() the envelope sender and the header From, and whether each is internal (see {@link RuleFacts.internal}). */
  envelopeDomain: string | null;
  headerFromDomain: string | null;
  envelopeInternal: boolean;
  headerFromInternal: boolean;
  /** Where the rules index keeps what it finds by the envelope sender and by the header From (see {@link SenderHits}). */
  envelopeHits: SenderHits;
  headerFromHits: SenderHits;
  /** The same for each accepted recipient, parallel to `recipientDomains`. */
  recipientHits: readonly RecipientHits[];
  authAs: AuthAs;
  /** The accepted recipients and their domains. */
  recipients: readonly string[];
  recipientDomains: readonly (string | null)[];
  /** Header values by header id (see {@link CompiledRules.headerIds}), after the header firewall; absent: none. */
  headers: (HeaderValue[] | undefined)[];
  attachments: readonly TransactionAttachment[] | 'unknown' | undefined;
  /** Whether an address's domain is accepted and not an external relay (FromScope, SentToScope). */
  internal(address: string): boolean;
  /** The full rule context, for rules evaluated through rule-predicates.ts. */
  context(): RuleContext;
}

type Test = (facts: RuleFacts, senders: SenderCache) => boolean;

/**
 * The rules a sender address finds through the index (by the address, and by its domain and the domains above it),
 * per SenderAddressLocation kind: kept on the stages' per-address facts, so that the same address does not look the
 * index up again. The stages make one per sender address of the compiled tables; the index fills it when first asked.
 */
export interface SenderHits {
  ruleHits: (readonly number[] | undefined)[];
}

/** The rules a recipient finds through the index by its domain (and the domains above it), kept likewise. */
export interface RecipientHits {
  ruleHits: readonly number[] | undefined;
}

/**
 * How many shared rule lists are kept (each holds an evaluation per rule up to the last one evaluated: 2–3 KB for a
 * tenant with 300 rules). A proof of such a tenant meets tens of thousands of distinct lists; a bench or a trace a
 * few hundred. Past the bound the cache starts again.
 */
const LIST_CACHE = 2_000;

/**
 * A bounded memo: answers remembered per value (an address, a domain, a header value), cleared when it grows past
 * `limit` — the same values recur across the transactions of a proof or a bench, and a table never grows without bound.
 */
export class Memo<Value> {
  private readonly answers = new Map<string, Value>();
  constructor(private readonly limit: number) {}
  get(key: string): Value | undefined {
    return this.answers.get(key);
  }
  set(key: string, value: Value): Value {
    if (this.answers.size >= this.limit) this.answers.clear();
    this.answers.set(key, value);
    return value;
  }
}

/** One header value as the compiled rules read it, made once per value text (CompiledRules.headerValue). */
export interface HeaderValue {
  value: string;
  lower: string;
  /** ASCII only. */
  ascii: boolean;
  /** Per header id: the rules a word of this value finds under that header (made when first asked). */
  hits: (readonly number[] | undefined)[];
}

/** A header name as the rules stage reads it, made once per name text (CompiledRules.headerName). */
export interface HeaderName {
  /** The name as given. */
  text: string;
  lower: string;
  /** The header id the rules read it under, or -1. */
  id: number;
  /** An X-MS-Exchange-Organization-* header: removed from mail not authenticated as internal (S33). */
  organization: boolean;
  /** X-MS-Exchange-Organization-AuthAs: always replaced by EOP's own stamp. */
  authAs: boolean;
}

/** SenderAddressLocation: Header (the default), Envelope, HeaderOrEnvelope (S18). */
type LocationKind = 0 | 1 | 2;
const locationKind = (location: unknown): LocationKind => {
  const value = String(location ?? 'Header');
  return value === 'Envelope' ? 1 : value === 'HeaderOrEnvelope' ? 2 : 0;
};

/** The sender addresses per location kind, computed once per transaction (as senderAddresses() does). */
export class SenderCache {
  // One field per location kind (0 Header, 1 Envelope, 2 HeaderOrEnvelope), made when first read: one SenderCache is
  // made per message, and most messages read one kind or none.
  declare private addresses0: string[] | undefined;
  declare private addresses1: string[] | undefined;
  declare private addresses2: string[] | undefined;
  declare private internal0: boolean[] | undefined;
  declare private internal1: boolean[] | undefined;
  declare private internal2: boolean[] | undefined;
  declare private readonly facts: RuleFacts;
  constructor(facts: RuleFacts) {
    this.facts = facts;
    this.addresses0 = undefined;
    this.addresses1 = undefined;
    this.addresses2 = undefined;
    this.internal0 = undefined;
    this.internal1 = undefined;
    this.internal2 = undefined;
  }

  /** The header From takes part: kind 0 when there is one, kind 2 when it differs from the envelope sender. */
  withHeader(kind: LocationKind): boolean {
    const { envelope, headerFrom } = this.facts;
    return kind === 0 ? headerFrom !== null : kind === 2 && headerFrom !== null && headerFrom !== envelope;
  }

  /** The sender addresses a condition of this kind looks at (senderAddresses() in rule-predicates.ts). */
  addresses(kind: LocationKind): string[] {
    const known = kind === 0 ? this.addresses0 : kind === 1 ? this.addresses1 : this.addresses2;
    if (known) return known;
    const { envelope, headerFrom } = this.facts;
    const list = !this.withHeader(kind) ? [envelope] : kind === 0 ? [headerFrom as string] : [headerFrom as string, envelope];
    if (kind === 0) this.addresses0 = list;
    else if (kind === 1) this.addresses1 = list;
    else this.addresses2 = list;
    return list;
  }

  /** The domains of {@link addresses}, as domainOf() gives them (the stages made them once per address). */
  domainsOf(kind: LocationKind): (string | null)[] {
    const { envelopeDomain, headerFromDomain } = this.facts;
    return !this.withHeader(kind) ? [envelopeDomain] : kind === 0 ? [headerFromDomain] : [headerFromDomain, envelopeDomain];
  }

  /** Whether each of {@link addresses} is internal (RuleFacts.internal), as the stages found once per address. */
  internal(kind: LocationKind): boolean[] {
    const known = kind === 0 ? this.internal0 : kind === 1 ? this.internal1 : this.internal2;
    if (known) return known;
    const { envelopeInternal, headerFromInternal } = this.facts;
    const list = !this.withHeader(kind) ? [envelopeInternal] : kind === 0 ? [headerFromInternal] : [headerFromInternal, envelopeInternal];
    if (kind === 0) this.internal0 = list;
    else if (kind === 1) this.internal1 = list;
    else this.internal2 = list;
    return list;
  }
}

/** `domain` equals an entry of the set or lies below one (isSameOrSubdomain against each entry). */
function underAny(domain: string, entries: ReadonlySet<string>): boolean {
  if (entries.has(domain)) return true;
  for (let dot = domain.indexOf('.'); dot >= 0; dot = domain.indexOf('.', dot + 1)) {
    if (entries.has(domain.slice(dot + 1))) return true;
  }
  return false;
}

function pushAll(into: number[], list: readonly number[] | undefined | null): void {
  if (list) for (let index = 0; index < list.length; index++) into.push(list[index] as number);
}

/** The ids filed under `domain` or under any suffix of it after a dot. */
function pushSuffixes(into: number[], index: ReadonlyMap<string, readonly number[]>, domain: string): void {
  pushAll(into, index.get(domain));
  for (let dot = domain.indexOf('.'); dot >= 0; dot = domain.indexOf('.', dot + 1)) pushAll(into, index.get(domain.slice(dot + 1)));
}

const NO_IDS: readonly number[] = Object.freeze([]);
const NO_EVALUATIONS = Object.freeze([]) as unknown as RuleEvaluation[];


/** Sorts a short list of ids in place (insertion sort: the lists are a few entries long). */
function sortSmall(list: number[]): void {
  for (let index = 1; index < list.length; index++) {
    const value = list[index] as number;
    let at = index - 1;
    while (at >= 0 && (list[at] as number) > value) {
      list[at + 1] = list[at] as number;
      at--;
    }
    list[at + 1] = value;
  }
}

const isAsciiText = (text: string): boolean => {
  for (let index = 0; index < text.length; index++) if (text.charCodeAt(index) > 127) return false;
  return true;
};

const isWordCode = (code: number): boolean =>
  (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || (code >= 48 && code <= 57) || code === 95;

/** The maximal runs of ASCII letters, digits and `_` in a text, lower-cased. */
export function wordRuns(text: string): string[] {
  const runs: string[] = [];
  let start = -1;
  for (let index = 0; index <= text.length; index++) {
    const word = index < text.length && isWordCode(text.charCodeAt(index));
    if (word && start < 0) start = index;
    else if (!word && start >= 0) {
      runs.push(text.slice(start, index).toLowerCase());
      start = -1;
    }
  }
  return runs;
}

/**
 * Exchange's "includes any of these words" (containsWord in rule-predicates.ts) for an ASCII value and an ASCII word
 * without whitespace: the word, case-insensitively, with no letter, digit or `_` right before or after it.
 */
export function asciiWordIn(lowerValue: string, lowerWord: string): boolean {
  for (let from = 0; ; ) {
    const at = lowerValue.indexOf(lowerWord, from);
    if (at < 0) return false;
    const end = at + lowerWord.length;
    if ((at === 0 || !isWordCode(lowerValue.charCodeAt(at - 1))) && (end >= lowerValue.length || !isWordCode(lowerValue.charCodeAt(end)))) return true;
    from = at + 1;
  }
}

/**
 * The literal runs every match of a pattern must contain (case-insensitively, ASCII only), read conservatively: a
 * pattern with alternation, or an escape that is not plainly one character or one class, gives null (no runs known).
 * Groups and classes break a run; a `?`, `*` or `{` quantifier removes the character before it.
 */
export function requiredLiterals(pattern: string): string[] | null {
  if (pattern.includes('|')) return null;
  const runs: string[] = [];
  let current = '';
  let lastLiteral = false;
  const flush = () => {
    if (current) runs.push(current);
    current = '';
    lastLiteral = false;
  };
  /** The index of the `]` that closes the class opened at `start` (in JavaScript the first unescaped one), or -1. */
  const skipClass = (start: number): number => {
    for (let index = start + 1; index < pattern.length; index++) {
      if (pattern[index] === '\\') index++;
      else if (pattern[index] === ']') return index;
    }
    return -1;
  };
  let depth = 0;
  for (let index = 0; index < pattern.length; index++) {
    const character = pattern[index] as string;
    if (depth > 0) {
      if (character === '\\') index++;
      else if (character === '[') {
        index = skipClass(index);
        if (index < 0) return null;
      } else if (character === '(') depth++;
      else if (character === ')') depth--;
      continue;
    }
    switch (character) {
      case '\\': {
        const next = pattern[index + 1];
        if (next === undefined) return null;
        index++;
        if (/[dDwWsSbBnrtvf0]/.test(next)) flush();
        else if (/[A-Za-z0-9]/.test(next)) return null;
        else if (next.charCodeAt(0) > 127) flush();
        else {
          current += next.toLowerCase();
          lastLiteral = true;
        }
        break;
      }
      case '*':
      case '?':
      case '{':
        if (lastLiteral) current = current.slice(0, -1);
        flush();
        if (character === '{') {
          const close = pattern.indexOf('}', index);
          if (close < 0) return null;
          index = close;
        }
        break;
      case '+':
        flush();
        break;
      case '[':
        flush();
        index = skipClass(index);
        if (index < 0) return null;
        break;
      case '(':
        flush();
        depth++;
        break;
      case ')':
        return null;
      case '.':
      case '^':
      case '$':
      case ']':
      case '}':
        flush();
        break;
      default:
        if (character.charCodeAt(0) > 127) flush();
        else {
          current += character.toLowerCase();
          lastLiteral = true;
        }
    }
  }
  flush();
  return runs;
}

/** The word runs of a literal that have a non-word character on both sides inside it: whole words of any match. */
function interiorRuns(literal: string): string[] {
  const out: string[] = [];
  let start = -1;
  for (let index = 0; index <= literal.length; index++) {
    const word = index < literal.length && isWordCode(literal.charCodeAt(index));
    if (word && start < 0) start = index;
    else if (!word && start >= 0) {
      if (start > 0 && index < literal.length) out.push(literal.slice(start, index));
      start = -1;
    }
  }
  return out;
}

function containsAll(text: string, literals: readonly string[]): boolean {
  for (let index = 0; index < literals.length; index++) if (!text.includes(literals[index] as string)) return false;
  return true;
}

/** One word of a HeaderContainsWords list. */
interface WordTest {
  lower: string;
  /** ASCII without whitespace: tested by {@link asciiWordIn} on ASCII values. */
  simple: boolean;
  regex: RegExp;
  /** Word runs that every match has as whole words of an ASCII value (null: the word is not ASCII). */
  runs: string[] | null;
}

interface PatternTest {
  regex: RegExp;
  /** Lower-case literals every match contains. */
  literals: string[];
  /** Whole words every match has (from the literals' interior runs). */
  runs: string[];
}

/** How a rule is found: by an index (its guard) or always. */
type Guard =
  | { kind: 'from'; location: LocationKind; keys: string[] }
  | { kind: 'sender-domain'; location: LocationKind; keys: string[] }
  | { kind: 'recipient-domain'; keys: string[] }
  | { kind: 'ip'; entries: IpEntry[] }
  | { kind: 'header'; id: number; words: WordTest[] | null; patterns: PatternTest[] | null };

interface CompiledPredicate {
  parameter: string;
  /** null: not evaluated for a transaction without attachments (a static "not evaluated"). */
  test: Test | null;
  guard: Guard | null;
  /** Attachment conditions: evaluated through rule-predicates.ts when the transaction lists attachments. */
  attachments: boolean;
}

export interface CompiledRule {
  rule: TransportRule;
  /** Position among the enabled rules, in priority order. */
  order: number;
  conditions: Test[];
  exceptions: Test[];
  /** A predicate is not evaluated (for a transaction without attachments): a rule that would match is `null`. */
  staticNull: boolean;
  /** Evaluated through rule-predicates.ts: always (a pattern JS cannot compile), or when attachments are listed. */
  generic: 'never' | 'always' | 'with-attachments';
  guard: Guard | null;
  notMatched: RuleEvaluation;
  notEvaluated: RuleEvaluation;
  matched: RuleEvaluation;
  mode: TransportRule['Mode'];
  stop: boolean;
  scl: number | null;
  outcome: { kind: 'delete' } | { kind: 'reject'; enhanced: string; text: string } | { kind: 'quarantine' } | null;
}

/**
 * Whether what a rule answers can change nothing but its own entry in a verdict's rule list: it sets no SCL, ends
 * nothing (no reject, delete, quarantine or StopRuleProcessing, in any mode) and is evaluated for every transaction
 * without attachments (no predicate eoplock does not evaluate, no pattern left to the generic path), so it is never
 * `null` and never makes a verdict incomplete. Its actions (a disclaimer, a header, a copy) are not emulated. The class
 * search does not tell inputs apart by such a rule's conditions (src/prove/classes.ts).
 */
export function isInertRule(rule: CompiledRule): boolean {
  return !rule.stop && rule.scl === null && rule.outcome === null && !rule.staticNull && rule.generic !== 'always';
}

const NO_REASONS = Object.freeze([]) as unknown as string[];

/** A rule's evaluation without reasons; read-only, as fast-path verdicts share them. */
function evaluation(rule: TransportRule, matched: boolean | null, actionTaken: string, notEvaluated: string[]): RuleEvaluation {
  return Object.freeze({ name: rule.Name, priority: rule.Priority, mode: rule.Mode, matched, actionTaken, notEvaluated: Object.freeze(notEvaluated) as string[], reasons: NO_REASONS });
}

/** Header names the rules read, as ids. */
class HeaderIds {
  readonly ids = new Map<string, number>();
  id(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.ids.size;
      this.ids.set(name, id);
    }
    return id;
  }
}

function compilePredicate(configured: ConfiguredPredicate, headers: HeaderIds): CompiledPredicate | 'generic' {
  const { parameter, definition, values } = configured;
  if (!definition) return { parameter, test: null, guard: null, attachments: false };
  const base = definition.parameters[0] as string;
  switch (base) {
    case 'FromScope': {
      const scope = String(values[0]);
      const kind = locationKind(values[1]);
      const test: Test =
        scope === 'InOrganization'
          ? (facts, senders) => facts.authAs === 'Internal' && senders.internal(kind).includes(true)
          : scope === 'NotInOrganization'
            ? (_facts, senders) => senders.internal(kind).includes(false)
            : () => false;
      return { parameter, test, guard: null, attachments: false };
    }
    case 'From': {
      const kind = locationKind(values[1]);
      const wanted = new Set(asList(values[0]).map((entry) => (addressInHeader(entry) ?? entry).toLowerCase()));
      return {
        parameter,
        test: (_facts, senders) => senders.addresses(kind).some((address) => wanted.has(address)),
        guard: { kind: 'from', location: kind, keys: [...wanted] },
        attachments: false,
      };
    }
    case 'SenderDomainIs': {
      const kind = locationKind(values[1]);
      const wanted = new Set(asList(values[0]).map(normaliseDomain));
      return {
        parameter,
        test: (_facts, senders) => senders.domainsOf(kind).some((domain) => domain !== null && underAny(domain, wanted)),
        guard: { kind: 'sender-domain', location: kind, keys: [...wanted] },
        attachments: false,
      };
    }
    case 'SenderIpRanges': {
      const list = compileIpList(Array.isArray(values[0]) ? (values[0] as string[]) : asList(values[0]));
      if (list.invalid.length > 0) return { parameter, test: null, guard: null, attachments: false };
      const set = new IpSet(list.entries);
      return { parameter, test: (facts) => set.has(facts.address), guard: { kind: 'ip', entries: list.entries }, attachments: false };
    }
    case 'RecipientDomainIs': {
      const wanted = new Set(asList(values[0]).map(normaliseDomain));
      return {
        parameter,
        test: (facts) => facts.recipientDomains.some((domain) => domain !== null && underAny(domain, wanted)),
        guard: { kind: 'recipient-domain', keys: [...wanted] },
        attachments: false,
      };
    }
    case 'SentToScope': {
      const scope = String(values[0]);
      if (scope !== 'InOrganization' && scope !== 'NotInOrganization') return { parameter, test: null, guard: null, attachments: false };
      const inside = scope === 'InOrganization';
      return { parameter, test: (facts) => facts.recipients.some((recipient) => facts.internal(recipient) === inside), guard: null, attachments: false };
    }
    case 'HeaderContainsMessageHeader': {
      const id = headers.id(String(values[0]).trim().toLowerCase());
      const words: WordTest[] = [];
      for (const word of asList(values[1])) {
        const trimmed = word.trim();
        if (!trimmed) continue; // an empty word never matches (containsWord)
        const escaped = trimmed.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+');
        const ascii = isAsciiText(trimmed);
        const runs = ascii ? wordRuns(trimmed) : null;
        let regex: RegExp;
        try {
          regex = new RegExp(`(?:^|[^\\p{L}\\p{N}_])${escaped}(?:$|[^\\p{L}\\p{N}_])`, 'iu');
        } catch {
          return 'generic';
        }
        words.push({ lower: trimmed.toLowerCase(), simple: ascii && !/\s/.test(trimmed), regex, runs: runs && runs.length > 0 ? runs : null });
      }
      const test: Test = (facts) => {
        const list = facts.headers[id];
        if (!list) return false;
        for (let index = 0; index < list.length; index++) {
          const value = list[index] as HeaderValue;
          for (const word of words) {
            if (word.simple && value.ascii ? asciiWordIn(value.lower, word.lower) : word.regex.test(value.value)) return true;
          }
        }
        return false;
      };
      return { parameter, test, guard: { kind: 'header', id, words, patterns: null }, attachments: false };
    }
    case 'HeaderMatchesMessageHeader': {
      const id = headers.id(String(values[0]).trim().toLowerCase());
      const patterns: PatternTest[] = [];
      for (const pattern of asList(values[1])) {
        let regex: RegExp;
        try {
          regex = new RegExp(pattern, 'i');
        } catch {
          return 'generic';
        }
        const literals = requiredLiterals(pattern) ?? [];
        patterns.push({ regex, literals, runs: literals.flatMap(interiorRuns) });
      }
      const test: Test = (facts) => {
        const list = facts.headers[id];
        if (!list) return false;
        for (let index = 0; index < list.length; index++) {
          const value = list[index] as HeaderValue;
          for (const pattern of patterns) {
            if (containsAll(value.lower, pattern.literals) && pattern.regex.test(value.value)) return true;
          }
        }
        return false;
      };
      return { parameter, test, guard: { kind: 'header', id, words: null, patterns }, attachments: false };
    }
    default: {
      // Attachment conditions. Without attachments each is a plain non-match, or not evaluated when its value is not
      // readable (an AttachmentSizeOver that is not a size): the same for every such transaction.
      let matched: boolean | null;
      try {
        matched = definition.evaluate(values, { attachments: [] } as unknown as RuleContext).matched;
      } catch {
        matched = null;
      }
      return { parameter, test: matched === null ? null : () => matched as boolean, guard: null, attachments: true };
    }
  }
}

/** Guards in order of preference: the most selective first. */
const GUARD_RANK: Record<Guard['kind'], number> = { from: 0, 'sender-domain': 1, 'recipient-domain': 2, ip: 3, header: 4 };

function compileRule(rule: TransportRule, order: number, headers: HeaderIds): CompiledRule {
  const raw = rule as Record<string, unknown>;
  const configured = configuredPredicates(raw);
  const conditions: Test[] = [];
  const exceptions: Test[] = [];
  const staticNulls: string[] = [];
  let generic: CompiledRule['generic'] = 'never';
  let guard: Guard | null = null;
  let guardTest: Test | null = null;
  for (const [list, predicates] of [[conditions, configured.conditions], [exceptions, configured.exceptions]] as const) {
    for (const predicate of predicates) {
      const compiled = compilePredicate(predicate, headers);
      if (compiled === 'generic') {
        generic = 'always';
        continue;
      }
      if (compiled.attachments && generic === 'never') generic = 'with-attachments';
      if (compiled.test === null) staticNulls.push(compiled.parameter);
      else list.push(compiled.test);
      if (list === conditions && compiled.guard && (!guard || GUARD_RANK[compiled.guard.kind] < GUARD_RANK[guard.kind])) {
        guard = compiled.guard;
        guardTest = compiled.test;
      }
    }
  }
  // A rule filed under an exact guard (a sender address or domain, a recipient domain, an address range) is only ever
  // evaluated when the index found it by that very condition, which then holds: it is not tested again. A header
  // guard only narrows (a word of the value), so its test stays.
  if (generic === 'never' && guard !== null && guard.kind !== 'header') conditions.splice(conditions.indexOf(guardTest as Test), 1);
  const actions = describeActions(raw);
  const reject = ruleRejectReply(raw);
  return {
    rule,
    order,
    conditions,
    exceptions,
    staticNull: staticNulls.length > 0,
    generic,
    guard: generic === 'never' ? guard : null,
    notMatched: evaluation(rule, false, 'none', staticNulls),
    notEvaluated: evaluation(rule, null, 'unknown: not evaluated', staticNulls),
    matched: evaluation(rule, true, rule.Mode !== 'Enforce' ? `none (${rule.Mode} mode; would: ${actions.join(', ') || 'nothing'})` : actions.join(', ') || 'none', []),
    mode: rule.Mode,
    stop: rule.StopRuleProcessing === true,
    scl: isSet(raw.SetSCL) ? Number(raw.SetSCL) : null,
    outcome: raw.DeleteMessage === true ? { kind: 'delete' } : reject ? { kind: 'reject', ...reject } : raw.Quarantine === true ? { kind: 'quarantine' } : null,
  };
}

function addTo<Key>(map: Map<Key, number[]>, key: Key, id: number): void {
  const list = map.get(key);
  if (!list) map.set(key, [id]);
  else if (list[list.length - 1] !== id) list.push(id);
}

/** Per header: rules found by a word of a value, and rules found by the header's presence. */
interface HeaderIndex {
  /** Rules by a whole word of an ASCII value (HeaderContainsWords). */
  words: Map<string, number[]>;
  /** Every rule in `words`, for values that are not ASCII. */
  wordRules: number[];
  /** Rules by a whole word of any value (HeaderMatchesPatterns, from the pattern's literals). */
  patterns: Map<string, number[]>;
  /** Rules found whenever the header is present. */
  presence: number[];
}

/** The outcome of the rules for one transaction, as rules.ts reports it (without reasons). */
export interface FastRulesResult {
  evaluations: RuleEvaluation[];
  outcome: { kind: 'none' } | { kind: 'reject'; rule: string; enhanced: string; text: string } | { kind: 'delete'; rule: string } | { kind: 'quarantine'; rule: string };
  scl: number | null;
  /** The rules that were not evaluated, in order (for the verdict's incomplete reasons). */
  notEvaluated: RuleEvaluation[];
  /** StopRuleProcessing on a matched test-mode rule relied on `audit-mode-stop`. */
  auditModeStop: boolean;
}

const NONE_OUTCOME = { kind: 'none' } as const;

const ORGANIZATION_PREFIX = 'x-ms-exchange-organization-';
const AUTH_AS = 'x-ms-exchange-organization-authas';

export class CompiledRules {
  readonly rules: CompiledRule[];
  readonly headerIds: ReadonlyMap<string, number>;
  /** The id of X-MS-Exchange-Organization-AuthAs among the headers the rules read, or -1. */
  readonly authAsId: number;
  /** Every rule not matched: the start of each verdict's list (copied), and (frozen) the list when no rule matched. */
  private readonly notMatched: RuleEvaluation[];
  private readonly noneMatched: RuleEvaluation[];
  private readonly always: number[];
  private readonly from: Map<string, number[]>[] = [new Map(), new Map(), new Map()];
  private readonly senderDomain: Map<string, number[]>[] = [new Map(), new Map(), new Map()];
  private readonly recipientDomain = new Map<string, number[]>();
  private readonly ip: IntervalIndex;
  private readonly headerIndex: HeaderIndex[] = [];
  private readonly honourAuditStop: boolean;
  private readonly values = new Memo<HeaderValue>(50_000);
  /** Verdicts' rule lists made of the rules' own evaluations, by which rules changed (shared, read only). */
  private readonly lists = new Map<number, RuleEvaluation[]>();
  private readonly longLists = new Map<string, RuleEvaluation[]>();
  private readonly names = new Memo<HeaderName>(10_000);
  private readonly recentNames: (HeaderName | undefined)[] = new Array(64).fill(undefined);

  constructor(rules: readonly TransportRule[], assumptions: Assumptions) {
    const headers = new HeaderIds();
    const enabled = [...rules].sort((a, b) => a.Priority - b.Priority).filter((rule) => rule.State === 'Enabled');
    this.rules = enabled.map((rule, order) => compileRule(rule, order, headers));
    this.headerIds = headers.ids;
    this.authAsId = headers.ids.get(AUTH_AS) ?? -1;
    this.notMatched = this.rules.map((rule) => rule.notMatched);
    this.noneMatched = Object.freeze(this.notMatched.slice()) as RuleEvaluation[];
    this.honourAuditStop = assumptions['audit-mode-stop'] === 'honoured';
    this.always = [];
    const ipEntries: { entry: IpEntry; id: number }[] = [];
    const header = (id: number): HeaderIndex => {
      let index = this.headerIndex[id];
      if (!index) {
        index = { words: new Map(), wordRules: [], patterns: new Map(), presence: [] };
        this.headerIndex[id] = index;
      }
      return index;
    };
    // How many rules of a header each word would be filed under: each word is filed under its rarest run.
    const frequency = new Map<string, number>();
    for (const rule of this.rules) {
      const guard = rule.guard;
      if (guard?.kind !== 'header') continue;
      for (const run of new Set([...(guard.words ?? []).flatMap((word) => word.runs ?? []), ...(guard.patterns ?? []).flatMap((pattern) => pattern.runs)])) {
        const key = `${guard.id}\u0000${run}`;
        frequency.set(key, (frequency.get(key) ?? 0) + 1);
      }
    }
    const rarest = (id: number, runs: readonly string[]): string =>
      runs.reduce((best, run) => ((frequency.get(`${id}\u0000${run}`) ?? 0) < (frequency.get(`${id}\u0000${best}`) ?? 0) ? run : best));
    for (const rule of this.rules) {
      const guard = rule.guard;
      const id = rule.order;
      if (!guard) this.always.push(id);
      else if (guard.kind === 'from') for (const key of guard.keys) addTo(this.from[guard.location] as Map<string, number[]>, key, id);
      else if (guard.kind === 'sender-domain') for (const key of guard.keys) addTo(this.senderDomain[guard.location] as Map<string, number[]>, key, id);
      else if (guard.kind === 'recipient-domain') for (const key of guard.keys) addTo(this.recipientDomain, key, id);
      else if (guard.kind === 'ip') for (const entry of guard.entries) ipEntries.push({ entry, id });
      else {
        const index = header(guard.id);
        if (guard.words && guard.words.every((word) => word.runs !== null)) {
          for (const word of guard.words) addTo(index.words, rarest(guard.id, word.runs as string[]), id);
          index.wordRules.push(id);
        } else if (guard.patterns && guard.patterns.every((pattern) => pattern.runs.length > 0)) {
          for (const pattern of guard.patterns) addTo(index.patterns, rarest(guard.id, pattern.runs), id);
        } else index.presence.push(id);
      }
    }
    this.ip = new IntervalIndex(ipEntries);
  }

  /** The rules that may match (ascending order), besides those evaluated always. No closures: this runs per message. */
  private candidates(facts: RuleFacts, senders: SenderCache): number[] {
    const hits: number[] = [];
    for (let kind = 0 as LocationKind; kind <= 2; kind++) {
      if ((this.from[kind] as Map<string, number[]>).size === 0 && (this.senderDomain[kind] as Map<string, number[]>).size === 0) continue;
      const withHeader = senders.withHeader(kind);
      if (withHeader) pushAll(hits, this.senderHits(facts.headerFromHits, kind, facts.headerFrom as string, facts.headerFromDomain));
      if (!withHeader || kind === 2) pushAll(hits, this.senderHits(facts.envelopeHits, kind, facts.envelope, facts.envelopeDomain));
    }
    if (this.recipientDomain.size > 0) {
      const domains = facts.recipientDomains;
      for (let index = 0; index < domains.length; index++) {
        const domain = domains[index];
        if (domain === null || domain === undefined) continue;
        const holder = facts.recipientHits[index];
        let found = holder?.ruleHits;
        if (found === undefined) {
          const ids: number[] = [];
          pushSuffixes(ids, this.recipientDomain, domain);
          found = ids.length > 0 ? ids : NO_IDS;
          if (holder) holder.ruleHits = found;
        }
        pushAll(hits, found);
      }
    }
    if (!this.ip.empty) pushAll(hits, this.ip.lookup(facts.address));
    for (let id = 0; id < this.headerIndex.length; id++) {
      const index = this.headerIndex[id];
      const values = facts.headers[id];
      if (!index || !values) continue;
      pushAll(hits, index.presence);
      if (index.words.size === 0 && index.patterns.size === 0) continue;
      for (let position = 0; position < values.length; position++) pushAll(hits, this.valueHits(values[position] as HeaderValue, id, index));
    }
    sortSmall(hits);
    return hits;
  }

  /** The rules a sender address finds by itself and by its domain under one location kind (remembered on the holder). */
  private senderHits(holder: SenderHits, kind: LocationKind, address: string, domain: string | null): readonly number[] {
    let found = holder.ruleHits[kind];
    if (found === undefined) {
      const ids: number[] = [];
      pushAll(ids, (this.from[kind] as Map<string, number[]>).get(address));
      const domains = this.senderDomain[kind] as Map<string, number[]>;
      if (domain !== null && domains.size > 0) pushSuffixes(ids, domains, domain);
      found = holder.ruleHits[kind] = ids.length > 0 ? ids : NO_IDS;
    }
    return found;
  }

  /** The rules a header value finds by its words under one header (remembered on the value). */
  private valueHits(value: HeaderValue, id: number, index: HeaderIndex): readonly number[] {
    let found = value.hits[id];
    if (found === undefined) {
      const hits: number[] = [];
      const runs = wordRuns(value.value);
      if (index.patterns.size > 0) for (const run of runs) pushAll(hits, index.patterns.get(run));
      if (index.words.size > 0) {
        if (value.ascii) for (const run of runs) pushAll(hits, index.words.get(run));
        else pushAll(hits, index.wordRules);
      }
      found = value.hits[id] = hits;
    }
    return found;
  }

  /** A header value's lower-case form and ASCII-ness, made once per value text. */
  headerValue(text: string): HeaderValue {
    return this.values.get(text) ?? this.values.set(text, { value: text, lower: text.toLowerCase(), ascii: isAsciiText(text), hits: [] });
  }

  /** A header name's lower-case form and header id, made once per name text. */
  headerName(text: string): HeaderName {
    // A message has a few header names, the same ones message after message: a small table by length and first
    // letter answers most without hashing the name.
    const slot = (text.length * 31 + text.charCodeAt(0)) & 63;
    const recent = this.recentNames[slot];
    if (recent !== undefined && recent.text === text) return recent;
    let name = this.names.get(text);
    if (name === undefined) {
      const lower = text.toLowerCase();
      name = this.names.set(text, { text, lower, id: this.headerIds.get(lower) ?? -1, organization: lower.startsWith(ORGANIZATION_PREFIX), authAs: lower === AUTH_AS });
    }
    this.recentNames[slot] = name;
    return name;
  }

  /** Runs the rules for one transaction. */
  run(facts: RuleFacts): FastRulesResult {
    const senders = new SenderCache(facts);
    const hits = this.candidates(facts, senders);
    const always = this.always;
    const withAttachments = facts.attachments === 'unknown' || (Array.isArray(facts.attachments) && facts.attachments.length > 0);
    let end = this.rules.length;
    let changed: { order: number; evaluation: RuleEvaluation }[] | null = null;
    let outcome: FastRulesResult['outcome'] = NONE_OUTCOME;
    let scl: number | null = null;
    let auditModeStop = false;
    let notEvaluated: RuleEvaluation[] = NO_EVALUATIONS;
    let h = 0;
    let a = 0;
    let previous = -1;
    while (h < hits.length || a < always.length) {
      const next = a >= always.length || (h < hits.length && (hits[h] as number) < (always[a] as number)) ? (hits[h++] as number) : (always[a++] as number);
      if (next === previous) continue;
      previous = next;
      const rule = this.rules[next] as CompiledRule;
      const result = rule.generic === 'always' || (rule.generic === 'with-attachments' && withAttachments) ? this.generic(rule, facts) : this.evaluate(rule, facts, senders);
      if (result === rule.notMatched) continue;
      (changed ??= []).push({ order: next, evaluation: result });
      if (result.matched === null) {
        if (notEvaluated === NO_EVALUATIONS) notEvaluated = [];
        notEvaluated.push(result);
        continue;
      }
      if (result.matched === false) continue;
      if (rule.mode !== 'Enforce') {
        if (rule.stop) {
          auditModeStop = true;
          if (this.honourAuditStop) {
            end = next + 1;
            break;
          }
        }
        continue;
      }
      if (rule.scl !== null) scl = rule.scl;
      if (rule.outcome) {
        outcome = rule.outcome.kind === 'reject' ? { kind: 'reject', rule: rule.rule.Name, enhanced: rule.outcome.enhanced, text: rule.outcome.text } : { kind: rule.outcome.kind, rule: rule.rule.Name };
        end = next + 1;
        break;
      }
      if (rule.stop) {
        end = next + 1;
        break;
      }
    }
    // No rule matched and none stopped early: every such verdict shares the one read-only list.
    if (!changed && end === this.rules.length) return { evaluations: this.noneMatched, outcome, scl, notEvaluated, auditModeStop };
    return { evaluations: this.evaluationList(end, changed), outcome, scl, notEvaluated, auditModeStop };
  }

  /**
   * The verdict's rule list: every rule up to `end` not matched but the changed ones. When each changed rule carries
   * one of its own evaluations (matched, or not evaluated), the list is the same for every message that changes the
   * same rules the same way: made once and shared, read only (like the list when no rule matched).
   */
  private evaluationList(end: number, changed: { order: number; evaluation: RuleEvaluation }[] | null): RuleEvaluation[] {
    // The key spells `end` and then each changed rule (its position, doubled, plus one when it matched, plus one) in
    // base 2·(rules + 1): one number while it stays below 2^53, else the same digits as text.
    const base = 2 * (this.rules.length + 1);
    let key = end;
    let text: string | null = null;
    if (changed) {
      for (let index = 0; index < changed.length; index++) {
        const { order, evaluation } = changed[index] as { order: number; evaluation: RuleEvaluation };
        const rule = this.rules[order] as CompiledRule;
        const code = evaluation === rule.matched ? order * 2 + 2 : evaluation === rule.notEvaluated ? order * 2 + 1 : -1;
        if (code < 0) return this.freshList(end, changed);
        if (text !== null) text += `,${code}`;
        else if (key < Number.MAX_SAFE_INTEGER / base - 1) key = key * base + code;
        else text = `${key},${code}`;
      }
    }
    const known = text === null ? this.lists.get(key) : this.longLists.get(text);
    if (known !== undefined) return known;
    const list = Object.freeze(this.freshList(end, changed)) as RuleEvaluation[];
    if (text === null) {
      if (this.lists.size >= LIST_CACHE) this.lists.clear();
      this.lists.set(key, list);
    } else {
      if (this.longLists.size >= LIST_CACHE) this.longLists.clear();
      this.longLists.set(text, list);
    }
    return list;
  }

  /** A new rule list: every rule up to `end` not matched, but the changed ones. */
  private freshList(end: number, changed: { order: number; evaluation: RuleEvaluation }[] | null): RuleEvaluation[] {
    const evaluations = this.notMatched.slice(0, end);
    if (changed) for (const { order, evaluation } of changed) evaluations[order] = evaluation;
    return evaluations;
  }

  private evaluate(rule: CompiledRule, facts: RuleFacts, senders: SenderCache): RuleEvaluation {
    for (const test of rule.conditions) if (!test(facts, senders)) return rule.notMatched;
    for (const test of rule.exceptions) if (test(facts, senders)) return rule.notMatched;
    return rule.staticNull ? rule.notEvaluated : rule.matched;
  }

  /** A rule evaluated through rule-predicates.ts, as rules.ts does (without reasons). */
  private generic(rule: CompiledRule, facts: RuleFacts): RuleEvaluation {
    const raw = rule.rule as Record<string, unknown>;
    const context = facts.context();
    const conditions = evaluatePredicates(raw, '', context);
    const exceptions = evaluatePredicates(raw, 'ExceptIf', context);
    const notEvaluated = [...conditions, ...exceptions].filter((entry) => entry.matched === null).map((entry) => entry.parameter);
    let matched: boolean | null;
    if (conditions.some((entry) => entry.matched === false)) matched = false;
    else if (exceptions.some((entry) => entry.matched === true)) matched = false;
    else if (notEvaluated.length > 0) matched = null;
    else matched = true;
    if (matched === true) return rule.matched;
    if (matched === false) {
      return sameList(notEvaluated, rule.notMatched.notEvaluated) ? rule.notMatched : evaluation(rule.rule, false, 'none', notEvaluated);
    }
    return evaluation(rule.rule, null, 'unknown: not evaluated', notEvaluated);
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, index) => value === b[index]);
}
