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

function depthOf(xml: string): number {
  let depth = 0;
  let max = 0;
  for (const match of xml.matchAll(/<(\/?)([A-Za-z_][^\s>/]*)[^>]*?(\/?)>/g)) {
    if (match[1]) depth--;
    else if (!match[3]) max = Math.max(max, ++depth);
    if (max > MAX_DEPTH) return max;
  }
  return max;
}

const list = <T>(value: T | T[] | undefined | null): T[] => (value == null ? [] : Array.isArray(value) ? value : [value]);
const text = (value: unknown): string => (value == null ? '' : typeof value === 'object' ? String((value as Record<string, unknown>)['#text'] ?? '') : String(value)).trim();

function evaluation(value: unknown, where: string): 'pass' | 'fail' {
  const result = text(value);
  if (result === 'pass' || result === 'fail') return result;
  throw new ReportError(`${where} is "${result}", not pass or fail (the schema's values are lower case)`);
}

export function parseAggregateReport(xml: string, source: string): AggregateReport {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new ReportError('DOCTYPE/ENTITY declarations are not allowed in a report (entity expansion is refused)');
  if (depthOf(xml) > MAX_DEPTH) throw new ReportError(`elements nested more than ${MAX_DEPTH} deep`);
  let document: Record<string, unknown>;
  const notes: string[] = [];
  try {
    const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true, processEntities: true, htmlEntities: false, ignoreDeclaration: true });
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
    throw new ReportError(`not well-formed XML (${(error as Error).message})`);
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
    if (!parseIp(sourceIp)) throw new ReportError(`${where}/row/source_ip "${sourceIp}" is not an IP address`);
    const count = Number(text(row.count));
    if (!Number.isInteger(count) || count < 0) throw new ReportError(`${where}/row/count "${text(row.count)}" is not a whole number`);
    return {
      sourceIp: parseIp(sourceIp)?.toString() ?? sourceIp,
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
  return `not well-formed XML: ${result.err.msg} (line ${result.err.line}, column ${result.err.col})`;
}
