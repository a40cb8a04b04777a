/**
 * The phased lockdown plan, built from the snapshot and the gateway profile: the guide's four phases with its
 * errors fixed (eop-behaviour.md §11). Pure: operations, the state after each phase, the exact rollback, and what
 * the emulator predicts for the bypass corpus after each phase.
 */
import { buildContext } from '../audit/context.js';
import { builtinCorpus, corpusOutcome, type CorpusEntry, type CorpusOutcome } from '../corpus/builtin.js';
import { normaliseDomain } from '../eop/addresses.js';
import { DEFAULT_ASSUMPTIONS, type Assumptions } from '../eop/assumptions.js';
import { decide } from '../eop/decide.js';
import { compileIpList, findInList, formatIpv4Interval, ipv4Interval, mergeIntervals, parseIp, type IpEntry } from '../eop/ip.js';
import type { Verdict } from '../eop/types.js';
import { InputError } from '../errors.js';
import { hasGateway, type GatewayProfile } from '../profile/profile.js';
import type { Snapshot } from '../snapshot/parse.js';
import type { InboundConnector, TransportRule } from '../snapshot/schema.js';
import { prove } from '../prove/prove.js';
import type { ProofResult } from '../prove/types.js';
import { partnerAddressProblem } from '../audit/checks/connectors.js';
import { applyOps, type Op, type OpParameters } from './ops.js';
import type { PsValue } from './powershell.js';
import { rollbackOps } from './rollback.js';
import { DEFAULT_CONNECTOR_NAME, DEFAULT_RULE_NAME } from './names.js';

export interface DirectSendSource {
  ip: string;
  name: string;
}

export interface PlanOptions {
  /** Legitimate Direct Send sources that get their own IP-bound Partner connector before RejectDirectSend. */
  allowDirectSend: readonly DirectSendSource[];
  /** What the safety-net rule does to mail that does not come from the gateway. */
  safetyNet: 'reject' | 'quarantine';
  ruleName: string;
  connectorName: string;
  assumptions?: Assumptions;
}

export { DEFAULT_CONNECTOR_NAME, DEFAULT_RULE_NAME } from './names.js';
export const SAFETY_NET_TEXT = 'Mail for this organization must be delivered through its mail gateway.';
const PROPAGATION = 'Wait up to 30 minutes for the change to reach every EOP server (S2, S20) before the next phase.';

