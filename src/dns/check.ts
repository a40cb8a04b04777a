/**
 * DNS checks of one domain: MX (gateway, Exchange Online or elsewhere), SPF (mailauth's evaluator for the lookup
 * budget, plus a lint of the record), DMARC, and the DKIM selectors against Get-DkimSigningConfig. IO only through
 * the injected resolver. A lookup that failed is reported as failed (in `failed`, with why), never as "no record":
 * what it would have said is unknown. NXDOMAIN is its own answer: the domain does not exist.
 */
import { spf } from 'mailauth/lib/spf/index.js';
import { normaliseDomain } from '../eop/addresses.js';
import { EXCHANGE_ONLINE_MX, vendorForMx, vendorForSpfInclude, type GatewayVendor } from '../profile/vendors.js';
import { organisationalDomain, parseDmarc, type DmarcRecord } from './dmarc.js';
import { failureReason, isMissing, lookup, lookupTxt, type DnsResolver, type Lookup } from './resolver.js';

export type Severity = 'error' | 'warning' | 'info';
export interface DnsIssue {
  area: 'mx' | 'spf' | 'dmarc' | 'dkim';
  severity: Severity;
  message: string;
}

/** How a lookup ended: records, no record (NODATA), no such domain (NXDOMAIN), or failed (nothing known). */
export type LookupOutcome = Lookup<unknown>['kind'];

/** A lookup that failed: timeout, SERVFAIL, REFUSED, no server, or not in the snapshot. */
export interface FailedLookup {
  name: string;
  /** `MX`, `TXT`, `CNAME`, or `SPF` for a lookup made while evaluating the record (its includes, a, mx…). */
  type: string;
  reason: string;
}

export interface DomainReport {
  domain: string;
  /** false: NXDOMAIN; true: the name exists; null: its lookups failed. */
  exists: boolean | null;
  mx: { lookup: LookupOutcome; hosts: { host: string; priority: number }[]; pointsTo: 'gateway' | 'exchange-online' | 'elsewhere' | 'none' | 'mixed' | 'unknown'; vendor: string | null };
  spf: { lookup: LookupOutcome; record: string | null; lookups: number | null; voidLookups: number | null; result: string | null; includes: string[]; all: string | null };
  /** `lookup`: `answer` when a record was found (here or at the organisational domain), `nodata` when none, `failed`. */
  dmarc: { lookup: LookupOutcome; record: DmarcRecord | null; foundAt: string | null };
  dkim: { selector: string; lookup: LookupOutcome; found: string | null; expected: string | null; matches: boolean | null }[];
  vendor: Pick<GatewayVendor, 'name' | 'source' | 'recorded' | 'confidence'> | null;
  issues: DnsIssue[];
  /** The lookups that failed: the parts of the report they feed are unknown, not missing. */
  failed: FailedLookup[];
}

export interface CheckOptions {
  /** The tenant's DKIM configuration for the domain (Get-DkimSigningConfig), when known. */
  dkim?: { Selector1CNAME?: unknown; Selector2CNAME?: unknown; Enabled?: unknown } | undefined;
  /** Follow includes and count lookups with mailauth (live DNS); off for snapshot data, which holds no other domains. */
  evaluateSpf: boolean;
  /** The gateway's MX hosts from the gateway profile, for gateways the vendor list does not know. */
  gatewayMxHosts?: readonly string[];
}

/**
 * The address SPF is evaluated for when counting lookups: from the benchmarking range (RFC 2544), which no record
 * lists, so evaluation walks the whole record instead of stopping at the first match.
 */
const SPF_PROBE_IP = '198.18.0.1';

/** DNS-querying SPF terms (RFC 7208 §4.6.4): include, a, mx, ptr, exists, redirect. */
const LOOKUP_TERM = /^[+?~-]?(include:|a($|[:/])|mx($|[:/])|ptr($|:)|exists:)|^redirect=/i;

