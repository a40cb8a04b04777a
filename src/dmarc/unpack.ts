/**
 * DMARC aggregate report files to XML documents: plain XML, gzip, zip (yauzl), and .eml messages carrying any of
 * those as attachments (postal-mime), one document at a time: each is handed on and dropped before the next is
 * unpacked, so memory follows one document, not the input.
 *
 * One {@link Budget} covers a whole run (every file, every folder walked, every nesting level): bytes unpacked
 * (inflated, or decoded from a message), archive entries and attachments, and wall-clock time. Per stream: the
 * bytes of one document or inner archive and the compression ratio; per input file: the ratio across all its levels;
 * per path into a file: the nesting of containers. Every limit is checked while inflating, on the bytes that come
 * out (never on the sizes an archive declares), and a stream over it is stopped there.
 *
 * Over a limit, that document, archive member or file is skipped with the reason (see {@link UnpackError.scope})
 * and the rest is read.
 */
import type { Readable } from 'node:stream';
import { createGunzip, createInflateRaw } from 'node:zlib';
import PostalMime from 'postal-mime';
import yauzl from 'yauzl';

export interface UnpackLimits {
  /** Bytes unpacked (inflated from gzip and zip, decoded from messages) across the whole run. */
  maxBytes: number;
  /** Archive entries and message attachments across the whole run. */
  maxEntries: number;
  /** Wall-clock time of the whole run, in seconds. */
  maxSeconds: number;
  /** One input file as stored. */
  maxFileBytes: number;
  /** One document, inner archive or message, unpacked (a message is refused over it before it is parsed). */
  maxDocumentBytes: number;
  /**
   * Lines of the messages parsed in one input file, together (an attached message is parsed again on its own):
   * postal-mime's cost grows with them, so a message that would go over is not parsed.
   */
  maxMessageLines: number;
  /** Output per input byte of one stream, and of one input file across all its levels (past 1 MiB). */
  maxRatio: number;
  /** Containers inside containers (a gzip in a zip in a message is 3). */
  maxDepth: number;
}

export const DEFAULT_LIMITS: UnpackLimits = {
  maxBytes: 1024 * 1024 * 1024,
  maxEntries: 50_000,
  maxSeconds: 300,
  maxFileBytes: 100 * 1024 * 1024,
  maxDocumentBytes: 50 * 1024 * 1024,
  maxMessageLines: 200_000,
  maxRatio: 200,
  maxDepth: 3,
};

/** Output below this is never a decompression bomb, whatever its ratio (a small report compresses well). */
const RATIO_FLOOR = 1024 * 1024;
const CHUNK = 64 * 1024;

