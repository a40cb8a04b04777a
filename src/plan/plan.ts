/**
 * The phased lockdown plan, built from the snapshot and the gateway profile: the guide's phases with its errors fixed
 * (eop-behaviour.md §11), each risk in a phase of its own. Pure: operations, the state after each phase, the exact
 * rollback, what the emulator predicts for the bypass corpus after each phase, and the known senders the plan would
 * break (the command refuses such a plan unless the admin accepts it).
 */
import { gatewayOf, safetyNetsOf } from '../audit/context.js';
import { builtinCorpus, corpusOutcome, isSpfCandidate, type CorpusEntry, type CorpusOutcome } from '../corpus/builtin.js';
import { domainOf, normaliseDomain } from '../eop/addresses.js';
import { DEFAULT_ASSUMPTIONS, type Assumptions } from '../eop/assumptions.js';
import { decide } from '../eop/decide.js';
import { compileIpList, findInList, formatIpv4Interval, ipv4Interval, mergeIntervals, parseIp, type IpEntry } from '../eop/ip.js';
import type { Verdict } from '../eop/types.js';
import { InputError } from '../errors.js';
import { hasGateway, profileTooWide, type GatewayProfile } from '../profile/profile.js';
import type { Snapshot } from '../snapshot/parse.js';
import type { InboundConnector, TransportRule } from '../snapshot/schema.js';
import { prove } from '../prove/prove.js';
import type { ProofResult } from '../prove/types.js';
import type { ImpactGroup } from '../trace/impact.js';
import { partnerAddressProblem } from '../audit/checks/connectors.js';
import { applyOps, connectionFilterName, type Op, type OpParameters } from './ops.js';
import type { PsValue } from './powershell.js';
import { rollbackOps } from './rollback.js';
import { DEFAULT_CONNECTOR_NAME, DEFAULT_RULE_NAME } from './names.js';

export interface DirectSendSource {
  ip: string;
  name: string;
}

export type SafetyNetAction = 'reject' | 'quarantine';

export interface PlanOptions {
  /** Legitimate Direct Send sources that get their own IP-bound Partner connector before RejectDirectSend. */
  allowDirectSend: readonly DirectSendSource[];
  /** What the safety-net rule does to mail that does not come from the gateway (Microsoft's own rule quarantines, §4.3). */
  safetyNet: SafetyNetAction;
  ruleName: string;
  connectorName: string;
  /** Leave the spam-filter bypasses (SCL -1 rules, the connection filter's allow list) as they are, with the risk stated. */
  keepBypasses?: boolean;
  assumptions?: Assumptions;
  /**
   * Asked now and then during the class search of the configuration after the plan: true stops it (a time limit;
   * the proof then says how far it got and that it is not a proof). Without it the search runs to the end.
   */
  proofStop?: () => boolean;
}

export { DEFAULT_CONNECTOR_NAME, DEFAULT_RULE_NAME } from './names.js';
/** Microsoft's own fallback rule quarantines (eop-behaviour.md §4.3): mail held by mistake can be released. */
export const DEFAULT_SAFETY_NET: SafetyNetAction = 'quarantine';
export const SAFETY_NET_TEXT = 'Mail for this organization must be delivered through its mail gateway.';
const PROPAGATION = 'Wait up to 30 minutes for the change to reach every EOP server (S2, S20) before the next phase.';
/** How long the safety net runs in Audit mode: a full business week, the longest a transport-rule report reaches back is 10 days. */
const AUDIT_DAYS = 7;

export interface PhaseExpectation {
  id: string;
  kind: CorpusEntry['kind'];
  name: string;
  outcome: CorpusOutcome;
  verdict: Pick<Verdict, 'action' | 'code' | 'enhanced' | 'disposition'> & { connector: string | null };
}

/** The Audit-mode period before a phase that enforces: how long, and the exact command that shows what the rule hit. */
export interface AuditPeriod {
  days: number;
  /** PowerShell that lists the messages the rule matched in the period. */
  review: string;
}

export interface Phase {
  /** `01-safety-net-audit` … : file names and headings. */
  id: string;
  title: string;
  why: string;
  ops: Op[];
  rollback: Op[];
  before: Snapshot;
  after: Snapshot;
  wait: string;
  /** What can go wrong in this phase, for the change board. */
  risk: string;
  /** The go/no-go check before the next phase. */
  check: string;
  /** The Audit-mode period this phase starts (phase 1) or ends (the enforce phase), with its review query. */
  audit: AuditPeriod | null;
  /** What the emulator predicts for the corpus once the phase is in effect. */
  expected: PhaseExpectation[];
  notes: string[];
}

/** A sender the plan would refuse although the inputs know it: the plan is refused unless the admin accepts it. */
export interface BrokenSender {
  /** Who: a corpus path, a class of the proof, or a traced source. */
  name: string;
  /** Why it is refused after the plan. */
  why: string;
  /** Where the plan knows it from. */
  from: 'corpus' | 'proof' | 'trace';
  /** Its address, when it is one source. */
  source: string | null;
  /** The exact `--allow-direct-send` argument that keeps it working, when one can. */
  argument: string | null;
}

/** A source that may send as the tenant's domains straight to EOP: SPF lists it, or the trace shows it. */
export interface DirectSendCandidate {
  source: string;
  evidence: string;
  /** What happens to it after the plan. */
  after: string;
  /** The exact `--allow-direct-send` argument, or null when no IP connector can serve it (IPv6, an SPF include). */
  argument: string | null;
}

