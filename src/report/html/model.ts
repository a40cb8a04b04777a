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
import type { ProofOptions, ProofResult } from '../../prove/types.js';
import type { Snapshot } from '../../snapshot/parse.js';
import type { ImpactResult } from '../../trace/impact.js';
import type { MonitorResult } from '../../trace/monitor.js';
import { SEVERITIES, type Finding, type Severity } from '../../audit/model.js';
import { filledFix, type FilledFix } from './fix.js';

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

export interface CorpusCell {
  outcome: CorpusOutcome;
  verdict: Pick<Verdict, 'action' | 'code' | 'enhanced' | 'text' | 'disposition'>;
  /** The trace step that explains the verdict best. */
  reason: string;
  /** Every step of the emulator's decision, shown on demand. */
  trace: { step: string; detail: string; sources: string[] }[];
}

export interface CorpusRow {
  id: string;
  kind: 'attack' | 'legitimate';
  name: string;
  now: CorpusCell;
  afterPlan: CorpusCell | null;
}

export interface PlanPhaseSection {
  id: string;
  title: string;
  script: string;
  rollback: string | null;
  verify: string | null;
  /** PLAN.md's "What changes" table for the phase: object, property, before, after. */
  changes: string[][];
}

export interface PlanSection {
  source: string;
  phases: PlanPhaseSection[];
  warnings: string[];
}

/** One of the first things to do: a failed finding and its command for this tenant. */
export interface TopAction {
  findingId: string;
  title: string;
  /** What the check found, in one line. */
  summary: string;
  severity: Severity;
  fix: FilledFix;
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
  /** Each failed finding's fix with this tenant's values (by finding id). */
  fixes: Record<string, FilledFix>;
  /** The first things to do: up to three failed findings, most severe first. */
  actions: TopAction[];
  monitor: MonitorResult | null;
  /** Rows of an impact summary among the traces given (`eoplock queries --for impact`): they feed impact, not the monitor. */
  summaryRows?: number;
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

function cell(outcome: CorpusOutcome, verdict: Verdict): CorpusCell {
  return {
    outcome,
    verdict: { action: verdict.action, code: verdict.code, enhanced: verdict.enhanced, text: verdict.text, disposition: verdict.disposition },
    reason: reasonOf(verdict),
    trace: verdict.trace.map((step) => ({ step: step.step, detail: step.detail, sources: step.sources })),
  };
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
      now: cell(entry.outcome, entry.verdict),
      afterPlan: verdictAfter ? cell(corpusOutcome(entry, verdictAfter), verdictAfter) : null,
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
      changes: planChanges(files['PLAN.md'] ?? '').get(id) ?? [],
    })),
    warnings: plan?.warnings ?? [],
  };
}

/** Every class of transaction searched for a bypass, now and (when the plan's end state is known) after the plan. */
export function proofSection(snapshot: Snapshot, after: Snapshot | null, profile: GatewayProfile, assumptions: Assumptions, stopper?: () => () => boolean): ProofSection {
  // `stopper` gives each search its own stop (a time limit: the result then says it is not a proof).
  const options = (): ProofOptions => (stopper ? { profile, assumptions, stop: stopper() } : { profile, assumptions });
  return { now: prove(snapshot, options()), afterPlan: after ? prove(after, options()) : null };
}

/** A Markdown table row's cells, with the escapes PLAN.md writes (`\\|`, `\\*`…) undone. */
function markdownCells(line: string): string[] {
  const cells = line.trim().replace(/^\|/, '').replace(/\|$/, '').split(/(?<!\\)\|/);
  return cells.map((value) => value.trim().replace(/\\([\\`*_{}[\]()#+\-.!|<>])/g, '$1'));
}

/** PLAN.md's "What changes" table of each phase (`## 01-…: title`, then `### What changes`), by phase id. */
export function planChanges(markdown: string): Map<string, string[][]> {
  const tables = new Map<string, string[][]>();
  let phase: string | null = null;
  let inChanges = false;
  for (const line of markdown.split('\n')) {
    const heading = /^## (\d\d-[a-z0-9-]+):/.exec(line);
    if (heading) {
      phase = heading[1] as string;
      inChanges = false;
      continue;
    }
    if (line.startsWith('## ')) phase = null;
    if (line.startsWith('### ')) inChanges = line.trim() === '### What changes';
    if (!phase || !inChanges) continue;
    if (!line.startsWith('|')) {
      // The table ends at its first line that is not a row; what follows (the expected outcomes) is another table.
      if (tables.has(phase)) inChanges = false;
      continue;
    }
    const cells = markdownCells(line);
    if (cells[0] === 'object' || cells.every((value) => /^-+$/.test(value))) continue;
    tables.set(phase, [...(tables.get(phase) ?? []), cells]);
  }
  return tables;
}

/**
 * Failed findings whose fix is a change to make: the class-search summary (evidence only from the proof) is the sum of
 * the others, not a step of its own.
 */
const isConfigurationFinding = (finding: Finding): boolean => finding.status === 'fail' && !finding.evidence.every((item) => item.path.startsWith('proof'));

/** Each failed finding's fix, filled with the tenant's values. */
export function findingFixes(snapshot: Snapshot, audit: AuditResult, flow: MailFlowFacts): Record<string, FilledFix> {
  const fixes: Record<string, FilledFix> = {};
  for (const finding of audit.findings) {
    if (finding.status === 'fail') fixes[finding.id] = filledFix(finding, snapshot, audit.profile, flow.gatewayConnector?.name ?? null, flow.safetyNetRule, audit.file);
  }
  return fixes;
}

/** The first three things to do: failed configuration findings, high severity first, in the catalogue's order. */
export function topActions(audit: AuditResult, fixes: Record<string, FilledFix>, count = 3): TopAction[] {
  return SEVERITIES.flatMap((severity) => audit.findings.filter((finding) => finding.severity === severity && isConfigurationFinding(finding)))
    .slice(0, count)
    .flatMap((finding) => {
      const fix = fixes[finding.id];
      return fix ? [{ findingId: finding.id, title: finding.title, summary: finding.summary, severity: finding.severity, fix }] : [];
    });
}
