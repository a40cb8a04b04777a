/**
 * Which properties of a snapshot object were missing from the export, before the schema filled in its defaults
 * (RejectDirectSend, RestrictDomainsToIPAddresses … read as false when absent). Reports use it to say "absent from the
 * export (Exchange Online's default is …)" instead of showing a value the export never held. Pure.
 */

/** The sections whose missing properties the schema defaults. */
const DEFAULTED_SECTIONS = ['OrganizationConfig', 'AcceptedDomain', 'InboundConnector', 'TransportRule', 'HostedConnectionFilterPolicy'] as const;

const missingByObject = new WeakMap<object, ReadonlySet<string>>();

/** Records, for each parsed object of the defaulted sections, the properties its input object did not hold. */
export function recordAbsentProperties(document: Readonly<Record<string, unknown>>, snapshot: Readonly<Record<string, unknown>>): void {
  for (const section of DEFAULTED_SECTIONS) {
    const given = document[section];
    const parsed = snapshot[section];
    if (!Array.isArray(given) || !Array.isArray(parsed)) continue;
    parsed.forEach((object: unknown, index) => {
      const input: unknown = given[index];
      if (object === null || typeof object !== 'object' || input === null || typeof input !== 'object') return;
      const missing = Object.keys(object).filter((key) => !Object.hasOwn(input, key));
      if (missing.length > 0) missingByObject.set(object, new Set(missing));
    });
  }
}

/**
 * True when `property` was not in the export: recorded at parse time for the defaulted sections, or simply missing
 * from the object (sections kept as exported, such as AntiPhishPolicy).
 */
export function isAbsentFromExport(object: object, property: string): boolean {
  const recorded = missingByObject.get(object);
  if (recorded?.has(property)) return true;
  return !Object.hasOwn(object, property);
}
