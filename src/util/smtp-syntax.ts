/**
 * SMTP syntax: what may go into a command line such as `MAIL FROM:<…>`, `RCPT TO:<…>` or `EHLO …`, and what a
 * domain or an address read from a snapshot, a scenario file or a flag must look like before it can get there.
 *
 * - Domain (RFC 5321 §4.1.2): labels of letters, digits and hyphens, not starting or ending with a hyphen, at most
 *   63 octets each and 253 octets in all, no empty label and no trailing dot. Labels with non-ASCII letters, marks
 *   and digits (IDN U-labels, as SMTPUTF8 sends them) are accepted; their lengths are counted in UTF-8 octets.
 * - Address literal (§4.1.3): `[192.0.2.1]` or `[IPv6:2001:db8::1]`; the general `[tag:content]` form is refused.
 *   A `::` may stand for one group or more (RFC 4291), which RFC 5321 narrows to two or more.
 * - Mailbox (§4.1.2): Local-part `@` (Domain or address literal). The Local-part is a Dot-string (atoms of atext
 *   joined by single dots) or a Quoted-string (printable ASCII and space, `\` quoting one of them), at most 64
 *   octets; the mailbox at most 254 octets (a path of 256 with its angle brackets). As in SMTPUTF8 (RFC 6531),
 *   non-ASCII letters, marks, digits, punctuation and symbols are accepted in both forms; control, format
 *   (bidirectional controls among them), separator, private-use and unassigned characters never are, and neither
 *   is a space, `<` or `>` outside the quotes.
 * - The null reverse-path `<>` is written as the empty string.
 *
 * Exchange configuration also holds domain patterns: `*` and `*.contoso.com` (connector SenderDomains), in the
 * address-space form `smtp:*;1` too; {@link isDomainPattern} accepts those.
 *
 * Every check is linear in its input (no backtracking patterns) and gives up early on values over the length limits.
 * Pure: no IO.
 */
import { InputError } from '../errors.js';
import { visible } from './display.js';

const MAX_LABEL_OCTETS = 63;
const MAX_DOMAIN_OCTETS = 253;
const MAX_LOCAL_PART_OCTETS = 64;
const MAX_MAILBOX_OCTETS = 254;

/** A non-ASCII character allowed in a domain label: a letter, a mark or a digit. */
const UNICODE_LABEL_CHARACTER = /^[\p{L}\p{M}\p{N}]$/u;
/** A non-ASCII character allowed in a Local-part: any graphic character (no control, format, separator, …). */
const UNICODE_LOCAL_CHARACTER = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;
/** RFC 5321 atext, ASCII part. */
const ATEXT = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]$/;

/** UTF-8 length of a string, in octets. */
const octets = (value: string): number => Buffer.byteLength(value, 'utf8');

function isAsciiLetterOrDigit(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
}

function isLabel(label: string): boolean {
  if (label.length === 0 || label.startsWith('-') || label.endsWith('-')) return false;
  let size = 0;
  for (const character of label) {
    const code = character.codePointAt(0) ?? 0;
    if (code < 0x80) {
      if (!isAsciiLetterOrDigit(code) && code !== 0x2d) return false;
      size += 1;
    } else {
      if (!UNICODE_LABEL_CHARACTER.test(character)) return false;
      size += code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    }
    if (size > MAX_LABEL_OCTETS) return false;
  }
  return true;
}

/** A domain name as SMTP writes it: `contoso.com`, `mail.contoso.co.uk`, `bücher.example`. No trailing dot. */
export function isDomainName(value: string): boolean {
  if (value.length === 0 || value.length > MAX_DOMAIN_OCTETS || octets(value) > MAX_DOMAIN_OCTETS) return false;
  return value.split('.').every(isLabel);
}

function isIpv4(value: string): boolean {
  const parts = value.split('.');
  return parts.length === 4 && parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255);
}

function isIpv6(value: string): boolean {
  if (value.length > 45) return false;
  let head = value;
  let groupsForIpv4 = 0;
  const lastColon = value.lastIndexOf(':');
  if (value.includes('.')) {
    if (lastColon < 0 || !isIpv4(value.slice(lastColon + 1))) return false;
    head = value.slice(0, lastColon + 1);
    // `::192.0.2.1` keeps its `::`; `64:ff9b::192.0.2.1` too; `1:2:3:4:5:6:192.0.2.1` drops the colon before the IPv4.
    if (!head.endsWith('::')) head = head.slice(0, -1);
    groupsForIpv4 = 2;
  }
  const hex = (group: string) => /^[0-9A-Fa-f]{1,4}$/.test(group);
  const halves = head.split('::');
  if (halves.length > 2) return false;
  const groups = (text: string) => (text === '' ? [] : text.split(':'));
  if (halves.length === 1) {
    const all = groups(head);
    return all.every(hex) && all.length + groupsForIpv4 === 8;
  }
  const left = groups(halves[0] ?? '');
  const right = groups(halves[1] ?? '');
  return left.every(hex) && right.every(hex) && left.length + right.length + groupsForIpv4 <= 7;
}

