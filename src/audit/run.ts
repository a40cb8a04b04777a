/**
 * runAudit(snapshot, profile) → the audit result: every check of the catalogue, plus the proof. Pure.
 */
import type { Prove } from '../prove/types.js';
import { DEFAULT_ASSUMPTIONS, type Assumptions } from '../eop/assumptions.js';
import { SOURCES } from '../eop/sources.js';
import type { GatewayProfile } from '../profile/profile.js';
import type { Snapshot } from '../snapshot/parse.js';
import { CATALOGUE } from './catalogue.js';
import { CONNECTOR_CHECKS } from './checks/connectors.js';
import { DNS_AND_PROOF_CHECKS } from './checks/dns-and-proof.js';
import { FILTERING_CHECKS } from './checks/filtering.js';
import { RULE_CHECKS } from './checks/rules.js';
import { buildContext, type AuditContext } from './context.js';
import { SEVERITIES, type AuditResult, type CheckOutcome, type Finding, type Severity } from './model.js';

/** Every check's logic, by id. A test keeps this and the catalogue in step. */
export const CHECK_IMPLEMENTATIONS: Readonly<Record<string, (context: AuditContext) => CheckOutcome>> = {
  ...CONNECTOR_CHECKS,
  ...RULE_CHECKS,
  ...FILTERING_CHECKS,
  ...DNS_AND_PROOF_CHECKS,
};

export interface AuditOptions {
  file: string;
  assumptions?: Assumptions;
  /**
   * EOPL-090/091 search every class of transaction with this function (src/prove's `prove`) instead of judging the
   * corpus alone. Not given by default: the search takes seconds on a tenant, against about 0.25 s for the rest of an
   * audit (`audit --prove` gives it).
   */
  classSearch?: Prove;
}

export function runAudit(snapshot: Snapshot, profile: GatewayProfile, options: AuditOptions): AuditResult {
  const context = buildContext(snapshot, profile, options.assumptions ?? DEFAULT_ASSUMPTIONS);
  context.classSearch = options.classSearch ?? null;
  const findings: Finding[] = CATALOGUE.map((meta) => {
    const implementation = CHECK_IMPLEMENTATIONS[meta.id];
    if (!implementation) throw new Error(`check ${meta.id} has no implementation`);
    const outcome = implementation(context);
    return {
      id: meta.id,
      title: meta.title,
      severity: meta.severity,
      status: outcome.status,
      summary: outcome.summary,
      evidence: outcome.evidence,
      why: meta.why,
      remediation: meta.fix,
      references: meta.sources.flatMap((id) => {
        const source = SOURCES[id];
        return source ? [{ id, ...source }] : [];
      }),
      controls: meta.controls,
    };
  });
  const failedBySeverity = Object.fromEntries(SEVERITIES.map((severity) => [severity, 0])) as Record<Severity, number>;
  for (const finding of findings) if (finding.status === 'fail') failedBySeverity[finding.severity]++;
  const attacks = context.proof.filter((entry) => entry.kind === 'attack');
  const legitimate = context.proof.filter((entry) => entry.kind === 'legitimate');
  return {
    file: options.file,
    tenant: snapshot.Meta.tenant ?? snapshot.Meta.initialDomain ?? null,
    capturedAt: snapshot.Meta.capturedAt ?? null,
    profile,
    summary: {
      passed: findings.filter((finding) => finding.status === 'pass').length,
      failed: findings.filter((finding) => finding.status === 'fail').length,
      notApplicable: findings.filter((finding) => finding.status === 'not-applicable').length,
      failedBySeverity,
      attacksIn: attacks.filter((entry) => entry.outcome === 'got-in').length,
      attacksTotal: attacks.length,
      legitimateBroken: legitimate.filter((entry) => entry.outcome === 'broken').length,
      legitimateTotal: legitimate.length,
    },
    findings,
    proof: context.proof,
  };
}

/** True when a finding at or above `threshold` failed. `none` never fails. */
export function failsAt(result: AuditResult, threshold: Severity | 'none'): boolean {
  if (threshold === 'none') return false;
  const rank = SEVERITIES.indexOf(threshold);
  return result.findings.some((finding) => finding.status === 'fail' && SEVERITIES.indexOf(finding.severity) <= rank);
}
