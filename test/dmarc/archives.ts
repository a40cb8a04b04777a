/**
 * Archives and messages written in tests: a minimal zip writer (local headers, central directory, end record), a
 * seeded generator, report XML of a chosen size, and .eml messages with attachments.
 */
import * as zlib from 'node:zlib';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 (zlib's where Node has it, 20.15 and later; a table otherwise). */
export function crc32(data: Buffer): number {
  const native = (zlib as { crc32?: (data: Buffer) => number }).crc32;
  if (native) return native(data);
  let crc = 0xffffffff;
  for (const byte of data) crc = (CRC_TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export interface ZipEntry {
  name: string;
  data: Buffer;
  /** Stored (0) or deflated (8, the default). */
  method?: 0 | 8;
  /** The uncompressed size written in the headers, when it should lie. */
  declaredSize?: number;
}

const deflated = new WeakMap<Buffer, Buffer>();

/** A zip archive of the entries (the same buffer in many entries is deflated once). */
export function zip(entries: ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const method = entry.method ?? 8;
    let compressed = entry.data;
    if (method === 8) {
      compressed = deflated.get(entry.data) ?? zlib.deflateRawSync(entry.data);
      deflated.set(entry.data, compressed);
    }
    const name = Buffer.from(entry.name);
    const crc = crc32(entry.data);
    const size = entry.declaredSize ?? entry.data.length;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // names in UTF-8
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(compressed.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, compressed);
    centrals.push(central, name);
    offset += local.length + name.length + compressed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** A small seeded generator (mulberry32): the same seed, the same inputs. */
export function seeded(seed: number): { next: () => number; int: (below: number) => number } {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (below) => Math.floor(next() * below) };
}

/** A well-formed aggregate report of `records` records from documentation addresses, all failing DMARC. */
export function reportXml(records: number, options: { orgName?: string; domain?: string; reportId?: string; seed?: number } = {}): string {
  const random = seeded(options.seed ?? 1);
  const rows: string[] = [];
  for (let index = 0; index < records; index++) {
    rows.push(
      `<record><row><source_ip>198.51.100.${random.int(256)}</source_ip><count>${1 + random.int(9)}</count><policy_evaluated><disposition>none</disposition><dkim>fail</dkim><spf>fail</spf></policy_evaluated></row><identifiers><header_from>${options.domain ?? 'example.com'}</header_from></identifiers><auth_results><spf><domain>example.com</domain><result>fail</result></spf></auth_results></record>`,
    );
  }
  return `<?xml version="1.0" encoding="UTF-8"?>
<feedback><report_metadata><org_name>${options.orgName ?? 'Test Reporter'}</org_name><email>noreply@reporter.example</email><report_id>${options.reportId ?? 'r1'}</report_id><date_range><begin>1700000000</begin><end>1700086399</end></date_range></report_metadata><policy_published><domain>${options.domain ?? 'example.com'}</domain><adkim>r</adkim><aspf>r</aspf><p>none</p><sp>none</sp><pct>100</pct></policy_published>${rows.join('\n')}</feedback>
`;
}

/** An e-mail message with the attachments, base64 in 76-character lines. */
export function eml(attachments: { name: string; type: string; data: Buffer }[]): Buffer {
  const parts = attachments.map(
    (attachment) =>
      `--b1\r\nContent-Type: ${attachment.type}; name="${attachment.name}"\r\nContent-Disposition: attachment; filename="${attachment.name}"\r\nContent-Transfer-Encoding: base64\r\n\r\n${attachment.data.toString('base64').replace(/.{76}/g, '$&\r\n')}\r\n`,
  );
  return Buffer.from(
    `From: noreply@reporter.example\r\nTo: dmarc@example.com\r\nSubject: Report domain: example.com\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nA DMARC aggregate report.\r\n${parts.join('')}--b1--\r\n`,
  );
}

/** `bytes` of text that is neither XML nor a message and compresses about 60:1 (rows with a random number). */
export function filler(bytes: number, seed = 1): Buffer {
  const random = seeded(seed);
  const rows: string[] = [];
  let length = 0;
  while (length < bytes) {
    const row = `198.51.100.${random.int(16)} none fail fail example.com example.com example.com pass fail none none none\n`;
    rows.push(row);
    length += row.length;
  }
  return Buffer.from(rows.join('')).subarray(0, bytes);
}
