/**
 * Scale: the builtin corpus and its run are linear in the number of inbound connectors, and the connector index
 * that makes them so gives exactly the answers of a scan over every connector.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { builtinCorpus } from '../../src/corpus/builtin.js';
import { resolveAssumptions, type Assumptions } from '../../src/eop/assumptions.js';
import { senderDomainPatternCovers, normaliseDomain } from '../../src/eop/addresses.js';
import { matchCertificateName } from '../../src/eop/certificate.js';
import { compileTables } from '../../src/eop/compile.js';
import { connection, connectorMatch, Decision, reply, verdictOf } from '../../src/eop/stages.js';
import { REPLIES } from '../../src/eop/replies.js';
import type { Transaction } from '../../src/eop/types.js';
import { compiledIpList, findInList, parseIp, type IpAddress, type IpEntry } from '../../src/eop/ip.js';
import type { InboundConnector } from '../../src/snapshot/schema.js';
import { runCorpus } from '../../src/simulate/run.js';
import { parseSnapshot } from '../../src/snapshot/parse.js';
import { acceptedDomains, partnerConnector } from '../helpers/tenant.js';

/** The n-th address of 10.0.0.0/8 (distinct for n below 2^24). */
function address(n: number): string {
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

/** Four entries for connector i, none shared: its own address, a /30, a short range and an IPv6 address. */
function addresses(i: number): string[] {
  return [address(i + 1), `11.${i >> 6}.${(i & 63) << 2}.0/30`, `12.${i >> 8}.${i & 255}.1-12.${i >> 8}.${i & 255}.20`, `2001:db8::${(i + 1).toString(16)}`];
}

/** Half Partner connectors for one partner domain each, restricted to their addresses; half hybrid OnPremises ones. */
function manyConnectors(count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) =>
    i % 2 === 0
      ? {
          Name: `Partner ${i}`,
          ConnectorType: 'Partner',
          SenderDomains: [`smtp:partner${i}.example;1`],
          SenderIPAddresses: addresses(i),
          TlsSenderCertificateName: `mx.partner${i}.example`,
          RequireTls: true,
          RestrictDomainsToIPAddresses: true,
        }
      : {
          Name: `On-premises ${i}`,
          ConnectorType: 'OnPremises',
          SenderDomains: ['smtp:*;1'],
          SenderIPAddresses: addresses(i),
          TlsSenderCertificateName: `onprem${i}.contoso.com`,
        },
  );
}

/** A snapshot with the gateway's connector (SenderDomains *, two addresses and a /28) and `count` more. */
function snapshotWith(count: number) {
  return parseSnapshot({
    Meta: { eoplockSnapshot: 1, tenant: 'Contoso', initialDomain: 'contoso.onmicrosoft.com' },
    OrganizationConfig: { Name: 'contoso.onmicrosoft.com', RejectDirectSend: true },
    AcceptedDomain: acceptedDomains(),
    InboundConnector: [partnerConnector(), ...manyConnectors(count)],
  }).snapshot;
}

/**
 * Milliseconds `body` takes. A timeout cannot stop synchronous work, so the tests below measure it — as a ratio
 * between two sizes in the same run (linear work grows 5× from 1,000 to 5,000 items, quadratic work 25×), which
 * holds on a loaded machine where an absolute bound would not.
 */
function timed<T>(body: () => T): { value: T; ms: number } {
  const start = performance.now();
  const value = body();
  return { value, ms: performance.now() - start };
}

