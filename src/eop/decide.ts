/**
 * decide(snapshot, transaction, options) → verdict: what Exchange Online Protection does with one inbound SMTP
 * transaction, and why. Pure: no IO, no clock, no randomness. Every step of the trace cites its sources in
 * eop-behaviour.md; every undocumented behaviour it relies on is a named assumption (assumptions.ts).
 *
 * Order: connection (connector matching, IP Block List) → per recipient (tenant attribution, RejectDirectSend,
 * Partner-connector restriction) → DATA (From header) → transport rules → authentication (Enhanced Filtering, DMARC,
 * Honor DMARC and spoof per recipient's anti-phishing policy, tenant allows) → disposition. What a verdict depends on
 * that was not evaluated or is not emulated makes it `incomplete`, with the reasons.
 */
import { InputError } from '../errors.js';
import type { Snapshot } from '../snapshot/parse.js';
import { addressInHeader, domainOf, findAcceptedDomain } from './addresses.js';
import { resolveAssumptions, type Assumptions } from './assumptions.js';
import { certificateNames } from './certificate.js';
import {
  applicableRestrictions,
  ineffectiveRestrictions,
  matchConnectors,
  restrictingConnectors,
  satisfiesRestriction,
} from './connectors.js';
import { compiledIpList, findInList, parseIp } from './ip.js';
import { MAX_RECIPIENTS_PER_TRANSACTION, REPLIES, fillReply, type ReplyText } from './replies.js';
import { evaluateTransportRules } from './rules.js';
import {
  antiPhishSettings,
  antiSpoofDecision,
  authenticationResultsHeader,
  efcAppliesTo,
  enhancedFiltering,
  evaluateAuthentication,
  evaluatedSource,
  mxElsewhere,
} from './authentication.js';
import { policiesFor } from './policy-scope.js';
import type {
  AuthAs,
  ConnectorMatch,
  HeaderField,
  RecipientResult,
  Reply,
  Stage,
  TraceStep,
  Transaction,
  Verdict,
} from './types.js';

export interface DecideOptions {
  /** Assumption overrides (`{ 'attribution-reject-stage': 'data' }`), or already resolved assumptions. */
  assumptions?: Partial<Record<string, string>> | Assumptions;
}

/** Normalises the transaction's headers to a list of fields. */
export function headerFields(headers: Transaction['headers']): HeaderField[] {
  if (!headers) return [];
  if (typeof headers === 'string') {
    throw new InputError('a raw header block must be parsed first: pass it through parseHeaderBlock()', { where: 'headers' });
  }
  if (Array.isArray(headers)) return headers.map((field) => ({ name: field.name, value: field.value }));
  const fields: HeaderField[] = [];
  for (const [name, value] of Object.entries(headers)) {
    for (const item of Array.isArray(value) ? value : [value]) fields.push({ name, value: String(item) });
  }
  return fields;
}

/** Organisation headers that EOP's header firewall removes from mail that is not authenticated as internal (S33). */
const ORGANIZATION_HEADER = /^x-ms-exchange-organization-/i;

function reply(action: 'accept' | 'reject', stage: Stage, text: ReplyText, values: Record<string, string> = {}): Reply {
  return { action, stage, code: text.code, enhanced: text.enhanced, text: fillReply(text.text, values) };
}