/** `50 MiB`, `1 GiB`, or a count of bytes. */
export function formatBytes(bytes: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} bytes`;
}

export class UnpackError extends Error {
  constructor(
    /** The file, or the path into it (`file > entry.xml`). */
    readonly source: string,
    readonly reason: string,
    /**
     * What is skipped: `member` the document or archive member named by `source` (its siblings are read), `file`
     * the rest of the input file, `run` the rest of the input file because the run's budget is spent (later files
     * are read only as far as the budget still allows).
     */
    readonly scope: 'member' | 'file' | 'run' = 'member',
  ) {
    super(`${source}: ${reason}`);
  }
}

/** The run's shared budget: bytes unpacked, entries, time; and the current input file's ratio across its levels. */
export class Budget {
  private bytes = 0;
  private entries = 0;
  private readonly deadline: number;
  private file = { source: '', size: 0, out: 0, messageLines: 0 };

  constructor(
    readonly limits: UnpackLimits = DEFAULT_LIMITS,
    now = Date.now(),
  ) {
    this.deadline = now + limits.maxSeconds * 1000;
  }

  /** Starts an input file of `size` bytes: what all its levels unpack is held to the ratio against it. */
  beginFile(source: string, size: number): void {
    this.file = { source, size, out: 0, messageLines: 0 };
  }

  /** A message of `data` about to be parsed: its lines count against the file's message lines. */
  takeMessage(data: Buffer, source: string): void {
    const left = this.limits.maxMessageLines - this.file.messageLines;
    const lines = countLines(data, left);
    if (lines > left) {
      throw new UnpackError(source, left === this.limits.maxMessageLines ? `a message of more than ${this.limits.maxMessageLines} lines: not parsed` : `a message of more than the ${left} lines left of ${this.limits.maxMessageLines} for the messages of one file: not parsed`);
    }
    this.file.messageLines += lines;
  }

  checkTime(source: string): void {
    if (Date.now() > this.deadline) throw new UnpackError(source, `not read: the run's time budget of ${this.limits.maxSeconds} s is spent (--max-seconds)`, 'run');
  }

  /** One archive entry or message attachment. */
  takeEntry(source: string): void {
    this.checkTime(source);
    if (++this.entries > this.limits.maxEntries) throw new UnpackError(source, `not read: the run's budget of ${this.limits.maxEntries} archive entries and attachments is spent (--max-entries)`, 'run');
  }

  entriesLeft(): number {
    return Math.max(0, this.limits.maxEntries - this.entries);
  }

  /** Bytes unpacked anywhere in the current file (decoded from a message, or by a stream). */
  addBytes(count: number, source: string): void {
    this.account(count);
    this.check(source);
  }

  /** A counter for one stream of `compressed` input bytes: its own size and ratio, then the shared budget. */
  stream(source: string, compressed: number): (count: number) => void {
    let out = 0;
    return (count) => {
      out += count;
      this.account(count);
      if (out > this.limits.maxDocumentBytes) throw new UnpackError(source, `more than ${formatBytes(this.limits.maxDocumentBytes)} unpacked`);
      if (out > RATIO_FLOOR && out > Math.max(compressed, 1) * this.limits.maxRatio) throw new UnpackError(source, `compression ratio over ${this.limits.maxRatio}:1 (a decompression bomb?)`);
      this.check(source);
    };
  }

  private account(count: number): void {
    this.bytes += count;
    this.file.out += count;
  }

  private check(source: string): void {
    if (this.bytes > this.limits.maxBytes) throw new UnpackError(source, `not read: the run's budget of ${formatBytes(this.limits.maxBytes)} unpacked is spent (--max-bytes)`, 'run');
    if (this.file.out > RATIO_FLOOR && this.file.out > this.file.size * this.limits.maxRatio) {
      throw new UnpackError(this.file.source, `unpacks to more than ${this.limits.maxRatio} times its size across its nesting levels (a decompression bomb?); the rest of the file is not read`, 'file');
    }
    this.checkTime(source);
  }
}

export interface XmlDocument {
  /** `file`, `file > entry.xml`, `file > attachment.zip > entry.xml`. */
  source: string;
  xml: string;
  /** What was repaired while unpacking. */
  notes: string[];
}

export interface UnpackSink {
  /** One document; the next is unpacked only once this returns (or its promise settles). */
  document: (document: XmlDocument) => void | Promise<void>;
  /** A document, archive member or file that is skipped, and why. */
  skip: (source: string, reason: string) => void;
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

/** A zlib failure (bad data), as opposed to a limit that stopped the stream. */
class StreamError extends Error {}

/** A stream's output, counted chunk by chunk and stopped as soon as `count` throws. */
function collect(stream: Readable, count: (bytes: number) => void): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      stream.destroy();
      reject(error);
    };
    stream.on('data', (chunk: Buffer) => {
      if (settled) return;
      try {
        count(chunk.length);
      } catch (error) {
        return fail(error as Error);
      }
      chunks.push(chunk);
    });
    stream.on('error', (error: Error) => fail(new StreamError(error.message)));
    stream.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(Buffer.concat(chunks));
    });
  });
}

function inflate(data: Buffer, format: 'gzip' | 'raw', count: (bytes: number) => void): Promise<Buffer> {
  const stream = format === 'gzip' ? createGunzip({ chunkSize: CHUNK }) : createInflateRaw({ chunkSize: CHUNK });
  const out = collect(stream, count);
  stream.end(data);
  return out;
}