export interface Plan {
  tenant: string | null;
  profile: GatewayProfile;
  options: Omit<PlanOptions, 'assumptions'>;
  phases: Phase[];
  before: Snapshot;
  after: Snapshot;
  /**
   * Every class of transaction searched for a bypass on the configuration after the plan (expected-after.json), with
   * the named Direct Send sources allowed: "0 bypasses in N classes" is the plan's proof.
   */
  proof: ProofResult;
  /** Risks and things the user must know, plan-wide. */
  warnings: string[];
  /** Known senders the plan would refuse (0 for a plan the command writes without --accept-broken). */
  broken: BrokenSender[];
  /** Possible Direct Send sources (SPF, trace), with the argument that keeps each working. */
  candidates: DirectSendCandidate[];
  /** The message-trace sources that were checked against the configuration after, when --trace was given. */
  traced: { files: number; sources: number } | null;
}

/** Splits IPv4 entries into blocks an inbound connector accepts (/24–/32): wider blocks become /24s. */
export function connectorBlocks(entries: readonly IpEntry[]): string[] {
  const blocks: string[] = [];
  for (const [low, high] of mergeIntervals(entries.map(ipv4Interval).filter((i): i is [number, number] => i !== null))) {
    let start = low;
    while (start <= high) {
      // The largest aligned block at `start` that fits, but never wider than /24.
      let size = 1;
      while (size < 256 && start % (size * 2) === 0 && start + size * 2 - 1 <= high) size *= 2;
      if (size === 256 || (start % 256 === 0 && start + 255 <= high)) size = 256;
      blocks.push(formatIpv4Interval([start, start + size - 1]));
      start += size;
    }
  }
  return blocks;
}

/**
 * Why a connector's SenderIPAddresses must be rewritten to the gateway's blocks, or [] when the list can stay: it
 * already covers every gateway address, holds only entries a connector accepts, and nothing beyond the gateway.
 */
export function addressListProblems(current: readonly string[], gateway: readonly IpEntry[]): string[] {
  if (current.length === 0) return ['the connector lists no addresses'];
  const problems: string[] = [];
  const invalid = current.map((text) => partnerAddressProblem(text)).filter((problem): problem is string => problem !== null);
  if (invalid.length > 0) problems.push(`invalid entries: ${invalid.join('; ')}`);
  const have = mergeIntervals(compileIpList(current).entries.map(ipv4Interval).filter((i): i is [number, number] => i !== null));
  const want = mergeIntervals(gateway.map(ipv4Interval).filter((i): i is [number, number] => i !== null));
  const uncovered = want.flatMap((interval) => subtract(interval, have));
  if (uncovered.length > 0) problems.push(`gateway addresses not listed: ${uncovered.map(formatIpv4Interval).join(', ')}`);
  const beyond = have.flatMap((interval) => subtract(interval, want));
  if (beyond.length > 0) problems.push(`addresses that are not the gateway's: ${beyond.map(formatIpv4Interval).join(', ')}`);
  return problems;
}

/** The parts of `interval` that none of `others` (merged, sorted) covers. */
function subtract([low, high]: readonly [number, number], others: readonly (readonly [number, number])[]): [number, number][] {
  const left: [number, number][] = [];
  let start = low;
  for (const [a, b] of others) {
    if (b < start || a > high) continue;
    if (a > start) left.push([start, a - 1]);
    start = Math.max(start, b + 1);
    if (start > high) return left;
  }
  if (start <= high) left.push([start, high]);
  return left;
}

function parametersThatDiffer(current: Record<string, unknown> | undefined, wanted: OpParameters): OpParameters {
  if (!current) return wanted;
  const differ: OpParameters = {};
  for (const [name, value] of Object.entries(wanted)) {
    const have = current[name === 'Enabled' && 'State' in current && !('Enabled' in current) ? 'State' : name];
    if (!sameValue(have, value)) differ[name] = value;
  }
  return differ;
}

function sameValue(have: unknown, want: PsValue): boolean {
  const norm = (value: unknown): string => {
    // Absent, null, false and empty all mean "not set" for the switches and lists a plan sets.
    if (value === null || value === undefined || value === false) return '';
    if (Array.isArray(value)) return value.map((item) => String(item).toLowerCase()).sort().join(',');
    return String(value).toLowerCase();
  };
  return norm(have) === norm(want);
}

const findByName = <T extends { Name: string }>(items: readonly T[], name: string) => items.find((item) => item.Name.toLowerCase() === name.toLowerCase());

/**
 * The `--allow-direct-send` argument that keeps an IPv4 source working, safe to paste into a shell: the address as
 * parsed, and the domain in the name only when it is a plain host name.
 */
export function allowDirectSendArgument(ip: string, domain: string | null): string | null {
  const address = parseIp(ip);
  if (address?.kind() !== 'ipv4') return null;
  // The address is part of the name: each source becomes a connector of that name, and names must differ.
  const name = domain && /^[a-z0-9][a-z0-9.-]{0,252}$/.test(domain) ? `Direct Send from ${domain} (${address.toString()})` : `Direct Send source ${address.toString()}`;
  return `--allow-direct-send '${address.toString()}=${name}'`;
}

/** The SPF include of Exchange Online itself: mail from it is the tenant's own, not Direct Send. */
const EOP_SPF_INCLUDE = 'spf.protection.outlook.com';

