/**
 * A copy of a string that does not keep a larger one alive. Fields cut from a big chunk of CSV text can be views into
 * that chunk (V8 sliced strings): storing such a view in a long-lived map keeps the whole chunk in memory. Everything
 * the trace tools keep beyond one row goes through this.
 */
export function own(text: string): string {
  // V8 makes no slice (or cons) string shorter than 13 characters: a short string holds nothing else.
  if (text.length < 13) return text;
  // A flat string of its own (V8 makes a new sequential string when it parses JSON), every character kept, lone
  // surrogates included. Not a slice of a copy one character longer (what `${text} `.slice(0, -1) gives: about four
  // times faster to make): kept strings are written out many times (a group's domain, subjects and recipients in the
  // JSON), and a slice is read through its parent each time, and is larger (a slice's header and its parent's).
  return JSON.parse(JSON.stringify(text)) as string;
}
