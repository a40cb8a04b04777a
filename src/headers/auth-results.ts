/**
 * Authentication-Results (RFC 8601) and the fields written in its form (ARC-Authentication-Results,
 * Authentication-Results-Original, X-MS-Exchange-Authentication-Results): the authserv-id and, per method, its
 * result, comment and properties. Every one of them is read by the same rules, whatever its name.
 *
 * Reads what mailauth's header parser reads from the same text (parts split at `;`, comments set apart, the first
 * part without `=` as the authserv-id, `ptype.property=value` pairs after the result), as one pass that builds no
 * objects from the input's names: mailauth's parser removes parts with `Array.splice` (quadratic in the number of
 * `;`) and turns `a.b=c` into nested objects, so `__proto__.x=y` in a header wrote to `Object.prototype`. Pure.
 */

export interface AuthMethod {
  /** The method, lower case: `spf`, `dkim`, `dmarc`, `compauth`, … */
  method: string;
  /** Its result (`pass`, `fail`, …) as written; '' when none is. */
  result: string;
  /** The text of its comments (`sender IP is 192.0.2.1`), '' when there are none. */
  comment: string;
  /** `ptype.property` (lower case) → value, as written; the first of repeated properties counts. */
  properties: ReadonlyMap<string, string>;
}

export interface ParsedAuthResults {
  /**
   * The authserv-id: the first word of the first part with no `=`, lower case, without the authres-version that may
   * follow it (`mx.microsoft.com 1` → `mx.microsoft.com`); null when there is none (EXO's form).
   */
  authservId: string | null;
  /** ARC-Authentication-Results' instance (`i=1;` before the authserv-id, RFC 8617 §4.1.1); null when there is none. */
  instance: number | null;
  methods: AuthMethod[];
}

interface Part {
  text: string;
  comment: string;
}

/** Splits a field value at `;` outside quotes and comments; comments (nested, with `\` escapes) are set apart. */
function splitParts(value: string): Part[] {
  const parts: Part[] = [];
  let text = '';
  let comment = '';
  let depth = 0;
  let quoted = false;
  const special = /[\\"();]/g;
  let index = 0;
  while (index < value.length) {
    special.lastIndex = index;
    const match = special.exec(value);
    const at = match ? match.index : value.length;
    // The run of ordinary characters up to the next special one, as one slice.
    if (depth > 0) comment += value.slice(index, at);
    else text += value.slice(index, at);
    if (!match) break;
    const character = match[0];
    index = at + 1;
    if (character === '\\' && (quoted || depth > 0)) {
      const escaped = value.charAt(index);
      index++;
      if (depth > 0) comment += escaped;
      else text += escaped;
    } else if (quoted) {
      text += character;
      if (character === '"') quoted = false;
    } else if (depth > 0) {
      if (character === '(') depth++;
      else if (character === ')') depth--;
      // A nested comment's parentheses are part of the comment; the outermost ones end it with a space.
      comment += depth > 0 ? character : ' ';
    } else if (character === '(') depth = 1;
    else if (character === '"') {
      quoted = true;
      text += character;
    } else if (character === ';') {
      parts.push({ text, comment });
      text = '';
      comment = '';
    } else text += character;
  }
  parts.push({ text, comment });
  return parts;
}

const collapse = (text: string): string => text.replace(/\s+/g, ' ').trim();

const NO_PROPERTIES: ReadonlyMap<string, string> = new Map();

/** `pass smtp.mailfrom=contoso.com header.from="x"` → the result and the properties (quotes removed). */
function readMethodValue(text: string): { result: string; properties: ReadonlyMap<string, string> } {
  let tokens: string[];
  if (!/["\\]/.test(text)) tokens = text.split(' ');
  else {
    tokens = [];
    let token = '';
    let quoted = false;
    let escaped = false;
    for (const character of text) {
      if (escaped) {
        token += character;
        escaped = false;
      } else if (character === '\\') escaped = true;
      else if (character === '"') quoted = !quoted;
      else if (character === ' ' && !quoted) {
        tokens.push(token);
        token = '';
      } else token += character;
    }
    tokens.push(token);
  }
  if (tokens.length < 2) return { result: tokens[0] ?? '', properties: NO_PROPERTIES };
  const properties = new Map<string, string>();
  for (let index = 1; index < tokens.length; index++) {
    const entry = tokens[index] as string;
    const at = entry.indexOf('=');
    const key = (at < 0 ? entry : entry.slice(0, at)).toLowerCase();
    if (key !== '' && !properties.has(key)) properties.set(key, at < 0 ? '' : entry.slice(at + 1));
  }
  return { result: tokens[0] ?? '', properties };
}

/** Reads the value of an Authentication-Results field (or one in its form). Linear in the value's length. */
export function parseAuthenticationResults(value: string): ParsedAuthResults {
  let authservId: string | null = null;
  let instance: number | null = null;
  const methods: AuthMethod[] = [];
  for (const [index, part] of splitParts(value).entries()) {
    const text = collapse(part.text);
    if (text === '') continue;
    // ARC-Authentication-Results starts with its instance: `i=1; mx.microsoft.com 1; spf=pass …`.
    const arcInstance = index === 0 ? /^i=(\d{1,9})$/i.exec(text) : null;
    if (arcInstance) {
      instance = Number(arcInstance[1]);
      continue;
    }
    const at = text.indexOf('=');
    if (at < 0) {
      authservId ??= (text.split(' ')[0] as string).toLowerCase();
      continue;
    }
    const method = text.slice(0, at).trim().toLowerCase();
    if (method === '') continue;
    const { result, properties } = readMethodValue(text.slice(at + 1).trim());
    methods.push({ method, result, comment: collapse(part.comment), properties });
  }
  return { authservId, instance, methods };
}
