/**
 * `eoplock prove`: the shapes shared by the class enumeration (classes.ts), the search (prove.ts) and its renderers.
 *
 * The transaction space splits into finitely many classes the configuration cannot tell apart (every boundary of
 * every address list, every certificate name, domain, header value and authentication result the decision reads);
 * one representative transaction per class is decided. A bypass is a class accepted for delivery to a tenant mailbox
 * that did not come from the gateway; a broken legitimate path is a class from the gateway (or an allowed Direct Send
 * source) that is refused.
 */
import type { Assumptions } from '../eop/assumptions.js';
import type { Transaction, Verdict } from '../eop/types.js';
import type { GatewayProfile } from '../profile/profile.js';
import type { Snapshot } from '../snapshot/parse.js';

/** One input dimension's region: a representative value and what it stands for. */
export interface Region<T> {
  /** The representative value used in the transaction. */
  value: T;
  /** What the region is, in words (`203.0.113.0–203.0.113.255, inside "Partner A".SenderIPAddresses`). */
  label: string;
}

/** The regions of every input dimension, as derived from the snapshot and profile. */
export interface ClassSpace {
  clientIp: Region<string>[];
  tls: Region<Transaction['tls']>[];
  mailFrom: Region<string>[];
  headerFrom: Region<string | null>[];
  recipients: Region<string[]>[];
  headers: Region<Record<string, string>>[];
  authentication: Region<Transaction['authentication']>[];
  /** The number of classes (the product of the dimensions, after any exact pruning). */
  size: number;
}

/** Where a class's mail comes from, relative to the gateway profile and the allowed Direct Send sources. */
export type Origin = 'gateway' | 'allowed-source' | 'other';

export interface ProvenClass {
  /** The representative transaction. */
  transaction: Transaction;
  /** The region labels of each dimension, for reports. */
  labels: Record<keyof Omit<ClassSpace, 'size'>, string>;
  origin: Origin;
  verdict: Verdict;
}

/** A group of classes with one cause (the stages and settings that let them through or refuse them). */
export interface ProofFinding {
  kind: 'bypass' | 'broken-legitimate' | 'shared-gateway-infrastructure';
  /** The cause in one line (`"Partner A" accepts 198.51.100.0/24 for every accepted domain`). */
  cause: string;
  /** Stable key of the cause, for grouping and diffing. */
  key: string;
  /** How many classes it stands for. */
  classes: number;
  /** One representative, with its verdict (and trace when asked). */
  representative: ProvenClass;
  /** Assumption values under which it exists, when the search ran under several (`--all-assumptions`). */
  onlyUnder?: Partial<Assumptions>[];
  /** What narrows it (for shared gateway infrastructure: a tenant-specific certificate or connector). */
  remedy?: string;
  /** Source ids backing the cause. */
  sources: string[];
}

export interface ProofOptions {
  profile: GatewayProfile;
  assumptions: Assumptions;
  /** Direct Send sources the admin allows (addresses or CIDR), besides IP connectors. */
  allowDirectSend?: readonly string[];
  /** Keep the representatives' traces (slower). */
  trace?: boolean;
  /**
   * Called now and then during the search (at most every few thousand decisions) with the classes covered so far and
   * the size of the space: for a progress display.
   */
  progress?: (covered: number, total: number) => void;
  /**
   * Asked as often as `progress` is called: true stops the search (a time limit, for example). The result then says
   * how far it got (`stopped`) and is not a proof; the findings found so far are real.
   */
  stop?: () => boolean;
}

export interface ProofResult {
  snapshot: { tenant: string | null; file?: string };
  /** The number of classes covered: the product of every dimension's regions. */
  classes: number;
  /** How many of them were decided; the others share a decided verdict or cannot change a finding (prove.ts). */
  decided?: number;
  /** How long the search took, in milliseconds. */
  milliseconds: number;
  findings: ProofFinding[];
  /** bypasses === 0 is the proof ("0 bypasses in N classes"). */
  bypasses: number;
  brokenLegitimate: number;
  /** What the proof does not cover (not emulated parts, dimensions left out), in words. */
  limits: string[];
  /**
   * Present when the search was stopped before it covered the space (ProofOptions.stop): `classes` counts the
   * classes covered, `of` the size of the space. Such a result is not a proof.
   */
  stopped?: { of: number };
  /** `proveAll`: the assumption values (of the assumptions the verdicts relied on) of every search, the given ones first. */
  assumptionSets?: Partial<Assumptions>[];
}

/** The search itself (implemented in prove.ts). */
export type Prove = (snapshot: Snapshot, options: ProofOptions) => ProofResult;