describe('the corpus at scale', () => {
  test('5,000 inbound connectors: one legitimate path each, all delivered, in linear time', { timeout: 20_000 }, () => {
    const snapshot = snapshotWith(5000);
    const context = { snapshot, file: 'generated.json', assumptions: resolveAssumptions(), assumptionOverrides: {} };
    const small = snapshotWith(1000);
    const smallContext = { ...context, snapshot: small };
    const { ms: smallMs } = timed(() => runCorpus(smallContext, builtinCorpus(small)));
    // A scan of every connector for every path took 14 s here; with the index, well under a second.
    const { value: result, ms } = timed(() => runCorpus(context, builtinCorpus(snapshot)));
    const legitimate = result.results.filter((entry) => entry.kind === 'legitimate');
    // 5,000 connector paths and one per address of the gateway connector.
    assert.equal(legitimate.length, 5003);
    assert.equal(result.summary.legitimateDelivered, 5003);
    assert.equal(result.summary.legitimateBroken, 0);
    assert.ok(legitimate.some((entry) => entry.name === 'Application or device through "Partner 4998"'));
    assert.ok(legitimate.some((entry) => entry.name === 'On-premises mail through "On-premises 4999"'));
    assert.ok(ms / smallMs < 15, `5× the connectors took ${(ms / smallMs).toFixed(1)}× the time (${smallMs.toFixed(0)} → ${ms.toFixed(0)} ms)`);
  });

  test('20,000 SPF sources against 5,000 connectors: those no connector covers become Direct Send paths', { timeout: 20_000 }, () => {
    const snapshot = snapshotWith(5000);
    // Addresses 1 to 20,000 of 10.0.0.0/8: the first 5,000 are the connectors' own.
    const withSources = (base: typeof snapshot, sources: number) => {
      const spf = `v=spf1 ${Array.from({ length: sources }, (_, i) => `ip4:${address(i + 1)}`).join(' ')} -all`;
      return { ...base, Dns: { 'contoso.com': { MX: [], TXT: [spf], DMARC: [], DKIM: {} } } } as typeof snapshot;
    };
    const small = withSources(snapshotWith(1000), 4000);
    const { ms: smallMs } = timed(() => builtinCorpus(small));
    const withSpf = withSources(snapshot, 20_000);
    // A scan of every connector's list for every source took 12 s here.
    const { value: corpus, ms } = timed(() => builtinCorpus(withSpf));
    const directSend = corpus.filter((entry) => entry.id.startsWith('legit-direct-send-'));
    assert.equal(directSend.length, 15_000);
    assert.equal(directSend[0]?.transaction.clientIp, address(5001));
    assert.equal(directSend.at(-1)?.transaction.clientIp, address(20_000));
    assert.ok(ms / smallMs < 15, `5× the sources and connectors took ${(ms / smallMs).toFixed(1)}× the time (${smallMs.toFixed(0)} → ${ms.toFixed(0)} ms)`);
  });
});

/** The host the corpus sends from for a list entry: the first usable address (as src/corpus/builtin.ts picks it). */
function hostOf(entry: IpEntry): string {
  const bytes = [...entry.low];
  if (entry.form === 'cidr' && (entry.prefix ?? 32) < (entry.family === 'ipv4' ? 31 : 127)) bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) + 1;
  if (entry.family === 'ipv4') return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return parseIp(groups.join(':'))?.toString() ?? groups.join(':');
}

// ── The index against a scan ──────────────────────────────────────────────────────────────────────────────

/** What connector matching reads of a connection. */
interface ConnectionFacts {
  clientIp: IpAddress;
  tls: boolean;
  certificateNames: string[];
  senderDomain: string | null;
}
interface ConnectorCandidate {
  connector: InboundConnector;
  index: number;
  ip: string | null;
  certificate: string | null;
}
interface ConnectorMatchResult {
  candidates: ConnectorCandidate[];
  chosen: { candidate: ConnectorCandidate; matchedBy: 'ip' | 'certificate' } | null;
  trace: { step: string; detail: string; sources: string[]; assumptions?: string[] }[];
  assumptions: string[];
}

