/**
 * Where the report's ids lead (pure): source ids to the addresses in src/eop/sources.ts, control ids to the text of
 * their framework. Only addresses the frameworks publish are used; where no public page holds a control's text, the
 * report says so instead of inventing a link.
 */
import type { Control } from '../../audit/model.js';
import { SOURCES } from '../../eop/sources.js';

export interface ControlLink {
  /** The page that holds the control's text, or null when no public page is known. */
  url: string | null;
  /** What the link leads to, or why there is none. */
  note: string;
}

/** Each framework's published text. */
const FRAMEWORKS: Readonly<Record<string, (id: string) => ControlLink>> = {
  // The benchmark is one PDF, handed out after a form: the landing page is the nearest public address.
  CIS: () => ({ url: 'https://www.cisecurity.org/benchmark/microsoft_365', note: 'CIS Microsoft 365 Foundations Benchmark (PDF, by section number)' }),
  // ScubaGear keeps each product's baseline as one Markdown file; MS.EXO ids are in exo.md.
  SCuBA: (id) =>
    id.startsWith('MS.EXO.')
      ? { url: 'https://github.com/cisagov/ScubaGear/blob/main/PowerShell/ScubaGear/baselines/exo.md', note: 'CISA SCuBA Exchange Online baseline' }
      : { url: 'https://github.com/cisagov/ScubaGear/tree/main/PowerShell/ScubaGear/baselines', note: 'CISA SCuBA baselines (the security suite baseline)' },
  // Maester documents each test on a page of its own.
  Maester: (id) => ({ url: `https://maester.dev/docs/tests/${encodeURIComponent(id)}`, note: 'Maester test documentation' }),
  ORCA: () => ({ url: 'https://github.com/cammurray/orca', note: 'ORCA (Office 365 Recommended Configuration Analyzer) checks' }),
};

export function controlLink(control: Control): ControlLink {
  return FRAMEWORKS[control.framework]?.(control.id) ?? { url: null, note: `no public address of ${control.framework}'s control text is known to eoplock` };
}

/** The address of a source id, or null for an id outside the source list. */
export function sourceUrl(id: string): string | null {
  return SOURCES[id]?.url ?? null;
}

export const sourceTitle = (id: string): string | null => SOURCES[id]?.title ?? null;

/** Source ids as they appear in prose (`S12`, `S2a`). */
const CITED_ID = /\bS\d{1,3}[a-z]?\b/g;

/**
 * Text for HTML with every known source id made a link. `escape` runs first, so the ids are found in text that is
 * already safe: an escaped entity holds no `S` followed by a digit.
 */
export function linkSourceIds(text: string, escape: (value: unknown) => string): string {
  return escape(text).replace(CITED_ID, (id) => {
    const url = sourceUrl(id);
    return url ? `<a class="source" href="${escape(url)}" title="${escape(sourceTitle(id))}" rel="noreferrer">${id}</a>` : id;
  });
}