export function decide(snapshot: Snapshot, transaction: Transaction, options: DecideOptions = {}): Verdict {
  const assumptions = resolveAssumptions(options.assumptions as Partial<Record<string, string>> | undefined);
  const trace: TraceStep[] = [];
  const used = new Set<string>();
  const use = (...ids: string[]) => ids.forEach((id) => used.add(id));

  // ── The transaction ─────────────────────────────────────────────────────────────────────────────
  const clientIp = parseIp(String(transaction.clientIp ?? ''));
  if (!clientIp) throw new InputError(`"${String(transaction.clientIp)}" is not an IPv4 or IPv6 address`, { where: 'clientIp' });
  if (typeof transaction.mailFrom !== 'string') {
    throw new InputError('mailFrom is required ("" for the null sender)', { where: 'mailFrom' });
  }
  if (!Array.isArray(transaction.rcptTo) || transaction.rcptTo.length === 0) {
    throw new InputError('at least one recipient is required', { where: 'rcptTo' });
  }
  transaction.rcptTo.forEach((recipient, index) => {
    if (typeof recipient !== 'string' || domainOf(recipient) === null) {
      throw new InputError(`"${String(recipient)}" is not an email address`, { where: `rcptTo[${index}]` });
    }
  });
  const mailFrom = transaction.mailFrom.trim().replace(/^<(.*)>$/, '$1');
  const senderDomain = domainOf(mailFrom);
  const certificate = transaction.tls?.certificate;
  const names = certificate ? certificateNames(certificate) : [];
  const tls = transaction.tls !== undefined && transaction.tls !== null;
  const clientIpText = clientIp.toString();
  const accepted = snapshot.AcceptedDomain;
  const org = snapshot.OrganizationConfig[0];
  const rejectDirectSend = org?.RejectDirectSend === true;

  trace.push({
    step: 'connection',
    detail:
      `${clientIp.kind() === 'ipv6' ? 'IPv6' : 'IPv4'} client ${clientIpText}` +
      `${transaction.helo ? ` (HELO ${transaction.helo})` : ''}, ` +
      (tls ? (certificate ? `TLS with certificate [${names.join(', ')}]` : 'TLS without a client certificate') : 'no TLS') +
      `, MAIL FROM <${mailFrom}>, ${transaction.rcptTo.length} recipient(s)`,
    sources: ['S3', 'S16'],
  });

  // ── Connector matching ──────────────────────────────────────────────────────────────────────────
  const matching = matchConnectors(snapshot.InboundConnector, { clientIp, tls, certificateNames: names, senderDomain }, assumptions);
  trace.push(...matching.trace);
  use(...matching.assumptions);
  const chosen = matching.chosen;
  const connector: ConnectorMatch | null = chosen
    ? { name: chosen.candidate.connector.Name, type: chosen.candidate.connector.ConnectorType, matchedBy: chosen.matchedBy }
    : null;
  for (const ignored of ineffectiveRestrictions(snapshot.InboundConnector)) {
    trace.push({
      step: 'connector',
      detail: `"${ignored.Name}" is an OnPremises connector: its RestrictDomainsTo* setting is never enforced`,
      sources: ['S9', '§3.1', '§11.7'],
    });
  }

  let authAs: AuthAs = 'Anonymous';
  if (connector?.type === 'OnPremises') authAs = 'Internal';
  else if (connector?.type === 'Partner') {
    authAs = assumptions['partner-authas'];
    use('partner-authas');
  }
  trace.push({
    step: 'auth-as',
    detail: `X-MS-Exchange-Organization-AuthAs: ${authAs}`,
    sources: connector?.type === 'Partner' ? ['S33', '§1.4'] : ['S33', 'S34', 'S35', '§1.4'],
    ...(connector?.type === 'Partner' ? { assumptions: ['partner-authas'] } : {}),
  });

  // ── IP Block List (connection filter) ───────────────────────────────────────────────────────────
  let blockListReject: Reply | null = null;
  let blockListDrop = false;
  for (const policy of snapshot.HostedConnectionFilterPolicy) {
    const blocked = findInList(compiledIpList(policy.IPBlockList), clientIp);
    if (!blocked) continue;
    const allowed = findInList(compiledIpList(policy.IPAllowList), clientIp);
    if (allowed) {
      trace.push({
        step: 'connection-filter',
        detail: `${clientIpText} is on both the IP Allow List (${allowed.text}) and the IP Block List (${blocked.text}): allow wins`,
        sources: ['S30', '§6.6'],
      });
      continue;
    }
    use('ip-block-list');
    if (assumptions['ip-block-list'] === 'reject') {
      blockListReject = reply('reject', assumptions['attribution-reject-stage'], REPLIES.customerBlockList, {
        ip: clientIpText,
        domain: domainOf(transaction.rcptTo[0] ?? '') ?? '',
      });
      use('attribution-reject-stage');
    } else blockListDrop = true;
    trace.push({
      step: 'connection-filter',
      detail: `${clientIpText} is on the IP Block List (${blocked.text}) of "${policy.Name ?? 'connection filter policy'}": ${
        blockListReject ? 'rejected (not visible in message trace)' : 'silently dropped'
      }`,
      sources: ['S30', 'S32', '§6.6'],
      assumptions: ['ip-block-list'],
    });
    break;
  }

  // ── Per recipient: attribution, RejectDirectSend, Partner restriction ────────────────────────────
  const restricting = restrictingConnectors(snapshot.InboundConnector);
  const senderAccepted = findAcceptedDomain(senderDomain, accepted, assumptions);
  if (senderAccepted?.viaSubdomain) use('accepted-subdomains');
  const stage = assumptions['attribution-reject-stage'];
  const recipients: RecipientResult[] = [];
  const relayed: string[] = [];

  transaction.rcptTo.forEach((recipient, index) => {
    const recipientDomain = domainOf(recipient) as string;
    const result = (r: Reply): void => {
      recipients.push({ recipient, ...r });
    };
    if (index >= MAX_RECIPIENTS_PER_TRANSACTION) {
      result(reply('reject', 'rcpt', REPLIES.tooManyRecipients));
      return;
    }
    if (blockListReject) {
      result(blockListReject);
      return;
    }
    const recipientAccepted = findAcceptedDomain(recipientDomain, accepted, assumptions);
    if (recipientAccepted?.viaSubdomain) use('accepted-subdomains');
    if (!recipientAccepted) {
      // Relay through EXO needs an OnPremises connector match and an accepted cert or P1 domain (S13).
      const onPremises = chosen?.candidate.connector.ConnectorType === 'OnPremises';
      const certAccepted = names.some((name) => findAcceptedDomain(name, accepted, assumptions) !== null);
      if (onPremises && (certAccepted || senderAccepted)) {
        relayed.push(recipient);
        trace.push({
          step: 'attribution',
          detail: `${recipient}: ${recipientDomain} is not an accepted domain; relayed to the internet through OnPremises connector "${connector?.name}" (${certAccepted ? 'certificate domain' : 'MAIL FROM domain'} is accepted)`,
          sources: ['S13', '§1.3'],
        });
        result(reply('accept', 'rcpt', REPLIES.recipientOk));
        return;
      }
      use('attribution-reject-stage');
      trace.push({
        step: 'attribution',
        detail: `${recipient}: ${recipientDomain} is not an accepted domain of this tenant` +
          (onPremises ? ' and neither the certificate nor the MAIL FROM domain is accepted, so relay is denied' : '') +
          ': 550 5.7.64',
        sources: ['S3', 'S13', 'S50', '§1.3', '§9'],
        assumptions: ['attribution-reject-stage'],
      });
      result(reply('reject', stage, REPLIES.relayDenied));
      return;
    }
    trace.push({
      step: 'attribution',
      detail: `${recipient}: ${recipientDomain} is accepted (${recipientAccepted.domain.DomainName}, ${recipientAccepted.domain.DomainType}${recipientAccepted.viaSubdomain ? ', as a subdomain' : ''}): attributed to this tenant`,
      sources: ['S3', 'S16', '§1.3'],
      ...(recipientAccepted.viaSubdomain ? { assumptions: ['accepted-subdomains'] } : {}),
    });

    // RejectDirectSend (S1, S2): no connector matched by IP/certificate, and the P1 domain is accepted.
    let directSend: Reply | null = null;
    if (rejectDirectSend) {
      if (!chosen && senderAccepted) {
        directSend = reply('reject', stage, REPLIES.directSendRejected);
      }
      trace.push({
        step: 'reject-direct-send',
        detail: directSend
          ? `RejectDirectSend is on, MAIL FROM domain ${senderDomain} is accepted and no connector matched by IP or certificate: 550 5.7.68 (the From header is not checked)`
          : chosen
            ? `RejectDirectSend is on but connector "${chosen.candidate.connector.Name}" matched: not applied`
            : `RejectDirectSend is on but the MAIL FROM domain ${senderDomain ?? '<> (null sender)'} is not accepted: not applied (the From header is not checked)`,
        sources: ['S1', 'S2', 'S3', '§2.1'],
      });
    }

    // Partner connector restriction (S3, S9, S10).
    let restricted: Reply | null = null;
    const applicable = applicableRestrictions(restricting, senderDomain, recipientDomain);
    if (applicable.length > 0) {
      use('restriction-satisfied-by');
      const satisfiedByOwn = applicable.find((connector) => satisfiesRestriction(connector, matching.candidates));
      const satisfied =
        satisfiedByOwn !== undefined || (assumptions['restriction-satisfied-by'] === 'any-connector' && chosen !== null);
      if (!satisfied) restricted = reply('reject', stage, REPLIES.partnerConnectorRestricted);
      trace.push({
        step: 'partner-restriction',
        detail: satisfied
          ? satisfiedByOwn
            ? `restricting Partner connector "${satisfiedByOwn.Name}" is satisfied`
            : `restricting Partner connector(s) ${applicable.map((c) => `"${c.Name}"`).join(', ')} apply, and the message matched connector "${connector?.name}": attributed, not restricted`
          : `restricting Partner connector(s) ${applicable.map((c) => `"${c.Name}"`).join(', ')} cover this recipient and the message did not arrive from their ${describeRestriction(applicable)}: 550 5.7.51`,
        sources: ['S3', 'S9', 'S10', '§3.3'],
        assumptions: ['restriction-satisfied-by'],
      });
    }

    if (directSend && restricted) {
      use('attribution-reject-order');
      const first = assumptions['attribution-reject-order'] === 'direct-send-first' ? directSend : restricted;
      trace.push({
        step: 'attribution',
        detail: `both 5.7.68 and 5.7.51 apply; replying ${first.enhanced}`,
        sources: ['§12'],
        assumptions: ['attribution-reject-order'],
      });
      use('attribution-reject-stage');
      result(first);
      return;
    }
    if (directSend || restricted) {
      use('attribution-reject-stage');
      result((directSend ?? restricted) as Reply);
      return;
    }
    result(reply('accept', 'rcpt', REPLIES.recipientOk));
  });

  const acceptedRecipients = recipients.filter((entry) => entry.action === 'accept').map((entry) => entry.recipient);
  const base = {
    connector,
    authAs,
    scl: null as number | null,
    rules: [] as Verdict['rules'],
    trace,
    incomplete: false,
    incompleteReasons: [] as string[],
    authentication: undefined as Verdict['authentication'],
    addedHeaders: undefined as Verdict['addedHeaders'],
  };
  /** Marks the verdict as not final: part of the decision was not evaluated or is not emulated (the reason says which). */
  const markIncomplete = (reason: string): void => {
    base.incomplete = true;
    if (!base.incompleteReasons.includes(reason)) base.incompleteReasons.push(reason);
  };
  const finish = (top: Reply, disposition: Verdict['disposition']): Verdict => {
    const differs = recipients.some(
      (entry) => entry.action !== recipients[0]?.action || entry.enhanced !== recipients[0]?.enhanced,
    );
    // Built property by property: object spread here was the slowest part of a verdict (measured in bench/trace).
    const verdict: Verdict = {
      action: top.action,
      stage: top.stage,
      code: top.code,
      enhanced: top.enhanced,
      text: top.text,
      disposition,
      connector: base.connector,
      authAs: base.authAs,
      scl: base.scl,
      rules: base.rules,
      trace: base.trace,
      incomplete: base.incomplete,
      assumptions: [...used].sort(),
    };
    if (base.incomplete) verdict.incompleteReasons = base.incompleteReasons;
    if (differs) verdict.recipients = recipients;
    if (base.authentication) verdict.authentication = base.authentication;
    if (base.addedHeaders && top.action === 'accept') verdict.addedHeaders = base.addedHeaders;
    return verdict;
  };

  if (acceptedRecipients.length === 0) {
    const first = recipients.find((entry) => entry.action === 'reject') as RecipientResult;
    const { recipient: _recipient, ...top } = first;
    return finish(top, 'none');
  }

  // ── DATA ────────────────────────────────────────────────────────────────────────────────────────
  const given = headerFields(transaction.headers);
  const fromHeader = given.find((field) => field.name.toLowerCase() === 'from');
  if (transaction.headers !== undefined && given.length > 0 && (!fromHeader || !addressInHeader(fromHeader.value))) {
    trace.push({
      step: 'data',
      detail: 'the message has no valid From header: 550 5.7.512',
      sources: ['S49', '§9'],
    });
    return finish(reply('reject', 'data', REPLIES.noFromHeader), 'none');
  }
  const headerFrom = fromHeader ? addressInHeader(fromHeader.value) : null;

  // Header firewall: organisation headers from outside are removed, and EOP stamps its own AuthAs (S33).
  const stripped = authAs === 'Internal' ? [] : given.filter((field) => ORGANIZATION_HEADER.test(field.name));
  if (stripped.length > 0) {
    trace.push({
      step: 'header-firewall',
      detail: `removed ${stripped.length} X-MS-Exchange-Organization-* header(s) supplied by the sender: ${stripped.map((field) => field.name).join(', ')}`,
      sources: ['S33', '§1.4'],
    });
  }
  const headers: HeaderField[] = [
    ...given.filter((field) => !/^x-ms-exchange-organization-authas$/i.test(field.name) && (authAs === 'Internal' || !ORGANIZATION_HEADER.test(field.name))),
    { name: 'X-MS-Exchange-Organization-AuthAs', value: authAs },
  ];

  // ── Transport rules ─────────────────────────────────────────────────────────────────────────────
  const rules = evaluateTransportRules(
    snapshot.TransportRule,
    {
      clientIp,
      clientIpText,
      mailFrom: mailFrom.toLowerCase(),
      headerFrom,
      recipients: acceptedRecipients,
      headers,
      authAs,
      acceptedDomains: accepted,
      assumptions,
      attachments: transaction.attachments,
    },
    assumptions,
  );
  trace.push(...rules.trace);
  use(...rules.assumptions);
  base.rules = rules.evaluations;
  base.scl = rules.scl;
  for (const evaluation of rules.evaluations) {
    if (evaluation.matched === null) markIncomplete(`transport rule "${evaluation.name}" uses a predicate eoplock does not evaluate (${evaluation.notEvaluated.join(', ')}): its actions are not applied`);
  }

  const outcome = rules.outcome;
  if (outcome.kind === 'reject') {
    use('rule-reject-stage');
    const inSession = assumptions['rule-reject-stage'] === 'end-of-data';
    trace.push({
      step: 'rule-reject',
      detail: inSession
        ? `"${outcome.rule}" rejects the message: 550 ${outcome.enhanced} in reply to the end of DATA`
        : `"${outcome.rule}" rejects the message: the session accepts it, then the sender gets an NDR 550 ${outcome.enhanced}`,
      sources: ['S18', 'S49', '§4.2'],
      assumptions: ['rule-reject-stage'],
    });
    return finish(
      { action: 'reject', stage: 'data', code: 550, enhanced: outcome.enhanced, text: outcome.text },
      inSession ? 'none' : 'ndr',
    );
  }
  const queued = reply('accept', 'data', REPLIES.queued);
  if (outcome.kind === 'delete') return finish(queued, 'delete');
  if (outcome.kind === 'quarantine') return finish(queued, 'quarantine');
  if (blockListDrop) return finish(queued, 'delete');

  // ── Email authentication (when the transaction carries SPF/DKIM results) ─────────────────────────
  let authDisposition: 'quarantine' | 'junk' | null = null;
  if (transaction.authentication) {
    const input = transaction.authentication;
    const fromDomain = headerFrom ? domainOf(headerFrom) : null;
    const receiver = chosen ? `"${chosen.candidate.connector.Name}"` : 'this connection (no connector matched)';
    // Enhanced Filtering (S7, S23): the evaluated source comes from the Received chain; a given evaluatedIp wins.
    const efc = enhancedFiltering(chosen?.candidate.connector);
    const efcApplies = efcAppliesTo(efc, acceptedRecipients);
    const fromChain = evaluatedSource(clientIpText, given, efc, efcApplies);
    let evaluatedIp = fromChain.ip;
    let skipListed = fromChain.skipListed;
    let sourceDetail: string | null = null;
    if (input.evaluatedIp !== undefined) {
      const explicit = parseIp(String(input.evaluatedIp));
      if (!explicit) throw new InputError(`"${String(input.evaluatedIp)}" is not an IPv4 or IPv6 address`, { where: 'authentication.evaluatedIp' });
      evaluatedIp = explicit.toString();
      skipListed = efcApplies && evaluatedIp !== clientIpText;
      sourceDetail = efcApplies
        ? `the given evaluatedIp ${evaluatedIp} is used (Enhanced Filtering on ${receiver}; from the Received chain: ${fromChain.note})`
        : evaluatedIp === clientIpText
          ? `the given evaluatedIp ${evaluatedIp} is the connecting IP`
          : `the given evaluatedIp ${evaluatedIp} is used, although ${efc.on ? `Enhanced Filtering on ${receiver} does not cover every recipient (EFUsers)` : `no Enhanced Filtering applies on ${receiver}`}: EOP itself would evaluate the connecting IP ${clientIpText}`;
    } else if (efc.on) {
      sourceDetail = `Enhanced Filtering on ${receiver}: ${fromChain.note}`;
      if (!fromChain.resolved) {
        markIncomplete(`Enhanced Filtering applies on ${receiver} but the Received chain gives no source that is not skip-listed, so SPF and DMARC for the true source are unknown`);
      }
    }
    if (sourceDetail) trace.push({ step: 'enhanced-filtering', detail: sourceDetail, sources: ['S7', 'S23', '§5'] });

    const outcomeAuth = evaluateAuthentication(
      { ...input, evaluatedIp },
      {
        clientIp: clientIpText,
        skipListed,
        mailFrom,
        fromDomain,
        acceptedFrom: fromDomain !== null && findAcceptedDomain(fromDomain, accepted, assumptions) !== null,
        snapshot,
      },
    );
    base.authentication = outcomeAuth;
    base.addedHeaders = [
      authenticationResultsHeader(outcomeAuth),
      ...(skipListed ? [{ name: 'X-MS-Exchange-SkipListedInternetSender', value: `ip=[${outcomeAuth.evaluatedIp}]` }] : []),
    ];
    trace.push({
      step: 'authentication',
      detail: `SPF ${outcomeAuth.spf} for ${outcomeAuth.evaluatedIp}${skipListed ? ' (skip-listed source)' : ''}; DKIM ${outcomeAuth.dkim.map((entry) => `${entry.result} d=${entry.domain}`).join(', ') || 'none'}; DMARC ${outcomeAuth.dmarc}${outcomeAuth.dmarcPolicy ? ` (p=${outcomeAuth.dmarcPolicy})` : ''} for ${fromDomain ?? '(no From domain)'}; compauth ${outcomeAuth.compauth.result} reason=${outcomeAuth.compauth.reason}`,
      sources: ['S23', 'S24', 'S25', '§5', '§6.1'],
    });

    if (outcomeAuth.compauth.result !== 'pass') {
      // The anti-phishing policy that applies to each recipient (S32: only the first that includes the recipient).
      // When a policy only may apply (a condition on users or groups), each policy that could apply is judged; the
      // outcome is known when they all agree.
      const judged = acceptedRecipients.filter((recipient) => !relayed.includes(recipient));
      const perRecipient = (judged.length > 0 ? judged : acceptedRecipients).map((recipient) => {
        const chain = policiesFor(snapshot, 'antiPhish', recipient, { assumptions });
        for (const entry of chain) use(...(entry.assumptions ?? []));
        const domain = domainOf(recipient) ?? '';
        const elsewhere = mxElsewhere(snapshot, domain);
        // With the MX elsewhere, Honor DMARC acts only through Enhanced Filtering (S26); authentication is then implicit (S23).
        const explicitChecks = efcApplies || elsewhere !== true;
        const decisions = chain.map((entry) => antiSpoofDecision(outcomeAuth, antiPhishSettings(entry.policy), explicitChecks));
        return { recipient, chain, applying: chain[0] as (typeof chain)[number], domain, elsewhere, explicitChecks, decisions, decision: decisions[0] as (typeof decisions)[number] };
      });
      const primary = perRecipient[0] as (typeof perRecipient)[number];
      const byChain = new Map<string, typeof perRecipient>();
      for (const entry of perRecipient) {
        const key = entry.chain.map((policy) => policy.name).join('\u0000');
        byChain.set(key, [...(byChain.get(key) ?? []), entry]);
      }
      for (const entries of byChain.values()) {
        const first = entries[0] as (typeof perRecipient)[number];
        const others = entries.length > 1 ? ` (the same for ${entries.length - 1} other recipient(s))` : '';
        const agree = first.decisions.every((decision) => decision.action === first.decision.action);
        trace.push({
          step: 'anti-phishing-policy',
          detail:
            first.chain.map((policy) => policy.reason).join('; ') + others +
            (first.chain.length > 1 ? (agree ? `; whichever applies, the outcome is the same (${first.decision.action})` : '') : ''),
          sources: ['S26', 'S27', 'S32', '§6.3', '§6.4'],
        });
        if (!agree) {
          markIncomplete(
            `which anti-phishing policy applies to ${entries.map((entry) => entry.recipient).join(', ')} is not known from the snapshot, and the outcome depends on it (` +
              first.chain.map((policy, index) => `"${policy.name}": ${first.decisions[index]?.action}`).join(', ') + ')',
          );
        }
      }
      if (perRecipient.some((entry) => entry.decision.action !== primary.decision.action)) {
        markIncomplete(
          `recipients get different anti-phishing outcomes (${perRecipient.map((entry) => `${entry.recipient}: ${entry.decision.action} under "${entry.applying.name}"`).join('; ')}); the verdict shows ${primary.recipient}'s`,
        );
      }
      if (outcomeAuth.dmarc === 'fail' && !efcApplies && primary.elsewhere === null) {
        markIncomplete(`the snapshot has no MX for ${primary.domain}: Honor DMARC acts only when the MX points to Exchange Online or Enhanced Filtering applies (S26), so whether it acts is unknown (taken here as Exchange Online)`);
      }

      const p = outcomeAuth.dmarcPolicy ?? 'none';
      const decision = primary.decision;
      const allow = decision.action !== 'none' ? tenantAllow(snapshot, rules, clientIp, assumptions) : null;
      if (outcomeAuth.dmarc === 'fail' && !primary.explicitChecks) {
        trace.push({
          step: 'honor-dmarc',
          detail:
            `${primary.domain}'s MX points away from Exchange Online and Enhanced Filtering is not applied on ${receiver}: Honor DMARC does not act and ` +
            `authentication is implicit only, so the DMARC p=${p} failure is not enforced (the Ghost-Sender gap); ${decision.detail}`,
          sources: ['S23', 'S26', 'S61', '§5', '§11.10'],
        });
      } else {
        const mxNote = primary.elsewhere === null ? ` (no MX for ${primary.domain} in the snapshot: taken to be Exchange Online)` : primary.elsewhere ? ' (MX elsewhere, Enhanced Filtering applied)' : '';
        trace.push({
          step: 'honor-dmarc',
          detail: `"${primary.applying.name}"${mxNote}: ${decision.detail}`,
          sources: ['S26', 'S27', 'S29', '§6.4'],
          ...(decision.action === 'Reject' && !allow?.by ? { assumptions: ['dmarc-reject-stage'] } : {}),
        });
      }

      if (allow) {
        if (allow.assumption) use(allow.assumption);
        const wouldDo = decision.action === 'spoof-intelligence' ? 'spoof intelligence\'s verdict' : decision.action === 'Reject' ? 'the 5.7.509 reject' : `the ${decision.action} action`;
        if (allow.by) {
          trace.push({
            step: 'tenant-allow',
            detail:
              `${allow.by}: tenant allow wins over DMARC/spoof (S32 order and precedence), so ${wouldDo} is not applied and the message is delivered; ` +
              'malware and high-confidence phishing would still be quarantined (S32) — eoplock does not emulate those content verdicts',
            sources: ['S26', 'S30', 'S32', '§4.2', '§6.3'],
            ...(allow.assumption ? { assumptions: [allow.assumption] } : {}),
          });
        } else {
          if (allow.ignored) {
            trace.push({ step: 'tenant-allow', detail: `${allow.ignored}: it does not override ${wouldDo}`, sources: ['S26', 'S30', 'S32', '§6.6'], assumptions: ['ip-allow-list-vs-dmarc'] });
          }
          if (decision.action === 'spoof-intelligence') {
            markIncomplete(`spoof intelligence's implicit (compauth) verdict is not emulated: it may apply AuthenticationFailAction (${antiPhishSettings(primary.applying.policy).spoofAction}) instead of delivering`);
          } else if (decision.action === 'Reject') {
            use('dmarc-reject-stage');
            const inSession = assumptions['dmarc-reject-stage'] === 'end-of-data';
            const rejected = reply('reject', 'data', REPLIES.dmarcRejected, { domain: fromDomain ?? '' });
            return finish(rejected, inSession ? 'none' : 'ndr');
          } else {
            authDisposition = decision.action === 'MoveToJmf' ? 'junk' : 'quarantine';
          }
        }
      }
    }
  }
  if (authDisposition === 'quarantine') return finish(queued, 'quarantine');
  if (rules.scl !== null && rules.scl >= 5) {
    markIncomplete(`a rule set SCL ${rules.scl}, which asks for a ${rules.scl >= 9 ? 'high-confidence spam' : 'spam'} verdict: the anti-spam policy's action for it (content filtering) is not emulated`);
  }
  if (authDisposition === 'junk') return finish(queued, 'junk');
  trace.push({
    step: 'filtering',
    detail:
      `accepted by the transport layer; content filtering (anti-malware, anti-spam${transaction.authentication ? '' : ', spoof intelligence, DMARC'}) is not emulated` +
      (rules.scl !== null ? ` — a rule set SCL ${rules.scl}, an input to filtering` : ''),
    sources: ['S18', 'S32', '§6.3'],
  });
  return finish(queued, relayed.length === acceptedRecipients.length ? 'relay' : 'deliver');
}

