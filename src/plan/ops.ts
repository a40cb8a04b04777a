/**
 * Operations: typed cmdlet calls with exact parameters, and applyOps(snapshot, ops) → the snapshot after them.
 * Pure. The parameter names are the cmdlets' own; the snapshot properties they set are named in PROPERTY_OF.
 */
import type { Snapshot } from '../snapshot/parse.js';
import type { InboundConnector, TransportRule } from '../snapshot/schema.js';
import type { PsValue } from './powershell.js';

export type OpParameters = Record<string, PsValue>;

export type Op =
  | { cmdlet: 'Set-OrganizationConfig'; parameters: OpParameters }
  | { cmdlet: 'New-InboundConnector'; name: string; parameters: OpParameters }
  | { cmdlet: 'Set-InboundConnector'; identity: string; parameters: OpParameters }
  | { cmdlet: 'Remove-InboundConnector'; identity: string }
  | { cmdlet: 'New-TransportRule'; name: string; parameters: OpParameters }
  | { cmdlet: 'Set-TransportRule'; identity: string; parameters: OpParameters }
  | { cmdlet: 'Enable-TransportRule'; identity: string }
  | { cmdlet: 'Disable-TransportRule'; identity: string }
  | { cmdlet: 'Remove-TransportRule'; identity: string }
  | { cmdlet: 'Set-HostedConnectionFilterPolicy'; identity: string; parameters: OpParameters };

/** A cmdlet parameter that is stored under another property name (New-TransportRule -Enabled → State). */
export function propertyOf(cmdlet: Op['cmdlet'], parameter: string): string {
  if ((cmdlet === 'New-TransportRule' || cmdlet === 'Set-TransportRule') && parameter === 'Enabled') return 'State';
  return parameter;
}

/** Multi-valued properties: `$null` clears them, and they are stored as empty lists. */
export const LIST_PARAMETERS: ReadonlySet<string> = new Set([
  'SenderDomains',
  'SenderIPAddresses',
  'AssociatedAcceptedDomains',
  'EFSkipIPs',
  'EFUsers',
  'ExceptIfSenderIpRanges',
  'ExceptIfHeaderContainsWords',
  'SenderIpRanges',
  'HeaderContainsWords',
  'IPAllowList',
]);

/** The stored form of a parameter value (Enabled $true → State 'Enabled'; $null for a list → []). */
export function storedValue(cmdlet: Op['cmdlet'], parameter: string, value: PsValue): unknown {
  if (propertyOf(cmdlet, parameter) === 'State' && parameter === 'Enabled') return value === true ? 'Enabled' : 'Disabled';
  if (value === null && LIST_PARAMETERS.has(parameter)) return [];
  return Array.isArray(value) ? [...value] : value;
}

const byName = <T extends { Name: string }>(items: readonly T[], name: string) =>
  items.findIndex((item) => item.Name.toLowerCase() === name.toLowerCase());

/** Exchange keeps rule priorities contiguous: inserting at p shifts p… down one, removing shifts up (S18). */
function insertRule(rules: TransportRule[], rule: TransportRule, priority: number): void {
  const at = Math.max(0, Math.min(priority, rules.length));
  for (const other of rules) if (other.Priority >= at) other.Priority += 1;
  rule.Priority = at;
  rules.push(rule);
}

function removeRule(rules: TransportRule[], index: number): TransportRule {
  const [removed] = rules.splice(index, 1);
  if (!removed) throw new Error('no rule at that index');
  for (const other of rules) if (other.Priority > removed.Priority) other.Priority -= 1;
  return removed;
}

function setProperties(target: Record<string, unknown>, op: Op & { parameters: OpParameters }): void {
  for (const [parameter, value] of Object.entries(op.parameters)) {
    if (parameter === 'Priority') continue;
    target[propertyOf(op.cmdlet, parameter)] = storedValue(op.cmdlet, parameter, value);
  }
}

/** A connection filter policy's name: the export may leave it out for the one policy there is, "Default". */
export function connectionFilterName(policy: { Name?: string | null | undefined }): string {
  return policy.Name ?? 'Default';
}

