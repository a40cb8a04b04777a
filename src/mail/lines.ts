/**
 * The one rule for where a header line ends, used by everything in eoplock that reads or writes a header: the header
 * analysis, the pasted-header repair, the Received reader, scenario header blocks and the lab (its parse of DATA and
 * its header firewall). CRLF, a bare LF and a bare CR each end a line. A reader that ended lines on CRLF only would
 * see `Subject: hi\rX-MS-Exchange-Organization-AuthAs: Internal` as one field while another reader sees two; under
 * one rule every reader sees the same fields, and what eoplock writes back has CRLF line ends only.
 *
 * Every function is a single pass over its input. Pure: no IO.
 */

/** A line end: CRLF, or a bare CR, or a bare LF. */
const LINE_END = /\r\n|\r|\n/;
const LINE_END_GLOBAL = /\r\n|\r|\n/g;

/** The largest header block eoplock reads, in UTF-8 bytes (`eoplock headers`, scenario header blocks, the lab). */
export const MAX_HEADER_BYTES = 1024 * 1024;

/** {@link MAX_HEADER_BYTES} for messages: "1 MB". */
export const MAX_HEADER_TEXT = `${MAX_HEADER_BYTES / (1024 * 1024)} MB`;

/** The lines of a header (or any text read as header lines): CRLF, bare CR and bare LF all end a line. */
export function splitHeaderLines(text: string): string[] {
  return text.split(LINE_END);
}

/**
 * A field value unfolded under the same rule: a line end followed by a space or tab is removed (the whitespace stays),
 * any other line end becomes a space, so a value never carries a raw line end.
 */
export function unfoldHeaderValue(value: string): string {
  if (!/[\r\n]/.test(value)) return value;
  return value.replace(/(?:\r\n|\r|\n)(?=[ \t])/g, '').replace(LINE_END_GLOBAL, ' ');
}

export interface MessageParts {
  /** The header block, without the line end of its last line. */
  header: string;
  /** Everything after the blank line that ends the header ('' when there is none). */
  body: string;
  /** Whether a blank line ended the header (false: the text is all header). */
  ended: boolean;
}

/**
 * Splits a message at the first empty line, lines ending as {@link splitHeaderLines} says: `a\r\rb`, `a\n\nb` and
 * `a\r\n\r\nb` all end the header after `a`. A message that starts with an empty line has an empty header.
 */
export function splitMessage(text: string): MessageParts {
  const lineEnd = /\r\n|\r|\n/g;
  let lineStart = 0;
  /** Where the previous line's line end starts: the header ends there. */
  let headerEnd = 0;
  let match: RegExpExecArray | null;
  while ((match = lineEnd.exec(text)) !== null) {
    if (match.index === lineStart) return { header: text.slice(0, headerEnd), body: text.slice(lineEnd.lastIndex), ended: true };
    headerEnd = match.index;
    lineStart = lineEnd.lastIndex;
  }
  return { header: text, body: '', ended: false };
}
