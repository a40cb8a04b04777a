/**
 * DKIM, SPF and DMARC as recorded in the snapshot (eop-behaviour.md §7), and the proof: every class of transaction
 * searched for a bypass (src/prove; EOPL-090/091), beside the corpus, which stays the readable story (demo, summary).
 */
import { mxFact } from '../../dns/facts.js';
import { acceptedClaim, ATTACK_ACCEPTED } from '../../corpus/builtin.js';
import { normaliseDomain } from '../../eop/addresses.js';
import type { Snapshot } from '../../snapshot/parse.js';
import type { Verdict } from '../../eop/types.js';
import { profileTooWide } from '../../profile/profile.js';
import { EXCHANGE_ONLINE_MX } from '../../profile/vendors.js';
import { fail, notApplicable, pass, type AuditContext } from '../context.js';
import type { CheckOutcome, Evidence, ProofEntry } from '../model.js';
import type { ProofFinding, ProofResult } from '../../prove/types.js';

type Check = (context: AuditContext) => CheckOutcome;

/** Custom accepted domains (not *.onmicrosoft.com), normalised, with their snapshot index. */
function customDomains(context: AuditContext): { name: string; index: number }[] {
  return context.dns.map(({ domain, index }) => ({ name: domain, index }));
}

/** The snapshot's DNS data for a domain, looked up case-insensitively. */
function dnsFor(context: AuditContext, domain: string) {
  const facts = context.dns.find((entry) => entry.domain === domain);
  return facts?.key == null ? null : { key: facts.key, data: facts.data };
}

/** A parked domain sends no mail: its SPF record is exactly `v=spf1 -all` (S38's parked-domain advice). */
function isParked(context: AuditContext, domain: string): boolean {
  const spf = dnsFor(context, domain)?.data?.TXT.filter((text) => /^v=spf1(\s|$)/i.test(text.trim())) ?? [];
  return spf.length === 1 && /^v=spf1\s+-all$/i.test((spf[0] as string).trim());
}

/** "not evaluated for a, b (why)": the domains whose data is unknown, grouped by why. */
function notEvaluatedFor(unknown: readonly { domain: string; why: string }[]): string {
  const byWhy = new Map<string, string[]>();
  for (const { domain, why } of unknown) byWhy.set(why, [...(byWhy.get(why) ?? []), domain]);
  return `not evaluated for ${[...byWhy].map(([why, domains]) => `${domains.join(', ')} (${why})`).join('; ')}`;
}

/**
 * A check over the custom domains: fails on what it found, else is not evaluated when some domain's data is unknown
 * (no DNS data, or a failed lookup) — never passed on data it did not see.
 */
function outcomeOver(evidence: Evidence[], failedSummary: string, unknown: readonly { domain: string; why: string }[], passed: () => CheckOutcome): CheckOutcome {
  if (evidence.length > 0) return fail(unknown.length > 0 ? `${failedSummary}; ${notEvaluatedFor(unknown)}` : failedSummary, evidence);
  if (unknown.length > 0) return notApplicable(notEvaluatedFor(unknown));
  return passed();
}

/**
 * Runs `test` on every custom domain whose `record` list the snapshot holds; a domain without it (no DNS data, or a
 * lookup that failed) leaves the check not evaluated unless another domain fails it.
 * `path` is the JSON path of the record list the test reads.
 */
function eachDnsDomain(
  context: AuditContext,
  record: 'TXT' | 'DMARC',
  test: (name: string, data: NonNullable<Snapshot['Dns'][string]>, path: string) => Evidence[],
  failed: (domains: number) => string,
  passed: string,
): CheckOutcome {
  const evidence: Evidence[] = [];
  const unknown: { domain: string; why: string }[] = [];
  let failing = 0;
  for (const facts of context.dns) {
    const why = facts.unknown[record];
    if (why !== undefined || !facts.data || facts.key === null) {
      unknown.push({ domain: facts.domain, why: why ?? 'no DNS data' });
      continue;
    }
    const found = test(facts.domain, facts.data, `Dns[${JSON.stringify(facts.key)}].${record}`);
    if (found.length > 0) failing++;
    evidence.push(...found);
  }
  if (context.dns.length === 0) return notApplicable('the tenant has no custom domain (Microsoft runs the DNS of *.onmicrosoft.com)');
  return outcomeOver(evidence, failed(failing), unknown, () => pass(passed));
}

/** DMARC tags: `v=DMARC1; p=reject; rua=…` → `{ v, p, rua }`. */
export function dmarcTags(record: string): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const part of record.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) tags[part.slice(0, eq).trim().toLowerCase()] = part.slice(eq + 1).trim();
  }
  return tags;
}