/** Connector matching as a scan over every connector, as it was before the index: the definition to reproduce. */
function scanConnectors(
  connectors: readonly InboundConnector[],
  facts: ConnectionFacts,
  assumptions: Assumptions,
): ConnectorMatchResult {
  const result: ConnectorMatchResult = { candidates: [], chosen: null, trace: [], assumptions: [] };
  connectors.forEach((connector, index) => {
    if (!connector.Enabled) {
      result.trace.push({ step: 'connector', detail: `"${connector.Name}" is disabled: ignored`, sources: ['S7', 'S8'] });
      return;
    }
    const ipList = compiledIpList(connector.SenderIPAddresses);
    const ipEntry = findInList(ipList, facts.clientIp);
    const ip = ipEntry ? ipEntry.text : null;
    const certificate =
      facts.tls && connector.TlsSenderCertificateName
        ? matchCertificateName(connector.TlsSenderCertificateName, facts.certificateNames, assumptions)
        : null;
    if (connector.TlsSenderCertificateName?.startsWith('*.') && facts.certificateNames.length > 0) {
      result.assumptions.push('certificate-wildcard');
    }
    if (!ip && !certificate) return;

    if (connector.ConnectorType === 'Partner') {
      if (!connector.SenderDomains.some((pattern) => senderDomainPatternCovers(pattern, facts.senderDomain))) {
        result.trace.push({
          step: 'connector',
          detail: `"${connector.Name}" matched by ${ip ? `IP ${ip}` : `certificate ${certificate}`} but its SenderDomains (${connector.SenderDomains.join(', ') || 'none'}) do not cover the sender domain ${facts.senderDomain ?? '<> (null sender)'}`,
          sources: ['S7', '§3.1'],
        });
        return;
      }
      if (connector.RequireTls && !facts.tls) {
        result.assumptions.push('require-tls-without-tls');
        if (assumptions['require-tls-without-tls'] === 'connector-not-matched') {
          result.trace.push({
            step: 'connector',
            detail: `"${connector.Name}" requires TLS and the connection has none: not matched`,
            sources: ['S7', '§3.1'],
            assumptions: ['require-tls-without-tls'],
          });
          return;
        }
      }
    }
    result.candidates.push({ connector, index, ip, certificate });
  });

  if (result.candidates.length === 0) {
    result.trace.push({
      step: 'connector',
      detail: 'no inbound connector matches by sender IP or certificate: the message is anonymous',
      sources: ['S1', 'S2', '§1.4'],
    });
    return result;
  }

  const mode = assumptions['connector-precedence'];
  if (result.candidates.length > 1) result.assumptions.push('connector-precedence');
  const rank = (candidate: ConnectorCandidate): number => {
    if (mode === 'config-order') return 0;
    const byCertificate = candidate.certificate !== null;
    return mode === 'certificate-first' ? (byCertificate ? 0 : 1) : candidate.ip !== null ? 0 : 1;
  };
  const [best] = [...result.candidates].sort((a, b) => rank(a) - rank(b) || a.index - b.index);
  if (best) {
    const matchedBy: 'ip' | 'certificate' =
      mode === 'ip-first' ? (best.ip ? 'ip' : 'certificate') : best.certificate ? 'certificate' : 'ip';
    result.chosen = { candidate: best, matchedBy };
    result.trace.push({
      step: 'connector',
      detail:
        `matched ${best.connector.ConnectorType} connector "${best.connector.Name}" by ` +
        (matchedBy === 'ip' ? `IP (${best.ip})` : `certificate (${best.certificate})`) +
        (result.candidates.length > 1
          ? `; ${result.candidates.length - 1} other connector(s) also matched: ${result.candidates
              .filter((candidate) => candidate !== best)
              .map((candidate) => `"${candidate.connector.Name}"`)
              .join(', ')}`
          : ''),
      sources: ['S7', 'S9', 'S11', '§3.2'],
      ...(result.candidates.length > 1 ? { assumptions: ['connector-precedence'] } : {}),
    });
  }
  return result;
}

function scanRestrictions(connectors: readonly InboundConnector[], type: string, senderDomain: string | null, recipientDomain: string) {
  return connectors.filter(
    (connector) =>
      connector.Enabled &&
      connector.ConnectorType === type &&
      (connector.RestrictDomainsToIPAddresses || connector.RestrictDomainsToCertificate) &&
      (type !== 'Partner' ||
        (connector.SenderDomains.some((pattern) => senderDomainPatternCovers(pattern, senderDomain)) &&
          (connector.AssociatedAcceptedDomains.length === 0 ||
            connector.AssociatedAcceptedDomains.some((domain) => normaliseDomain(domain) === recipientDomain)))),
  );
}

const CONNECTOR_ASSUMPTIONS = new Set(['certificate-wildcard', 'connector-precedence', 'require-tls-without-tls']);

/** What the scan says, in the terms both give: candidates, the chosen one, and the connector assumptions relied on. */
function comparable(result: ConnectorMatchResult) {
  return {
    candidates: result.candidates.map((candidate) => ({ index: candidate.index, ip: candidate.ip, certificate: candidate.certificate })),
    chosen: result.chosen ? { index: result.chosen.candidate.index, matchedBy: result.chosen.matchedBy } : null,
    assumptions: [...new Set(result.assumptions)].sort(),
  };
}

/**
 * The compiled emulator's connection and connector stages (stages.ts, on compile.ts's indexed tables) for a
 * transaction, traced (so that each candidate carries its address entry), in the same terms.
 */
