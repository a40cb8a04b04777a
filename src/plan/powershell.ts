/**
 * The one way a value reaches generated PowerShell. Strings become single-quoted (verbatim) literals in which every
 * single-quote character PowerShell recognises — ' and the curly quotes U+2018–U+201B — is doubled, so nothing in
 * them is interpreted: no `$(…)`, no backtick escapes, no end of string. Sources: PowerShell's
 * CodeGeneration.EscapeSingleQuotedStringContent and CharTraits.IsSingleQuote (libraries.md §1.11).
 */

/** The characters PowerShell treats as a single quote. */
export const SINGLE_QUOTES = ["'", '\u2018', '\u2019', '\u201A', '\u201B'] as const;
const SINGLE_QUOTE = /['\u2018\u2019\u201A\u201B]/g;

export type PsValue = string | number | boolean | null | readonly string[];

/** `O'Brien` → `'O''Brien'`. */
export function psString(value: string): string {
  return `'${value.replace(SINGLE_QUOTE, (quote) => quote + quote)}'`;
}

/**
 * Any plan value as a PowerShell expression: strings quoted, booleans `$true`/`$false`, whole numbers as digits, lists
 * `@('a','b')`. A value with no exact literal (a fraction, an object, a list inside a list, null inside a list) is
 * refused, never converted to text: a script that sets something other than the value is worse than no script.
 */
export function psValue(value: PsValue): string {
  if (Array.isArray(value)) return `@(${value.map((item: unknown, index) => psScalar(item, index)).join(', ')})`;
  if (value === null) return '$null';
  return psScalar(value);
}

function psScalar(value: unknown, index?: number): string {
  if (typeof value === 'string') return psString(value);
  if (typeof value === 'boolean') return value ? '$true' : '$false';
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  const what = typeof value === 'number' ? `the number ${value}` : value === null ? 'null' : Array.isArray(value) ? 'a list' : `a value of type ${typeof value}`;
  throw new TypeError(`${what}${index === undefined ? '' : ` (list item ${index})`} has no exact PowerShell literal`);
}

/** Parameter and property names come from eoplock's own tables, never from input; this guards that. */
export function psName(name: string): string {
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(name)) throw new Error(`not a PowerShell parameter name: ${name}`);
  return name;
}

/** `-Name value` pairs for a cmdlet call. */
export function psParameters(parameters: Readonly<Record<string, PsValue>>): string {
  return Object.entries(parameters)
    .map(([name, value]) => `-${psName(name)} ${psValue(value)}`)
    .join(' ');
}

/** A hashtable literal for splatting: `@{ Name = 'x'; Enabled = $true }`. */
export function psHashtable(parameters: Readonly<Record<string, PsValue>>): string {
  const entries = Object.entries(parameters).map(([name, value]) => `${psName(name)} = ${psValue(value)}`);
  return entries.length === 0 ? '@{}' : `@{ ${entries.join('; ')} }`;
}

/** A comment line: input text never starts or ends a comment block or a line. */
export function psComment(text: string): string {
  return `# ${text.replace(/[\r\n]+/g, ' ').replace(/<#|#>/g, '#')}`;
}
