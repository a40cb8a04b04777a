/**
 * The text of a PDF that Chromium prints (Skia's writer), read without a PDF library: the page content streams are
 * deflated, text is drawn with `<glyph ids> Tj` (or `TJ` arrays) in Type0 fonts, and each font's ToUnicode CMap maps
 * glyph ids to characters. Enough to check that a printed page holds a text; not a general PDF reader — a PDF it
 * cannot read makes it throw, so a test cannot pass on an empty result.
 */
import { inflateSync } from 'node:zlib';

interface PdfObject {
  dictionary: string;
  stream: Buffer | null;
}

function objects(pdf: Buffer): Map<number, PdfObject> {
  const text = pdf.toString('latin1');
  const found = new Map<number, PdfObject>();
  const header = /(\d+) 0 obj\s*/g;
  let match: RegExpExecArray | null;
  while ((match = header.exec(text))) {
    const start = match.index + match[0].length;
    const end = text.indexOf('endobj', start);
    if (end === -1) break;
    const body = text.slice(start, end);
    const streamAt = body.indexOf('stream');
    let stream: Buffer | null = null;
    let dictionary = body;
    if (streamAt !== -1 && /\/Filter\s*\/FlateDecode/.test(body.slice(0, streamAt))) {
      dictionary = body.slice(0, streamAt);
      let dataStart = start + streamAt + 'stream'.length;
      if (text[dataStart] === '\r') dataStart++;
      if (text[dataStart] === '\n') dataStart++;
      const dataEnd = text.indexOf('endstream', dataStart);
      try {
        stream = inflateSync(pdf.subarray(dataStart, dataEnd));
      } catch {
        stream = null;
      }
    }
    found.set(Number(match[1]), { dictionary, stream });
    header.lastIndex = end;
  }
  return found;
}

/** A ToUnicode CMap: glyph id (hex) to text, from its bfchar and bfrange sections. */
function toUnicode(cmap: string): Map<number, string> {
  const map = new Map<number, string>();
  const unicode = (hex: string) => String.fromCharCode(...(hex.match(/.{4}/g) ?? []).map((unit) => parseInt(unit, 16)));
  for (const section of cmap.matchAll(/beginbfchar([\s\S]*?)endbfchar/g)) {
    for (const pair of (section[1] as string).matchAll(/<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>/g)) map.set(parseInt(pair[1] as string, 16), unicode(pair[2] as string));
  }
  for (const section of cmap.matchAll(/beginbfrange([\s\S]*?)endbfrange/g)) {
    for (const range of (section[1] as string).matchAll(/<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>/g)) {
      const from = parseInt(range[1] as string, 16);
      const to = parseInt(range[2] as string, 16);
      const first = parseInt(range[3] as string, 16);
      for (let glyph = from; glyph <= to; glyph++) map.set(glyph, String.fromCharCode(first + glyph - from));
    }
  }
  return map;
}

/** The text of every page, in drawing order, one line per text object (BT … ET). */
export function pdfText(pdf: Buffer): string {
  if (pdf.subarray(0, 5).toString('latin1') !== '%PDF-') throw new Error('not a PDF');
  const all = objects(pdf);
  // Font resource names (`/F5 5 0 R`) to their glyph maps; a name bound to two fonts is beyond this reader.
  const fonts = new Map<string, Map<number, string>>();
  for (const object of all.values()) {
    for (const block of object.dictionary.matchAll(/\/Font\s*<<([^>]*)>>/g)) {
      for (const entry of (block[1] as string).matchAll(/\/(\w+)\s+(\d+) 0 R/g)) {
        const font = all.get(Number(entry[2]));
        const cmapRef = /\/ToUnicode\s+(\d+) 0 R/.exec(font?.dictionary ?? '');
        const cmap = cmapRef ? all.get(Number(cmapRef[1]))?.stream : null;
        if (!cmap) continue;
        const known = fonts.get(entry[1] as string);
        const map = toUnicode(cmap.toString('latin1'));
        if (known && [...map].some(([glyph, char]) => known.has(glyph) && known.get(glyph) !== char)) throw new Error(`font name /${entry[1]} names two fonts`);
        fonts.set(entry[1] as string, new Map([...(known ?? []), ...map]));
      }
    }
  }
  if (fonts.size === 0) throw new Error('no font with a ToUnicode map: not a PDF this reader knows');
  const lines: string[] = [];
  for (const object of all.values()) {
    const content = object.stream?.toString('latin1');
    if (!content || !/\bBT\b/.test(content)) continue;
    let font: Map<number, string> | undefined;
    for (const block of content.matchAll(/\bBT\b([\s\S]*?)\bET\b/g)) {
      let line = '';
      for (const token of (block[1] as string).matchAll(/\/(\w+)\s+[\d.]+\s+Tf|(<[0-9A-Fa-f\s]*>)\s*Tj|\[([^\]]*)\]\s*TJ/g)) {
        if (token[1]) {
          font = fonts.get(token[1]);
          continue;
        }
        const strings = token[2] ? [token[2]] : ((token[3] as string).match(/<[0-9A-Fa-f\s]*>/g) ?? []);
        for (const hex of strings) {
          const digits = hex.slice(1, -1).replace(/\s/g, '');
          for (const unit of digits.match(/.{4}/g) ?? []) line += font?.get(parseInt(unit, 16)) ?? '\uFFFD';
        }
      }
      lines.push(line);
    }
  }
  return lines.join('\n').normalize('NFKC');
}
