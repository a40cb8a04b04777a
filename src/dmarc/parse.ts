/**
 * One DMARC aggregate report (RFC 7489 appendix C; RFC 9990) from XML, with fast-xml-parser. Documents with a
 * DOCTYPE or ENTITY declaration are refused (reports never need one; that rules out entity expansion), and so is
 * nesting deeper than a report can have. Pure.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { parseIp } from '../eop/ip.js';

export class ReportError extends Error {}

export interface AuthResult {
  domain: string;
  result: string;
  selector?: string;
  scope?: string;
}

export interface ReportRecord {
  sourceIp: string;
  count: number;
  disposition: string;
  dkim: 'pass' | 'fail';
  spf: 'pass' | 'fail';
  reasons: string[];
  headerFrom: string;
  envelopeFrom: string | null;
  dkimResults: AuthResult[];
  spfResults: AuthResult[];
}

export interface AggregateReport {
  source: string;
  orgName: string;
  email: string | null;
  reportId: string;
  begin: Date;
  end: Date;
  policy: { domain: string; p: string; sp: string | null; adkim: 'r' | 's'; aspf: 'r' | 's'; pct: number | null };
  records: ReportRecord[];
  /** What was repaired while reading. */
  notes: string[];
}

const MAX_DEPTH = 32;

/**
 * How deep elements nest, by one pass over the tags (linear: every character is looked at once; comments, CDATA,
 * processing instructions and quoted attribute values are stepped over). Counting stops past `limit`, and at a tag
 * that never ends (the validator then says what is wrong).
 */
export function depthOf(xml: string, limit = MAX_DEPTH): number {
  let depth = 0;
  let max = 0;
  let at = 0;
  const skipTo = (open: number, close: string): number => {
    const end = xml.indexOf(close, open);
    return end < 0 ? -1 : end + close.length;
  };
  while (at < xml.length) {
    const open = xml.indexOf('<', at);
    if (open < 0) break;
    const next = xml.charCodeAt(open + 1);
    if (next === 0x21 /* ! */ || next === 0x3f /* ? */) {
      at = xml.startsWith('<!--', open) ? skipTo(open + 4, '-->') : xml.startsWith('<![CDATA[', open) ? skipTo(open + 9, ']]>') : next === 0x3f ? skipTo(open + 2, '?>') : skipTo(open + 2, '>');
      if (at < 0) break;
      continue;
    }
    let end = open + 1;
    let quote = 0;
    for (; end < xml.length; end++) {
      const code = xml.charCodeAt(end);
      if (quote) {
        if (code === quote) quote = 0;
      } else if (code === 0x22 || code === 0x27) quote = code;
      else if (code === 0x3e /* > */) break;
    }
    if (end >= xml.length) break;
    if (next === 0x2f /* / */) depth = Math.max(0, depth - 1);
    else if (xml.charCodeAt(end - 1) !== 0x2f) {
      max = Math.max(max, ++depth);
      if (max > limit) break;
    }
    at = end + 1;
  }
  return max;
}

/** A value quoted in a message, cut short: a document can hold megabytes where a word is expected. */
const clip = (value: string, length = 120): string => (value.length > length ? `${value.slice(0, length)}… (${value.length} characters)` : value);

const list = <T>(value: T | T[] | undefined | null): T[] => (value == null ? [] : Array.isArray(value) ? value : [value]);
const text = (value: unknown): string => (value == null ? '' : typeof value === 'object' ? String((value as Record<string, unknown>)['#text'] ?? '') : String(value)).trim();

function evaluation(value: unknown, where: string): 'pass' | 'fail' {
  const result = text(value);
  if (result === 'pass' || result === 'fail') return result;
  throw new ReportError(`${where} is "${clip(result)}", not pass or fail (the schema's values are lower case)`);
}

/**
 * Attributes are not read; entities are XML's five and character references only (DOCTYPE is refused before, so no
 * declared entity exists to expand); nesting is capped again by the parser.
 */
const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true, processEntities: true, htmlEntities: false, ignoreDeclaration: true, ignorePiTags: true, maxNestedTags: MAX_DEPTH + 1 });

/** An IPv6 address with an IPv4 tail and brackets is at most 47 characters; longer text is not parsed as one. */
const MAX_IP_LENGTH = 64;

