/**
 * Exact rollback: for each operation, the operation that undoes it, computed from the state just before it. The
 * rollback of a list is the inverses in reverse order. Pure.
 */
import { InputError, formatPath } from '../errors.js';
import type { Snapshot } from '../snapshot/parse.js';
import { applyOps, connectionFilterName, propertyOf, type Op, type OpParameters } from './ops.js';
import type { PsValue } from './powershell.js';

/**
 * A stored property value as the parameter value that sets it again exactly; absent becomes $null (the cmdlet's
 * "clear"). Text, a list of text, true/false and whole numbers are restored as they are; anything else (an object,
 * a list holding something other than text, a fraction) has no exact PowerShell form in a rollback script, so the
 * snapshot is refused rather than the value turned into something else (`[object Object]`, `7` for 7).
 */
function asParameter(value: unknown, where: readonly (string | number)[]): PsValue {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (Array.isArray(value)) {
    const odd = value.findIndex((item) => typeof item !== 'string');
    if (odd < 0) return [...(value as string[])];
    throw new InputError(`the rollback cannot restore this list exactly: it holds ${kindOf(value[odd])}, where Exchange keeps text`, {
      where: formatPath([...where, odd]),
    });
  }
  throw new InputError(`the rollback cannot restore ${kindOf(value)} exactly (expected text, a list of text, true/false or a whole number)`, {
    where: formatPath(where),
  });
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'number') return `the number ${value}`;
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

function find<T extends { Name: string }>(items: readonly T[], name: string): { item: T; index: number } | undefined {
  const index = items.findIndex((item) => item.Name.toLowerCase() === name.toLowerCase());
  const item = items[index];
  return item ? { item, index } : undefined;
}

function previous(target: Record<string, unknown>, at: readonly (string | number)[], cmdlet: Op['cmdlet'], parameters: OpParameters): OpParameters {
  const old: OpParameters = {};
  for (const parameter of Object.keys(parameters)) {
    const property = propertyOf(cmdlet, parameter);
    const value = target[property];
    // New-/Set-TransportRule -Enabled is stored as State: its rollback is -Enabled $true/$false again.
    old[parameter] = property !== parameter && property === 'State' ? value !== 'Disabled' : asParameter(value, [...at, property]);
  }
  return old;
}

/** The operation that undoes `op` on `before` (the state just before it), or null when it changes nothing. */
export function inverse(before: Snapshot, op: Op): Op | null {
  switch (op.cmdlet) {
    case 'Set-OrganizationConfig':
      return { cmdlet: 'Set-OrganizationConfig', parameters: previous(before.OrganizationConfig[0] as Record<string, unknown>, ['OrganizationConfig', 0], op.cmdlet, op.parameters) };
    case 'New-InboundConnector':
      return { cmdlet: 'Remove-InboundConnector', identity: op.name };
    case 'Set-InboundConnector': {
      const found = find(before.InboundConnector, op.identity);
      if (!found) throw new Error(`no inbound connector "${op.identity}"`);
      const at = ['InboundConnector', found.index];
      return { cmdlet: 'Set-InboundConnector', identity: found.item.Name, parameters: previous(found.item as Record<string, unknown>, at, op.cmdlet, op.parameters) };
    }
    case 'New-TransportRule':
      return { cmdlet: 'Remove-TransportRule', identity: op.name };
    case 'Set-TransportRule': {
      const found = find(before.TransportRule, op.identity);
      if (!found) throw new Error(`no transport rule "${op.identity}"`);
      const at = ['TransportRule', found.index];
      return { cmdlet: 'Set-TransportRule', identity: found.item.Name, parameters: previous(found.item as Record<string, unknown>, at, op.cmdlet, op.parameters) };
    }
    case 'Set-HostedConnectionFilterPolicy': {
      const index = before.HostedConnectionFilterPolicy.findIndex((item) => connectionFilterName(item).toLowerCase() === op.identity.toLowerCase());
      const policy = before.HostedConnectionFilterPolicy[index];
      if (!policy) throw new Error(`no connection filter policy "${op.identity}"`);
      const at = ['HostedConnectionFilterPolicy', index];
      return { cmdlet: op.cmdlet, identity: connectionFilterName(policy), parameters: previous(policy as Record<string, unknown>, at, op.cmdlet, op.parameters) };
    }
    case 'Enable-TransportRule':
    case 'Disable-TransportRule': {
      const rule = find(before.TransportRule, op.identity)?.item;
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
