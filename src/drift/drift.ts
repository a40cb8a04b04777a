/**
 * Drift: the lockdown invariants, checked on a snapshot for scheduled runs. A subset of the audit, read as
 * regressions: any failure means the lockdown has loosened. Pure.
 */
import type { Finding } from '../audit/model.js';
import type { AuditResult } from '../audit/model.js';

/** The checks that say whether the lockdown still holds, with what a failure means as a regression. */
export const INVARIANTS: Readonly<Record<string, string>> = {
  'EOPL-001': 'RejectDirectSend was turned off',
  'EOPL-002': 'the gateway connector is gone or disabled',
  'EOPL-003': 'the gateway connector is no longer a Partner connector',
  'EOPL-004': 'the gateway connector no longer covers every sender domain',
  'EOPL-005': 'the gateway connector no longer restricts',
  'EOPL-007': 'gateway addresses are no longer covered (the gateway\'s addresses changed, or the connector did)',
  'EOPL-010': 'the gateway connector no longer requires TLS',
  'EOPL-011': 'the certificate name no longer matches the gateway\'s',
  'EOPL-013': 'the safety-net rule is gone',
  'EOPL-014': 'the safety-net rule was disabled or moved to a test mode',
  'EOPL-015': 'the safety-net rule is shadowed by a higher-priority rule',
  'EOPL-016': 'the safety-net rule no longer excepts every gateway address',
  'EOPL-017': 'the safety-net rule now relies on FromScope NotInOrganization',
  'EOPL-033': 'an accepted domain\'s MX no longer points to the gateway',
  'EOPL-034': 'an accepted domain is not covered by the gateway connector',
  'EOPL-090': 'an attack from the corpus is accepted by EOP without passing the gateway again',
};

export interface DriftResult {
  file: string;
  tenant: string | null;
  /** false when no gateway lockdown was found to check (nothing given, nothing inferred). */
  lockdownFound: boolean;
  regressions: (Finding & { regression: string })[];
  holding: string[];
  notApplicable: string[];
}

export function driftFromAudit(audit: AuditResult): DriftResult {
  const relevant = audit.findings.filter((finding) => finding.id in INVARIANTS);
  return {
    file: audit.file,
    tenant: audit.tenant,
    lockdownFound: audit.profile.origin.kind !== 'none',
    regressions: relevant.filter((finding) => finding.status === 'fail').map((finding) => ({ ...finding, regression: INVARIANTS[finding.id] as string })),
    holding: relevant.filter((finding) => finding.status === 'pass').map((finding) => finding.id),
    notApplicable: relevant.filter((finding) => finding.status === 'not-applicable').map((finding) => finding.id),
  };
}