export function buildPlan(snapshot: Snapshot, profile: GatewayProfile, options: PlanOptions): Plan {
  const assumptions = options.assumptions ?? DEFAULT_ASSUMPTIONS;
  const { phases, state, warnings } = planPhases(snapshot, profile, options, assumptions);

  // What the emulator predicts after each phase.
  const named = directSendPaths(snapshot, options.allowDirectSend);
  const namedIps = new Set(named.map((entry) => entry.transaction.clientIp));
  const corpus = builtinCorpus(snapshot, profile)
    .filter((entry) => !(isSpfCandidate(entry.id) && namedIps.has(entry.transaction.clientIp)))
    .concat(named);
  for (const phase of phases) phase.expected = corpus.map((entry) => expectation(phase.after, entry, assumptions));

  // Known senders the plan breaks, and the Direct Send candidates SPF suggests.
  const broken: BrokenSender[] = [];
  const candidates: DirectSendCandidate[] = [];
  const lastPhase = phases.at(-1);
  for (const entry of lastPhase?.expected ?? []) {
    if (entry.kind !== 'legitimate' || entry.outcome !== 'broken') continue;
    const reply = entry.verdict.action === 'reject' ? `${entry.verdict.code} ${entry.verdict.enhanced}` : entry.verdict.disposition;
    const path = corpus.find((item) => item.id === entry.id);
    const argument = path ? allowDirectSendArgument(path.transaction.clientIp, domainOf(path.transaction.mailFrom)) : null;
    if (isSpfCandidate(entry.id)) {
      // SPF authorises a sender for mail to anyone; it does not show that the sender delivers to this tenant straight to EOP.
      candidates.push({ source: path?.transaction.clientIp ?? entry.name, evidence: entry.name, after: `refused (${reply})`, argument });
    } else {
      broken.push({ name: entry.name, why: `refused after the plan (${reply})`, from: 'corpus', source: path?.transaction.clientIp ?? null, argument });
    }
  }
  for (const domain of snapshot.AcceptedDomain) {
    const name = normaliseDomain(domain.DomainName);
    for (const include of spfIncludes(snapshot.Dns[name]?.TXT ?? [])) {
      if (include.toLowerCase() === EOP_SPF_INCLUDE || candidates.some((candidate) => candidate.source === `include:${include}`)) continue;
      candidates.push({
        source: `include:${include}`,
        evidence: `${name}'s SPF record includes ${include}`,
        after: 'refused if it sends to your domains straight to EOP',
        argument: null,
      });
    }
  }
  // The proof of the configuration after: every class of transaction, not only the corpus.
  const proof = prove(state, { profile, assumptions, allowDirectSend: options.allowDirectSend.map((source) => source.ip), ...(options.proofStop ? { stop: options.proofStop } : {}) });
  for (const finding of proof.findings) {
    if (finding.kind === 'bypass') warnings.push(`After the plan, ${finding.classes} class(es) of transaction would still be accepted by EOP without passing the gateway: ${finding.cause}.`);
    else if (finding.kind === 'broken-legitimate') broken.push({ name: `${finding.classes} class(es) from the gateway or a named source`, why: finding.cause, from: 'proof', source: null, argument: null });
  }
  if (assumptions['restriction-satisfied-by'] === 'any-connector' && options.allowDirectSend.length > 0) {
    warnings.push(
      'The Direct Send connectors keep working beside the restricted gateway connector only if a match with another connector satisfies ' +
        'the restriction (assumption restriction-satisfied-by=any-connector; Microsoft does not document it). Probe each source after phase 5.',
    );
  }

  return {
    tenant: snapshot.Meta.tenant ?? snapshot.Meta.initialDomain ?? null,
    profile,
    options: {
      allowDirectSend: options.allowDirectSend,
      safetyNet: options.safetyNet,
      ruleName: options.ruleName,
      connectorName: options.connectorName,
      keepBypasses: options.keepBypasses === true,
    },
    phases,
    before: snapshot,
    after: state,
    proof,
    warnings,
    broken,
    candidates,
    traced: null,
  };
}

