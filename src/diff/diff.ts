/**
 * Property-level differences between two snapshots: objects matched by their name in each section. Pure.
 */
import type { Snapshot } from '../snapshot/parse.js';

export interface Change {
  section: string;
  /** The object's name (`From SEG`), or the domain for Dns; `OrganizationConfig` for the organisation. */
  object: string;
  kind: 'added' | 'removed' | 'changed';
  property?: string;
  before?: unknown;
  after?: unknown;
}

/** Properties that change on every export without a configuration change. */
const VOLATILE = /^(When(Changed|Created)(UTC)?|LastChecked|RunspaceId|PSComputerName|PSShowComputerName|ExchangeObjectId|ObjectState|OriginatingServer)$/;

const SECTIONS: readonly { section: keyof Snapshot; key: (item: Record<string, unknown>) => string }[] = [
  { section: 'OrganizationConfig', key: () => 'OrganizationConfig' },
  { section: 'AcceptedDomain', key: (item) => String(item.DomainName) },
  { section: 'InboundConnector', key: (item) => String(item.Name) },
  { section: 'TransportRule', key: (item) => String(item.Name) },
  { section: 'AntiPhishPolicy', key: (item) => String(item.Name ?? item.Identity) },
  { section: 'AntiPhishRule', key: (item) => String(item.Name ?? item.Identity) },
  { section: 'HostedContentFilterPolicy', key: (item) => String(item.Name ?? item.Identity) },
  { section: 'HostedContentFilterRule', key: (item) => String(item.Name ?? item.Identity) },
  { section: 'EOPProtectionPolicyRule', key: (item) => String(item.Name ?? item.Identity) },
  { section: 'ATPProtectionPolicyRule', key: (item) => String(item.Name ?? item.Identity) },
  { section: 'HostedConnectionFilterPolicy', key: (item) => String(item.Name ?? item.Identity) },
  { section: 'DkimSigningConfig', key: (item) => String(item.Domain ?? item.Name) },
];

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

function compareObjects(section: string, object: string, before: Record<string, unknown>, after: Record<string, unknown>, changes: Change[]): void {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((key) => !VOLATILE.test(key)).sort();
  for (const property of keys) {
    if (!same(before[property], after[property])) changes.push({ section, object, kind: 'changed', property, before: before[property] ?? null, after: after[property] ?? null });
  }
}

export function diffSnapshots(before: Snapshot, after: Snapshot): Change[] {
  const changes: Change[] = [];
  for (const { section, key } of SECTIONS) {
    // Rule sections are null when the export could not read them.
    const left = new Map(((before[section] ?? []) as Record<string, unknown>[]).map((item) => [key(item).toLowerCase(), item]));
    const right = new Map(((after[section] ?? []) as Record<string, unknown>[]).map((item) => [key(item).toLowerCase(), item]));
    for (const [name, item] of left) {
      const other = right.get(name);
      if (!other) changes.push({ section, object: key(item), kind: 'removed' });
      else compareObjects(section, key(item), item, other, changes);
    }
    for (const [name, item] of right) if (!left.has(name)) changes.push({ section, object: key(item), kind: 'added' });
  }
  const domains = [...new Set([...Object.keys(before.Dns), ...Object.keys(after.Dns)])].sort();
  for (const domain of domains) {
    const a = before.Dns[domain];
    const b = after.Dns[domain];
    if (!a) changes.push({ section: 'Dns', object: domain, kind: 'added' });
    else if (!b) changes.push({ section: 'Dns', object: domain, kind: 'removed' });
    else compareObjects('Dns', domain, a as Record<string, unknown>, b as Record<string, unknown>, changes);
  }
  return changes;
}
