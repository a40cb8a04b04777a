/**
 * How reports show a check's control mappings and its evidence values: one wording for text, SARIF, JUnit and HTML,
 * so that a partial, related or proposed mapping is never shown as if it were the control itself, and a property
 * missing from the export is never shown as a value it does not have.
 */
import type { Control, Evidence } from '../audit/model.js';

/** `CIS 6.5.5`: the framework and the control id. */
export const controlName = (control: Control): string => `${control.framework} ${control.id}`;

/** `CIS 6.5.5`, or `CIS 2.1.8 (partial: the CIS remediation publishes -all; …)` for anything but an exact mapping. */
export function controlLabel(control: Control): string {
  if (control.relation === 'exact') return controlName(control);
  return `${controlName(control)} (${control.relation}${control.why ? `: ${control.why}` : ''})`;
}

/** A SARIF tag: the bare name for an exact mapping, `CIS 2.1.8 (partial)` otherwise, so a tag filter never mistakes one. */
export function controlTag(control: Control): string {
  return control.relation === 'exact' ? controlName(control) : `${controlName(control)} (${control.relation})`;
}

/** What a piece of evidence found, in words: the value, or that the export does not hold the property. */
export function foundText(evidence: Pick<Evidence, 'actual' | 'absent'>, show: (value: unknown) => string): string | null {
  if (evidence.absent) return `absent from the export (Exchange Online's default is ${evidence.absent.exchangeDefault})`;
  return evidence.actual !== undefined ? show(evidence.actual) : null;
}