async function gunzip(data: Buffer, source: string, budget: Budget, notes: string[]): Promise<Buffer> {
  try {
    return await inflate(data, 'gzip', budget.stream(source, data.length));
  } catch (error) {
    if (!(error instanceof StreamError)) throw error;
    // Some gateways append bytes after the gzip member (seen in a Mimecast-sent report): gunzip rejects the file,
    // but the member itself is intact. Inflate just the first member's deflate stream, which stops at its end;
    // the same limits hold.
    const member = firstMemberDeflate(data);
    if (member) {
      try {
        const out = await inflate(member, 'raw', budget.stream(source, data.length));
        notes.push(`not a valid gzip stream (${error.message}): read its first member`);
        return out;
      } catch (fallback) {
        if (!(fallback instanceof StreamError)) throw fallback;
      }
    }
    throw new UnpackError(source, `not a valid gzip stream (${error.message})`);
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

function openZip(data: Buffer, source: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(data, { lazyEntries: true, validateEntrySizes: true, strictFileNames: false }, (error, zip) => {
      if (error || !zip) reject(new UnpackError(source, `not a valid zip archive (${error?.message ?? 'unreadable'})`));
      else resolve(zip);
    });
  });
}

/** A zip archive's entries one at a time (yauzl's lazy mode: the next is read when asked for). */
async function* zipEntries(zip: yauzl.ZipFile, source: string): AsyncGenerator<yauzl.Entry> {
  let waiting: { resolve: (entry: yauzl.Entry | null) => void; reject: (error: Error) => void } | null = null;
  let failed: Error | null = null;
  zip.on('entry', (entry: yauzl.Entry) => waiting?.resolve(entry));
  zip.on('end', () => waiting?.resolve(null));
  zip.on('error', (error: Error) => {
    failed = error;
    waiting?.reject(error);
  });
  for (;;) {
    let entry: yauzl.Entry | null;
    try {
      if (failed) throw failed;
      entry = await new Promise<yauzl.Entry | null>((resolve, reject) => {
        waiting = { resolve, reject };
        zip.readEntry();
      });
    } catch (error) {
      throw new UnpackError(source, `not a valid zip archive (${(error as Error).message})`);
    } finally {
      waiting = null;
    }
    if (!entry) return;
    yield entry;
  }
}

function readZipEntry(zip: yauzl.ZipFile, entry: yauzl.Entry, source: string, budget: Budget): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (error, stream) => {
      if (error || !stream) return reject(new UnpackError(source, `${error?.message ?? 'unreadable'}`));
      collect(stream, budget.stream(source, entry.compressedSize)).then(resolve, (failure: Error) => reject(failure instanceof StreamError ? new UnpackError(source, failure.message) : failure));
    });
  });
}

/** Lines in `data`, counted up to `limit + 1`. */
function countLines(data: Buffer, limit: number): number {
  let lines = 0;
  for (let at = data.indexOf(0x0a); at >= 0 && lines <= limit; at = data.indexOf(0x0a, at + 1)) lines++;
  return lines;
}

const REPORT_ATTACHMENT_TYPE = /xml|zip|gzip|octet-stream/i;
const REPORT_ATTACHMENT_NAME = /\.(xml|gz|zip)$/i;

interface Walk {
  budget: Budget;
  sink: UnpackSink;
}

/** Runs a member of a container; a member-scoped failure skips just that member. */
async function member(walk: Walk, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    if (!(error instanceof UnpackError) || error.scope !== 'member') throw error;
    walk.sink.skip(error.source, error.reason);
  }
}

async function unpackInto(data: Buffer, source: string, depth: number, walk: Walk, notes: readonly string[]): Promise<void> {
  const { budget, sink } = walk;
  const limits = budget.limits;
  budget.checkTime(source);
  const container = (kind: string) => {
    if (depth >= limits.maxDepth) throw new UnpackError(source, `containers nested more than ${limits.maxDepth} deep: ${kind} at level ${depth + 1}`);
  };
  if (isGzip(data)) {
    container('a gzip stream');
    const repaired = [...notes];
    const out = await gunzip(data, source, budget, repaired);
    return unpackInto(out, `${source} (gunzipped)`, depth + 1, walk, repaired);
  }
  if (isZip(data)) {
    container('a zip archive');
    const zip = await openZip(data, source);
    try {
      if (zip.entryCount > budget.entriesLeft()) throw new UnpackError(source, `${zip.entryCount} entries, more than the ${budget.entriesLeft()} left in the run's budget of ${limits.maxEntries} (--max-entries)`);
      for await (const entry of zipEntries(zip, source)) {
        const name = `${source} > ${entry.fileName}`;
        budget.takeEntry(name);
        if (entry.fileName.endsWith('/')) continue;
        await member(walk, async () => unpackInto(await readZipEntry(zip, entry, name, budget), name, depth + 1, walk, notes));
      }
    } finally {
      zip.close();
    }
    return;
  }
  const head = data.subarray(0, 2048).toString('latin1');
  if (/^\s*(<\?xml|<feedback[\s>])/i.test(head.replace(/^\uFEFF|^\xEF\xBB\xBF/, ''))) {
    if (data.length > limits.maxDocumentBytes) throw new UnpackError(source, `${data.length} bytes, more than ${formatBytes(limits.maxDocumentBytes)} for one document`);
    return sink.document({ source, xml: decodeUtf8(data, source), notes: [...notes] });
  }
  if (/^[A-Za-z][A-Za-z0-9-]*:/m.test(head)) {
    container('a message');
    return unpackMessage(data, source, depth, walk, notes);
  }
  if (data.length === 0 || head.trim() === '') throw new UnpackError(source, `the file is empty`);
  throw new UnpackError(source, `neither XML, gzip, zip nor an e-mail message`);
}