export async function checkDomain(rawDomain: string, resolver: DnsResolver, options: CheckOptions): Promise<DomainReport> {
  const domain = normaliseDomain(rawDomain);
  const issues: DnsIssue[] = [];
  const failed: FailedLookup[] = [];
  const issue = (area: DnsIssue['area'], severity: Severity, message: string) => issues.push({ area, severity, message });
  const noteFailure = (result: Lookup<unknown>, name: string, type: string) => {
    if (result.kind === 'failed') failed.push({ name, type, reason: result.reason });
  };

  // The apex: MX and TXT. NXDOMAIN on either says the domain does not exist; then nothing else is worth a finding.
  const mxAnswer = await lookup<{ exchange: string; priority: number }>(resolver, domain, 'MX');
  noteFailure(mxAnswer, domain, 'MX');
  const txtAnswer = await lookupTxt(resolver, domain);
  noteFailure(txtAnswer, domain, 'TXT');
  const outcomes = [mxAnswer.kind, txtAnswer.kind];
  const exists = outcomes.includes('nxdomain') ? false : outcomes.some((kind) => kind === 'answer' || kind === 'nodata') ? true : null;
  if (exists === false) issue('mx', 'error', 'the domain does not exist (NXDOMAIN): it receives no mail and publishes no SPF, DMARC or DKIM');

  // MX
  const hosts = (mxAnswer.kind === 'answer' ? mxAnswer.records : [])
    .map((mx) => ({ host: normaliseDomain(mx.exchange), priority: mx.priority }))
    .sort((a, b) => a.priority - b.priority || a.host.localeCompare(b.host));
  const gatewayHosts = new Set((options.gatewayMxHosts ?? []).map(normaliseDomain));
  const kinds = new Set(
    hosts.map((mx) => (EXCHANGE_ONLINE_MX.test(mx.host) ? 'exchange-online' : vendorForMx(mx.host) || gatewayHosts.has(mx.host) ? 'gateway' : 'elsewhere')),
  );
  const pointsTo: DomainReport['mx']['pointsTo'] =
    mxAnswer.kind === 'failed' ? 'unknown' : hosts.length === 0 ? 'none' : kinds.size > 1 ? 'mixed' : ([...kinds][0] as DomainReport['mx']['pointsTo']);
  const mxVendor = hosts.map((mx) => vendorForMx(mx.host)).find((vendor) => vendor !== undefined) ?? null;
  if (pointsTo === 'none' && exists !== false) issue('mx', 'info', 'no MX record: the domain receives no mail (parked?)');
  if (pointsTo === 'mixed') issue('mx', 'warning', `the MX hosts point to different places (${hosts.map((mx) => mx.host).join(', ')}): mail to the Exchange Online host bypasses the gateway`);
  if (pointsTo === 'exchange-online') issue('mx', 'info', 'the MX points straight at Exchange Online: no gateway in front for this domain');

  // SPF
  const txt = txtAnswer.kind === 'answer' ? txtAnswer.records : [];
  const spfRecords = txt.filter((record) => /^v=spf1(\s|$)/i.test(record.trim()));
  const record = spfRecords[0] ?? null;
  const terms = record ? record.trim().split(/\s+/).slice(1) : [];
  const includes = terms.filter((term) => /^[+?~-]?include:/i.test(term)).map((term) => term.replace(/^[+?~-]?include:/i, '').toLowerCase());
  const all = terms.find((term) => /^[+?~-]?all$/i.test(term)) ?? null;
  let lookups: number | null = null;
  let voidLookups: number | null = null;
  let result: string | null = null;
  if (spfRecords.length === 0 && txtAnswer.kind !== 'failed' && exists !== false) issue('spf', 'error', 'no SPF record (v=spf1)');
  if (spfRecords.length > 1) issue('spf', 'error', `${spfRecords.length} SPF records: receivers treat that as a permanent error`);
  if (record) {
    const topLevel = terms.filter((term) => LOOKUP_TERM.test(term)).length;
    if (all === null && !terms.some((term) => /^redirect=/i.test(term))) issue('spf', 'warning', 'no all mechanism and no redirect: unlisted senders are neutral');
    if (all && /^\+?all$/i.test(all)) issue('spf', 'error', `${all} authorises every sender on the internet`);
    if (all && /^\?all$/i.test(all)) issue('spf', 'warning', '?all is neutral: it fails no sender');
    if (terms.some((term) => /^[+?~-]?ptr($|:)/i.test(term))) issue('spf', 'warning', 'the ptr mechanism is deprecated (RFC 7208 §5.5) and costs lookups');
    if (options.evaluateSpf) {
      // Every lookup that fails while evaluating is recorded here: mailauth passes over a SERVFAIL inside an include
      // (only ETIMEOUT and EREFUSED become temperror), where RFC 7208 §5 makes any failed lookup temperror.
      const during: FailedLookup[] = [];
      const recording: DnsResolver = async (name, rrtype) => {
        try {
          return await resolver(name, rrtype);
        } catch (error) {
          if (!isMissing(error)) during.push({ name: normaliseDomain(name), type: rrtype, reason: failureReason(error) });
          throw error;
        }
      };
      const evaluation = await spf({ ip: SPF_PROBE_IP, sender: `postmaster@${domain}`, helo: domain, mta: 'eoplock', resolver: recording as never });
      result = during.length > 0 ? 'temperror' : evaluation.status.result;
      if (result === 'temperror') {
        // A lookup of the record's terms failed: the count is unknown, not zero.
        const reasons = during.length > 0 ? during : [{ name: domain, type: 'TXT', reason: evaluation.status.comment ?? 'a lookup failed (temperror)' }];
        for (const entry of reasons) failed.push({ name: entry.name, type: 'SPF', reason: `${entry.type} lookup of ${entry.name} while evaluating the record: ${entry.reason}` });
      } else {
        lookups = evaluation.lookups?.count ?? null;
        voidLookups = evaluation.lookups?.void ?? null;
      }
      if (result === 'permerror') issue('spf', 'error', `the record does not evaluate: ${evaluation.status.comment ?? 'permanent error'}`);
    } else {
      lookups = topLevel;
      if (includes.length > 0) issue('spf', 'info', `offline: the ${includes.length} include(s) were not followed, so only the ${topLevel} lookup(s) of this record are counted`);
    }
    if (lookups !== null && lookups > 10) issue('spf', 'error', `${lookups} DNS-querying terms: over the limit of 10 (RFC 7208 §4.6.4)`);
    if (voidLookups !== null && voidLookups > 2) issue('spf', 'error', `${voidLookups} void lookups: over the limit of 2`);
    const includesVendor = includes.map(vendorForSpfInclude).find((vendor) => vendor !== undefined);
    if (mxVendor && !includesVendor && mxVendor.spfIncludes.length > 0) {
      issue('spf', 'info', `the MX is at ${mxVendor.name} but SPF does not include it: needed only if ${mxVendor.name} also sends mail out for you (S9)`);
    }
  }

  // DMARC: the domain's own record, or the organisational domain's (inherited). A failed lookup stops the search:
  // the domain's own record may exist, so falling back would report the wrong policy.
  let dmarc: DmarcRecord | null = null;
  let foundAt: string | null = null;
  let dmarcLookup: LookupOutcome = 'nodata';
  for (const candidate of [...new Set([domain, organisationalDomain(domain)])]) {
    const answer = await lookupTxt(resolver, `_dmarc.${candidate}`);
    noteFailure(answer, `_dmarc.${candidate}`, 'TXT');
    if (answer.kind === 'failed') {
      dmarcLookup = 'failed';
      break;
    }
    const records = (answer.kind === 'answer' ? answer.records : []).filter((text) => /^v\s*=\s*DMARC1/i.test(text.trim()));
    if (records.length > 1) issue('dmarc', 'error', `${records.length} DMARC records at _dmarc.${candidate}: receivers ignore them all`);
    if (records[0]) {
      dmarc = parseDmarc(records[0]);
      foundAt = candidate;
      dmarcLookup = 'answer';
      break;
    }
  }
  if (!dmarc) {
    if (dmarcLookup !== 'failed' && exists !== false) issue('dmarc', 'error', 'no DMARC record');
  } else {
    for (const problem of dmarc.issues) issue('dmarc', /obsolete/.test(problem) ? 'warning' : 'error', problem);
    if (foundAt !== domain) issue('dmarc', 'info', `the policy is inherited from ${foundAt}${dmarc.subdomainPolicy ? ` (sp=${dmarc.subdomainPolicy})` : ''}`);
    const effective = foundAt !== domain ? (dmarc.subdomainPolicy ?? dmarc.policy) : dmarc.policy;
    if (effective === 'none') issue('dmarc', 'warning', 'p=none: mail that fails DMARC is still delivered; move to quarantine, then reject');
    if (dmarc.rua.length === 0 && !(spfRecords.length === 1 && /^v=spf1\s+-all$/i.test(record?.trim() ?? ''))) issue('dmarc', 'warning', 'no rua= address: no aggregate reports show who sends as this domain');
  }

  // DKIM: the selector records against what Get-DkimSigningConfig says they must be (never built from a template, S36).
  const dkim: DomainReport['dkim'] = [];
  for (const [selector, property] of [['selector1', 'Selector1CNAME'], ['selector2', 'Selector2CNAME']] as const) {
    const expectedValue = options.dkim?.[property];
    const expected = typeof expectedValue === 'string' && expectedValue ? normaliseDomain(expectedValue) : null;
    const name = `${selector}._domainkey.${domain}`;
    const answer = await lookup<string>(resolver, name, 'CNAME');
    noteFailure(answer, name, 'CNAME');
    const found = answer.kind === 'answer' && answer.records[0] ? normaliseDomain(answer.records[0]) : null;
    const known = answer.kind !== 'failed';
    dkim.push({ selector, lookup: answer.kind, found, expected, matches: expected && known ? found === expected : null });
    if (expected && known && found !== expected && exists !== false) {
      issue('dkim', options.dkim?.Enabled === true ? 'error' : 'warning', `${name} ${found ? `points to ${found}` : 'is missing'}; Get-DkimSigningConfig says ${expected}`);
    }
  }
  if (options.dkim && options.dkim.Enabled !== true) issue('dkim', 'warning', 'DKIM signing is not enabled for this domain');

  const vendor = mxVendor ?? includes.map(vendorForSpfInclude).find((entry) => entry !== undefined) ?? null;
  return {
    domain,
    exists,
    mx: { lookup: mxAnswer.kind, hosts, pointsTo, vendor: mxVendor?.name ?? null },
    spf: { lookup: txtAnswer.kind, record, lookups, voidLookups, result, includes, all },
    dmarc: { lookup: dmarcLookup, record: dmarc, foundAt },
    dkim,
    vendor: vendor ? { name: vendor.name, source: vendor.source, recorded: vendor.recorded, confidence: vendor.confidence } : null,
    issues,
    failed,
  };
}
