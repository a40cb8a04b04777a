/**
 * PLAN.md, the document a change board reads, resolves every source id it cites and names and links the guide whose
 * phases it follows (msb365.blog post 6164, 27 Apr 2026); its outcomes say what the emulator showed — accepted by EOP
 * without the gateway — and that content filtering is not emulated.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { citedSourceIds, GUIDE_ID, SOURCES } from '../../src/eop/sources.js';
import { GOLDEN_PLANS, goldenFiles } from './golden-cases.js';

describe('PLAN.md sources and claims', () => {
  for (const example of GOLDEN_PLANS) {
    test(`${example.name}: every cited id is in the Sources section with its address`, async () => {
      const plan = (await goldenFiles(example))['PLAN.md'] ?? '';
      const [body = '', sources = ''] = plan.split('\n## Sources\n');
      assert.ok(sources.length > 0, 'PLAN.md ends with a Sources section');
      const cited = citedSourceIds(body);
      assert.ok(cited.includes(GUIDE_ID), `names the guide: ${cited.join(', ')}`);
      // A plan that changes something waits for propagation, citing S2 and S20; the locked tenant's plan changes nothing.
      if (example.name !== 'contoso-locked') assert.ok(cited.includes('S2') && cited.includes('S20'), cited.join(', '));
      for (const id of [GUIDE_ID, ...cited]) assert.ok(sources.includes(`- ${id}: [`) && sources.includes(`](${SOURCES[id]?.url})`), `${id} resolved`);
      assert.match(sources, /\[The guide: MSB365 blog, "How to lock down Exchange Online so EOP refuses direct external mail" \(27 Apr 2026\)\]\(https:\/\/www\.msb365\.blog\/\?p=6164\)/);
    });

    test(`${example.name}: outcomes claim acceptance by EOP, never a mailbox`, async () => {
      const plan = (await goldenFiles(example))['PLAN.md'] ?? '';
      assert.match(plan, /"accepted by EOP" is EOP's decision at the transport layer; its content filtering .* is not emulated/);
      assert.doesNotMatch(plan, /\| got-in \||\| delivered \||mailbox|inbox/);
    });
  }
});
