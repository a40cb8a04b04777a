/**
 * Real-world quirks of cmdlet JSON, undone before validation. Pure: plain data in, plain data out, plus a list of
 * notes saying what was changed and where. Sources: eop-behaviour.md §3.4 and §11.9, libraries.md §1.9.
 */
import { InputError, formatPath } from '../errors.js';
import { MAX_NESTING } from '../util/json-text.js';

export interface NormalisationNote {
  /** JSON path of the value that was changed. */
  path: string;
  /** What kind of quirk it was. */
  kind:
    | 'wrapped-in-array'
    | 'value-count-unwrapped'
    | 'type-annotation-removed'
    | 'date-converted'
    | 'enum-number-mapped'
    | 'boolean-string'
    | 'list-split'
    | 'address-space'
    | 'null-list';
  detail: string;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Path = (string | number)[];

/** `"\/Date(1700000000000)\/"` as written by Windows PowerShell 5.1 (JSON.parse leaves `/Date(…)/`). */
const MS_DATE = /^\/Date\((-?\d{1,16})([+-]\d{4})?\)\/$/;
/** The milliseconds either side of 1970 a JavaScript date reaches (ECMA-262 §21.4.1.1); .NET's DateTime fits. */
const MAX_DATE_MS = 8.64e15;
/** Type annotations added by the EXO admin REST API. */
const TYPE_SIDECAR = /@(?:data|odata)\.type$/;
/** What `ConvertTo-Json` writes when an object lies deeper than `-Depth`: the object's type name or a hashtable. */
const TRUNCATED = [
  /^System\.(?:Collections\.|Object\[\]|Management\.Automation\.PSObject|Management\.Automation\.PSCustomObject)[\w.`[\]]*$/,
  /^Microsoft\.Exchange\.[\w.]+`\d+\[.*\]$/,
  /^Microsoft\.Exchange\.Data\.(?:MultiValuedProperty|ByteQuantifiedSize|Unlimited)\b/,
  /^Deserialized\.[\w.`[\]]+$/,
  /^@\{[A-Za-z_][\w]*=.*\}$/s,
];

/** Properties whose values are .NET type names by design (Get-TransportRule's Conditions, Exceptions, Actions). */
const TYPE_NAME_PROPERTIES = new Set(['Conditions', 'Exceptions', 'Actions']);

/**
 * Enum values as numbers (Windows PowerShell 5.1 without `-EnumsAsStrings`), by property name. The numbers are the
 * .NET enum values of Exchange's types (named in each comment); every mapping used is reported as a note.
 */
export const ENUM_NUMBERS: Readonly<Record<string, Readonly<Record<number, string>>>> = {
  // Microsoft.Exchange.Data.Directory.SystemConfiguration.AcceptedDomainType
  DomainType: { 0: 'Authoritative', 1: 'ExternalRelay', 2: 'InternalRelay' },
  // Microsoft.Exchange.Data.TenantConnectorType (OnPremises = 1)
  ConnectorType: { 1: 'OnPremises', 2: 'Partner' },
  // Microsoft.Exchange.MessagingPolicies.Rules.RuleMode (Audit = 1)
  Mode: { 1: 'Audit', 2: 'AuditAndNotify', 3: 'Enforce' },
  // Microsoft.Exchange.MessagingPolicies.Rules.RuleState
  State: { 0: 'Enabled', 1: 'Disabled' },
  // Microsoft.Exchange.MessagingPolicies.Rules.Tasks.FromUserScope
  FromScope: { 0: 'InOrganization', 1: 'NotInOrganization' },
  ExceptIfFromScope: { 0: 'InOrganization', 1: 'NotInOrganization' },
  // Microsoft.Exchange.MessagingPolicies.Rules.Tasks.ToUserScope
  SentToScope: { 0: 'InOrganization', 1: 'NotInOrganization', 2: 'ExternalPartner', 3: 'ExternalNonPartner' },
  ExceptIfSentToScope: { 0: 'InOrganization', 1: 'NotInOrganization', 2: 'ExternalPartner', 3: 'ExternalNonPartner' },
};

/** Properties that hold booleans in the sections eoplock reads. */
const BOOLEAN_PROPERTIES = new Set([
  'RejectDirectSend',
  'Default',
  'MatchSubDomains',
  'InitialDomain',
  'Enabled',
  'RestrictDomainsToIPAddresses',
  'RestrictDomainsToCertificate',
  'RequireTls',
  'TreatMessagesAsInternal',
  'CloudServicesMailEnabled',
  'EFSkipLastIP',
  'StopRuleProcessing',
  'Quarantine',
  'DeleteMessage',
  'EnableSpoofIntelligence',
  'HonorDmarcPolicy',
  'IsDefault',
]);

/** Lists whose items never contain spaces or commas, so a flattened string can be split safely. */
const SPLITTABLE_LISTS = new Set([
  'SenderDomains',
  'SenderIPAddresses',
  'AssociatedAcceptedDomains',
  'EFSkipIPs',
  'IPAllowList',
  'IPBlockList',
  ...['SenderIpRanges', 'SenderDomainIs', 'RecipientDomainIs'].flatMap((name) => [name, `ExceptIf${name}`]),
]);

/** Multi-valued properties (Exchange MultiValuedProperty) that eoplock reads as lists. */
const LIST_PROPERTIES = new Set([
  ...SPLITTABLE_LISTS,
  'TrustedOrganizations',
  'EFUsers',
  ...['From', 'HeaderContainsWords', 'HeaderMatchesPatterns'].flatMap((name) => [name, `ExceptIf${name}`]),
  // Recipients and groups of policy rules: names may hold spaces, so a flattened string is one value.
  ...['SentTo', 'SentToMemberOf'].flatMap((name) => [name, `ExceptIf${name}`]),
]);

/** Top-level sections that hold cmdlet output (an object or an array). */
export const CMDLET_SECTIONS = [
  'OrganizationConfig',
  'AcceptedDomain',
  'InboundConnector',
  'TransportRule',
  'AntiPhishPolicy',
  'AntiPhishRule',
  'HostedContentFilterPolicy',
  'HostedContentFilterRule',
  'HostedConnectionFilterPolicy',
  'DkimSigningConfig',
  'EOPProtectionPolicyRule',
  'ATPProtectionPolicyRule',
] as const;
export type CmdletSection = (typeof CMDLET_SECTIONS)[number];

/**
 * Undoes the known quirks. Returns a new document (the input is not changed) and notes for every change.
 * Throws {@link InputError} naming the JSON path when the export was truncated by a too-small `-Depth`, when a
 * `/Date(…)/` is not a date, when an enum number is unknown, and when objects and arrays nest more than
 * {@link MAX_NESTING} levels deep (real exports need < 10; the limit keeps every later walk over the document, such
 * as validation, structuredClone and JSON.stringify, far from the stack's end).
 */
export function undoQuirks(input: unknown): { document: Record<string, unknown>; notes: NormalisationNote[] } {
  const notes: NormalisationNote[] = [];
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new InputError('a snapshot is a JSON object with keys such as OrganizationConfig and AcceptedDomain', {
      where: '(document root)',
    });
  }
  const cleaned = clean(input as Json, [], notes) as Record<string, Json>;

  for (const section of CMDLET_SECTIONS) {
    const value = cleaned[section];
    if (value === undefined || value === null) continue;
    if (!Array.isArray(value)) {
      if (typeof value === 'object') {
        cleaned[section] = [value];
        notes.push({ path: section, kind: 'wrapped-in-array', detail: 'a single object was wrapped in an array' });
      }
      continue;
    }
  }
  for (const section of CMDLET_SECTIONS) {
    const items = cleaned[section];
    if (!Array.isArray(items)) continue;
    items.forEach((item, index) => {
      if (item && typeof item === 'object' && !Array.isArray(item)) {
        normaliseObject(item as Record<string, Json>, [section, index], notes);
      }
    });
  }
  return { document: cleaned, notes };
}

/** Could this string be a truncation marker? A cheap test before the regular expressions. */
function maybeTruncated(value: string): boolean {
  const first = value.charCodeAt(0);
  return (
    (first === 0x53 /* S */ && value.startsWith('System.')) ||
    (first === 0x4d /* M */ && value.startsWith('Microsoft.Exchange.')) ||
    (first === 0x44 /* D */ && value.startsWith('Deserialized.')) ||
    (first === 0x40 /* @ */ && value.startsWith('@{'))
  );
}

/** Generic pass over every value: sidecars, dates, truncation. `path` is a shared stack, copied only when reported. */
function clean(value: Json, path: Path, notes: NormalisationNote[]): Json {
  if (typeof value === 'string') {
    if (maybeTruncated(value.trimStart())) {
      const owner = path.findLast((key): key is string => typeof key === 'string');
      const patterns = owner !== undefined && TYPE_NAME_PROPERTIES.has(owner) ? [] : TRUNCATED;
      if (patterns.some((pattern) => pattern.test(value.trim()))) {
        throw new InputError(
          `the value "${value.length > 80 ? `${value.slice(0, 77)}...` : value}" is what ConvertTo-Json writes ` +
            'for an object deeper than its -Depth: the export was truncated. Re-export with ' +
            '"ConvertTo-Json -Depth 10" (scripts/Export-EoplockSnapshot.ps1 does this)',
          { where: formatPath(path) },
        );
      }
    }
    if (value.startsWith('/Date(') && value.endsWith(')/')) {
      const date = MS_DATE.exec(value);
      const ms = date ? Number(date[1]) : NaN;
      if (!(Math.abs(ms) <= MAX_DATE_MS)) {
        throw new InputError(
          `"${value.length > 80 ? `${value.slice(0, 77)}...` : value}" is not a date as Windows PowerShell writes one: ` +
            `expected /Date(milliseconds since 1970)/ within ±${MAX_DATE_MS} ms, optionally with an offset such as +0100`,
          { where: formatPath(path) },
        );
      }
      const iso = new Date(ms).toISOString();
      notes.push({ path: formatPath(path), kind: 'date-converted', detail: `${value} → ${iso}` });
      return iso;
    }
    return value;
  }
  if (value !== null && typeof value === 'object' && path.length >= MAX_NESTING) {
    throw new InputError(`objects and arrays are nested more than ${MAX_NESTING} levels deep; a snapshot needs far fewer`, {
      where: formatPath(path),
    });
  }
  if (Array.isArray(value)) {
    const out = new Array<Json>(value.length);
    for (let index = 0; index < value.length; index++) {
      path.push(index);
      out[index] = clean(value[index] as Json, path, notes);
      path.pop();
    }
    return out;
  }
  if (value && typeof value === 'object') {
    const wrapped = path.length > 0 ? countWrapped(value) : undefined;
    if (wrapped) {
      notes.push({
        path: formatPath(path),
        kind: 'value-count-unwrapped',
        detail: `{"value": [...], "Count": ${wrapped.length}} (Windows PowerShell 5.1) → its list of ${wrapped.length}`,
      });
      return clean(wrapped, path, notes);
    }
    const out: Record<string, Json> = {};
    for (const key of Object.keys(value)) {
      const child = value[key] as Json;
      if (key.includes('@') && TYPE_SIDECAR.test(key)) {
        notes.push({ path: formatPath([...path, key]), kind: 'type-annotation-removed', detail: describeAnnotation(child) });
        continue;
      }
      path.push(key);
      const cleaned = clean(child, path, notes);
      // A key named __proto__ stays an ordinary property (as JSON.parse made it), not the object's prototype.
      if (key === '__proto__') Object.defineProperty(out, key, { value: cleaned, enumerable: true, writable: true, configurable: true });
      else out[key] = cleaned;
      path.pop();
    }
    return out;
  }
  return value;
}

/**
 * The array inside `{"value": [...], "Count": n}`: how Windows PowerShell 5.1's ConvertTo-Json writes an array that
 * reaches it as a single object (an array property of a PSObject, `Write-Output -NoEnumerate`, the output of
 * ConvertFrom-Json), because of the `Count` property its type data adds to System.Array
 * (https://github.com/PowerShell/PowerShell/issues/3153, https://github.com/PowerShell/PowerShell/issues/5579,
 * https://stackoverflow.com/a/38212718; PowerShell 6 and later write the array). Only an object with exactly these
 * two keys, whose `Count` is the length of `value`, is taken for the wrapper; anything else is data.
 */
function countWrapped(value: { [key: string]: Json }): Json[] | undefined {
  let keys = 0;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (++keys > 2 || (key !== 'value' && key !== 'Count')) return undefined;
  }
  const list = value.value;
  return keys === 2 && Array.isArray(list) && value.Count === list.length ? list : undefined;
}

/** What a removed type annotation said: its text (the REST API writes strings), or what kind of value it was. */
function describeAnnotation(value: Json): string {
  if (typeof value === 'string') return value;
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? '(a list)' : '(an object)';
}

/** Per-object pass over the properties eoplock reads. Changes `item` in place (it is already a copy). */
function normaliseObject(item: Record<string, Json>, path: Path, notes: NormalisationNote[]): void {
  for (const [key, value] of Object.entries(item)) {
    // Own properties only: a key such as "constructor" or "__proto__" is not an enum of Object.prototype.
    const names = Object.hasOwn(ENUM_NUMBERS, key) ? ENUM_NUMBERS[key] : undefined;
    if (!names && !BOOLEAN_PROPERTIES.has(key) && !LIST_PROPERTIES.has(key)) continue;
    const at = formatPath([...path, key]);
    if (names && typeof value === 'number') {
      const name = Object.hasOwn(names, value) ? names[value] : undefined;
      if (name === undefined) {
        throw new InputError(
          `${key} is the number ${value}, which is not a known ${key} value (${Object.entries(names).map(([n, v]) => `${n} = ${v}`).join(', ')})`,
          {
            where: at,
          },
        );
      }
      item[key] = name;
      notes.push({ path: at, kind: 'enum-number-mapped', detail: `${value} → ${name}` });
      continue;
    }
    if (BOOLEAN_PROPERTIES.has(key) && typeof value === 'string' && /^(true|false)$/i.test(value)) {
      item[key] = value.toLowerCase() === 'true';
      notes.push({ path: at, kind: 'boolean-string', detail: `"${value}" → ${item[key]}` });
      continue;
    }
    if (LIST_PROPERTIES.has(key)) {
      if (value === null) {
        item[key] = [];
        continue;
      }
      if (typeof value === 'string') {
        const parts =
          SPLITTABLE_LISTS.has(key) && /[\s,]/.test(value.trim())
            ? value.split(/[\s,]+/).filter((part) => part.length > 0)
            : value.length > 0
              ? [value]
              : [];
        if (parts.length > 1) notes.push({ path: at, kind: 'list-split', detail: `"${value}" → ${parts.length} items` });
        item[key] = parts;
      }
      if (key === 'SenderDomains' && Array.isArray(item[key])) {
        item[key] = (item[key] as Json[]).map((entry, index) => {
          if (typeof entry !== 'string') return entry;
          const plain = addressSpaceDomain(entry);
          if (plain !== entry) {
            notes.push({ path: formatPath([...path, key, index]), kind: 'address-space', detail: `"${entry}" → "${plain}"` });
          }
          return plain;
        });
      }
    }
  }
}

/** `smtp:*;1` → `*`; `SMTP:contoso.com;1` → `contoso.com`; anything else unchanged. */
export function addressSpaceDomain(entry: string): string {
  const match = /^\s*(?:smtp:)?([^;]+?)(?:;\d+)?\s*$/i.exec(entry);
  return match?.[1] ?? entry;
}
