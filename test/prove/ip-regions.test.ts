/**
 * The client-IP regions (src/prove/classes.ts ipRegions) come from one sweep over the boundaries of every address
 * list. Its specification is the direct reading: an interval between two boundaries lies in exactly the entries that
 * contain it, and intervals in the same entries are one region. The sweep must give what that reading gives, for any
 * lists (nested, overlapping, touching, IPv4 and IPv6), and stay fast for tens of thousands of entries.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { bytesToBigInt, parseIpEntry, type IpEntry } from '../../src/eop/ip.js';
import { ipRegions, type NamedList } from '../../src/prove/classes.js';

/** The direct reading, for each interval: the entries that contain it (what the sweep replaced; quadratic). */
function directSignatures(lists: readonly NamedList[], family: 'ipv4' | 'ipv6'): Map<string, [bigint, bigint][]> {
  const max = (1n << BigInt(family === 'ipv4' ? 32 : 128)) - 1n;
  const entries = lists.flatMap((list, listIndex) =>
    list.entries.flatMap((entry, entryIndex) => (entry.family === family ? [{ key: `${listIndex}.${entryIndex}`, low: bytesToBigInt(entry.low), high: bytesToBigInt(entry.high) }] : [])),
  );
  const points = [...new Set([0n, ...entries.flatMap((entry) => (entry.high < max ? [entry.low, entry.high + 1n] : [entry.low]))])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const regions = new Map<string, [bigint, bigint][]>();
  points.forEach((low, index) => {
    const high = index + 1 < points.length ? (points[index + 1] as bigint) - 1n : max;
    const key = entries.filter((entry) => entry.low <= low && high <= entry.high).map((entry) => entry.key).join(',');
    regions.set(key, [...(regions.get(key) ?? []), [low, high]]);
  });
  return regions;
}

const entry = (text: string): IpEntry => {
  const parsed = parseIpEntry(text);
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed;
};

/** Entries in a small corner of each family, so that they overlap, nest and touch often. */
const ipv4Entry = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 22, max: 32 })).map(([c, d, prefix]) => `10.0.${c}.${d}/${prefix}`),
  fc.tuple(fc.integer({ min: 0, max: 1023 }), fc.integer({ min: 0, max: 300 })).map(([start, length]) => {
    const at = (n: number) => `10.0.${Math.floor(Math.min(n, 1023) / 256)}.${Math.min(n, 1023) % 256}`;
    return `${at(start)}-${at(start + length)}`;
  }),
);
const ipv6Entry = fc.tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 116, max: 128 })).map(([n, prefix]) => `2001:db8::${n.toString(16)}00/${prefix}`);
const lists = fc.array(fc.array(fc.oneof(ipv4Entry, ipv6Entry), { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 5 }).map((all) =>
  all.map((texts, index): NamedList => ({ name: `list ${index}`, entries: texts.map(entry) })),
);

test('the sweep gives the direct reading: the same regions, each in the same entries', () => {
  fc.assert(
    fc.property(lists, (given) => {
      const regions = ipRegions(given);
      const expected = [...directSignatures(given, 'ipv4').values(), ...directSignatures(given, 'ipv6').values()];
      assert.equal(regions.length, expected.length);
      // Each region's representative address is in the intervals of exactly one direct region, and regions are distinct.
      const seen = new Set<number>();
      for (const region of regions) {
        const value = bytesToBigInt(entry(region.value).low);
        const at = expected.findIndex((intervals) => intervals.some(([low, high]) => low <= value && value <= high));
        assert.ok(at >= 0, region.label);
        assert.ok(!seen.has(at), `two regions for one set of entries: ${region.label}`);
        seen.add(at);
        // The label names the entries of the direct region (or none).
        const inside = [...directSignatures(given, entry(region.value).family)].find(([, intervals]) => intervals === expected[at] || intervals.some(([low, high]) => low <= value && value <= high))?.[0] ?? '';
        if (inside === '') assert.match(region.label, /outside every address list$/);
        for (const key of inside.split(',').filter(Boolean)) {
          const [list, position] = key.split('.').map(Number) as [number, number];
          assert.ok(region.label.includes(given[list]?.entries[position]?.text as string), `${region.label} names ${key}`);
        }
      }
    }),
    { numRuns: 200 },
  );
});

test('tens of thousands of entries: every entry its own region, in one pass', () => {
  const entries = Array.from({ length: 20_000 }, (_, i) => entry(`10.${(i >> 8) & 255}.${i & 255}.${(i * 7) & 255}`));
  const regions = ipRegions([{ name: 'many', entries }]);
  // Each address its own region, plus the IPv4 space outside them all (one region: the same entries, none), plus IPv6.
  assert.equal(regions.length, 20_002);
  assert.equal(regions.filter((region) => region.label.endsWith('outside every address list')).length, 2);
});