/** The phases of the plan and the configuration after them, without what buildPlan predicts and proves of them. */
function planPhases(snapshot: Snapshot, profile: GatewayProfile, options: PlanOptions, assumptions: Assumptions): { phases: Phase[]; state: Snapshot; warnings: string[] } {
  if (!hasGateway(profile)) {
    throw new InputError('no gateway is known: give its addresses with --seg-ip and/or its certificate name with --seg-cert', { where: 'gateway profile' });
  }
  const tooWide = profileTooWide(profile);
  if (tooWide) {
    throw new InputError(
      `${tooWide}: the plan would restrict the gateway connector to that, trusting it all as the gateway; ` +
        'give the gateway\'s own addresses with --seg-ip (or its certificate name with --seg-cert)',
      { where: 'gateway profile' },
    );
  }
  const gatewayEntries = compileIpList(profile.ips).entries;
  const gatewayV4 = gatewayEntries.filter((entry) => entry.family === 'ipv4');
  const gatewayV6 = gatewayEntries.filter((entry) => entry.family === 'ipv6');
  if (gatewayEntries.length === 0) {
    throw new InputError(
      'the safety-net rule needs the gateway\'s addresses (a transport rule cannot test certificates): give them with --seg-ip',
      { where: 'gateway profile' },
    );
  }
  if (!profile.certificateName && gatewayV6.length > 0) {
    throw new InputError(
      `the gateway sends from IPv6 addresses (${gatewayV6.map((entry) => entry.text).join(', ')}), which inbound connectors cannot list: ` +
        'identify the gateway by its certificate with --seg-cert',
      { where: '--seg-ip' },
    );
  }
  for (const [index, source] of options.allowDirectSend.entries()) {
    const problem = partnerAddressProblem(source.ip);
    if (problem) throw new InputError(`${problem} (a Direct Send source's connector takes IPv4 /24–/32)`, { where: `--allow-direct-send[${index}]` });
    // Each source becomes a connector of its name: two sources of one name would be one connector.
    if (options.allowDirectSend.findIndex((other) => other.name.toLowerCase() === source.name.toLowerCase()) < index) {
      throw new InputError(`the name "${source.name}" is given to another source too; each source gets a connector of its own name`, { where: `--allow-direct-send[${index}]` });
    }
  }

  const warnings: string[] = [];
  // What the plan needs of the audit's context (not its proof, which decides the whole corpus).
  const context = { ...gatewayOf(snapshot, profile, assumptions), ...safetyNetsOf(snapshot) };
  const gateway = context.gateway?.item.ConnectorType === 'Partner' ? context.gateway.item : null;
  const phases: Phase[] = [];
  let state = snapshot;
  const addPhase = (phase: Omit<Phase, 'rollback' | 'before' | 'after' | 'wait' | 'expected' | 'notes'> & { notes?: string[] }) => {
    const before = state;
    const after = applyOps(before, phase.ops);
    phases.push({
      ...phase,
      notes: phase.notes ?? [],
      rollback: rollbackOps(before, phase.ops),
      before,
      after,
      wait: phase.ops.length > 0 ? PROPAGATION : 'Nothing changes in this phase.',
      expected: [],
    });
    state = after;
  };

  // ── Phase 1: the safety-net rule, in Audit mode ────────────────────────────────────────────────
  // Every enabled connector that matches by IP (scanners, applications, hybrid servers) keeps working: its addresses
  // are exceptions of the safety net, like the gateway's and the named sources'. A rule cannot test a certificate, so
  // a connector matched only by certificate relies on the AuthAs Internal exception (on-premises) or is named below.
  const connectorSources = snapshot.InboundConnector.filter((connector) => connector.Enabled && connector !== gateway && connector.SenderIPAddresses.length > 0);
  const exceptIps: string[] = [];
  for (const ip of [...profile.ips, ...options.allowDirectSend.map((source) => source.ip), ...connectorSources.flatMap((connector) => connector.SenderIPAddresses)]) {
    if (!exceptIps.some((have) => have.toLowerCase() === ip.toLowerCase())) exceptIps.push(ip);
  }
  const phase1Notes: string[] = connectorSources.map(
    (connector) => `"${connector.Name}" matches by IP (${connector.SenderIPAddresses.join(', ')}): its addresses are exceptions of the safety net, so it keeps working.`,
  );
  for (const connector of snapshot.InboundConnector) {
    if (!connector.Enabled || connector === gateway || connector.SenderIPAddresses.length > 0 || !connector.TlsSenderCertificateName) continue;
    phase1Notes.push(
      connector.ConnectorType === 'OnPremises'
        ? `"${connector.Name}" matches by certificate (${connector.TlsSenderCertificateName}): its mail is on-premises mail (AuthAs Internal), which the safety net excepts.`
        : `"${connector.Name}" matches by certificate (${connector.TlsSenderCertificateName}) only, which a transport rule cannot test: name its sending addresses with --allow-direct-send, or its mail is held by the safety net.`,
    );
  }
  const ruleWanted: OpParameters = {
    ExceptIfSenderIpRanges: exceptIps,
    ExceptIfHeaderContainsMessageHeader: 'X-MS-Exchange-Organization-AuthAs',
    ExceptIfHeaderContainsWords: ['Internal'],
    ...(options.safetyNet === 'reject'
      ? { RejectMessageEnhancedStatusCode: '5.7.1', RejectMessageReasonText: SAFETY_NET_TEXT, Quarantine: false }
      : { Quarantine: true, RejectMessageReasonText: null, RejectMessageEnhancedStatusCode: null }),
    FromScope: null,
    StopRuleProcessing: true,
    Mode: 'Audit',
  };
  // An existing safety net that already applies to all messages and excepts AuthAs Internal is adopted (its action
  // kept); otherwise eoplock's own rule is created or corrected.
  const adopted = context.safetyNets
    .map(({ item }) => item)
    .find((rule) => rule.Name !== options.ruleName && isSoundSafetyNet(rule));
  const existingRule = adopted ?? findByName(snapshot.TransportRule, options.ruleName);
  const phase1: Op[] = [];
  if (!existingRule) {
    phase1.push({
      cmdlet: 'New-TransportRule',
      name: options.ruleName,
      parameters: {
        Priority: 0,
        Enabled: true,
        ...Object.fromEntries(Object.entries(ruleWanted).filter(([, value]) => value !== null && value !== false)),
        Comments: 'eoplock safety net: applies to all messages; excepts the gateway, the named Direct Send sources, the IP connectors and AuthAs Internal.',
      },
    });
  } else {
    if (existingRule.State !== 'Enabled') phase1.push({ cmdlet: 'Enable-TransportRule', identity: existingRule.Name });
    const raw = existingRule as Record<string, unknown>;
    const current = Array.isArray(raw.ExceptIfSenderIpRanges) ? (raw.ExceptIfSenderIpRanges as string[]) : [];
    const wanted: OpParameters = adopted
      ? { ExceptIfSenderIpRanges: [...current, ...exceptIps.filter((ip) => !current.some((have) => have.toLowerCase() === ip.toLowerCase()))], StopRuleProcessing: true }
      : { ...ruleWanted };
    wanted.Mode = existingRule.Mode === 'Enforce' ? 'Enforce' : 'Audit';
    const differ = parametersThatDiffer(raw, wanted);
    if (existingRule.Priority !== 0) differ.Priority = 0;
    if (Object.keys(differ).length > 0) phase1.push({ cmdlet: 'Set-TransportRule', identity: existingRule.Name, parameters: differ });
  }
  const safetyNetName = existingRule?.Name ?? options.ruleName;
  // One safety net: every other rule that tries to be one (the guide's FromScope NotInOrganization rule, or any
  // enabled rule that rejects or quarantines mail not from the gateway) is replaced, disabled when ours enforces.
  const replaced = snapshot.TransportRule.filter(
    (rule) =>
      rule.Name.toLowerCase() !== safetyNetName.toLowerCase() &&
      rule.State === 'Enabled' &&
      (context.safetyNets.some(({ item }) => item === rule) || ((rule as Record<string, unknown>).FromScope === 'NotInOrganization' && isBlocking(rule))),
  );
  const auditReview = ruleReview(safetyNetName);
  addPhase({
    id: '01-safety-net-audit',
    title: 'Safety-net transport rule in Audit mode',
    why:
      'A rule that applies to ALL messages and blocks what does not come from the gateway, the named Direct Send sources, the ' +
      'connectors that match by IP, or on-premises (AuthAs Internal) — not the guide\'s -FromScope NotInOrganization, which an anonymous ' +
      `spoof of your own domain does not match. Its action is ${options.safetyNet === 'quarantine' ? 'quarantine, as in Microsoft\'s own rule (§4.3): mail held by mistake can be released' : 'reject (5.7.1), on request'}. ` +
      'Audit mode first: matches are logged, nothing is blocked.',
    ops: phase1,
    risk: 'None to mail flow: in Audit mode the rule only logs. The rule is created at priority 0, so the other rules move down one place.',
    check: `Run verify/01-safety-net-audit.ps1. Go when, after ${AUDIT_DAYS} days, the review below lists no legitimate mail; a legitimate sender in it is named with --allow-direct-send and the plan regenerated.`,
    audit: { days: AUDIT_DAYS, review: auditReview },
    notes: [
      ...(adopted ? [`The existing rule "${adopted.Name}" already applies to all messages and excepts AuthAs Internal: it is kept as the safety net, with its own action.`] : []),
      ...replaced.map((rule) => `The existing rule "${rule.Name}" is a second safety net${(rule as Record<string, unknown>).FromScope === 'NotInOrganization' ? ' (FromScope NotInOrganization: it misses spoofs of your own domains)' : ''}; it stays as it is until ${'06-safety-net-enforce'} disables it.`),
      ...phase1Notes,
    ],
  });

  // ── Phase 2: connectors ────────────────────────────────────────────────────────────────────────
  const byCertificate = profile.certificateName !== null;
  const connectorWanted: OpParameters = {
    ConnectorType: 'Partner',
    SenderDomains: ['*'],
    ...(byCertificate
      ? {
          TlsSenderCertificateName: profile.certificateName,
          RestrictDomainsToCertificate: true,
          RestrictDomainsToIPAddresses: false,
          SenderIPAddresses: null,
        }
      : {
          SenderIPAddresses: connectorBlocks(gatewayV4),
          RestrictDomainsToIPAddresses: true,
          RestrictDomainsToCertificate: false,
          TlsSenderCertificateName: null,
        }),
    RequireTls: true,
    Enabled: true,
  };
  const phase2: Op[] = [];
  const phase2Notes: string[] = [];
  // The address list is rewritten only when it has to be: a list that covers the gateway exactly stays as it is.
  if (gateway && !byCertificate) {
    const problems = addressListProblems(gateway.SenderIPAddresses, gatewayV4);
    if (problems.length === 0) delete connectorWanted.SenderIPAddresses;
    else phase2Notes.push(`"${gateway.Name}" gets the address list ${connectorBlocks(gatewayV4).join(', ')} because of ${problems.join('; ')}.`);
  }
  // The named Direct Send sources get their connectors first: once the gateway connector restricts with
  // SenderDomains *, a source without a connector of its own is refused with 5.7.51 (the emulator shows it).
  const acceptedNames = [...new Set(snapshot.AcceptedDomain.map((domain) => normaliseDomain(domain.DomainName)))].sort();
  for (const source of options.allowDirectSend) {
    const address = parseIp(source.ip.replace(/\/\d+$/, ''));
    const covered = address
      ? state.InboundConnector.find((connector) => connector.Enabled && findInList(compileIpList(connector.SenderIPAddresses), address) !== null)
      : undefined;
    if (covered) {
      phase2Notes.push(`${source.ip} (${source.name}) is already matched by "${covered.Name}".`);
      continue;
    }
    if (findByName(state.InboundConnector, source.name)) {
      throw new InputError(`an inbound connector named "${source.name}" already exists and does not list ${source.ip}`, { where: '--allow-direct-send' });
    }
    phase2.push({
      cmdlet: 'New-InboundConnector',
      name: source.name,
      parameters: {
        ConnectorType: 'Partner',
        SenderDomains: acceptedNames,
        SenderIPAddresses: [source.ip],
        RestrictDomainsToIPAddresses: false,
        RequireTls: false,
        Comment: 'eoplock: a Direct Send source, identified by IP.',
      },
    });
  }
  const gatewayConnectorName = gateway?.Name ?? options.connectorName;
  if (gateway) {
    const differ = parametersThatDiffer(gateway as Record<string, unknown>, connectorWanted);
    if (Object.keys(differ).length > 0) phase2.push({ cmdlet: 'Set-InboundConnector', identity: gateway.Name, parameters: differ });
  } else {
    phase2.push({ cmdlet: 'New-InboundConnector', name: options.connectorName, parameters: { ...connectorWanted, Comment: 'eoplock: the gateway, restricted.' } });
    phase2Notes.push(`No enabled Partner connector serves the gateway: "${options.connectorName}" is created for it.`);
  }
  if (gatewayV6.length > 0) phase2Notes.push(`The gateway's IPv6 addresses (${gatewayV6.map((e) => e.text).join(', ')}) are covered by the certificate, not by addresses.`);
  const widened = gatewayV4.filter((entry) => entry.form === 'range' || (entry.form === 'cidr' && (entry.prefix ?? 32) < 24));
  if (!byCertificate && widened.length > 0 && 'SenderIPAddresses' in connectorWanted) phase2Notes.push(`Gateway entries ${widened.map((e) => e.text).join(', ')} are listed as /24–/32 blocks, the widest a connector accepts.`);
  if (gateway && byCertificate && gateway.SenderIPAddresses.length > 0) phase2Notes.push(`"${gateway.Name}" moves from IP addresses to the certificate; its addresses are cleared so IP and certificate are not mixed on one connector (S11).`);
  addPhase({
    id: '02-connectors',
    title: 'Connectors for legitimate Direct Send sources, then restrict the gateway connector',
    why:
      'Each named device or service that sends as your domains straight to EOP first gets its own Partner connector by IP. Then the ' +
      `Partner connector for the gateway covers every sender domain (SenderDomains *) and is restricted to the gateway's ${byCertificate ? 'certificate' : 'addresses'}, ` +
      'so mail sent straight to EOP for your domains is refused with 550 5.7.51, and it requires TLS. ' +
      '(The guide creates the Direct Send connectors after the restriction; in that order they are refused in between.)',
    ops: phase2,
    risk:
      'Mail that reaches EOP without the gateway and without a connector of its own is refused from now on (550 5.7.51): a sender not named ' +
      'here (a scanner, an application, a partner sending straight to EOP) stops working. A gateway address missing from the connector, or a ' +
      'gateway that cannot do TLS, loses all inbound mail.',
    check:
      'Run verify/02-connectors.ps1. Send one message through the gateway and one from each named source; message trace must show both ' +
      'delivered (Get-MessageTraceV2 -StartDate (Get-Date).AddHours(-1) -EndDate (Get-Date) -RecipientAddress <your test address>). No-go on any 5.7.51 from a known sender.',
    audit: null,
    notes: phase2Notes,
  });

  // ── Phase 3: Enhanced Filtering on the gateway connector ──────────────────────────────────────
  const efWanted: OpParameters = { EFSkipIPs: gatewayV4.map((entry) => entry.text), EFSkipLastIP: false, EFUsers: null };
  const gatewayNow = findByName(state.InboundConnector, gatewayConnectorName);
  const efDiffer = parametersThatDiffer(gatewayNow as Record<string, unknown> | undefined, efWanted);
  addPhase({
    id: '03-enhanced-filtering',
    title: 'Enhanced Filtering for the gateway connector',
    why:
      'EOP skips the gateway\'s addresses and judges the sender that reached the gateway: SPF, DKIM, DMARC and the spam and phishing verdicts ' +
      'use the real source instead of the gateway (S23). For all users (EFUsers empty).',
    ops: Object.keys(efDiffer).length > 0 ? [{ cmdlet: 'Set-InboundConnector', identity: gatewayConnectorName, parameters: efDiffer }] : [],
    risk:
      'It changes SPF, DMARC and spam verdicts for ALL inbound mail: mail that passed before can now fail authentication (a sender whose SPF ' +
      'or DMARC is wrong, a forwarding service, the gateway changing the message and breaking DKIM) and go to Junk or quarantine. A gateway ' +
      'address missing from EFSkipIPs makes every message look as if the gateway sent it.',
    check:
      'Run verify/03-enhanced-filtering.ps1. For a day, compare the quarantine and Junk volume with the day before ' +
      '(Get-QuarantineMessage -StartReceivedDate (Get-Date).AddDays(-1) | Measure-Object) and read the Authentication-Results header of a few ' +
      'messages from the gateway: the source must be the original sender, not the gateway. No-go on legitimate mail failing DMARC.',
    audit: null,
  });

  // ── Phase 4: spam-filter bypasses ──────────────────────────────────────────────────────────────
  const bypassRules = state.TransportRule.filter((rule) => rule.State === 'Enabled' && Number((rule as Record<string, unknown>).SetSCL) === -1);
  const allowLists = state.HostedConnectionFilterPolicy.filter((policy) => policy.IPAllowList.length > 0 || (policy as Record<string, unknown>).EnableSafeList === true);
  const bypassNames = [
    ...bypassRules.map((rule) => `rule "${rule.Name}" (SCL -1)`),
    ...allowLists.map((policy) => `connection filter policy "${connectionFilterName(policy)}" (${[policy.IPAllowList.length > 0 ? `IP allow list ${policy.IPAllowList.join(', ')}` : '', (policy as Record<string, unknown>).EnableSafeList === true ? 'safe list on' : ''].filter(Boolean).join(', ')})`),
  ];
  const phase4: Op[] = [];
  if (!options.keepBypasses) {
    for (const rule of bypassRules) phase4.push({ cmdlet: 'Disable-TransportRule', identity: rule.Name });
    for (const policy of allowLists) {
      phase4.push({
        cmdlet: 'Set-HostedConnectionFilterPolicy',
        identity: connectionFilterName(policy),
        parameters: { ...(policy.IPAllowList.length > 0 ? { IPAllowList: null } : {}), ...((policy as Record<string, unknown>).EnableSafeList === true ? { EnableSafeList: false } : {}) },
      });
    }
  } else if (bypassNames.length > 0) {
    warnings.push(`Kept at your request (--keep-bypasses): ${bypassNames.join('; ')}. Mail they match skips EOP's spam filtering: a spoof that reaches them is delivered without spam filtering.`);
  }
  addPhase({
    id: '04-spam-filter-bypasses',
    title: options.keepBypasses ? 'Spam-filter bypasses (kept at your request)' : 'Turn off the spam-filter bypasses',
    why:
      bypassNames.length === 0
        ? 'No enabled rule sets SCL -1 and the connection filter allows no addresses: nothing skips spam filtering.'
        : `What skips EOP's spam filtering: ${bypassNames.join('; ')}. With Enhanced Filtering on, EOP judges the real sender, so the bypass is no longer needed ` +
          'to keep gateway mail out of Junk, and anything that reaches it is delivered without spam filtering.',
    ops: phase4,
    risk: options.keepBypasses
      ? 'Left as it is at your request: mail matching a bypass skips spam filtering (a spoof that reaches it is delivered without spam filtering).'
      : phase4.length === 0
        ? 'None: nothing changes.'
        : 'Mail the bypass let through unfiltered is now spam-filtered: legitimate mail that EOP judges as spam goes to Junk or quarantine.',
    check:
      phase4.length === 0
        ? 'Nothing to check.'
        : 'Run verify/04-spam-filter-bypasses.ps1. For a day, watch quarantine and Junk for legitimate mail from the gateway ' +
          '(Get-QuarantineMessage -StartReceivedDate (Get-Date).AddDays(-1)); release it and add a narrow allow entry rather than the bypass.',
    audit: null,
  });

  // ── Phase 5: RejectDirectSend ──────────────────────────────────────────────────────────────────
  addPhase({
    id: '05-reject-direct-send',
    title: 'RejectDirectSend on',
    why:
      'Anonymous mail whose envelope sender is one of your domains and that matches no connector by IP or certificate is refused ' +
      'with 550 5.7.68. The From header is not checked (the connector restriction and the safety net cover that).',
    ops: state.OrganizationConfig[0]?.RejectDirectSend === true ? [] : [{ cmdlet: 'Set-OrganizationConfig', parameters: { RejectDirectSend: true } }],
    risk: 'A device or service that sends as your domains straight to EOP without a connector of its own is refused (550 5.7.68, not in message trace).',
    check: 'Run verify/05-reject-direct-send.ps1, then send from each named Direct Send source: it must be delivered.',
    audit: null,
  });

  // ── Phase 6: the safety net enforces; the other safety nets are disabled ───────────────────────
  const ruleNow = findByName(state.TransportRule, safetyNetName);
  const phase6: Op[] = [];
  if (ruleNow && ruleNow.Mode !== 'Enforce') phase6.push({ cmdlet: 'Set-TransportRule', identity: ruleNow.Name, parameters: { Mode: 'Enforce' } });
  // After ours enforces, so that no moment is left without a safety net.
  for (const rule of replaced) phase6.push({ cmdlet: 'Disable-TransportRule', identity: rule.Name });
  const oldExceptions = replaced.flatMap((rule) => {
    const ranges = (rule as Record<string, unknown>).ExceptIfSenderIpRanges;
    return Array.isArray(ranges) ? (ranges as string[]).filter((ip) => !exceptIps.some((have) => have.toLowerCase() === String(ip).toLowerCase())).map((ip) => `${ip} (in "${rule.Name}")`) : [];
  });
  addPhase({
    id: '06-safety-net-enforce',
    title: 'Safety-net rule to Enforce; the other safety nets off',
    why:
      `After a clean audit period, the rule acts (${options.safetyNet}). ` +
      (replaced.length > 0 ? `It replaces ${replaced.map((rule) => `"${rule.Name}"`).join(', ')}, disabled here (not removed: the rollback enables it again).` : 'No other rule tries to be a safety net.'),
    ops: phase6,
    risk:
      options.safetyNet === 'quarantine'
        ? 'Mail not from the gateway, a named source, an IP connector or on-premises is quarantined: a sender missed in the audit period finds its mail held (release it from quarantine).'
        : 'Mail not from the gateway, a named source, an IP connector or on-premises is rejected: a sender missed in the audit period gets an NDR (5.7.1) and the message is gone.',
    check: `Run verify/06-safety-net-enforce.ps1. The audit review below must list no legitimate mail for the last ${AUDIT_DAYS} days; afterwards, review it daily for a week.`,
    audit: { days: AUDIT_DAYS, review: auditReview },
    notes: oldExceptions.length > 0 ? [`Addresses the replaced rule let through and the new one does not: ${oldExceptions.join(', ')}. Name any that is legitimate with --allow-direct-send.`] : [],
  });

  return { phases, state, warnings };
}

