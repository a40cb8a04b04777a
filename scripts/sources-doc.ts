/**
 * Writes docs/sources.md from src/eop/sources.ts: every source id eoplock cites, with its title and address. Run after
 * changing the table:  node --import tsx scripts/sources-doc.ts   (a test fails while the two differ).
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { GUIDE_ID, SOURCES, sortSourceIds } from '../src/eop/sources.js';

/** A Markdown table cell: the text with `|` escaped and no line breaks. */
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\s+/g, ' ');

/** Markdown of the source list, deterministic (the order of the table). */
export function renderSourcesDocument(): string {
  const guide = SOURCES[GUIDE_ID];
  const lines = [
    '# Sources',
    '',
    '<!-- Generated from src/eop/sources.ts by scripts/sources-doc.ts; do not edit by hand. -->',
    '',
    'Every source id that eoplock prints — in decision traces (`simulate --trace`), audit checks, `eoplock assumptions`,',
    'PLAN.md, `monitor` and `headers` — is listed here with its address. Text reports end with the ids they cite;',
    'JSON output keeps the bare ids, which this page resolves.',
    '',
  ];
  if (guide) {
    lines.push(
      '## The guide',
      '',
      `\`${GUIDE_ID}\`: [${guide.title.replace(/^The guide: /, '')}](${guide.url}). eoplock plans the lockdown in the guide's phases; where the`,
      "guide is wrong or unproven — the `-FromScope NotInOrganization` safety net, creating the Direct Send connectors",
      "after the restriction, \"Authentication-Results-Original shows SPF pass\" — eoplock says so and cites Microsoft's",
      'documentation instead.',
      '',
    );
  }
  lines.push(
    '## Sources by id',
    '',
    'S-numbers are those of the fact base the emulator was written from (`§` references in traces name its sections;',
    'each statement there cites the sources below). Microsoft Learn and cmdlet reference pages are Microsoft',
    "documentation; Exchange Team blog posts are Microsoft's; the rest is community material, named as such.",
    '',
    '| id | source | address |',
    '|---|---|---|',
  );
  for (const id of sortSourceIds(Object.keys(SOURCES))) {
    if (id === GUIDE_ID) continue;
    const source = SOURCES[id];
    if (!source) continue;
    const addresses = [source.url, ...(source.also ?? [])].map((url) => `<${url}>`).join('<br>');
    lines.push(`| ${id} | ${cell(source.title)}${source.note ? ` — ${cell(source.note)}` : ''} | ${addresses} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** Where the document lives, relative to the repository root. */
export const SOURCES_DOCUMENT = 'docs/sources.md';

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await writeFile(SOURCES_DOCUMENT, renderSourcesDocument());
  console.log(`wrote ${SOURCES_DOCUMENT}`);
}
