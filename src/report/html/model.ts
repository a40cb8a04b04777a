/**
 * What the HTML report shows, gathered from plain data (pure): the audit, the mail-flow facts from the snapshot, the
 * corpus after the plan, the plan's scripts, and trace results when given.
 */
import type { AuditResult } from '../../audit/model.js';
import { corpusOutcome, type CorpusOutcome } from '../../corpus/builtin.js';
import type { Assumptions } from '../../eop/assumptions.js';
import { decide } from '../../eop/decide.js';
import type { Verdict } from '../../eop/types.js';
import type { Plan } from '../../plan/plan.js';
import type { PlanFiles } from '../../plan/render.js';
import { gatewayConnector, type GatewayProfile } from '../../profile/profile.js';
import { prove } from '../../prove/prove.js';
import type { ProofResult } from '../../prove/types.js';
import type { Snapshot } from '../../snapshot/parse.js';
import type { ImpactResult } from '../../trace/impact.js';
import type { MonitorResult } from '../../trace/monitor.js';

export interface MailFlowFacts {
  rejectDirectSend: boolean;
  gatewayConnector: { name: string; restriction: 'certificate' | 'IP addresses' | 'IP addresses or certificate' | 'none'; enhancedFiltering: boolean } | null;
  safetyNetRule: string | null;
  /** Legitimate mail through the gateway is accepted for delivery (per the emulator). */
  gatewayPathOpen: boolean;
  /** Attacks sent straight to EOP that EOP accepts for delivery (per the emulator; content filtering not emulated). */
  bypassesOpen: number;
  attacks: number;
}

export interface CorpusRow {
  id: string;
  kind: 'attack' | 'legitimate';
  name: string;
  now: { outcome: CorpusOutcome; verdict: Pick<Verdict, 'action' | 'code' | 'enhanced' | 'text' | 'disposition'>; reason: string };
  afterPlan: { outcome: CorpusOutcome; verdict: Pick<Verdict, 'action' | 'code' | 'enhanced' | 'text' | 'disposition'>; reason: string } | null;
}

export interface PlanSection {
  source: string;
  phases: { id: string; title: string; script: string; rollback: string | null; verify: string | null }[];
  warnings: string[];
}

/** The class search ("eoplock prove") on the snapshot and on the configuration the plan leaves behind. */
export interface ProofSection {
  now: ProofResult;
  afterPlan: ProofResult | null;
}

export interface HtmlReportModel {
  audit: AuditResult;
  flow: MailFlowFacts;
  corpus: CorpusRow[];
  /** Absent: the page has no proof section. */
  proof?: ProofSection | null;
  plan: PlanSection | null;
  monitor: MonitorResult | null;
  impact: ImpactResult | null;
  generatedAt: string;
  version: string;
}

/** The trace step that explains a verdict best, for the table's reason column. */
function reasonOf(verdict: Verdict): string {
  const steps = verdict.trace;
  const find = (...names: string[]) => [...steps].reverse().find((step) => names.includes(step.step));
  const decisive =
    verdict.action === 'reject'
      ? [...steps].reverse().find((step) => step.step !== 'filtering')
      : (find('honor-dmarc') ??
        (verdict.disposition === 'quarantine' || verdict.disposition === 'delete' ? [...steps].reverse().find((step) => step.step === 'rule' && /matched in Enforce/.test(step.detail)) : undefined) ??
        find('connector'));
  return decisive?.detail ?? '';
}

function pick(verdict: Verdict): CorpusRow['now']['verdict'] {
  return { action: verdict.action, code: verdict.code, enhanced: verdict.enhanced, text: verdict.text, disposition: verdict.disposition };
}

export function mailFlowFacts(snapshot: Snapshot, audit: AuditResult): MailFlowFacts {
  const found = gatewayConnector(snapshot);
  const connector = found?.connector;
  const restriction = !connector
    ? 'none'
    : connector.RestrictDomainsToIPAddresses && connector.RestrictDomainsToCertificate
      ? 'IP addresses or certificate'
      : connector.RestrictDomainsToCertificate
        ? 'certificate'
        : connector.RestrictDomainsToIPAddresses
          ? 'IP addresses'
          : 'none';
  const rules = snapshot.TransportRule as Record<string, unknown>[];
  const safetyNet = rules.find((rule) => {
    const state = String(rule.State ?? 'Enabled');
    const acts = rule.RejectMessageReasonText || rule.RejectMessageEnhancedStatusCode || rule.Quarantine === true || rule.DeleteMessage === true;
    const exempts = Array.isArray(rule.ExceptIfSenderIpRanges) && rule.ExceptIfSenderIpRanges.length > 0;
    return state !== 'Disabled' && acts && exempts;
  });
  const gatewayEntries = audit.proof.filter((entry) => entry.kind === 'legitimate' && entry.id.startsWith('legit-gateway'));
  return {
    rejectDirectSend: snapshot.OrganizationConfig[0]?.RejectDirectSend === true,
    gatewayConnector: connector ? { name: connector.Name, restriction, enhancedFiltering: connector.EFSkipLastIP === true || connector.EFSkipIPs.length > 0 } : null,
    safetyNetRule: safetyNet ? String(safetyNet.Name ?? '(unnamed)') : null,
    gatewayPathOpen: gatewayEntries.length === 0 || gatewayEntries.every((entry) => entry.outcome === 'delivered'),
    bypassesOpen: audit.summary.attacksIn,
    attacks: audit.summary.attacksTotal,
  };
}

/** The corpus now (from the audit's proof) and after the plan (each same transaction against the plan's end state). */
export function corpusRows(audit: AuditResult, after: Snapshot | null, assumptions: Assumptions): CorpusRow[] {
  return audit.proof.map((entry) => {
    const verdictAfter = after ? decide(after, entry.transaction, { assumptions }) : null;
    return {
      id: entry.id,
      kind: entry.kind,
      name: entry.name,
      now: { outcome: entry.outcome, verdict: pick(entry.verdict), reason: reasonOf(entry.verdict) },
      afterPlan: verdictAfter ? { outcome: corpusOutcome(entry, verdictAfter), verdict: pick(verdictAfter), reason: reasonOf(verdictAfter) } : null,
    };
  });
}

/** The plan's phases with their scripts, from a plan built in memory or read from a plan folder. */
export function planSection(files: PlanFiles, source: string, plan?: Plan): PlanSection {
  const phaseIds = Object.keys(files).filter((name) => /^\d\d-[a-z0-9-]+\.ps1$/.test(name) && !name.startsWith('00-')).map((name) => name.replace(/\.ps1$/, ''));
  return {
    source,
    phases: phaseIds.map((id) => ({
      id,
      title: plan?.phases.find((phase) => phase.id === id)?.title ?? id,
      script: files[`${id}.ps1`] ?? '',
      rollback: files[`rollback/${id}.ps1`] ?? null,
      verify: files[`verify/${id}.ps1`] ?? null,
    })),
    warnings: plan?.warnings ?? [],
  };
}

/** Every class of transaction searched for a bypass, now and (when the plan's end state is known) after the plan. */
export function proofSection(snapshot: Snapshot, after: Snapshot | null, profile: GatewayProfile, assumptions: Assumptions): ProofSection {
  return { now: prove(snapshot, { profile, assumptions }), afterPlan: after ? prove(after, { profile, assumptions }) : null };
}
