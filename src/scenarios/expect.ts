/**
 * Comparing a verdict with a scenario's expectation. Pure.
 */
import type { Verdict } from '../eop/types.js';
import type { Expectation } from './schema.js';

export interface ExpectationDiff {
  field: string;
  expected: unknown;
  actual: unknown;
}

export interface ExpectationResult {
  met: boolean;
  diffs: ExpectationDiff[];
}

export function checkExpectation(verdict: Verdict, expectation: Expectation | undefined): ExpectationResult | null {
  if (!expectation) return null;
  const diffs: ExpectationDiff[] = [];
  const compare = (field: string, expected: unknown, actual: unknown) => {
    if (expected !== undefined && expected !== actual) diffs.push({ field, expected, actual });
  };
  compare('action', expectation.action, verdict.action);
  compare('code', expectation.code, verdict.code);
  compare('enhanced', expectation.enhanced, verdict.enhanced);
  compare('stage', expectation.stage, verdict.stage);
  compare('disposition', expectation.disposition, verdict.disposition);
  if (expectation.connector !== undefined) compare('connector', expectation.connector, verdict.connector?.name ?? null);
  return { met: diffs.length === 0, diffs };
}