/**
 * A tenant allow that overrides DMARC and spoof actions (S26, S32): an Enforce-mode transport rule that set SCL -1,
 * or the connecting IP on the IP Allow List (assumption `ip-allow-list-vs-dmarc`). `by` names the allow that wins;
 * `ignored` names an allow the assumption says does not.
 */
function tenantAllow(
  snapshot: Snapshot,
  rules: ReturnType<typeof evaluateTransportRules>,
  clientIp: NonNullable<ReturnType<typeof parseIp>>,
  assumptions: Assumptions,
): { by: string | null; ignored: string | null; assumption: 'ip-allow-list-vs-dmarc' | null } {
  if (rules.scl === -1) {
    const rule = [...rules.evaluations].reverse().find((entry) => entry.matched === true && entry.mode === 'Enforce' && /\bset SCL -1\b/.test(entry.actionTaken));
    return { by: `transport rule "${rule?.name ?? '?'}" set SCL -1`, ignored: null, assumption: null };
  }
  for (const policy of snapshot.HostedConnectionFilterPolicy) {
    const allowed = findInList(compiledIpList(policy.IPAllowList), clientIp);
    if (!allowed) continue;
    const what = `${clientIp.toString()} is on the IP Allow List (${allowed.text}) of "${policy.Name ?? 'connection filter policy'}"`;
    return assumptions['ip-allow-list-vs-dmarc'] === 'allow-wins'
      ? { by: what, ignored: null, assumption: 'ip-allow-list-vs-dmarc' }
      : { by: null, ignored: what, assumption: 'ip-allow-list-vs-dmarc' };
  }
  return { by: null, ignored: null, assumption: null };
}

function describeRestriction(connectors: readonly { RestrictDomainsToIPAddresses: boolean; RestrictDomainsToCertificate: boolean }[]): string {
  const ip = connectors.some((connector) => connector.RestrictDomainsToIPAddresses);
  const cert = connectors.some((connector) => connector.RestrictDomainsToCertificate);
  return ip && cert ? 'IP addresses or certificate' : ip ? 'IP addresses' : 'certificate';
}