/**
 * The plan with what message trace shows: every source that sends as the tenant's domains straight to EOP and is
 * refused after the plan is a known sender the plan breaks (with the argument that keeps it); a foreign sender
 * refused after is listed as a candidate only (it should reach the tenant through the MX, the gateway).
 */
export function withTrace(plan: Plan, groups: readonly ImpactGroup[], files: number): Plan {
  const broken = [...plan.broken];
  const candidates = plan.candidates.map((candidate) => ({ ...candidate }));
  const warnings = [...plan.warnings];
  for (const group of groups) {
    const seen = `${group.messages} message(s) as ${group.senderDomain} in message trace, ${group.firstSeen ?? '?'} … ${group.lastSeen ?? '?'}`;
    if (!group.directSend) {
      warnings.push(
        `${group.clientIp} sends as ${group.senderDomain} straight to EOP (${seen}) and is refused after the plan (${group.reason}): ` +
          'a sender outside your domains should reach you through your MX, the gateway.',
      );
      continue;
    }
    const argument = allowDirectSendArgument(group.clientIp, group.senderDomain);
    const known = candidates.find((candidate) => candidate.source === group.clientIp);
    if (known) known.evidence = `${known.evidence}; ${seen}`;
    else candidates.push({ source: group.clientIp, evidence: seen, after: `refused (${group.reason})`, argument });
    broken.push({
      name: `${group.clientIp} sending as ${group.senderDomain} (message trace)`,
      why: `${group.messages} message(s) accepted today, refused after the plan (${group.reason})${argument ? '' : '; an inbound connector takes IPv4 only: route it through the gateway'}`,
      from: 'trace',
      source: group.clientIp,
      argument,
    });
  }
  return { ...plan, broken, candidates, warnings, traced: { files, sources: groups.length } };
}

