/**
 * The emulator's vocabulary: an SMTP transaction as EOP sees it, and the verdict it reaches.
 */

import type { AuthenticationInput, AuthenticationOutcome } from './authentication.js';

/** One header field, in message order. */
export interface HeaderField {
  name: string;
  value: string;
}

/** The certificate the *sending* server presents in STARTTLS. */
export interface PresentedCertificate {
  /** Subject distinguished name (`CN=mx1.seg.example.net, O=…`) or a bare common name. */
  subject: string;
  /** DNS names from the subjectAltName extension. */
  san?: string[];
}

/** One inbound SMTP transaction to the tenant's EOP endpoint. */
export interface Transaction {
  /** The connecting IP (the last hop), IPv4 or IPv6. */
  clientIp: string;
  /** The EHLO/HELO name. */
  helo?: string;
  /** Absent: no TLS. Present: STARTTLS was used, optionally with a client certificate. */
  tls?: { certificate?: PresentedCertificate | undefined } | undefined;
  /** The P1 (envelope) sender; `""` is the null sender `<>`. */
  mailFrom: string;
  /** The P1 recipients. */
  rcptTo: string[];
  /**
   * Message headers: a list of fields (as parsed by src/headers), or a name → value map
   * (a value may be a list when the header occurs more than once).
   */
  headers?: HeaderField[] | Record<string, string | string[]> | undefined;
  /**
   * SPF/DKIM results (and optionally the From domain's DMARC record) for the authentication layer; absent, DMARC and
   * Honor DMARC are not emulated. `authenticate()` computes them from DNS.
   */
  authentication?: AuthenticationInput | undefined;
  /**
   * The message's attachments (Exchange counts embedded images among them, S18). A transaction that lists none
   * describes a message without attachments: every attachment condition of a transport rule is a plain non-match for
   * it. What a listed attachment leaves out (name, size, the files inside an archive) leaves the conditions that need
   * it not evaluated. `'unknown'`: the source of the transaction does not say (message trace, a lab message whose body
   * was not read), and every attachment condition is not evaluated.
   */
  attachments?: TransactionAttachment[] | 'unknown' | undefined;
}

/** One attachment of a message, as far as it is known. */
export interface TransactionAttachment {
  /** The file name (`invoice.pdf`). */
  name?: string | undefined;
  /** The size in bytes. */
  size?: number | undefined;
  /** The files inside it (an archive, an attached message), when known. */
  files?: TransactionAttachment[] | undefined;
}

export type Action = 'accept' | 'reject';
export type Stage = 'connect' | 'mail' | 'rcpt' | 'data';
/** What happens to an accepted message after the SMTP session. */
export type Disposition = 'deliver' | 'relay' | 'junk' | 'quarantine' | 'delete' | 'ndr' | 'none';
export type AuthAs = 'Anonymous' | 'Partner' | 'Internal';

export interface ConnectorMatch {
  name: string;
  type: 'Partner' | 'OnPremises';
  matchedBy: 'ip' | 'certificate';
}

export interface TraceStep {
  /** Short identifier of the decision step (`attribution`, `connector`, `reject-direct-send`, `rule`, …). */
  step: string;
  /** What was found. */
  detail: string;
  /** Source IDs from eop-behaviour.md (S1…S66) and section references (§2.1). */
  sources: string[];
  /** The assumption ids this step relied on, if any. */
  assumptions?: string[];
}

export interface RuleEvaluation {
  name: string;
  priority: number;
  mode: 'Enforce' | 'Audit' | 'AuditAndNotify';
  /** `true`/`false`, or `null` when the rule uses a predicate eoplock cannot evaluate. */
  matched: boolean | null;
  /** What the rule did (`reject 5.7.1`, `quarantine`, `set SCL -1`, `none (Audit mode)`, …). */
  actionTaken: string;
  /** Predicates that were not evaluated. */
  notEvaluated: string[];
  /** Why it matched or not, one line per predicate. */
  reasons: string[];
}

export interface Reply {
  action: Action;
  stage: Stage;
  code: number;
  enhanced: string;
  text: string;
}

export interface RecipientResult extends Reply {
  recipient: string;
}

export interface Verdict extends Reply {
  /** After the session: delivered, quarantined, dropped, bounced (NDR)… `none` when rejected in the session. */
  disposition: Disposition;
  connector: ConnectorMatch | null;
  authAs: AuthAs;
  /** The SCL a rule asked for (an input to filtering, S18), or null. */
  scl: number | null;
  rules: RuleEvaluation[];
  /** Per-recipient replies, present when recipients got different replies. */
  recipients?: RecipientResult[];
  trace: TraceStep[];
  /** The ids of the uncertain behaviours this verdict relied on (see `eoplock assumptions`). */
  assumptions: string[];
  /**
   * True when the verdict is not final: part of the decision could not be evaluated (a rule predicate eoplock does
   * not evaluate, an unknown skip-listed source, an anti-phishing policy that may apply) or depends on what is not
   * emulated (spoof intelligence's implicit verdict, content filtering). `incompleteReasons` says which.
   */
  incomplete: boolean;
  /** Why `incomplete` is true, one sentence each; present only then. */
  incompleteReasons?: string[];
  /** The authentication layer's results, when the transaction carried authentication input. */
  authentication?: AuthenticationOutcome;
  /** Headers EOP adds to an accepted message beyond AuthAs (Authentication-Results, skip-listing). */
  addedHeaders?: HeaderField[];
}
