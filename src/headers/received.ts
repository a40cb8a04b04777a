/**
 * One `Received` field read with mailauth's parser: who sent (host and address), who received, when. Shared by the
 * header analysis and the emulator's skip listing. Pure.
 */
import { parseReceived } from 'mailauth/lib/parse-received.js';
import { parseIp } from '../eop/ip.js';

export interface ReceivedLine {
  fromHost: string | null;
  /** The sender's address: `[a.b.c.d]` (or `[IPv6:…]`) in the comment, Microsoft's bare `(a.b.c.d)`, or an address as the host. */
  fromIp: string | null;
  /** The first word of the from-comment (usually the reverse name). */
  fromComment: string | null;
  byHost: string | null;
  with: string | null;
  timestamp: string | null;
}

function ipIn(comment: string | undefined): string | null {
  if (!comment) return null;
  for (const match of comment.matchAll(/\[(?:IPv6:)?([0-9a-fA-F:.]+)\]/g)) {
    const parsed = parseIp(match[1] as string);
    if (parsed) return parsed.toString();
  }
  // Microsoft writes `(10.167.241.71)` with no brackets.
  const bare = /(?:^|[\s(])((?:\d{1,3}\.){3}\d{1,3})(?:$|[\s)])/.exec(comment)?.[1];
  return bare ? (parseIp(bare)?.toString() ?? null) : null;
}

/** Parses the value of one Received field; null when it cannot be read. */
export function readReceived(value: string): ReceivedLine | null {
  const parsed = parseReceived(`Received: ${value}`);
  if (!parsed) return null;
  const fromHost = parsed.from?.value || null;
  return {
    fromHost,
    fromIp: ipIn(parsed.from?.comment) ?? (fromHost ? (parseIp(fromHost)?.toString() ?? null) : null),
    fromComment: parsed.from?.comment?.split(/\s+/)[0] ?? null,
    byHost: parsed.by?.value || null,
    with: parsed.with?.value || null,
    timestamp: parsed.timestamp?.trim() || null,
  };
}
