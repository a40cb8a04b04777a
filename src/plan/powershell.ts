/**
 * The one way a value reaches generated PowerShell. Strings become single-quoted (verbatim) literals in which every
 * single-quote character PowerShell recognises — ' and the curly quotes U+2018–U+201B — is doubled, so nothing in
 * them is interpreted: no `$(…)`, no backtick escapes, no end of string. Sources: PowerShell's
 * CodeGeneration.EscapeSingleQuotedStringContent and CharTraits.IsSingleQuote (libraries.md §1.11).
 *
 * No control character reaches a script file raw (a CR or LF would split the line a reader sees, an ESC would drive
 * the terminal that shows the file): a value holding one is written as a parenthesised concatenation of verbatim
 * parts and `[char]0xNN` casts, still with nothing interpreted.
 */

/** The characters PowerShell treats as a single quote. */
export const SINGLE_QUOTES = ["'", '\u2018', '\u2019', '\u201A', '\u201B'] as const;
const SINGLE_QUOTE = /['\u2018\u2019\u201A\u201B]/g;

export type PsValue = string | number | boolean | null | readonly string[];

/**
 * The characters never written raw: C0 controls (TAB included), DEL, C1 controls, the Unicode line and paragraph
 * separators (U+2028, U+2029), and the bidirectional marks and overrides (U+061C, U+200E, U+200F, U+202A–U+202E,
 * U+2066–U+2069), which reorder what a reviewer of the script sees ("Trojan Source", CVE-2021-42574).
 */
const CONTROL_CLASS = '[\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]';
const CONTROL = new RegExp(CONTROL_CLASS, 'g');
const CONTROL_TEST = new RegExp(CONTROL_CLASS);
/** Splitting on it gives text, control character, text, …: the texts at even indexes, maybe empty. */
const CONTROL_SPLIT = new RegExp(`(${CONTROL_CLASS})`);

function verbatim(text: string): string {
  return `'${text.replace(SINGLE_QUOTE, (quote) => quote + quote)}'`;
}

/** `[char]0x1B`, `[char]0x2028`: the character's code in hex, two digits up to 0xFF, four above. */
function charCast(character: string): string {
  const code = character.charCodeAt(0);
  return `[char]0x${code.toString(16).toUpperCase().padStart(code <= 0xff ? 2 : 4, '0')}`;
}

/**
 * A string as a PowerShell expression whose value is exactly the string: `O'Brien` → `'O''Brien'`; with a control
 * character, `a<ESC>b` → `('a' + [char]0x1B + 'b')`. The concatenation always starts with a quoted part (`''` if the
 * value starts with a control character), so that `+` joins strings rather than adding character codes; the
 * parentheses make it one expression wherever a literal can stand, arguments included.
 */
export function psString(value: string): string {
  if (!CONTROL_TEST.test(value)) return verbatim(value);
  const pieces = value
    .split(CONTROL_SPLIT)
    .flatMap((part, index) => (index % 2 === 1 ? [charCast(part)] : index === 0 || part !== '' ? [verbatim(part)] : []));
  return `(${pieces.join(' + ')})`;
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

/**
 * A comment line: input text never starts or ends a comment block or a line, and carries no control character —
 * each (the same set as {@link psString}) is written as a visible escape, `\x1B` or `\u2028`.
 */
export function psComment(text: string): string {
  return `# ${text.replace(CONTROL, controlEscape).replace(/<#|#>/g, '#')}`;
}

function controlEscape(character: string): string {
  const code = character.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).toUpperCase().padStart(2, '0')}` : `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;
}
