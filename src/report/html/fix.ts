/**
 * A finding's fix with the values eoplock knows filled in (pure): the catalogue words its commands for any tenant
 * (`-Identity '<gateway connector>'`), and the page shows the command for this one — the connector, rule, policy or
 * domain the finding's evidence names, the gateway's addresses and certificate from the profile. A value only the
 * admin knows (the domain's other senders, a reports address) stays marked as one to supply.
 */
import type { Finding } from '../../audit/model.js';
import type { GatewayProfile } from '../../profile/profile.js';
import type { Snapshot } from '../../snapshot/parse.js';

export interface FilledFix {
  /** The fix with every placeholder eoplock can fill replaced by the value; lines repeat for each object named. */
  text: string;
  /** Placeholders left in `text` (`<your senders>`): values only the admin knows. */
  toSupply: string[];
}

/** The objects a finding's evidence points at: `InboundConnector[1].Restrict…` → collection and index. */
function evidenceObjects(finding: Finding, snapshot: Snapshot): { collection: string; item: Record<string, unknown> }[] {
  const objects: { collection: string; item: Record<string, unknown> }[] = [];
  const tables = snapshot as unknown as Record<string, unknown>;
  for (const evidence of finding.evidence) {
    const match = /^([A-Za-z]+)\[(\d+)\]/.exec(evidence.path);
    if (!match) continue;
    const table = tables[match[1] as string];
    const item = Array.isArray(table) ? (table[Number(match[2])] as Record<string, unknown> | undefined) : undefined;
    if (item && !objects.some((known) => known.item === item)) objects.push({ collection: match[1] as string, item });
  }
  return objects;
}

const text = (value: unknown): string | null => (typeof value === 'string' && value.length > 0 ? value : null);
const unique = (values: (string | null)[]): string[] => [...new Set(values.filter((value): value is string => value !== null))];

/** The domains a finding names: DKIM configurations, accepted domains and DNS lookups (`Dns["contoso.com"]`). */
function evidenceDomains(finding: Finding, snapshot: Snapshot): string[] {
  const fromObjects = evidenceObjects(finding, snapshot).map(({ collection, item }) =>
    collection === 'DkimSigningConfig' ? text(item.Domain) ?? text(item.Identity) : collection === 'AcceptedDomain' ? text(item.DomainName) : null,
  );
  const fromDns = finding.evidence.map((evidence) => /^Dns\["([^"]+)"\]/.exec(evidence.path)?.[1] ?? null);
  return unique([...fromObjects, ...fromDns]);
}

/** The values each placeholder stands for on this tenant; an empty list when eoplock cannot know it. */
function placeholderValues(finding: Finding, snapshot: Snapshot, profile: GatewayProfile, gatewayConnectorName: string | null, safetyNetRule: string | null, file: string): Record<string, string[]> {
  const objects = evidenceObjects(finding, snapshot);
  const named = (collections: string[]) => unique(objects.filter(({ collection }) => collections.includes(collection)).map(({ item }) => text(item.Name) ?? text(item.Identity)));
  const connectors = named(['InboundConnector']);
  const rules = named(['TransportRule']);
  const gatewayConnector = connectors.length > 0 ? connectors : unique([gatewayConnectorName]);
  const gatewayIps = profile.ips.length > 0 ? [profile.ips.join(',')] : [];
  const connectorIps = objects.filter(({ collection }) => collection === 'InboundConnector').flatMap(({ item }) => (Array.isArray(item.SenderIPAddresses) ? item.SenderIPAddresses.map(String) : []));
  const ipLike = (value: unknown) => typeof value === 'string' && /^[0-9a-f:.]+(\/\d+)?$/i.test(value);
  const addresses = unique(finding.evidence.flatMap((evidence) => (Array.isArray(evidence.actual) ? evidence.actual : [evidence.actual]).filter(ipLike).map(String)));
  return {
    '<gateway connector>': gatewayConnector,
    '<connector>': connectors,
    '<missing address>': profile.ips.filter((ip) => !connectorIps.includes(ip)),
    '<address>': addresses,
    '<gateway certificate name>': unique([profile.certificateName]),
    '<rule>': rules,
    '<safety-net rule>': rules.length > 0 ? rules : unique([safetyNetRule]),
    '<every gateway address>': gatewayIps,
    '<gateway addresses>': gatewayIps,
    '<gateway IPs>': gatewayIps,
    '<policy>': named(['AntiPhishPolicy', 'HostedContentFilterPolicy']),
    '<domain>': evidenceDomains(finding, snapshot),
    '<snapshot>': [file],
  };
}

const PLACEHOLDER = /<[a-z][^<>\n]*>/gi;

/** The finding's fix for this tenant. */
export function filledFix(finding: Finding, snapshot: Snapshot, profile: GatewayProfile, gatewayConnectorName: string | null, safetyNetRule: string | null, file: string): FilledFix {
  const values = placeholderValues(finding, snapshot, profile, gatewayConnectorName, safetyNetRule, file);
  const toSupply = new Set<string>();
  const lines = finding.remediation.split('\n').flatMap((line) => {
    // A placeholder naming several objects (two policies, three domains) repeats its line once per object.
    const repeated = (line.match(PLACEHOLDER) ?? []).find((placeholder) => (values[placeholder]?.length ?? 0) > 1);
    const variants = repeated ? (values[repeated] as string[]).map((value) => line.split(repeated).join(value)) : [line];
    return variants.map((variant) =>
      variant.replace(PLACEHOLDER, (placeholder) => {
        const known = values[placeholder];
        if (known && known.length > 0) return known.join(',');
        toSupply.add(placeholder);
        return placeholder;
      }),
    );
  });
  return { text: lines.join('\n'), toSupply: [...toSupply] };
}
