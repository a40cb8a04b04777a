/**
 * The one door through which the proof decides a transaction: the compiled emulator (src/eop/compile.ts), compiled
 * once per snapshot and assumption set. `trace: false` is the fast path (no trace, no per-rule reasons).
 */
import type { Assumptions } from '../eop/assumptions.js';
import { compile } from '../eop/compile.js';
import type { Transaction, Verdict } from '../eop/types.js';
import type { Snapshot } from '../snapshot/parse.js';

export interface Decider {
  /** The verdict for one transaction; `trace: false` leaves the trace and each rule's reasons empty. */
  decide(transaction: Transaction, options?: { trace?: boolean }): Verdict;
  /** The fast path's verdicts for the transaction with each authentication input in turn (compile.ts decideEach). */
  decideEach(transaction: Transaction, inputs: readonly Transaction['authentication'][]): Verdict[];
}

export function makeDecider(snapshot: Snapshot, assumptions: Assumptions): Decider {
  const compiled = compile(snapshot, assumptions);
  return {
    decide: (transaction, options) => compiled.decide(transaction, { trace: options?.trace ?? false }),
    decideEach: (transaction, inputs) => compiled.decideEach(transaction, inputs),
  };
}