/** A safety net that applies to all messages (no FromScope) and lets on-premises mail through (AuthAs Internal). */
function isSoundSafetyNet(rule: TransportRule): boolean {
  const raw = rule as Record<string, unknown>;
  const words = Array.isArray(raw.ExceptIfHeaderContainsWords) ? (raw.ExceptIfHeaderContainsWords as string[]) : [];
  return (
    raw.FromScope == null &&
    String(raw.ExceptIfHeaderContainsMessageHeader ?? '').toLowerCase() === 'x-ms-exchange-organization-authas' &&
    words.some((word) => word.toLowerCase() === 'internal')
  );
}

function isBlocking(rule: TransportRule): boolean {
  const raw = rule as Record<string, unknown>;
  return raw.Quarantine === true || raw.DeleteMessage === true || raw.RejectMessageReasonText != null || raw.RejectMessageEnhancedStatusCode != null;
}

/** The named Direct Send sources as legitimate corpus paths (a device sending as the default domain). */
function directSendPaths(snapshot: Snapshot, sources: readonly DirectSendSource[]): CorpusEntry[] {
  const domain =
    normaliseDomain((snapshot.AcceptedDomain.find((entry) => entry.Default) ?? snapshot.AcceptedDomain[0])?.DomainName ?? 'contoso.com');
  return sources.map((source) => {
    const host = compileIpList([source.ip]).entries[0];
    const ip = host ? formatIpv4Interval([ipv4Interval(host)?.[0] ?? 0, ipv4Interval(host)?.[0] ?? 0]) : source.ip;
    return {
      id: `legit-named-direct-send-${ip}`,
      kind: 'legitimate' as const,
      // Names from `impact` and the plan's own suggestions already read "Direct Send from … (address)".
      name: `${/^direct send\b/i.test(source.name) ? '' : 'Direct Send from '}${source.name}${source.name.includes(source.ip) ? '' : ` (${source.ip})`}`,
      description: `${source.name} sends as noreply@${domain} from ${ip}.`,
      transaction: { clientIp: ip, helo: 'device.example', mailFrom: `noreply@${domain}`, rcptTo: [`user@${domain}`], headers: [{ name: 'From', value: `noreply@${domain}` }] },
    };
  });
}