function compiledMatch(snapshot: ReturnType<typeof snapshotOf>, transaction: Transaction, assumptions: Assumptions) {
  const tables = compileTables(snapshot, assumptions);
  const d = new Decision(tables, transaction, true);
  connection(d);
  const facts: ConnectionFacts = { clientIp: d.ipAddress(), tls: d.tls, certificateNames: [...d.certificateNames], senderDomain: d.senderDomain };
  connectorMatch(d);
  const used = verdictOf(d, reply('accept', 'rcpt', REPLIES.recipientOk), 'none').assumptions.filter((id) => CONNECTOR_ASSUMPTIONS.has(id));
  return {
    tables,
    facts,
    result: {
      candidates: d.candidates.map((candidate) => ({ index: candidate.index, ip: candidate.byIp ? candidate.ipText : null, certificate: candidate.certificate })),
      chosen: d.connector && d.chosen ? { index: d.chosen.index, matchedBy: d.connector.matchedBy } : null,
      assumptions: [...used].sort(),
    },
  };
}

/**
 * A snapshot with these connectors as given: not through the parser, which would refuse some of the odd values the
 * generator makes on purpose (`*.` as a sender domain…) — the index must answer like the scan for any list.
 */
function snapshotOf(connectors: readonly InboundConnector[]) {
  const base = parseSnapshot({
    Meta: { eoplockSnapshot: 1, tenant: 'Contoso' },
    OrganizationConfig: {},
    AcceptedDomain: [{ DomainName: 'contoso.com', DomainType: 'Authoritative', Default: true }],
  }).snapshot;
  return { ...base, InboundConnector: [...connectors] };
}

// Small universes, so that entries overlap, ranges straddle prefixes and names meet patterns often.
const ipEntry = fc.oneof(
  fc.integer({ min: 0, max: 20 }).map((n) => `192.0.2.${n}`),
  fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 20, max: 32 })).map(([n, bits]) => `192.0.2.${n}/${bits}`),
  fc.tuple(fc.integer({ min: 240, max: 255 }), fc.integer({ min: 0, max: 20 })).map(([a, b]) => `192.0.1.${a}-192.0.2.${b}`),
  fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 20 })).map(([a, b]) => `192.0.2.${a}-192.0.2.${b}`),
  fc.integer({ min: 0, max: 20 }).map((n) => `2001:db8::${n.toString(16)}`),
  fc.integer({ min: 100, max: 128 }).map((bits) => `2001:db8::/${bits}`),
  fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 20 })).map(([a, b]) => `2001:db8::${a.toString(16)}-2001:db8::1:${b.toString(16)}`),
  fc.constantFrom('0.0.0.0/0', '::/0', 'not an address', '192.0.2.300'),
);
const clientIp = fc.oneof(
  fc.integer({ min: 0, max: 24 }).map((n) => `192.0.2.${n}`),
  fc.integer({ min: 238, max: 255 }).map((n) => `192.0.1.${n}`),
  fc.integer({ min: 0, max: 24 }).map((n) => `2001:db8::${n.toString(16)}`),
  fc.constantFrom('2001:db8::1:3', '::ffff:192.0.2.5', '203.0.113.9'),
);
const names = ['mx1.seg.example', 'seg.example', 'a.b.seg.example', '*.seg.example', 'example', 'x.', 'MX1.Seg.Example'];
const configuredName = fc.constantFrom<string | null>(null, '', ...names, '*.example', '*.', '*.b.seg.example', ' mx1.seg.example. ');
const domains = ['partner.example', 'sub.partner.example', 'contoso.com', 'x.', ''];
const pattern = fc.constantFrom('*', ' * ', '*.partner.example', 'partner.example', 'PARTNER.example', '*.example', 'contoso.com', '*.', 'x.');

const connector = fc.record({
  Name: fc.string({ minLength: 1, maxLength: 3 }),
  Enabled: fc.boolean(),
  ConnectorType: fc.constantFrom('Partner', 'OnPremises'),
  SenderDomains: fc.array(pattern, { maxLength: 3 }),
  SenderIPAddresses: fc.array(ipEntry, { maxLength: 3 }),
  TlsSenderCertificateName: configuredName,
  RestrictDomainsToIPAddresses: fc.boolean(),
  RestrictDomainsToCertificate: fc.boolean(),
  RequireTls: fc.boolean(),
  AssociatedAcceptedDomains: fc.oneof(fc.constant([]), fc.constant(['contoso.com']), fc.constant(['Contoso.com.'])),
}) as fc.Arbitrary<unknown> as fc.Arbitrary<InboundConnector>;

