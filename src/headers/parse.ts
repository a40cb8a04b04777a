/**
 * Raw header blocks (as pasted from a mail client or written in a scenario file) to header fields, with
 * postal-mime doing the unfolding. Async because postal-mime's parser is. Lines end as src/headers/lines.ts says
 * (CRLF, bare CR, bare LF), here as everywhere else; every step is linear in the input.
 */
import PostalMime from 'postal-mime';
import type { HeaderField } from '../eop/types.js';
import { InputError } from '../errors.js';
import { MAX_HEADER_BYTES, MAX_HEADER_TEXT, splitHeaderLines } from './lines.js';

export { MAX_HEADER_BYTES, MAX_HEADER_TEXT, splitHeaderLines, splitMessage, unfoldHeaderValue } from './lines.js';

/** The 0-based index of the line at which `lines` (each with a CRLF) go over {@link MAX_HEADER_BYTES}, or -1. */
function lineOverLimit(lines: readonly string[]): number {
  let bytes = 0;
  for (let index = 0; index < lines.length; index++) {
    bytes += Buffer.byteLength(lines[index] as string) + 2;
    if (bytes > MAX_HEADER_BYTES) return index;
  }
  return -1;
}

/** The lines of a header block up to its first empty line (what follows it is body, which postal-mime need not read). */
function headerLines(block: string): string[] {
  const lines = splitHeaderLines(block);
  const end = lines.indexOf('');
  if (end >= 0) lines.length = end;
  return lines;
}

/** Whether {@link parseHeaderBlock} would refuse `block` for being over {@link MAX_HEADER_BYTES}. */
export function headerBlockOverLimit(block: string): boolean {
  return lineOverLimit(headerLines(block)) >= 0;
}

/**
 * Parses a header block (`Name: value` lines, folded or not; CRLF, LF or bare CR) into fields in message order. A
 * blank line ends the block. Over {@link MAX_HEADER_BYTES}, an {@link InputError} (`at line N`) without a file: the
 * caller names it.
 */
export async function parseHeaderBlock(block: string): Promise<HeaderField[]> {
  const lines = headerLines(block);
  if (lines.every((line) => line.trim() === '')) return [];
  const over = lineOverLimit(lines);
  if (over >= 0) throw new InputError(`header block over ${MAX_HEADER_TEXT}`, { where: `line ${over + 1}` });
  let email: Awaited<ReturnType<typeof PostalMime.parse>>;
  try {
    email = await PostalMime.parse(`${lines.join('\r\n')}\r\n\r\n`);
  } catch (error) {
    throw new InputError(`the header block cannot be parsed: ${(error as Error).message}`);
  }
  return email.headers.map((header) => ({ name: header.originalKey ?? header.key, value: header.value }));
}

/** Field names that, seen after a blank line, mean the blank line was a paste artefact, not the end of the header. */
const LIKELY_HEADER = /^(received|authentication-results(-original)?|arc-[a-z-]+|dkim-signature|x-[a-z0-9-]+|return-path|from|to|cc|subject|date|message-id|mime-version|content-type|received-spf|thread-[a-z]+|reply-to|in-reply-to|references)\s*:/i;
const FIELD_START = /^[A-Za-z][A-Za-z0-9_-]*[ \t]*:/;
/**
 * A line cut short that could still turn out to be a field once the rest was read: nothing yet, or a name so far
 * (at most 998 characters, the longest line RFC 5322 allows).
 */
const MAYBE_FIELD_NAME = /^[A-Za-z0-9_-]{0,998}$/;

/** Repairs listed one by one; more are counted in one last warning. */
const MAX_WARNINGS = 20;

export interface MessageHeaders {
  fields: HeaderField[];
  /** What was repaired in the input (1-based line numbers), for the report. */
  warnings: string[];
}

export interface ReadHeadersOptions {
  /**
   * False when `text` is only the start of the input (a reader that stops after {@link MAX_HEADER_BYTES}): a header
   * that runs to the end of `text` is then over the limit, since its end was not read.
   */
  complete?: boolean;
}