/** The `all` qualifier of an SPF record, `redirect` when it delegates, or null. */
export function spfAll(record: string): '-' | '~' | '?' | '+' | 'redirect' | null {
  const terms = record.trim().split(/\s+/);
  const all = terms.find((term) => /^[-~?+]?all$/i.test(term));
  if (all) return (all.length === 3 ? '+' : all[0]) as '-' | '~' | '?' | '+';
  return terms.some((term) => /^redirect=/i.test(term)) ? 'redirect' : null;
}

/** The class search for the audit's snapshot, profile and assumptions: run once for EOPL-090 and EOPL-091. */
const proofs = new WeakMap<AuditContext, ProofResult>();
function proofOf(context: AuditContext): ProofResult {
  let result = proofs.get(context);
  if (!result) {
    if (!context.classSearch) throw new Error('the class search was not given');
    result = context.classSearch(context.snapshot, { profile: context.profile, assumptions: context.assumptions, trace: true });
    proofs.set(context, result);
  }
  return result;
}

/** The corpus's outcome, its summary saying that the class search stopped before the end (and where). */
function withStoppedNote(outcome: CheckOutcome, result: ProofResult): CheckOutcome {
  const of = result.stopped?.of ?? result.classes;
  return { ...outcome, summary: `${outcome.summary}; judged on the corpus: the class search stopped at its time limit after ${classCount(result.classes)} of ${classCount(of)}, with nothing found there (not a proof)` };
}

/** The corpus's outcome, its summary saying why the class search was not run (profileTooWide). */
function withTooWideNote(outcome: CheckOutcome, why: string): CheckOutcome {
  return { ...outcome, summary: `${outcome.summary}; judged on the corpus: ${why}, so every class from there would count as the gateway's and the class search would prove nothing` };
}

/** Without the class search (`audit --prove`): EOPL-090 judged on the corpus's attacks. */
function corpusBypassOutcome(context: AuditContext): CheckOutcome {
  const attacks = context.proof.filter((entry) => entry.kind === 'attack');
  const inside = attacks.filter((entry) => entry.outcome === 'got-in');
  if (inside.length > 0) return fail(`${inside.length} of ${attacks.length} corpus attacks ${ATTACK_ACCEPTED}`, inside.map(proofEvidence));
  return pass(`0 of ${attacks.length} corpus attacks ${ATTACK_ACCEPTED} (a sample: "audit --prove" or "eoplock prove" searches every class of transaction)`);
}

/** Without the class search: EOPL-091 judged on the legitimate paths the snapshot implies. */
function corpusBrokenOutcome(context: AuditContext): CheckOutcome {
  const paths = context.proof.filter((entry) => entry.kind === 'legitimate');
  const broken = paths.filter((entry) => entry.outcome === 'broken');
  if (broken.length > 0) return fail(`${broken.length} of ${paths.length} legitimate paths are refused or quarantined`, broken.map(proofEvidence));
  if (!context.hasGateway && paths.length === 0) return notApplicable('the snapshot implies no legitimate path (no connectors, no gateway, no SPF sources)');
  return pass(`all ${paths.length} legitimate paths the snapshot implies are delivered (the corpus; "audit --prove" searches every class)`);
}

const classCount = (n: number) => `${n.toLocaleString('en-US')} ${n === 1 ? 'class' : 'classes'}`;

/** A finding of the class search as evidence: its cause and count, and its representative with the verdict. */
function findingEvidence(finding: ProofFinding): Evidence {
  const { transaction, verdict } = finding.representative;
  const claim = finding.kind === 'bypass' ? ` — ${acceptedClaim(verdict)}` : '';
  const remedy = finding.remedy ? ` (narrowed by: ${finding.remedy})` : '';
  return {
    path: `proof.${finding.key}`,
    actual: verdict.action === 'reject' ? `${verdict.code} ${verdict.enhanced}` : `accept → ${verdict.disposition}`,
    message: `${finding.cause}: ${classCount(finding.classes)}${claim}${remedy}`,
    transaction,
    verdict: evidenceVerdict(verdict),
  };
}

/** The parts of a verdict that evidence carries (the reply and its SMTP stage, where it went, the trace and the assumptions). */
function evidenceVerdict(verdict: Verdict): NonNullable<Evidence['verdict']> {
  return {
    action: verdict.action,
    stage: verdict.stage,
    code: verdict.code,
    enhanced: verdict.enhanced,
    text: verdict.text,
    disposition: verdict.disposition,
    connector: verdict.connector,
    trace: verdict.trace,
    assumptions: verdict.assumptions,
  };
}