function expectation(snapshot: Snapshot, entry: CorpusEntry, assumptions: Assumptions): PhaseExpectation {
  const verdict = decide(snapshot, entry.transaction, { assumptions });
  return {
    id: entry.id,
    kind: entry.kind,
    name: entry.name,
    outcome: corpusOutcome(entry, verdict),
    verdict: { action: verdict.action, code: verdict.code, enhanced: verdict.enhanced, disposition: verdict.disposition, connector: verdict.connector?.name ?? null },
  };
}

/** The plan with its defaults (no Direct Send sources named, the safety net quarantines, default names): what impact,
 * report and the demo compare against when no plan folder is given. */
export function defaultPlan(snapshot: Snapshot, profile: GatewayProfile, assumptions?: Assumptions): Plan {
  return buildPlan(snapshot, profile, defaultOptions(assumptions));
}

/**
 * The configuration after the default plan, as defaultPlan(…).after, without what the plan predicts and proves of it
 * (the corpus per phase, the proof): what impact compares mail-flow data with.
 */
export function defaultPlanAfter(snapshot: Snapshot, profile: GatewayProfile, assumptions: Assumptions = DEFAULT_ASSUMPTIONS): Snapshot {
  return planPhases(snapshot, profile, defaultOptions(assumptions), assumptions).state;
}

