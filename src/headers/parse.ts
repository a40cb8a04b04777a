/**
 * Raw header blocks (as pasted from a mail client or written in a scenario file) to header fields, with
 * postal-mime doing the unfolding. Async because postal-mime's parser is.
 */
import PostalMime from 'postal-mime';
import type { HeaderField } from '../eop/types.js';

/** Parses a header block (`Name: value` lines, folded or not, LF or CRLF) into fields in message order. */
export async function parseHeaderBlock(block: string): Promise<HeaderField[]> {
  const normalised = block.replace(/\r?\n/g, '\r\n').replace(/(\r\n)*$/, '');
  if (normalised.trim() === '') return [];
  const email = await PostalMime.parse(`${normalised}\r\n\r\n`);
  return email.headers.map((header) => ({ name: header.originalKey ?? header.key, value: header.value }));
}