function proofEvidence(entry: ProofEntry): Evidence {
  const verdict = entry.verdict;
  return {
    path: `proof.${entry.id}`,
    actual: verdict.action === 'reject' ? `${verdict.code} ${verdict.enhanced}` : `accept → ${verdict.disposition}`,
    message: `${entry.name}: ${entry.description}${entry.outcome === 'got-in' ? ` — ${acceptedClaim(verdict)}` : ''}`,
    transaction: entry.transaction,
    verdict: evidenceVerdict(verdict),
  };
}

export const DNS_AND_PROOF_CHECKS: Record<string, Check> = {
  'EOPL-030': (context) => {
    if (context.snapshot.DkimSigningConfig.length === 0) return notApplicable('the snapshot holds no DkimSigningConfig');
    const evidence: Evidence[] = [];
    for (const { name, index } of customDomains(context)) {
      if (isParked(context, name)) continue; // sends no mail, so nothing to sign
      const position = context.snapshot.DkimSigningConfig.findIndex((config) => normaliseDomain(String(config.Domain ?? config.Name ?? '')) === name);
      const config = context.snapshot.DkimSigningConfig[position];
      if (!config) evidence.push({ path: `AcceptedDomain[${index}].DomainName`, actual: name, message: `${name} has no DKIM signing configuration` });
      else if (config.Enabled !== true) evidence.push({ path: `DkimSigningConfig[${position}].Enabled`, actual: config.Enabled ?? null, expected: 'true', message: `DKIM signing is off for ${name}` });
    }
    return evidence.length > 0
      ? fail(`DKIM signing is not enabled for ${evidence.length} domain(s)`, evidence)
      : pass('DKIM signing is enabled for every custom domain that sends mail (parked domains, SPF "v=spf1 -all", need none)');
  },

  'EOPL-031': (context) =>
    eachDnsDomain(context, 'TXT', (name, data, path) => {
      const records = data.TXT.filter((text) => /^v=spf1(\s|$)/i.test(text.trim()));
      if (records.length === 0) return [{ path, actual: data.TXT, expected: 'a v=spf1 record', message: `${name} publishes no SPF record` }];
      if (records.length > 1) return [{ path, actual: records, expected: 'one v=spf1 record', message: `${name} publishes ${records.length} SPF records (permerror)` }];
      const qualifier = spfAll(records[0] as string);
      if (qualifier === '-' || qualifier === '~' || qualifier === 'redirect') return [];
      return [{ path, actual: records[0], expected: '-all or ~all', message: `${name}'s SPF ${qualifier === null ? 'has no all mechanism' : `ends in ${qualifier}all`}: it fails no sender` }];
    }, (count) => `${count} domain(s) lack an SPF record that fails unlisted senders`, 'every domain publishes SPF with -all or ~all'),

  'EOPL-032': (context) =>
    eachDnsDomain(context, 'DMARC', (name, data, path) => {
      const record = data.DMARC.find((text) => /^v=DMARC1\s*(;|$)/i.test(text.trim()));
      if (!record) return [{ path, actual: data.DMARC, expected: 'v=DMARC1; p=quarantine or p=reject; rua=…', message: `${name} publishes no DMARC record` }];
      const tags = dmarcTags(record);
      const policy = (tags.p ?? '').toLowerCase();
      const evidence: Evidence[] = [];
      if (policy !== 'quarantine' && policy !== 'reject') evidence.push({ path, actual: record, expected: 'p=quarantine or p=reject', message: `${name}'s DMARC policy is p=${policy || '(none)'}: failing mail is still delivered` });
      if (!tags.rua && !isParked(context, name)) evidence.push({ path, actual: record, expected: 'a rua= address', message: `${name}'s DMARC record asks for no aggregate reports` });
      return evidence;
    }, (count) => `DMARC is missing or too weak on ${count} domain(s)`, 'every domain publishes DMARC at quarantine or reject with rua'),

  'EOPL-033': (context) => {
    if (!context.hasGateway) {
      return notApplicable(context.mxUnknown === null ? 'no gateway in front of Exchange Online' : `not evaluated: no gateway connector, and ${context.mxUnknown}`);
    }
    const expected = new Set(context.profile.mxHosts);
    const evidence: Evidence[] = [];
    const unknown: { domain: string; why: string }[] = [];
    let seen = 0;
    for (const facts of context.dns) {
      const mx = mxFact(facts);
      if (mx.kind === 'unknown') {
        unknown.push({ domain: facts.domain, why: mx.why });
        continue;
      }
      if (mx.kind === 'none' || facts.key === null) continue; // no MX: the domain receives no mail
      seen++;
      const name = facts.domain;
      const path = `Dns[${JSON.stringify(facts.key)}].MX`;
      const direct = mx.hosts.filter((host) => EXCHANGE_ONLINE_MX.test(host));
      const elsewhere = expected.size > 0 ? mx.hosts.filter((host) => !EXCHANGE_ONLINE_MX.test(host) && !expected.has(host)) : [];
      if (direct.length > 0) {
        evidence.push({ path, actual: facts.data?.MX, expected: [...expected].join(', ') || 'the gateway', message: `${name}'s MX ${direct.join(', ')} is Exchange Online itself: its mail does not pass the gateway` });
      } else if (elsewhere.length > 0) {
        evidence.push({ path, actual: facts.data?.MX, expected: [...expected].join(', '), message: `${name}'s MX ${elsewhere.join(', ')} is not one of the gateway's MX hosts` });
      }
    }
    if (seen === 0 && unknown.length === 0) return notApplicable('the snapshot holds no MX records for the custom domains');
    return outcomeOver(evidence, `${evidence.length} domain(s) are not behind the gateway`, unknown, () => pass('every domain\'s MX points to the gateway'));
  },

  'EOPL-090': (context) => {
    if (!context.classSearch) return corpusBypassOutcome(context);
    const wide = profileTooWide(context.profile);
    if (wide) return withTooWideNote(corpusBypassOutcome(context), wide);
    const result = proofOf(context);
    const bypasses = result.findings.filter((finding) => finding.kind === 'bypass');
    const shared = result.findings.filter((finding) => finding.kind === 'shared-gateway-infrastructure');
    const attacks = context.proof.filter((entry) => entry.kind === 'attack');
    const inside = attacks.filter((entry) => entry.outcome === 'got-in');
    if (bypasses.length > 0) {
      const covered = result.stopped ? ` in the first ${classCount(result.classes)} of ${classCount(result.stopped.of)} (the search stopped at its time limit)` : ` of ${classCount(result.classes)}`;
      return fail(
        `${classCount(result.bypasses)}${covered} ${ATTACK_ACCEPTED}, by ${bypasses.length} cause(s); ${inside.length} of ${attacks.length} corpus attacks among them`,
        bypasses.map(findingEvidence),
      );
    }
    // A search stopped before the end proves nothing: the corpus judges, and the summary says why.
    if (result.stopped) return withStoppedNote(corpusBypassOutcome(context), result);
    // The class search covers the corpus (a test holds it to that); should a corpus attack still get in, it is shown.
    if (inside.length > 0) return fail(`${inside.length} of ${attacks.length} attacks ${ATTACK_ACCEPTED}`, inside.map(proofEvidence));
    const residual = shared.length > 0 ? `; ${shared.length} residual path(s) through infrastructure the gateway service shares with its other customers (see "eoplock prove")` : '';
    return pass(`0 bypasses in ${classCount(result.classes)}: EOP refuses or contains every class of transaction not from the gateway, all ${attacks.length} corpus attacks included${residual}`, shared.map(findingEvidence));
  },

  'EOPL-091': (context) => {
    if (!context.classSearch) return corpusBrokenOutcome(context);
    const wide = profileTooWide(context.profile);
    if (wide) return withTooWideNote(corpusBrokenOutcome(context), wide);
    const result = proofOf(context);
    // The class search sends the gateway's classes with the headers it stamps (src/prove/classes.ts gatewayHeaders).
    const broken = result.findings.filter((finding) => finding.kind === 'broken-legitimate');
    const brokenClasses = broken.reduce((sum, finding) => sum + finding.classes, 0);
    const paths = context.proof.filter((entry) => entry.kind === 'legitimate');
    const brokenPaths = paths.filter((entry) => entry.outcome === 'broken');
    if (broken.length > 0) {
      const covered = result.stopped ? ` (in the first ${classCount(result.classes)} of ${classCount(result.stopped.of)}: the search stopped at its time limit)` : '';
      return fail(`${classCount(brokenClasses)} from the gateway or an allowed source are refused or kept from the mailbox, by ${broken.length} cause(s)${covered}`, broken.map(findingEvidence));
    }
    if (result.stopped) return withStoppedNote(corpusBrokenOutcome(context), result);
    if (brokenPaths.length > 0) return fail(`${brokenPaths.length} of ${paths.length} legitimate paths are refused or quarantined`, brokenPaths.map(proofEvidence));
    if (!context.hasGateway && paths.length === 0) return notApplicable('the snapshot implies no legitimate path (no connectors, no gateway, no SPF sources)');
    return pass(`no class from the gateway or an allowed source is refused (${classCount(result.classes)} searched); all ${paths.length} corpus legitimate paths are delivered`);
  },
};