export function parseAggregateReport(xml: string, source: string): AggregateReport {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new ReportError('DOCTYPE/ENTITY declarations are not allowed in a report (entity expansion is refused)');
  if (depthOf(xml) > MAX_DEPTH) throw new ReportError(`elements nested more than ${MAX_DEPTH} deep`);
  let document: Record<string, unknown>;
  const notes: string[] = [];
  try {
    let body = xml;
    let validated = XMLValidatorCheck(body);
    if (validated !== true) {
      // Some reporters wrap <feedback> in stray markup (an unclosed <xs:schema> seen in the wild): read the
      // <feedback> element alone when that is well-formed, and say so.
      const start = xml.search(/<feedback[\s>]/);
      const end = xml.lastIndexOf('</feedback>');
      const inner = start >= 0 && end > start ? xml.slice(start, end + '</feedback>'.length) : null;
      if (inner && inner !== xml.trim() && XMLValidatorCheck(inner) === true) {
        notes.push(`${validated}; read the <feedback> element alone`);
        body = inner;
        validated = true;
      }
    }
    if (validated !== true) throw new ReportError(validated);
    document = parser.parse(body) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof ReportError) throw error;
    throw new ReportError(`not well-formed XML (${clip((error as Error).message)})`);
  }
  const feedback = document.feedback as Record<string, unknown> | undefined;
  if (!feedback || typeof feedback !== 'object') throw new ReportError('no <feedback> root element: not a DMARC aggregate report');
  const metadata = feedback.report_metadata as Record<string, unknown> | undefined;
  const published = feedback.policy_published as Record<string, unknown> | undefined;
  if (!metadata) throw new ReportError('no <report_metadata>');
  if (!published) throw new ReportError('no <policy_published>');
  const range = metadata.date_range as Record<string, unknown> | undefined;
  const begin = Number(text(range?.begin));
  const end = Number(text(range?.end));
  if (!Number.isFinite(begin) || !Number.isFinite(end) || text(range?.begin) === '') throw new ReportError('report_metadata/date_range has no numeric begin/end');
  if (!Number.isFinite(new Date(begin * 1000).getTime()) || !Number.isFinite(new Date(end * 1000).getTime())) throw new ReportError('report_metadata/date_range begin/end is not a date (seconds since 1970)');
  const reportId = text(metadata.report_id);
  if (!reportId) throw new ReportError('report_metadata/report_id is empty');
  const domain = text(published.domain).toLowerCase();
  if (!domain) throw new ReportError('policy_published/domain is empty');
  const records = list(feedback.record as Record<string, unknown> | Record<string, unknown>[]).map((record, index): ReportRecord => {
    const where = `record[${index}]`;
    const row = (record.row ?? {}) as Record<string, unknown>;
    const evaluated = (row.policy_evaluated ?? {}) as Record<string, unknown>;
    const identifiers = (record.identifiers ?? record.identities ?? {}) as Record<string, unknown>;
    const auth = (record.auth_results ?? {}) as Record<string, unknown>;
    const sourceIp = text(row.source_ip);
    if (sourceIp.length > MAX_IP_LENGTH) throw new ReportError(`${where}/row/source_ip is ${sourceIp.length} characters long, not an IP address`);
    const address = parseIp(sourceIp);
    if (!address) throw new ReportError(`${where}/row/source_ip "${sourceIp}" is not an IP address`);
    const count = Number(text(row.count));
    if (!Number.isInteger(count) || count < 0) throw new ReportError(`${where}/row/count "${clip(text(row.count))}" is not a whole number`);
    return {
      sourceIp: address.toString(),
      count,
      disposition: text(evaluated.disposition) || 'none',
      dkim: evaluation(evaluated.dkim, `${where}/row/policy_evaluated/dkim`),
      spf: evaluation(evaluated.spf, `${where}/row/policy_evaluated/spf`),
      reasons: list(evaluated.reason as unknown).map((reason) => text((reason as Record<string, unknown>)?.type ?? reason)).filter(Boolean),
      headerFrom: text(identifiers.header_from).toLowerCase(),
      envelopeFrom: text(identifiers.envelope_from).toLowerCase() || null,
      dkimResults: list(auth.dkim as Record<string, unknown> | Record<string, unknown>[]).map((entry) => ({ domain: text(entry.domain).toLowerCase(), result: text(entry.result).toLowerCase(), ...(text(entry.selector) ? { selector: text(entry.selector) } : {}) })),
      spfResults: list(auth.spf as Record<string, unknown> | Record<string, unknown>[]).map((entry) => ({ domain: text(entry.domain).toLowerCase(), result: text(entry.result).toLowerCase(), ...(text(entry.scope) ? { scope: text(entry.scope) } : {}) })),
    };
  });
  const pct = text(published.pct);
  return {
    source,
    orgName: text(metadata.org_name),
    email: text(metadata.email) || null,
    reportId,
    begin: new Date(begin * 1000),
    end: new Date(end * 1000),
    policy: {
      domain,
      p: text(published.p) || 'none',
      sp: text(published.sp) || null,
      adkim: text(published.adkim) === 's' ? 's' : 'r',
      aspf: text(published.aspf) === 's' ? 's' : 'r',
      pct: pct === '' ? null : Number(pct),
    },
    records,
    notes,
  };
}

function XMLValidatorCheck(xml: string): true | string {
  const result = XMLValidator.validate(xml);
  if (result === true) return true;
  return `not well-formed XML: ${clip(result.err.msg)} (line ${result.err.line}, column ${result.err.col})`;
}
