/**
 * DMARC aggregate report files to XML documents: plain XML, gzip, zip (yauzl, size-validated), and .eml messages
 * carrying any of those as attachments (postal-mime). Limits against hostile archives: entries per archive,
 * uncompressed bytes per document, compression ratio, nesting of containers.
 */
import { gunzipSync, inflateRawSync } from 'node:zlib';
import PostalMime from 'postal-mime';
import yauzl from 'yauzl';

export interface UnpackLimits {
  maxEntries: number;
  maxUncompressedBytes: number;
  maxRatio: number;
  maxDepth: number;
}

export const DEFAULT_LIMITS: UnpackLimits = { maxEntries: 100, maxUncompressedBytes: 50 * 1024 * 1024, maxRatio: 200, maxDepth: 3 };

export class UnpackError extends Error {
  constructor(
    /** The file, or the path into it (`file > entry.xml`). */
    readonly source: string,
    readonly reason: string,
  ) {
    super(`${source}: ${reason}`);
  }
}

export interface XmlDocument {
  /** `file`, `file > entry.xml`, `file > attachment.zip > entry.xml`. */
  source: string;
  xml: string;
}

const isGzip = (data: Buffer) => data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b;
const isZip = (data: Buffer) => data.length >= 4 && data.readUInt32LE(0) === 0x04034b50;

function decodeUtf8(data: Buffer, source: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(data).replace(/^\uFEFF/, '');
  } catch {
    throw new UnpackError(source, `not valid UTF-8`);
  }
}

