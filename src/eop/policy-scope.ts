/**
 * Which anti-phishing / anti-spam policy applies to a recipient (eop-behaviour.md §6.4, §6.5; S27, S28, S29).
 *
 * Interface shared by the emulator (Honor DMARC, spoof) and the audit (EOPL-024–029). First version: the default
 * policy (IsDefault, else the first exported, else Microsoft's defaults) for every recipient.
 * TODO(policy applicability): presets (Strict, then Standard), then custom policies by rule priority, default last.
 */
import type { Snapshot } from '../snapshot/schema.js';

export type PolicyKind = 'antiPhish' | 'antiSpam';

export interface ApplyingPolicy {
  /** The policy's properties; `{}` when the snapshot holds none (Microsoft's defaults then apply). */
  policy: Record<string, unknown>;
  /** Its name, or a description of the defaults. */
  name: string;
  /** Where it comes from. */
  source: 'preset-strict' | 'preset-standard' | 'custom' | 'default' | 'defaults';
  /** `applies`: the snapshot shows it applies; `may-apply`: a condition the snapshot cannot resolve (users, groups) decides. */
  certainty: 'applies' | 'may-apply';
  /** Why this policy, in one sentence (for traces and evidence). */
  reason: string;
  /** Its index in the snapshot's section (`AntiPhishPolicy` or `HostedContentFilterPolicy`); null for presets/defaults not exported. */
  index: number | null;
}

const SECTION = { antiPhish: 'AntiPhishPolicy', antiSpam: 'HostedContentFilterPolicy' } as const;
const DEFAULTS_NAME = { antiPhish: 'Office365 AntiPhish Default (defaults)', antiSpam: 'Default (defaults)' } as const;

/** The policy of `kind` that applies to mail for `recipient` (an address). */
export function policyFor(snapshot: Snapshot, kind: PolicyKind, recipient: string): ApplyingPolicy {
  void recipient;
  const policies = snapshot[SECTION[kind]] as Record<string, unknown>[];
  let index = policies.findIndex((entry) => entry.IsDefault === true);
  if (index < 0 && policies.length > 0) index = 0;
  const policy = index >= 0 ? (policies[index] as Record<string, unknown>) : {};
  return {
    policy,
    name: typeof policy.Name === 'string' ? policy.Name : DEFAULTS_NAME[kind],
    source: index >= 0 ? 'default' : 'defaults',
    certainty: 'applies',
    reason: index >= 0 ? 'the default policy' : 'the snapshot holds no policy: Microsoft\'s defaults',
    index: index >= 0 ? index : null,
  };
}