/**
 * The header of a message file or of headers pasted from a mail client. Tolerates what pasting does: a BOM, CRLF/LF,
 * leading indentation, blank lines between fields, and folded lines whose continuation lost its indentation (joined
 * to the previous field, with a warning). The header ends at the first blank line followed by something that is not
 * a header field (the body). At most {@link MAX_HEADER_BYTES} of header: more is an {@link InputError}.
 */
export async function readMessageHeaders(text: string, source = 'input', options: ReadHeadersOptions = {}): Promise<MessageHeaders> {
  const complete = options.complete !== false;
  const lines = splitHeaderLines(text.replace(/^\uFEFF/, ''));
  const last = lines.length - 1;
  const tooLarge = (index: number) => new InputError(`header block over ${MAX_HEADER_TEXT}`, { file: source, where: `line ${index + 1}` });
  const notAField = (index: number) => new InputError(`line ${index + 1} is not a header field ("Name: value"): is this a message or its headers?`, { file: source, where: `line ${index + 1}` });
  const warnings: string[] = [];
  let unlisted = 0;
  const warn = (warning: string) => {
    if (warnings.length < MAX_WARNINGS) warnings.push(warning);
    else unlisted++;
  };
  const kept: string[] = [];
  let keptBytes = 0;
  const keep = (line: string, index: number) => {
    keptBytes += Buffer.byteLength(line) + 2;
    if (keptBytes > MAX_HEADER_BYTES) throw tooLarge(index);
    kept.push(line);
  };
  // Pasted blocks are sometimes indented as a whole: remove the first line's indentation from every line that has it.
  const firstLine = lines.find((line) => line.trim() !== '') ?? '';
  const commonIndent = /^[ \t]*/.exec(firstLine)?.[0] ?? '';
  for (let index = 0; index < lines.length; index++) {
    let line = lines[index] as string;
    if (commonIndent && line.startsWith(commonIndent)) line = line.slice(commonIndent.length);
    // The last line of a partial read may be cut short, and what follows it was not read: unless the line shows
    // that this is not a header at all, the header goes past the limit.
    if (!complete && index === last) {
      if (kept.length === 0 && line.trim() === '') throw new InputError(`no header fields in the first ${MAX_HEADER_TEXT}`, { file: source });
      if (kept.length === 0 && !FIELD_START.test(line) && !MAYBE_FIELD_NAME.test(line.trim())) throw notAField(index);
      throw tooLarge(index);
    }
    if (line.trim() === '') {
      if (kept.length === 0) continue;
      // The first line after this run of blank lines decides, once for the whole run.
      let next = index + 1;
      while (next < lines.length && (lines[next] as string).trim() === '') next++;
      // The run reaches the end of a partial read, or the line after it was cut before it could tell.
      if (!complete && (next > last || (next === last && MAYBE_FIELD_NAME.test((lines[next] as string).trim())))) throw tooLarge(next);
      if (next < lines.length && LIKELY_HEADER.test((lines[next] as string).trim())) {
        warn(next - index === 1 ? `${source} line ${index + 1}: blank line inside the header ignored (pasted headers?)` : `${source} lines ${index + 1}-${next}: blank lines inside the header ignored (pasted headers?)`);
        index = next - 1;
        continue;
      }
      break;
    }
    if (FIELD_START.test(line)) keep(line, index);
    else if (/^[ \t]/.test(line)) {
      if (kept.length === 0) throw new InputError('the input starts with a continuation line, not a header field', { file: source, where: `line ${index + 1}` });
      keep(line, index);
    } else {
      if (kept.length === 0) throw notAField(index);
      warn(`${source} line ${index + 1}: not a header field; joined to the previous field as a folded line`);
      keep(` ${line}`, index);
    }
  }
  if (kept.length === 0) throw new InputError('no header fields found', { file: source });
  if (unlisted > 0) warnings.push(`${source}: ${unlisted} more repair(s) of the same kinds not listed`);
  return { fields: await parseHeaderBlock(kept.join('\r\n')), warnings };
}