/** The snapshot after the operations. The input is not changed. Throws when an operation names something absent. */
export function applyOps(snapshot: Snapshot, ops: readonly Op[]): Snapshot {
  const next = structuredClone(snapshot);
  for (const op of ops) {
    switch (op.cmdlet) {
      case 'Set-OrganizationConfig': {
        const org = next.OrganizationConfig[0];
        if (!org) throw new Error('no OrganizationConfig');
        setProperties(org as Record<string, unknown>, op);
        break;
      }
      case 'New-InboundConnector': {
        if (byName(next.InboundConnector, op.name) >= 0) throw new Error(`inbound connector "${op.name}" already exists`);
        const connector = {
          Name: op.name,
          Enabled: true,
          ConnectorType: 'Partner',
          SenderDomains: [],
          SenderIPAddresses: [],
          TlsSenderCertificateName: null,
          RestrictDomainsToIPAddresses: false,
          RestrictDomainsToCertificate: false,
          RequireTls: false,
          AssociatedAcceptedDomains: [],
          TrustedOrganizations: [],
          TreatMessagesAsInternal: false,
          CloudServicesMailEnabled: false,
          EFSkipLastIP: false,
          EFSkipIPs: [],
          EFUsers: [],
        } as InboundConnector;
        setProperties(connector as Record<string, unknown>, op);
        next.InboundConnector.push(connector);
        break;
      }
      case 'Set-InboundConnector': {
        const index = byName(next.InboundConnector, op.identity);
        const connector = next.InboundConnector[index];
        if (!connector) throw new Error(`no inbound connector "${op.identity}"`);
        setProperties(connector as Record<string, unknown>, op);
        break;
      }
      case 'Remove-InboundConnector': {
        const index = byName(next.InboundConnector, op.identity);
        if (index < 0) throw new Error(`no inbound connector "${op.identity}"`);
        next.InboundConnector.splice(index, 1);
        break;
      }
      case 'New-TransportRule': {
        if (byName(next.TransportRule, op.name) >= 0) throw new Error(`transport rule "${op.name}" already exists`);
        const rule = { Name: op.name, Priority: 0, State: 'Enabled', Mode: 'Enforce', StopRuleProcessing: false } as TransportRule;
        setProperties(rule as Record<string, unknown>, op);
        const priority = typeof op.parameters.Priority === 'number' ? op.parameters.Priority : next.TransportRule.length;
        insertRule(next.TransportRule, rule, priority);
        break;
      }
      case 'Set-TransportRule': {
        const index = byName(next.TransportRule, op.identity);
        const rule = next.TransportRule[index];
        if (!rule) throw new Error(`no transport rule "${op.identity}"`);
        setProperties(rule as Record<string, unknown>, op);
        if (typeof op.parameters.Priority === 'number' && op.parameters.Priority !== rule.Priority) {
          insertRule(next.TransportRule, removeRule(next.TransportRule, index), op.parameters.Priority);
        }
        break;
      }
      case 'Enable-TransportRule':
      case 'Disable-TransportRule': {
        const rule = next.TransportRule[byName(next.TransportRule, op.identity)];
        if (!rule) throw new Error(`no transport rule "${op.identity}"`);
        rule.State = op.cmdlet === 'Enable-TransportRule' ? 'Enabled' : 'Disabled';
        break;
      }
      case 'Set-HostedConnectionFilterPolicy': {
        const policy = next.HostedConnectionFilterPolicy.find((item) => connectionFilterName(item).toLowerCase() === op.identity.toLowerCase());
        if (!policy) throw new Error(`no connection filter policy "${op.identity}"`);
        setProperties(policy as Record<string, unknown>, op);
        break;
      }
      case 'Remove-TransportRule': {
        const index = byName(next.TransportRule, op.identity);
        if (index < 0) throw new Error(`no transport rule "${op.identity}"`);
        removeRule(next.TransportRule, index);
        break;
      }
    }
  }
  return next;
}
