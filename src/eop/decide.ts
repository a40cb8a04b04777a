/**
 * decide(snapshot, transaction, options) → verdict: what Exchange Online Protection does with one inbound SMTP
 * transaction, and why. Pure: no IO, no clock, no randomness. Every step of the trace cites its sources in
 * eop-behaviour.md; every undocumented behaviour it relies on is a named assumption (assumptions.ts).
 *
 * Order (stages.ts): connection → connector match (and the IP Block List) → per recipient (tenant attribution,
 * RejectDirectSend, Partner-connector restriction) → DATA (From header) → transport rules → authentication (Enhanced
 * Filtering, DMARC, Honor DMARC and spoof per recipient's anti-phishing policy, tenant allows) → disposition. What a
 * verdict depends on that was not evaluated or is not emulated makes it `incomplete`, with the reasons.
 *
 * decide() compiles the snapshot once per assumption set (compile.ts) and returns the traced verdict; callers that
 * decide many transactions without reading traces use compile(snapshot, assumptions).decide(transaction).
 */
import type { Snapshot } from '../snapshot/parse.js';
import { resolveAssumptions, type Assumptions } from './assumptions.js';
import { compile, type CompiledPolicy } from './compile.js';
import type { Transaction, Verdict } from './types.js';

export { headerFields } from './stages.js';

export interface DecideOptions {
  /** Assumption overrides (`{ 'attribution-reject-stage': 'data' }`), or already resolved assumptions. */
  assumptions?: Partial<Record<string, string>> | Assumptions;
}

/**
 * What a compiled policy was built from: the snapshot's sections and the switch read directly. A snapshot is a value
 * once loaded; this catches a section replaced or grown in place, and then compiles again.
 */
interface CacheEntry {
  policy: CompiledPolicy;
  sections: readonly unknown[];
  lengths: readonly number[];
  rejectDirectSend: unknown;
}

const SECTIONS = ['InboundConnector', 'AcceptedDomain', 'TransportRule', 'HostedConnectionFilterPolicy', 'OrganizationConfig', 'AntiPhishPolicy', 'Dns'] as const;

const compiled = new WeakMap<Snapshot, Map<string, CacheEntry>>();

function sectionsOf(snapshot: Snapshot): unknown[] {
  return SECTIONS.map((name) => (snapshot as Record<string, unknown>)[name]);
}

function current(entry: CacheEntry, snapshot: Snapshot): boolean {
  for (let index = 0; index < SECTIONS.length; index++) {
    const section = (snapshot as Record<string, unknown>)[SECTIONS[index] as string];
    if (section !== entry.sections[index]) return false;
    if (Array.isArray(section) && section.length !== entry.lengths[index]) return false;
  }
  return snapshot.OrganizationConfig[0]?.RejectDirectSend === entry.rejectDirectSend;
}

/** The compiled policy for a snapshot and assumptions, built on first use and kept while the snapshot lives. */
export function compiledFor(snapshot: Snapshot, assumptions: Assumptions): CompiledPolicy {
  let bySnapshot = compiled.get(snapshot);
  if (!bySnapshot) {
    bySnapshot = new Map();
    compiled.set(snapshot, bySnapshot);
  }
  const key = JSON.stringify(assumptions);
  const entry = bySnapshot.get(key);
  if (entry && current(entry, snapshot)) return entry.policy;
  const sections = sectionsOf(snapshot);
  const policy = compile(snapshot, assumptions);
  bySnapshot.set(key, {
    policy,
    sections,
    lengths: sections.map((section) => (Array.isArray(section) ? section.length : -1)),
    rejectDirectSend: snapshot.OrganizationConfig[0]?.RejectDirectSend,
  });
  return policy;
}

export function decide(snapshot: Snapshot, transaction: Transaction, options: DecideOptions = {}): Verdict {
  const assumptions = resolveAssumptions(options.assumptions as Partial<Record<string, string>> | undefined);
  return compiledFor(snapshot, assumptions).decide(transaction, { trace: true });
}
