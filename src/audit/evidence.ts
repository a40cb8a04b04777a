/**
 * Evidence for a property of a snapshot object, shared by the checks: the value the export holds, or — when the
 * export does not hold the property — that it is absent, with the default Exchange Online applies, instead of the
 * default the snapshot schema filled in as if it had been exported. Pure.
 */
import { isAbsentFromExport } from '../snapshot/absent.js';
import type { Evidence } from './model.js';

/**
 * Exchange Online's defaults for the properties the checks read when the export lacks them, from the cmdlet reference:
 * Set-OrganizationConfig (S1) and New-InboundConnector (S7).
 */
export const EXCHANGE_DEFAULTS: Readonly<Record<string, string>> = {
  RejectDirectSend: 'false',
  RestrictDomainsToIPAddresses: 'false',
  RestrictDomainsToCertificate: 'false',
  RequireTls: 'false',
  EFSkipLastIP: 'false',
  Enabled: 'true',
};

export interface PropertyEvidenceFields {
  /** What was expected, in words. */
  expected?: string;
  /** What the value means. */
  message: string;
  /** Exchange Online's default for the property, in words; EXCHANGE_DEFAULTS when not given. */
  exchangeDefault?: string;
}

/**
 * Evidence for `object[property]` at `path`: `actual` is the exported value, or, when the export does not hold the
 * property, `absent` says so with Exchange Online's default (reports print "absent from the export (Exchange Online's
 * default is false)"). Brief B's filtering checks and the connector checks use it alike.
 */
export function propertyEvidence(object: object, path: string, property: string, fields: PropertyEvidenceFields): Evidence {
  const base = { path, message: fields.message, ...(fields.expected !== undefined ? { expected: fields.expected } : {}) };
  if (isAbsentFromExport(object, property)) {
    return { ...base, absent: { exchangeDefault: fields.exchangeDefault ?? EXCHANGE_DEFAULTS[property] ?? 'not documented' } };
  }
  return { ...base, actual: (object as Record<string, unknown>)[property] };
}

/** True when the export does not hold `property` on `object` (see src/snapshot/absent.ts). */
export { isAbsentFromExport };