function defaultOptions(assumptions: Assumptions | undefined): PlanOptions {
  return { allowDirectSend: [], safetyNet: DEFAULT_SAFETY_NET, ruleName: DEFAULT_RULE_NAME, connectorName: DEFAULT_CONNECTOR_NAME, ...(assumptions ? { assumptions } : {}) };
}

/** The review of what a transport rule matched: the rule report covers the last 10 days (S22). */
function ruleReview(ruleName: string): string {
  return `Get-MailDetailTransportRuleReport -TransportRule ${psQuoted(ruleName)} -StartDate (Get-Date).AddDays(-${AUDIT_DAYS}) -EndDate (Get-Date) -EventType TransportRuleHits | Sort-Object Date | Format-Table Date, SenderAddress, RecipientAddress, Subject`;
}

/** A PowerShell single-quoted literal (as powershell.ts writes it) for the review command in PLAN.md. */
function psQuoted(value: string): string {
  return `'${value.replace(/['\u2018\u2019\u201A\u201B]/g, (quote) => quote + quote)}'`;
}

/** The `include:` domains of a domain's SPF record. */
function spfIncludes(records: readonly string[]): string[] {
  const spf = records.find((record) => /^v=spf1(\s|$)/i.test(record.trim()));
  if (!spf) return [];
  return spf
    .split(/\s+/)
    .map((term) => /^\+?include:(\S+)$/i.exec(term)?.[1])
    .filter((value): value is string => value !== undefined);
}

export type { InboundConnector };