const facts = fc.record({
  clientIp,
  tls: fc.boolean(),
  certificateNames: fc.uniqueArray(fc.constantFrom(...names.map((name) => name.toLowerCase())), { maxLength: 3 }),
  senderDomain: fc.constantFrom(null, ...domains),
});

const assumptions = fc
  .record({
    'certificate-wildcard': fc.constantFrom('subdomains', 'single-label', 'subdomains-and-apex'),
    'connector-precedence': fc.constantFrom('certificate-first', 'ip-first', 'config-order'),
    'require-tls-without-tls': fc.constantFrom('connector-not-matched', 'ignored'),
  })
  .map((overrides) => resolveAssumptions(overrides));

describe('the connector index gives the answers of a scan', () => {
  test('matching, restricting and ineffective connectors, and the restrictions that apply', () => {
    fc.assert(
      fc.property(
        fc.array(connector, { maxLength: 12 }),
        facts,
        assumptions,
        fc.constantFrom('contoso.com', 'fabrikam.example'),
        (generated, given, resolved, recipientDomain) => {
          const snapshot = snapshotOf(generated);
          const connectors = snapshot.InboundConnector;
          const transaction: Transaction = {
            clientIp: given.clientIp,
            helo: 'client.example',
            ...(given.tls ? { tls: given.certificateNames.length > 0 ? { certificate: { subject: '', san: given.certificateNames } } : {} } : {}),
            mailFrom: given.senderDomain ? `sender@${given.senderDomain}` : '',
            rcptTo: [`user@${recipientDomain}`],
            headers: [],
          };
          const { tables, facts: connection, result } = compiledMatch(snapshot, transaction, resolved);
          assert.deepEqual(result, comparable(scanConnectors(connectors, connection, resolved)));
          const associated = (info: { associated: Set<string> | null }) => info.associated === null || info.associated.has(recipientDomain);
          assert.deepEqual(
            tables.restrictingFor(connection.senderDomain).filter(associated).map((info) => info.connector),
            scanRestrictions(connectors, 'Partner', connection.senderDomain, recipientDomain),
          );
          assert.deepEqual(tables.connectors.ineffective, scanRestrictions(connectors, 'OnPremises', null, recipientDomain));
        },
      ),
      { numRuns: 400, seed: 1311 },
    );
  });

  test('the SPF sources the corpus treats as covered are those some connector or gateway list contains', () => {
    const spfEntry = fc.oneof(ipEntry, fc.integer({ min: 0, max: 24 }).map((n) => `192.0.2.${n}`));
    fc.assert(
      fc.property(fc.array(fc.array(ipEntry, { maxLength: 3 }), { maxLength: 6 }), fc.array(ipEntry, { maxLength: 2 }), fc.array(spfEntry, { maxLength: 8 }), (lists, gatewayIps, sources) => {
        const snapshot = parseSnapshot({
          Meta: { eoplockSnapshot: 1, tenant: 'Contoso' },
          OrganizationConfig: {},
          AcceptedDomain: [{ DomainName: 'contoso.com', DomainType: 'Authoritative', Default: true }],
          InboundConnector: lists.map((list, i) => ({ Name: `C${i}`, ConnectorType: 'Partner', SenderDomains: [`p${i}.example`], SenderIPAddresses: list.filter((text) => parseIp(text.split(/[/-]/)[0] ?? '') !== null) })),
          Dns: { 'contoso.com': { MX: [], TXT: [`v=spf1 ${sources.map((text) => `ip4:${text}`).join(' ')} -all`], DMARC: [], DKIM: {} } },
        }).snapshot;
        const all = [...snapshot.InboundConnector.map((connector) => compiledIpList(connector.SenderIPAddresses)), compiledIpList(gatewayIps)];
        // The corpus asks about each source once, in order; later duplicates of a host are skipped.
        const expected = new Set<string>();
        for (const entry of sources.map((text) => compiledIpList([text]).entries[0])) {
          if (!entry) continue;
          const host = hostOf(entry);
          const address = parseIp(host);
          if (address && !all.some((list) => findInList(list, address) !== null)) expected.add(host);
        }
        const got = builtinCorpus(snapshot, { ips: gatewayIps, certificateName: null })
          .filter((entry) => entry.id.startsWith('legit-direct-send-'))
          .map((entry) => entry.transaction.clientIp);
        assert.deepEqual(new Set(got), expected);
      }),
      { numRuns: 300, seed: 20_000 },
    );
  });

});
