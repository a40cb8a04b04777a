import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { mapLimit } from '../../src/cli/audit.js';

test('mapLimit keeps input order and never runs more than the limit at once', async () => {
  let running = 0;
  let peak = 0;
  const results = await mapLimit([5, 1, 4, 2, 3, 0, 2], 3, async (value, index) => {
    running++;
    peak = Math.max(peak, running);
    await sleep(value);
    running--;
    return `${index}:${value}`;
  });
  assert.deepEqual(results, ['0:5', '1:1', '2:4', '3:2', '4:3', '5:0', '6:2']);
  assert.equal(peak, 3);
});
