/**
 * Showing untrusted values to people. A value read from a snapshot, a message, a report or a flag can hold control
 * characters: CR/LF forge lines in a terminal, PLAN.md or a Markdown table; ESC starts a terminal escape sequence
 * (retitle the window, move the cursor, hide text); NUL, C1 controls, the Unicode line and paragraph separators and
 * the bidirectional overrides rearrange what a reader sees. Every human-facing output (terminal text, PLAN.md,
 * Markdown) passes values through {@link visible}; machine formats (JSON, SARIF, JUnit XML) keep the exact value and
 * rely on their own escaping.
 *
 * Pure: no IO, usable from the core.
 */

/** C0 controls but TAB, DEL, C1 controls, U+2028/U+2029, and the bidirectional embeddings, overrides and isolates. */
const UNSAFE_CLASS = '[\\u0000-\\u0008\\u000a-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069\\u200e\\u200f\\u061c]';
const UNSAFE = new RegExp(UNSAFE_CLASS, 'g');
const UNSAFE_TEST = new RegExp(UNSAFE_CLASS);

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\u001b': '\\e', '\u0000': '\\0' };

function escapeOne(character: string): string {
  const named = NAMED[character];
  if (named) return named;
  const code = character.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * The value with every control character written as a visible escape (`\n`, `\r`, `\e`, `\0`, `\x07`, `\u2028`),
 * so it stays on one line and cannot drive a terminal. TAB is kept. Ordinary text is returned unchanged (same string).
 */
export function visible(value: string): string {
  return UNSAFE_TEST.test(value) ? value.replace(UNSAFE, escapeOne) : value;
}

/** Whether a value holds a character {@link visible} would escape. */
export function hasControl(value: string): boolean {
  return UNSAFE_TEST.test(value);
}

/**
 * A value for one cell of a Markdown table: {@link visible}, with `|` escaped (it would end the cell) and TAB
 * written as a space. Backslashes right before a `|` are doubled, so that `\|` in the value cannot turn the escape
 * into an escaped backslash and end the cell after all.
 */
export function markdownCell(value: string): string {
  const text = visible(value).replace(/\t/g, ' ');
  if (!text.includes('|')) return text;
  // One pass (a regular expression over runs of backslashes would backtrack on a long run without a `|`).
  let out = '';
  let slashes = 0;
  for (const character of text) {
    if (character === '\\') {
      slashes++;
      continue;
    }
    out += '\\'.repeat(character === '|' ? slashes * 2 + 1 : slashes) + character;
    slashes = 0;
  }
  return out + '\\'.repeat(slashes);
}

/**
 * A value inside Markdown inline code (backticks): {@link visible}; a backtick in the value gets a longer fence so it
 * cannot close the span early.
 */
export function markdownCode(value: string): string {
  const text = visible(value);
  if (text === '') return '` `';
  let longest = 0;
  for (const run of text.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/**
 * Terminal text that eoplock itself wrote (lines joined by `\n`, SGR colour sequences `ESC[…m` of its own), with any
 * other control character made visible: a last line of defence for the streams, after values were escaped where
 * they were put into lines. With `colour: false` (text that has no colour of eoplock's, such as a message Commander
 * composed around an argument) SGR sequences are escaped too: only the newlines stay.
 */
export function terminalSafe(text: string, options: { colour?: boolean } = {}): string {
  if (!UNSAFE_TEST.test(text)) return text;
  const keep = options.colour !== false;
  return text.replace(TERMINAL_UNSAFE, (piece) => (piece === '\n' ? piece : piece.length > 1 ? (keep ? piece : visible(piece)) : escapeOne(piece)));
}

/** Our own SGR sequences (kept), a newline (kept), or any other character {@link visible} escapes. */
const TERMINAL_UNSAFE = new RegExp(`\\u001b\\[[0-9;]*m|${UNSAFE_CLASS}`, 'g');