async function unpackMessage(data: Buffer, source: string, depth: number, walk: Walk, notes: readonly string[]): Promise<void> {
  const { budget } = walk;
  const limits = budget.limits;
  // postal-mime holds the whole message and all its attachments: bound it before parsing.
  if (data.length > limits.maxDocumentBytes) throw new UnpackError(source, `a message of ${data.length} bytes, more than ${formatBytes(limits.maxDocumentBytes)}: not parsed`);
  budget.takeMessage(data, source);
  let email;
  try {
    // Attached messages (message/rfc822) come back as attachments and are read here, under the same limits.
    email = await PostalMime.parse(data, { maxNestingDepth: 16, maxHeadersSize: 1024 * 1024, maxRfc822NestingDepth: 0 });
  } catch (error) {
    throw new UnpackError(source, `not a readable message (${(error as Error).message})`);
  }
  const attachments: ((typeof email.attachments)[number] | null)[] = email.attachments;
  if (attachments.length > budget.entriesLeft()) throw new UnpackError(source, `${attachments.length} attachments, more than the ${budget.entriesLeft()} left in the run's budget of ${limits.maxEntries} (--max-entries)`);
  let candidates = 0;
  for (let index = 0; index < attachments.length; index++) {
    const attachment = attachments[index];
    if (!attachment) continue;
    attachments[index] = null; // released once read
    const raw = attachment.content;
    const content = typeof raw === 'string' ? Buffer.from(raw) : raw instanceof Uint8Array ? Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength) : Buffer.from(raw);
    const name = `${source} > ${attachment.filename ?? attachment.mimeType}`;
    budget.takeEntry(name);
    budget.addBytes(content.length, name);
    const message = /^message\/rfc822$/i.test(attachment.mimeType);
    if (!message && !REPORT_ATTACHMENT_TYPE.test(attachment.mimeType) && !REPORT_ATTACHMENT_NAME.test(attachment.filename ?? '')) continue;
    candidates++;
    await member(walk, () => unpackInto(content, name, depth + 1, walk, notes));
  }
  if (candidates === 0) throw new UnpackError(source, `a message without an aggregate report attachment`);
}

/**
 * Every XML document in one input file, handed to `sink.document` one at a time (recursing into archives and
 * attachments); whatever is skipped goes to `sink.skip` with its reason. Throws only what is not an input problem.
 */
export async function unpackFile(data: Buffer, source: string, budget: Budget, sink: UnpackSink): Promise<void> {
  budget.beginFile(source, data.length);
  try {
    await unpackInto(data, source, 0, { budget, sink }, []);
  } catch (error) {
    if (!(error instanceof UnpackError)) throw error;
    sink.skip(error.source, error.scope === 'run' && error.source !== source ? `${error.reason}; the rest of the file is not read` : error.reason);
  }
}

/** Every XML document in one file's bytes, held together (for tests and small inputs); the first skip rejects. */
export async function unpack(data: Buffer, source: string, limits: UnpackLimits = DEFAULT_LIMITS): Promise<XmlDocument[]> {
  const documents: XmlDocument[] = [];
  let skipped: UnpackError | null = null;
  await unpackFile(data, source, new Budget(limits), {
    document: (document) => void documents.push(document),
    skip: (where, reason) => void (skipped ??= new UnpackError(where, reason)),
  });
  if (skipped) throw skipped;
  return documents;
}
