/**
 * Raw header blocks (as pasted from a mail client or written in a scenario file) to header fields, with
 * postal-mime doing the unfolding. Async because postal-mime's parser is.
 */
import PostalMime from 'postal-mime';
import type { HeaderField } from '../eop/types.js';
import { InputError } from '../errors.js';

/** Parses a header block (`Name: value` lines, folded or not, LF or CRLF) into fields in message order. */
export async function parseHeaderBlock(block: string): Promise<HeaderField[]> {
  const normalised = block.replace(/\r?\n/g, '\r\n').replace(/(\r\n)*$/, '');
  if (normalised.trim() === '') return [];
  const email = await PostalMime.parse(`${normalised}\r\n\r\n`);
  return email.headers.map((header) => ({ name: header.originalKey ?? header.key, value: header.value }));
}

/** Field names that, seen after a blank line, mean the blank line was a paste artefact, not the end of the header. */
const LIKELY_HEADER = /^(received|authentication-results(-original)?|arc-[a-z-]+|dkim-signature|x-[a-z0-9-]+|return-path|from|to|cc|subject|date|message-id|mime-version|content-type|received-spf|thread-[a-z]+|reply-to|in-reply-to|references)\s*:/i;
const FIELD_START = /^[A-Za-z][A-Za-z0-9_-]*[ \t]*:/;

export interface MessageHeaders {
  fields: HeaderField[];
  /** What was repaired in the input (1-based line numbers), for the report. */
  warnings: string[];
}

/**
 * The header of a message file or of headers pasted from a mail client. Tolerates what pasting does: a BOM, CRLF/LF,
 * leading indentation, blank lines between fields, and folded lines whose continuation lost its indentation (joined
 * to the previous field, with a warning). The header ends at the first blank line followed by something that is not
 * a header field (the body).
 */
export async function readMessageHeaders(text: string, source = 'input'): Promise<MessageHeaders> {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  const warnings: string[] = [];
  const kept: string[] = [];
  // Pasted blocks are sometimes indented as a whole: remove the first line's indentation from every line that has it.
  const firstLine = lines.find((line) => line.trim() !== '') ?? '';
  const commonIndent = /^[ \t]*/.exec(firstLine)?.[0] ?? '';
  for (let index = 0; index < lines.length; index++) {
    let line = lines[index] as string;
    if (commonIndent && line.startsWith(commonIndent)) line = line.slice(commonIndent.length);
    if (line.trim() === '') {
      if (kept.length === 0) continue;
      const next = lines.slice(index + 1).find((candidate) => candidate.trim() !== '');
      if (next !== undefined && LIKELY_HEADER.test(next.trim())) {
        warnings.push(`${source} line ${index + 1}: blank line inside the header ignored (pasted headers?)`);
        continue;
      }
      break;
    }
    if (FIELD_START.test(line)) kept.push(line);
    else if (/^[ \t]/.test(line)) {
      if (kept.length === 0) throw new InputError('the input starts with a continuation line, not a header field', { file: source, where: `line ${index + 1}` });
      kept.push(line);
    } else {
      if (kept.length === 0) throw new InputError(`line ${index + 1} is not a header field ("Name: value"): is this a message or its headers?`, { file: source, where: `line ${index + 1}` });
      warnings.push(`${source} line ${index + 1}: not a header field; joined to the previous field as a folded line`);
      kept.push(` ${line}`);
    }
  }
  if (kept.length === 0) throw new InputError('no header fields found', { file: source });
  return { fields: await parseHeaderBlock(kept.join('\r\n')), warnings };
}
