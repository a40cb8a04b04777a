// Declarations for two mailauth modules that ship without types (mailauth 4.13.x). Only what eoplock uses.
declare module 'mailauth/lib/parse-received.js' {
  interface ReceivedPart {
    value: string;
    comment?: string;
  }
  export interface ParsedReceived {
    from?: ReceivedPart;
    by?: ReceivedPart;
    with?: ReceivedPart;
    id?: ReceivedPart;
    for?: ReceivedPart;
    tls?: ReceivedPart;
    timestamp?: string;
    full: string;
    [key: string]: unknown;
  }
  /** Takes the whole line including `Received:`; false when there is no colon. */
  export function parseReceived(header: string): ParsedReceived | false;
}

declare module 'mailauth/lib/parse-dkim-headers.js' {
  export interface ParsedHeader {
    parsed: Record<string, unknown>;
    original: string;
  }
  /** Parses a structured header line (`Name: a=b; c=d (comment)`), including Authentication-Results. */
  export default function headerParser(header: string): ParsedHeader;
}
