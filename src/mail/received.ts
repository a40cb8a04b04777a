/**
 * One `Received` field: who sent (host and address), who received, when. Shared by the header analysis and the
 * emulator's skip listing. Pure.
 *
 * The reading is mailauth's `parse-received` (same tokens, same joining of unknown clauses into the clause before,
 * so results match it), rewritten as single passes: mailauth joins each unknown clause into a string that is copied
 * again for every clause before it, which is quadratic in the number of clauses (a 256 KB field took 15 s).
 */
import { parseIp } from './ip.js';
import { unfoldHeaderValue } from './lines.js';

export interface ReceivedLine {
  fromHost: string | null;
  /** The sender's address: `[a.b.c.d]` (or `[IPv6:…]`) in the comment, Microsoft's bare `(a.b.c.d)`, or an address as the host. */
  fromIp: string | null;
  /** The first word of the from-comment (usually the reverse name). */
  fromComment: string | null;
  byHost: string | null;
  with: string | null;
  timestamp: string | null;
}

function ipIn(comment: string | undefined): string | null {
  if (!comment) return null;
  for (const match of comment.matchAll(/\[(?:IPv6:)?([0-9a-fA-F:.]+)\]/g)) {
    const parsed = parseIp(match[1] as string);
    if (parsed) return parsed.toString();
  }
  // Microsoft writes `(10.167.241.71)` with no brackets.
  const bare = /(?:^|[\s(])((?:\d{1,3}\.){3}\d{1,3})(?:$|[\s)])/.exec(comment)?.[1];
  return bare ? (parseIp(bare)?.toString() ?? null) : null;
}

/** One clause of the field: a keyword (`from`, `by`, …), its value and its comment. */
interface Clause {
  key: string;
  value: string;
  comment: string;
}

/** Clause keywords that are never joined into the clause before them. */
const CLAUSE_KEYWORDS = new Set(['from', 'by', 'with', 'id', 'for', 'envelope-from', '']);

/** The clauses before the first `;` (outside quotes and comments), and what follows it (the date). */
function tokenise(text: string): { clauses: Clause[]; timestamp: string } {
  // Each clause collects its characters in arrays, joined once at the end.
  const parts: { key: string[]; value: string[]; comment: string[] }[] = [];
  let current = { key: [] as string[], value: [] as string[], comment: [] as string[] };
  let target: 'key' | 'value' | 'comment' | '' = '';
  const next = () => {
    current = { key: [], value: [], comment: [] };
    parts.push(current);
    target = '';
  };
  const add = (character: string) => {
    if (target !== '') current[target].push(character);
  };
  parts.push(current);
  let inValue = false;
  let quoted = '';
  let escaped = false;
  let inComment = false;
  let depth = 0;
  let timestamp = '';
  for (let index = 0; index < text.length; index++) {
    const character = text.charAt(index);
    if (escaped) {
      add(character);
      escaped = false;
      continue;
    }
    if (quoted) {
      if (character === quoted) {
        quoted = '';
        inValue = false;
      } else add(character);
      continue;
    }
    if (inComment) {
      if (character === ')') {
        depth--;
        if (depth > 0) {
          add(character);
          continue;
        }
        inComment = false;
        inValue = false;
        next();
        continue;
      }
      if (character === '(') depth++;
      add(character);
      continue;
    }
    if (character === ';') {
      timestamp = text.slice(index + 1);
      break;
    }
    switch (character) {
      case ' ':
      case '\t':
      case '\n':
      case '\r':
        inValue = false;
        break;
      case '"':
      case "'":
        quoted = character;
        break;
      case '(':
        inComment = true;
        depth++;
        target = 'comment';
        break;
      case '\\':
        escaped = true;
        break;
      default:
        if (!inValue) {
          inValue = true;
          if (target === '') target = 'key';
          else if (target === 'key') target = 'value';
          else {
            next();
            target = 'key';
          }
        }
        add(character);
    }
  }
  return { clauses: parts.map((part) => ({ key: part.key.join(''), value: part.value.join(''), comment: part.comment.join('') })), timestamp };
}

/**
 * Joins each clause whose keyword is unknown into the clause before it (from the third clause on, and only into a
 * clause that has a keyword), as mailauth does: value, keyword and value again, separated by spaces.
 */
function joinClauses(clauses: Clause[]): Clause[] {
  const joins = (index: number) => index >= 2 && !CLAUSE_KEYWORDS.has((clauses[index] as Clause).key.toLowerCase()) && (clauses[index - 1] as Clause).key !== '';
  const joined: Clause[] = [];
  for (let start = 0; start < clauses.length; ) {
    let end = start;
    while (end + 1 < clauses.length && joins(end + 1)) end++;
    const head = clauses[start] as Clause;
    if (end === start) joined.push(head);
    else {
      const values = [head.value];
      const comments = [head.comment];
      for (let index = start + 1; index <= end; index++) {
        const clause = clauses[index] as Clause;
        values.push(clause.key);
        // The last clause's value only when it has one; the ones before it always (even empty).
        if (clause.value !== '' || index < end) values.push(clause.value);
        comments.push(clause.comment);
      }
      joined.push({ key: head.key, value: values.join(' '), comment: comments.join(' ') });
    }
    start = end + 1;
  }
  return joined;
}

/** Parses the value of one Received field; null when it cannot be read. */
export function readReceived(value: string): ReceivedLine | null {
  const { clauses, timestamp } = tokenise(unfoldHeaderValue(value).trim());
  let from: Clause | undefined;
  let by: Clause | undefined;
  let via: Clause | undefined;
  for (const clause of joinClauses(clauses)) {
    const key = clause.key.toLowerCase();
    if (key === 'from') from = clause;
    else if (key === 'by') by = clause;
    else if (key === 'with') via = clause;
  }
  const fromHost = from?.value || null;
  const fromComment = from?.comment.replace(/\s+/g, ' ').trim() || undefined;
  const date = (timestamp.split(';')[0] ?? '').trim();
  return {
    fromHost,
    fromIp: ipIn(fromComment) ?? (fromHost ? (parseIp(fromHost)?.toString() ?? null) : null),
    fromComment: fromComment?.split(/\s+/)[0] ?? null,
    byHost: by?.value || null,
    with: via?.value || null,
    timestamp: date || null,
  };
}
