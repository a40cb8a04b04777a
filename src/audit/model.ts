/**
 * The audit's result model. Every renderer (text, JSON, SARIF, JUnit) reads this and computes nothing.
 */
import type { CorpusKind, CorpusOutcome } from '../corpus/builtin.js';
import type { Transaction, Verdict } from '../eop/types.js';
import type { GatewayProfile } from '../profile/profile.js';

export type Severity = 'high' | 'medium' | 'low';
export type Status = 'pass' | 'fail' | 'not-applicable';
export const SEVERITIES: readonly Severity[] = ['high', 'medium', 'low'];

/**
 * How a framework's control relates to a check, judged against the control's own text: `exact` (the control asks
 * what the check tests), `partial` (they overlap; one is stricter or covers more — `why` says how), `related` (the same
 * subject, a different requirement), `proposed` (the id is not in a published version of the framework).
 */
export type ControlRelation = 'exact' | 'partial' | 'related' | 'proposed';
export const CONTROL_RELATIONS: readonly ControlRelation[] = ['exact', 'partial', 'related', 'proposed'];

export interface Control {
  /** `CIS`, `SCuBA`, `ORCA`, `Maester`, `CIPP`. */
  framework: string;
  id: string;
  relation: ControlRelation;
  /** One line: where the control and the check differ, or where the id comes from. Required unless `exact`. */
  why?: string;
}

/** A check's description, as data. */
export interface CheckMeta {
  id: string;
  title: string;
  severity: Severity;
  /** Why it matters, in a paragraph. */
  why: string;
  /** How to fix it (PowerShell where it helps). */
  fix: string;
  /** Source IDs from eop-behaviour.md (resolved to URLs by SOURCES). */
  sources: string[];
  controls: Control[];
}

export interface Evidence {
  /** JSON path in the snapshot (`InboundConnector[1].RestrictDomainsToIPAddresses`), or `profile` / `proof`. */
  path: string;
  /** The value found; absent when the export does not hold the property (see `absent`). */
  actual?: unknown;
  /** The property is missing from the export; the check judged Exchange Online's default for it (src/audit/evidence.ts). */
  absent?: { exchangeDefault: string };
  /** What was expected, in words. */
  expected?: string;
  /** 1-based line of `path` in the snapshot file, filled in at the file edge for reports that point into files. */
  line?: number;
  message: string;
  /** For proof: the transaction and the emulator's verdict. */
  transaction?: Transaction;
  verdict?: Pick<Verdict, 'action' | 'stage' | 'code' | 'enhanced' | 'text' | 'disposition' | 'connector' | 'trace' | 'assumptions'>;
}

export interface CheckOutcome {
  status: Status;
  /** One line: what was found. */
  summary: string;
  /** For failures: each offending item. For passes: what satisfied the check (may be empty). */
  evidence: Evidence[];
}

export interface Finding extends CheckOutcome {
  id: string;
  title: string;
  severity: Severity;
  why: string;
  remediation: string;
  references: { id: string; title: string; url: string }[];
  controls: Control[];
}

export interface ProofEntry {
  id: string;
  kind: CorpusKind;
  name: string;
  description: string;
  outcome: CorpusOutcome;
  transaction: Transaction;
  verdict: Verdict;
}

export interface AuditSummary {
  passed: number;
  failed: number;
  notApplicable: number;
  failedBySeverity: Record<Severity, number>;
  attacksIn: number;
  attacksTotal: number;
  legitimateBroken: number;
  legitimateTotal: number;
}

export interface AuditResult {
  file: string;
  tenant: string | null;
  capturedAt: string | null;
  profile: GatewayProfile;
  summary: AuditSummary;
  findings: Finding[];
  proof: ProofEntry[];
}
