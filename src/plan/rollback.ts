/**
 * Exact rollback: for each operation, the operation that undoes it, computed from the state just before it. The
 * rollback of a list is the inverses in reverse order. Pure.
 */
import type { Snapshot } from '../snapshot/parse.js';
import { applyOps, propertyOf, type Op, type OpParameters } from './ops.js';
import type { PsValue } from './powershell.js';

/** A stored property value as a parameter value; absent becomes $null (the cmdlet's "clear"). */
function asParameter(value: unknown): PsValue {
  if (value === undefined || value === null) return null;
  if (Array.isArray(value)) return value.map((item) => String(item));
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return JSON.stringify(value);
}

function find<T extends { Name: string }>(items: readonly T[], name: string): T | undefined {
  return items.find((item) => item.Name.toLowerCase() === name.toLowerCase());
}

function previous(target: Record<string, unknown>, cmdlet: Op['cmdlet'], parameters: OpParameters): OpParameters {
  const old: OpParameters = {};
  for (const parameter of Object.keys(parameters)) old[parameter] = asParameter(target[propertyOf(cmdlet, parameter)]);
  return old;
}

/** The operation that undoes `op` on `before` (the state just before it), or null when it changes nothing. */
export function inverse(before: Snapshot, op: Op): Op | null {
  switch (op.cmdlet) {
    case 'Set-OrganizationConfig':
      return { cmdlet: 'Set-OrganizationConfig', parameters: previous(before.OrganizationConfig[0] as Record<string, unknown>, op.cmdlet, op.parameters) };
    case 'New-InboundConnector':
      return { cmdlet: 'Remove-InboundConnector', identity: op.name };
    case 'Set-InboundConnector': {
      const connector = find(before.InboundConnector, op.identity);
      if (!connector) throw new Error(`no inbound connector "${op.identity}"`);
      return { cmdlet: 'Set-InboundConnector', identity: connector.Name, parameters: previous(connector as Record<string, unknown>, op.cmdlet, op.parameters) };
    }
    case 'New-TransportRule':
      return { cmdlet: 'Remove-TransportRule', identity: op.name };
    case 'Set-TransportRule': {
      const rule = find(before.TransportRule, op.identity);
      if (!rule) throw new Error(`no transport rule "${op.identity}"`);
      return { cmdlet: 'Set-TransportRule', identity: rule.Name, parameters: previous(rule as Record<string, unknown>, op.cmdlet, op.parameters) };
    }
    case 'Enable-TransportRule':
    case 'Disable-TransportRule': {
      const rule = find(before.TransportRule, op.identity);
      if (!rule) throw new Error(`no transport rule "${op.identity}"`);
      const wasEnabled = rule.State === 'Enabled';
      if (wasEnabled === (op.cmdlet === 'Enable-TransportRule')) return null;
      return { cmdlet: wasEnabled ? 'Enable-TransportRule' : 'Disable-TransportRule', identity: rule.Name };
    }
    case 'Remove-InboundConnector':
    case 'Remove-TransportRule':
      throw new Error(`${op.cmdlet} is not part of any plan: removing cannot be undone exactly`);
  }
}

/** The rollback of `ops` applied to `snapshot`: undoes them all, last first. */
export function rollbackOps(snapshot: Snapshot, ops: readonly Op[]): Op[] {
  const inverses: Op[] = [];
  let state = snapshot;
  for (const op of ops) {
    const undo = inverse(state, op);
    if (undo) inverses.push(undo);
    state = applyOps(state, [op]);
  }
  return inverses.reverse();
}
