/**
 * Drift: the lockdown invariants, checked on a snapshot for scheduled runs. A subset of the audit. Pure.
 *
 * One snapshot says how the tenant is, not how it got there: without a baseline each failing invariant is stated as
 * the current state ("RejectDirectSend is off"). Only with a baseline snapshot, audited against the same gateway, is
 * a failure called a change ("RejectDirectSend was turned off"), and then only when the invariant held in the
 * baseline.
 */
import type { AuditResult, Finding, Status } from '../audit/model.js';
import { objectName } from '../diff/diff.js';
import type { Snapshot } from '../snapshot/parse.js';

export interface Invariant {
  /** What a failure says about the snapshot alone. */
  state: string;
  /** What a failure says when the invariant held in the baseline: true for every way it can stop holding. */
  change: string;
}

/** The checks that say whether the lockdown holds. */
export const INVARIANTS: Readonly<Record<string, Invariant>> = {
  'EOPL-001': { state: 'RejectDirectSend is off', change: 'RejectDirectSend was turned off' },
  'EOPL-002': { state: 'the gateway connector is missing or disabled', change: 'the gateway connector was removed or disabled' },
  'EOPL-003': { state: 'the gateway connector is not a Partner connector', change: 'the gateway connector is no longer a Partner connector' },
  'EOPL-004': { state: 'the gateway connector does not cover every sender domain', change: 'the gateway connector no longer covers every sender domain' },
  'EOPL-005': { state: 'the gateway connector does not restrict', change: 'the gateway connector no longer restricts' },
  'EOPL-007': {
    state: 'gateway addresses are not covered by the gateway connector',
    change: "gateway addresses are no longer covered (the gateway's addresses changed, or the connector did)",
  },
  'EOPL-010': { state: 'the gateway connector does not require TLS', change: 'the gateway connector no longer requires TLS' },
  'EOPL-011': { state: "the certificate name does not match the gateway's", change: "the certificate name no longer matches the gateway's" },
  'EOPL-013': { state: 'there is no safety-net rule', change: 'the safety-net rule is gone or no longer blocks mail from outside the gateway' },
  'EOPL-014': { state: 'the safety-net rule is disabled or in a test mode', change: 'the safety-net rule was disabled or moved to a test mode' },
  'EOPL-015': { state: 'the safety-net rule is shadowed by a higher-priority rule', change: 'the safety-net rule is now shadowed by a higher-priority rule' },
  'EOPL-016': { state: 'the safety-net rule does not except every gateway address', change: 'the safety-net rule no longer excepts every gateway address' },
  'EOPL-017': { state: 'the safety-net rule relies on FromScope NotInOrganization', change: 'the safety-net rule now relies on FromScope NotInOrganization' },
  'EOPL-033': {
    state: "an accepted domain's MX does not point to the gateway",
    change: "an accepted domain's MX no longer points to the gateway, or a domain was added with its MX elsewhere",
  },
  'EOPL-034': {
    state: 'an accepted domain is not covered by the gateway connector',
    change: 'an accepted domain is no longer covered by the gateway connector, or a domain was added that it does not cover',
  },
  'EOPL-090': {
    state: 'an attack from the corpus is accepted by EOP without passing the gateway',
    change: 'an attack from the corpus is now accepted by EOP without passing the gateway',
  },
};

/** A failing invariant. */
export interface DriftItem extends Finding {
  /** The sentence for it: {@link Invariant.state}, or {@link Invariant.change} when it held in the baseline. */
  statement: string;
  /** Its status in the baseline; absent without a baseline. */
  baselineStatus?: Status;
  /** With a baseline: for evidence that points at a property, its value in the baseline object of the same name. */
  baselineValues?: BaselineValue[];
}

export interface BaselineValue {
  /** The evidence path in the snapshot (`OrganizationConfig[0].RejectDirectSend`). */
  path: string;
  section: string;
  /** The object's name in the current snapshot. */
  object: string;
  /** Whether the baseline has the object (matched by name, as `eoplock diff` matches them). */
  objectInBaseline: boolean;
  /** The property's value in the baseline object (null when it is missing there). */
  before: unknown;
}

export interface DriftResult {
  file: string;
  tenant: string | null;
  /** false when no gateway lockdown was found to check (nothing given, nothing inferred). */
  lockdownFound: boolean;
  /** The baseline the snapshot was compared with; null without one. */
  baseline: { file: string; tenant: string | null } | null;
  /** Every invariant that does not hold, each with all of its evidence. */
  failing: DriftItem[];
  holding: string[];
  notApplicable: string[];
  /** With a baseline: the invariants that failed in the baseline and hold now. */
  fixed: string[];
}

/**
 * The invariants of an audit. With `baseline` (the audit of the baseline snapshot against the same gateway profile,
 * and both snapshots), failures are told apart into regressions and those the baseline already had.
 */
export function driftFromAudit(audit: AuditResult, baseline?: { audit: AuditResult; snapshot: Snapshot; current: Snapshot }): DriftResult {
  const relevant = audit.findings.filter((finding) => Object.hasOwn(INVARIANTS, finding.id));
  const before = new Map(baseline?.audit.findings.map((finding) => [finding.id, finding.status]));
  const failing = relevant
    .filter((finding) => finding.status === 'fail')
    .map((finding): DriftItem => {
      const invariant = INVARIANTS[finding.id] as Invariant;
      if (!baseline) return { ...finding, statement: invariant.state };
      const baselineStatus = before.get(finding.id) ?? 'not-applicable';
      const values = finding.evidence.flatMap((evidence) => baselineValue(evidence.path, baseline.snapshot, baseline.current) ?? []);
      return {
        ...finding,
        statement: baselineStatus === 'pass' ? invariant.change : invariant.state,
        baselineStatus,
        ...(values.length > 0 ? { baselineValues: values } : {}),
      };
    });
  return {
    file: audit.file,
    tenant: audit.tenant,
    lockdownFound: audit.profile.origin.kind !== 'none',
    baseline: baseline ? { file: baseline.audit.file, tenant: baseline.audit.tenant } : null,
    failing,
    holding: relevant.filter((finding) => finding.status === 'pass').map((finding) => finding.id),
    notApplicable: relevant.filter((finding) => finding.status === 'not-applicable').map((finding) => finding.id),
    fixed: baseline ? relevant.filter((finding) => finding.status === 'pass' && before.get(finding.id) === 'fail').map((finding) => finding.id) : [],
  };
}

/** `Section[index].Property` (the form audit evidence uses for a property of one object). */
const PROPERTY_PATH = /^([A-Za-z]+)\[(\d+)\]\.([A-Za-z][\w]*)$/;

/** The baseline's value of the property an evidence path names in the current snapshot, found by object name. */
function baselineValue(path: string, baseline: Snapshot, current: Snapshot): BaselineValue | undefined {
  const match = PROPERTY_PATH.exec(path);
  if (!match) return undefined;
  const [, section, index, property] = match as unknown as [string, string, string, string];
  const objects = (current as Record<string, unknown>)[section];
  const earlier = (baseline as Record<string, unknown>)[section];
  if (!Array.isArray(objects) || !Array.isArray(earlier)) return undefined;
  const object = objects[Number(index)] as Record<string, unknown> | undefined;
  if (!object) return undefined;
  const name = objectName(section, object);
  if (name === undefined) return undefined;
  const earlierObject = (earlier as Record<string, unknown>[]).find((item) => objectName(section, item)?.toLowerCase() === name.toLowerCase());
  return { path, section, object: name, objectInBaseline: earlierObject !== undefined, before: earlierObject ? (earlierObject[property] ?? null) : null };
}