export interface PhaseExpectation {
  id: string;
  kind: CorpusEntry['kind'];
  name: string;
  outcome: CorpusOutcome;
  verdict: Pick<Verdict, 'action' | 'code' | 'enhanced' | 'disposition'> & { connector: string | null };
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
  /** What the emulator predicts for the corpus once the phase is in effect. */
  expected: PhaseExpectation[];
  notes: string[];
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

export function buildPlan(snapshot: Snapshot, profile: GatewayProfile, options: PlanOptions): Plan {
  const assumptions = options.assumptions ?? DEFAULT_ASSUMPTIONS;
  if (!hasGateway(profile)) {
    throw new InputError('no gateway is known: give its addresses with --seg-ip and/or its certificate name with --seg-cert', { where: 'gateway profile' });
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
  }

  const warnings: string[] = [];
  const context = buildContext(snapshot, profile, assumptions);
  const phases: Phase[] = [];
  let state = snapshot;
  const addPhase = (id: string, title: string, why: string, ops: Op[], notes: string[] = []) => {
    const before = state;
    const after = applyOps(before, ops);
    phases.push({ id, title, why, ops, rollback: rollbackOps(before, ops), before, after, wait: ops.length > 0 ? PROPAGATION : 'Nothing changes in this phase.', expected: [], notes });
    state = after;
  };

  // ── Phase 1: the safety-net rule, in Audit mode ────────────────────────────────────────────────
  const exceptIps = [...profile.ips, ...options.allowDirectSend.map((source) => source.ip)];
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
        Comments: 'eoplock safety net: applies to all messages; excepts the gateway, the named Direct Send sources and AuthAs Internal.',
      },
    });
  } else {
    if (existingRule.State !== 'Enabled') phase1.push({ cmdlet: 'Enable-TransportRule', identity: existingRule.Name });
    const raw = existingRule as Record<string, unknown>;
    const current = Array.isArray(raw.ExceptIfSenderIpRanges) ? (raw.ExceptIfSenderIpRanges as string[]) : [];
    const wanted: OpParameters = adopted
      ? { ExceptIfSenderIpRanges: [...current, ...exceptIps.filter((ip) => !current.includes(ip))], StopRuleProcessing: true }
      : { ...ruleWanted };
    wanted.Mode = existingRule.Mode === 'Enforce' ? 'Enforce' : 'Audit';
    const differ = parametersThatDiffer(raw, wanted);
    if (existingRule.Priority !== 0) differ.Priority = 0;
    if (Object.keys(differ).length > 0) phase1.push({ cmdlet: 'Set-TransportRule', identity: existingRule.Name, parameters: differ });
  }
  const safetyNetName = existingRule?.Name ?? options.ruleName;
  const flawed = snapshot.TransportRule.filter((rule) => rule.Name !== options.ruleName && (rule as Record<string, unknown>).FromScope === 'NotInOrganization' && isBlocking(rule));
  addPhase(
    '01-safety-net-audit',
    'Safety-net transport rule in Audit mode',
    'A rule that applies to ALL messages and blocks what does not come from the gateway, the named Direct Send sources, or ' +
      'on-premises (AuthAs Internal) — not the guide\'s -FromScope NotInOrganization, which an anonymous spoof of your own ' +
      'domain does not match. Audit mode first: matches are logged in message trace, nothing is blocked.',
    phase1,
    [
      ...(adopted ? [`The existing rule "${adopted.Name}" already applies to all messages and excepts AuthAs Internal: it is kept as the safety net, with its own action.`] : []),
      ...flawed.map((rule) => `The existing rule "${rule.Name}" uses FromScope NotInOrganization and misses spoofs of your own domains; it is left as it is.`),
    ],
  );

  // ── Phase 2: harden the gateway connector ──────────────────────────────────────────────────────
  const byCertificate = profile.certificateName !== null;
  const efSkip = gatewayV4.map((entry) => entry.text);
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
    EFSkipIPs: efSkip,
    EFSkipLastIP: false,
    EFUsers: null,
    Enabled: true,
  };
  const gateway = context.gateway?.item.ConnectorType === 'Partner' ? context.gateway.item : null;
  const phase2: Op[] = [];
  const phase2Notes: string[] = [];
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
  if (gateway) {
    const differ = parametersThatDiffer(gateway as Record<string, unknown>, connectorWanted);
    if (Object.keys(differ).length > 0) phase2.push({ cmdlet: 'Set-InboundConnector', identity: gateway.Name, parameters: differ });
  } else {
    phase2.push({ cmdlet: 'New-InboundConnector', name: options.connectorName, parameters: { ...connectorWanted, Comment: 'eoplock: the gateway, restricted.' } });
  }
  if (gatewayV6.length > 0) phase2Notes.push(`The gateway's IPv6 addresses (${gatewayV6.map((e) => e.text).join(', ')}) are covered by the certificate, not by addresses.`);
  const widened = gatewayV4.filter((entry) => entry.form === 'range' || (entry.form === 'cidr' && (entry.prefix ?? 32) < 24));
  if (!byCertificate && widened.length > 0) phase2Notes.push(`Gateway entries ${widened.map((e) => e.text).join(', ')} are listed as /24–/32 blocks, the widest a connector accepts.`);
  if (gateway && byCertificate && gateway.SenderIPAddresses.length > 0) phase2Notes.push(`"${gateway.Name}" moves from IP addresses to the certificate; its addresses are cleared so IP and certificate are not mixed on one connector (S11).`);
  addPhase(
    '02-connectors',
    'Connectors for legitimate Direct Send sources, then restrict the gateway connector',
    'Each named device or service that sends as your domains straight to EOP first gets its own Partner connector by IP. Then the ' +
      `Partner connector for the gateway covers every sender domain (SenderDomains *) and is restricted to the gateway's ${byCertificate ? 'certificate' : 'addresses'}, ` +
      'so mail sent straight to EOP for your domains is refused with 550 5.7.51. It requires TLS and skip-lists the gateway for Enhanced Filtering. ' +
      '(The guide creates the Direct Send connectors after the restriction; in that order they are refused in between.)',
    phase2,
    phase2Notes,
  );

  // ── Phase 3: RejectDirectSend ──────────────────────────────────────────────────────────────────
  addPhase(
    '03-reject-direct-send',
    'RejectDirectSend on',
    'Anonymous mail whose envelope sender is one of your domains and that matches no connector by IP or certificate is refused ' +
      'with 550 5.7.68. The From header is not checked (the connector restriction and the safety net cover that).',
    state.OrganizationConfig[0]?.RejectDirectSend === true ? [] : [{ cmdlet: 'Set-OrganizationConfig', parameters: { RejectDirectSend: true } }],
  );


  // ── Phase 4: the safety net enforces ───────────────────────────────────────────────────────────
  const ruleNow = findByName(state.TransportRule, safetyNetName);
  addPhase(
    '04-safety-net-enforce',
    'Safety-net rule to Enforce',
    'After a clean audit period (message trace shows no legitimate mail matching the rule), the rule acts.',
    ruleNow && ruleNow.Mode !== 'Enforce' ? [{ cmdlet: 'Set-TransportRule', identity: ruleNow.Name, parameters: { Mode: 'Enforce' } }] : [],
  );

  // What the emulator predicts after each phase.
  const named = directSendPaths(snapshot, options.allowDirectSend);
  const namedIps = new Set(named.map((entry) => entry.transaction.clientIp));
  const corpus = builtinCorpus(snapshot, profile)
    .filter((entry) => !(entry.id.startsWith('legit-direct-send-') && namedIps.has(entry.transaction.clientIp)))
    .concat(named);
  for (const phase of phases) phase.expected = corpus.map((entry) => expectation(phase.after, entry, assumptions));

  // Direct Send sources that the plan will break: SPF-listed senders that no connector or named source covers.
  const lastPhase = phases.at(-1);
  for (const entry of lastPhase?.expected ?? []) {
    if (entry.kind === 'legitimate' && entry.outcome === 'broken') {
      warnings.push(`${entry.name} would be refused after the plan (${entry.verdict.code} ${entry.verdict.enhanced}); name it with --allow-direct-send if it is legitimate.`);
    }
  }
  // The proof of the configuration after: every class of transaction, not only the corpus.
  const proof = prove(state, { profile, assumptions, allowDirectSend: options.allowDirectSend.map((source) => source.ip) });
  for (const finding of proof.findings) {
    if (finding.kind === 'bypass') warnings.push(`After the plan, ${finding.classes} class(es) of transaction would still be accepted by EOP without passing the gateway: ${finding.cause}.`);
    else if (finding.kind === 'broken-legitimate') warnings.push(`After the plan, ${finding.classes} class(es) from the gateway or a named source would be refused: ${finding.cause}.`);
  }
  if (assumptions['restriction-satisfied-by'] === 'any-connector' && options.allowDirectSend.length > 0) {
    warnings.push(
      'The Direct Send connectors keep working beside the restricted gateway connector only if a match with another connector satisfies ' +
        'the restriction (assumption restriction-satisfied-by=any-connector; Microsoft does not document it). Probe each source after phase 3.',
    );
  }

  return {
    tenant: snapshot.Meta.tenant ?? snapshot.Meta.initialDomain ?? null,
    profile,
    options: { allowDirectSend: options.allowDirectSend, safetyNet: options.safetyNet, ruleName: options.ruleName, connectorName: options.connectorName },
    phases,
    before: snapshot,
    after: state,
    proof,
    warnings,
  };
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
      name: `Direct Send from ${source.name} (${source.ip})`,
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

/** The plan with its defaults (no Direct Send sources named, the safety net rejects, default names): what impact,
 * report and the demo compare against when no plan folder is given. */
export function defaultPlan(snapshot: Snapshot, profile: GatewayProfile, assumptions?: Assumptions): Plan {
  return buildPlan(snapshot, profile, { allowDirectSend: [], safetyNet: 'reject', ruleName: DEFAULT_RULE_NAME, connectorName: DEFAULT_CONNECTOR_NAME, ...(assumptions ? { assumptions } : {}) });
}

export type { InboundConnector };
