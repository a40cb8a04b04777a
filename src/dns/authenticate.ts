/**
 * Fills a transaction's `authentication` from DNS through an injected resolver (live, a chosen server, the snapshot's
 * Dns section, or a loopback test server): SPF by mailauth for the evaluated IP (after skip listing, S23), and the
 * From domain's DMARC record. DKIM is not verified (the emulator sees no signed body): it is `none` unless given.
 * This is the IO edge of the emulator's authentication layer; src/eop itself stays pure.
 */
import { spf } from 'mailauth/lib/spf/index.js';
import { organisationalDomain } from '../mail/dmarc.js';
import { txtRecords, type DnsResolver } from './resolver.js';
import type { Snapshot } from '../snapshot/parse.js';
import { addressInHeader, domainOf } from '../eop/addresses.js';
import { efcAppliesTo, enhancedFiltering, evaluatedSource, type AuthenticationInput, type SpfResult } from '../eop/authentication.js';
import { decide, headerFields, type DecideOptions } from '../eop/decide.js';
import type { Transaction, Verdict } from '../eop/types.js';

const SPF_RESULTS = new Set<SpfResult>(['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror']);

/** The From domain's DMARC record from DNS (with the organisational-domain fallback); null when there is none. */
export async function lookUpDmarc(resolver: DnsResolver, domain: string): Promise<string | null> {
  const find = async (name: string) => (await txtRecords(resolver, `_dmarc.${name}`))?.find((record) => /^v=DMARC1/i.test(record.trim())) ?? null;
  const own = await find(domain);
  if (own) return own;
  const organisational = organisationalDomain(domain);
  return organisational !== domain ? find(organisational) : null;
}

/** The transaction with `authentication` computed (an `authentication` already present is kept as given). */
export async function authenticate(snapshot: Snapshot, transaction: Transaction, resolver: DnsResolver, options: DecideOptions = {}): Promise<Transaction> {
  if (transaction.authentication) return transaction;
  // Which connector the transaction matches, and which recipients are accepted, decide whether skip listing applies:
  // ask the emulator. decide() derives the same source from the Received chain, so it is not written into the input
  // (an unknown source then stays unknown there, and the verdict says so).
  const first = decide(snapshot, transaction, options);
  const connector = first.connector ? snapshot.InboundConnector.find((entry) => entry.Name === first.connector?.name) : undefined;
  const efc = enhancedFiltering(connector);
  const fields = headerFields(transaction.headers);
  const recipients = first.recipients ? first.recipients.filter((entry) => entry.action === 'accept').map((entry) => entry.recipient) : transaction.rcptTo;
  const source = evaluatedSource(transaction.clientIp, fields, efc, efcAppliesTo(efc, recipients));
  const sender = transaction.mailFrom !== '' ? transaction.mailFrom : `postmaster@${transaction.helo ?? 'unknown'}`;
  const evaluation = await spf({ ip: source.ip, sender, helo: transaction.helo ?? '', mta: 'eoplock', resolver: resolver as never });
  const result = evaluation.status.result as SpfResult;
  const from = fields.find((field) => field.name.toLowerCase() === 'from');
  const fromAddress = from ? addressInHeader(from.value) : null;
  const fromDomain = fromAddress ? domainOf(fromAddress) : null;
  const authentication: AuthenticationInput = {
    spf: SPF_RESULTS.has(result) ? result : 'temperror',
    dkim: [],
    ...(fromDomain ? { dmarcRecord: await lookUpDmarc(resolver, fromDomain) } : {}),
  };
  return { ...transaction, authentication };
}

/** decide() with the authentication layer: authenticate through the resolver, then decide. */
export async function decideAuthenticated(snapshot: Snapshot, transaction: Transaction, resolver: DnsResolver, options: DecideOptions = {}): Promise<Verdict> {
  return decide(snapshot, await authenticate(snapshot, transaction, resolver, options), options);
}
