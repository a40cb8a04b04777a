/**
 * Every source id eoplock prints resolves for the reader: each S-number cited anywhere in src/ is in
 * src/eop/sources.ts with a title and an https/http address, docs/sources.md is the table as generated, and the text
 * outputs that print ids end with a footer giving each one's address.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { renderSourcesDocument, SOURCES_DOCUMENT } from '../../scripts/sources-doc.js';
import { citedSourceIds, GUIDE_ID, SOURCES, sourceFooter, sourceIdsOf } from '../../src/eop/sources.js';
import { cli } from '../helpers/cli.js';

async function sourceFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true });
  const files = await Promise.all(entries.map((entry) => (entry.isDirectory() ? sourceFiles(join(folder, entry.name)) : [join(folder, entry.name)])));
  return files.flat().filter((file) => file.endsWith('.ts'));
}

describe('the source table', () => {
  test('every S-number cited anywhere in src/ is in src/eop/sources.ts', async () => {
    const missing: string[] = [];
    for (const file of await sourceFiles('src')) {
      const text = await readFile(file, 'utf8');
      for (const id of citedSourceIds(text)) if (!(id in SOURCES)) missing.push(`${id} in ${file}`);
    }
    assert.deepEqual(missing, []);
  });

  test('the ids most traces cite resolve (S16, S33–S35, S61 among them), each with a title and an address', () => {
    for (const id of ['S16', 'S33', 'S34', 'S35', 'S61', 'S2a', GUIDE_ID]) assert.ok(SOURCES[id], id);
    for (const [id, source] of Object.entries(SOURCES)) {
      assert.ok(source.title.length > 3, `${id} has a title`);
      for (const url of [source.url, ...(source.also ?? [])]) assert.match(url, /^https?:\/\/[^\s]+$/, `${id}: ${url}`);
    }
  });

  test('the guide eoplock corrects is named and linked (msb365.blog post 6164, 27 Apr 2026)', () => {
    assert.match(SOURCES[GUIDE_ID]?.title ?? '', /How to lock down Exchange Online so EOP refuses direct external mail/);
    assert.equal(SOURCES[GUIDE_ID]?.url, 'https://www.msb365.blog/?p=6164');
  });

  test('docs/sources.md is the table as generated (node --import tsx scripts/sources-doc.ts)', async () => {
    const committed = await readFile(SOURCES_DOCUMENT, 'utf8');
    assert.equal(committed, renderSourcesDocument(), 'docs/sources.md is out of date: run node --import tsx scripts/sources-doc.ts');
    for (const [id, source] of Object.entries(SOURCES)) assert.ok(committed.includes(source.url), `${id} is in the document`);
  });
});

describe('citing and resolving ids', () => {
  test('citedSourceIds finds S-numbers with a letter, and the guide by name; not ids inside other words', () => {
    assert.deepEqual(citedSourceIds('the guide\'s test 4 (S2a, S23); 5.7.513 (AS16012607); S3 and S3 again'), [GUIDE_ID, 'S2a', 'S3', 'S23']);
    assert.deepEqual(citedSourceIds('nothing here: SCL -1, §4.1'), []);
  });

  test('sourceIdsOf keeps the ids of a trace step\'s references and drops section numbers', () => {
    assert.deepEqual(sourceIdsOf(['§2.1', 'S18', 'S1', '§4']), ['S1', 'S18']);
  });

  test('sourceFooter gives each id its title and address, in table order; nothing for no ids', () => {
    const lines = sourceFooter(['S33', 'S16', 'S99']);
    const text = lines.join('\n');
    assert.match(lines[0] ?? '', /docs\/sources\.md/);
    assert.ok(text.indexOf('S16') < text.indexOf('S33'), 'S16 before S33');
    assert.ok(text.includes('https://techcommunity.microsoft.com/t5/exchange-team-blog/office-365-message-attribution/ba-p/749143'));
    assert.ok(text.includes('https://learn.microsoft.com/exchange/header-firewall-exchange-2013-help'));
    assert.match(text, /S99 +\(not in eoplock's source list\)/);
    assert.deepEqual(sourceFooter([]), []);
  });
});

describe('text outputs that print ids end with their addresses', () => {
  test('simulate --trace: every id in a trace step is resolved in the footer', async () => {
    const { stdout } = await cli('simulate', 'examples/contoso-partial.json', '--corpus', 'builtin', '--trace');
    const [body, footer = ''] = stdout.split('Sources cited above');
    const cited = citedSourceIds(body ?? '').filter((id) => id !== GUIDE_ID || footer.includes(GUIDE_ID));
    assert.ok(cited.length > 5);
    for (const id of cited) assert.ok(footer.includes(SOURCES[id]?.url ?? `(${id} unknown)`), `${id} resolved in the footer`);
  });

  test('assumptions: the ids each entry cites, the guide among them, are resolved', async () => {
    const { stdout } = await cli('assumptions');
    assert.doesNotMatch(stdout, /eop-behaviour\.md/);
    const [, footer = ''] = stdout.split('Sources cited above:');
    assert.ok(footer.includes('https://www.msb365.blog/?p=6164'), 'the guide (attribution-reject-order cites its test 1)');
    assert.ok(footer.includes(SOURCES.S2a?.url ?? 'S2a'), 'S2a (attribution-reject-stage)');
  });

  test('audit text: a failed check names its sources and the footer resolves them', async () => {
    const { stdout } = await cli('audit', 'examples/contoso-exposed.json');
    assert.match(stdout, /EOPL-001 RejectDirectSend is on[\s\S]*?Sources: S1, S2, S3 \(below\)/);
    const [, footer = ''] = stdout.split('Sources cited above');
    for (const id of ['S1', 'S2', 'S3', 'S32']) assert.ok(footer.includes(SOURCES[id]?.url ?? id), id);
  });
});