function gunzip(data: Buffer, source: string, limits: UnpackLimits): Buffer {
  try {
    const out = gunzipSync(data, { maxOutputLength: limits.maxUncompressedBytes });
    if (out.length > data.length * limits.maxRatio && out.length > 1024 * 1024) throw new UnpackError(source, `compression ratio over ${limits.maxRatio}:1 (a decompression bomb?)`);
    return out;
  } catch (error) {
    if (error instanceof UnpackError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') throw new UnpackError(source, `more than ${limits.maxUncompressedBytes} bytes uncompressed`);
    // Some gateways append bytes after the gzip member (seen in a Mimecast-sent report): gunzip rejects the file,
    // but the member itself is intact. Inflate just the first member's deflate stream, which stops at its end.
    const member = firstMemberDeflate(data);
    if (member) {
      try {
        return inflateRawSync(member, { maxOutputLength: limits.maxUncompressedBytes });
      } catch {
        // fall through to the original error
      }
    }
    throw new UnpackError(source, `not a valid gzip stream (${(error as Error).message})`);
  }
}

/** The deflate data of a gzip file's first member (after its RFC 1952 header), or null if the header is unreadable. */
function firstMemberDeflate(data: Buffer): Buffer | null {
  if (data.length < 18 || data[0] !== 0x1f || data[1] !== 0x8b || data[2] !== 8) return null;
  const flags = data[3] as number;
  let offset = 10;
  if (flags & 0x04) offset += 2 + data.readUInt16LE(offset); // FEXTRA
  for (const flag of [0x08, 0x10]) {
    if (!(flags & flag)) continue; // FNAME, FCOMMENT: zero-terminated
    const end = data.indexOf(0, offset);
    if (end < 0) return null;
    offset = end + 1;
  }
  if (flags & 0x02) offset += 2; // FHCRC
  return offset < data.length ? data.subarray(offset) : null;
}

function zipEntries(data: Buffer, source: string, limits: UnpackLimits): Promise<{ name: string; data: Buffer }[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(data, { lazyEntries: true, validateEntrySizes: true, strictFileNames: false }, (error, zip) => {
      if (error || !zip) return reject(new UnpackError(source, `not a valid zip archive (${error?.message ?? 'unreadable'})`));
      if (zip.entryCount > limits.maxEntries) {
        zip.close();
        return reject(new UnpackError(source, `${zip.entryCount} entries, more than ${limits.maxEntries}`));
      }
      const entries: { name: string; data: Buffer }[] = [];
      let total = 0;
      const fail = (reason: UnpackError) => {
        zip.close();
        reject(reason);
      };
      zip.on('error', (zipError: Error) => fail(new UnpackError(source, `${zipError.message}`)));
      zip.on('end', () => resolve(entries));
      zip.on('entry', (entry: yauzl.Entry) => {
        if (/\/$/.test(entry.fileName)) return zip.readEntry();
        if (entry.uncompressedSize > limits.maxUncompressedBytes || total + entry.uncompressedSize > limits.maxUncompressedBytes) return fail(new UnpackError(`${source} > ${entry.fileName}`, `more than ${limits.maxUncompressedBytes} bytes uncompressed`));
        if (entry.compressedSize > 0 && entry.uncompressedSize / entry.compressedSize > limits.maxRatio && entry.uncompressedSize > 1024 * 1024) return fail(new UnpackError(`${source} > ${entry.fileName}`, `compression ratio over ${limits.maxRatio}:1 (a decompression bomb?)`));
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError || !stream) return fail(new UnpackError(`${source} > ${entry.fileName}`, `${streamError?.message ?? 'unreadable'}`));
          const chunks: Buffer[] = [];
          let size = 0;
          stream.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > limits.maxUncompressedBytes) {
              stream.destroy();
              return fail(new UnpackError(`${source} > ${entry.fileName}`, `more than ${limits.maxUncompressedBytes} bytes uncompressed`));
            }
            chunks.push(chunk);
          });
          stream.on('error', (readError: Error) => fail(new UnpackError(`${source} > ${entry.fileName}`, `${readError.message}`)));
          stream.on('end', () => {
            total += size;
            entries.push({ name: entry.fileName, data: Buffer.concat(chunks) });
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}

/** Every XML document in one file's bytes (recursing into archives and attachments up to `maxDepth`). */
export async function unpack(data: Buffer, source: string, limits: UnpackLimits = DEFAULT_LIMITS, depth = 0): Promise<XmlDocument[]> {
  if (depth > limits.maxDepth) throw new UnpackError(source, `containers nested more than ${limits.maxDepth} deep`);
  if (isGzip(data)) return unpack(gunzip(data, source, limits), `${source} (gunzipped)`, limits, depth + 1);
  if (isZip(data)) {
    const documents: XmlDocument[] = [];
    for (const entry of await zipEntries(data, source, limits)) documents.push(...(await unpack(entry.data, `${source} > ${entry.name}`, limits, depth + 1)));
    return documents;
  }
  const head = data.subarray(0, 2048).toString('latin1');
  if (/^\s*(<\?xml|<feedback[\s>])/i.test(head.replace(/^\uFEFF|^\xEF\xBB\xBF/, ''))) return [{ source, xml: decodeUtf8(data, source) }];
  if (/^[A-Za-z][A-Za-z0-9-]*:/m.test(head)) {
    let email;
    try {
      email = await PostalMime.parse(data);
    } catch (error) {
      throw new UnpackError(source, `not a readable message (${(error as Error).message})`);
    }
    const documents: XmlDocument[] = [];
    for (const attachment of email.attachments) {
      const content = Buffer.from(attachment.content as ArrayBuffer);
      const name = attachment.filename ?? attachment.mimeType;
      if (!/(xml|zip|gzip|octet-stream)/i.test(attachment.mimeType) && !/\.(xml|gz|zip)$/i.test(attachment.filename ?? '')) continue;
      documents.push(...(await unpack(content, `${source} > ${name}`, limits, depth + 1)));
    }
    if (documents.length === 0) throw new UnpackError(source, `a message without an aggregate report attachment`);
    return documents;
  }
  if (data.length === 0 || head.trim() === '') throw new UnpackError(source, `the file is empty`);
  throw new UnpackError(source, `neither XML, gzip, zip nor an e-mail message`);
}