/** An address literal: `[192.0.2.1]` or `[IPv6:2001:db8::1]`. */
export function isAddressLiteral(value: string): boolean {
  if (value.length < 3 || !value.startsWith('[') || !value.endsWith(']')) return false;
  const inner = value.slice(1, -1);
  if (/^ipv6:/i.test(inner)) return isIpv6(inner.slice(5));
  return isIpv4(inner);
}

function isDotString(value: string): boolean {
  if (value.length === 0 || value.startsWith('.') || value.endsWith('.')) return false;
  let previous = '';
  for (const character of value) {
    if (character === '.') {
      if (previous === '.') return false;
    } else if (character.charCodeAt(0) < 0x80 ? !ATEXT.test(character) : !UNICODE_LOCAL_CHARACTER.test(character)) {
      return false;
    }
    previous = character;
  }
  return true;
}

function isQuotedString(value: string): boolean {
  if (value.length < 2 || !value.startsWith('"') || !value.endsWith('"')) return false;
  const inner = [...value.slice(1, -1)];
  for (let index = 0; index < inner.length; index++) {
    const character = inner[index] ?? '';
    const code = character.codePointAt(0) ?? 0;
    if (code === 0x5c) {
      // quoted-pairSMTP: a backslash and one printable ASCII character or space
      const next = (inner[index + 1] ?? '').codePointAt(0) ?? -1;
      if (next < 0x20 || next > 0x7e) return false;
      index++;
    } else if (code === 0x22) {
      return false;
    } else if (code < 0x80 ? code < 0x20 || code > 0x7e : !UNICODE_LOCAL_CHARACTER.test(character)) {
      return false;
    }
  }
  return true;
}

/** A Local-part: a Dot-string (`first.last`, `a+tag`) or a Quoted-string (`"john smith"`), at most 64 octets. */
export function isLocalPart(value: string): boolean {
  if (value.length === 0 || value.length > MAX_LOCAL_PART_OCTETS || octets(value) > MAX_LOCAL_PART_OCTETS) return false;
  return value.startsWith('"') ? isQuotedString(value) : isDotString(value);
}

/** A mailbox as `MAIL FROM:<…>` and `RCPT TO:<…>` carry it: `local@domain` or `local@[address literal]`. */
export function isMailbox(value: string): boolean {
  if (value.length === 0 || value.length > MAX_MAILBOX_OCTETS || octets(value) > MAX_MAILBOX_OCTETS) return false;
  const at = value.lastIndexOf('@');
  if (at <= 0) return false;
  const domain = value.slice(at + 1);
  return isLocalPart(value.slice(0, at)) && (isDomainName(domain) || isAddressLiteral(domain));
}

/** A reverse-path (`MAIL FROM`): a mailbox, or the empty string for the null path `<>`. */
export function isReversePath(value: string): boolean {
  return value === '' || isMailbox(value);
}

/** The argument of EHLO/HELO: a domain name or an address literal. */
export function isEhloName(value: string): boolean {
  return isDomainName(value) || isAddressLiteral(value);
}

/**
 * A domain as Exchange configuration holds one: a domain name, optionally with a trailing dot, `*.domain`, and with
 * `any` the bare `*`; the address-space form (`smtp:contoso.com;1`, `smtp:*;1`) is read as the domain inside it.
 */
export function isDomainPattern(value: string, options: { any?: boolean } = {}): boolean {
  let domain = value;
  const space = /^smtp:([^;]*)(?:;\d{1,9})?$/i.exec(domain);
  if (space) domain = space[1] ?? '';
  if (domain === '*') return options.any === true;
  if (domain.startsWith('*.')) domain = domain.slice(2);
  if (domain.endsWith('.')) domain = domain.slice(0, -1);
  return isDomainName(domain);
}

/** Whether a line written to an SMTP server would be safe: no CR, LF or NUL (which would end or split the command). */
export function isSmtpLine(line: string): boolean {
  return !/[\r\n\0]/.test(line);
}

/**
 * Refuses a command line holding CR, LF or NUL: such a line would smuggle further commands (`DATA`, a message, `.`)
 * into the session. Throws {@link InputError}; the command must not be sent.
 */
export function assertSmtpLine(line: string, where = 'SMTP command'): void {
  if (!isSmtpLine(line)) {
    throw new InputError(`refusing to send a command holding a line break or NUL: "${shorten(visible(line))}"`, { where });
  }
}

/** A value for an error message: escaped by the caller, then cut to a readable length. */
export function shorten(text: string, limit = 120): string {
  return text.length <= limit ? text : `${text.slice(0, limit)}…`;
}
