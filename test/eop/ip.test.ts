/**
 * CIDR, range and address parsing: boundaries checked by property tests against integer arithmetic, and
 * Node's own net.BlockList as an independent oracle.
 */
import assert from 'node:assert/strict';
import { BlockList } from 'node:net';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { compileIpList, entryContains, findInList, parseIp, parseIpEntry, type IpEntry } from '../../src/eop/ip.js';

const toIp = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
const ipv4 = fc.integer({ min: 0, max: 0xffffffff });
const entry = (text: string): IpEntry => {
  const parsed = parseIpEntry(text);
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed;
};
const contains = (text: string, ip: string) => entryContains(entry(text), parseIp(ip)!);

describe('IPv4 CIDR boundaries (S7, S18)', () => {
  test('the first and last address of a block are inside; the neighbours outside', () => {
    fc.assert(
      fc.property(ipv4, fc.integer({ min: 0, max: 32 }), (n, bits) => {
        const size = 2 ** (32 - bits);
        const network = Math.floor(n / size) * size;
        const block = `${toIp(network)}/${bits}`;
        assert.ok(contains(block, toIp(network)));
        assert.ok(contains(block, toIp(network + size - 1)));
        if (network > 0) assert.ok(!contains(block, toIp(network - 1)));
        if (network + size <= 0xffffffff) assert.ok(!contains(block, toIp(network + size)));
      }),
      { numRuns: 500 },
    );
  });

  test('agrees with node:net BlockList for any address and block', () => {
    fc.assert(
      fc.property(ipv4, ipv4, fc.integer({ min: 0, max: 32 }), (base, probe, bits) => {
        const list = new BlockList();
        list.addSubnet(toIp(base), bits, 'ipv4');
        assert.equal(contains(`${toIp(base)}/${bits}`, toIp(probe)), list.check(toIp(probe), 'ipv4'));
      }),
      { numRuns: 1000 },
    );
  });

  test('a host address with a prefix is normalised to its network (198.51.100.7/28 covers .0–.15)', () => {
    assert.ok(contains('198.51.100.7/28', '198.51.100.0'));
    assert.ok(contains('198.51.100.7/28', '198.51.100.15'));
    assert.ok(!contains('198.51.100.7/28', '198.51.100.16'));
  });
});

describe('ranges a-b', () => {
  test('inclusive at both ends, agreeing with node:net BlockList', () => {
    fc.assert(
      fc.property(ipv4, ipv4, ipv4, (a, b, probe) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        const list = new BlockList();
        list.addRange(toIp(low), toIp(high), 'ipv4');
        assert.equal(contains(`${toIp(low)}-${toIp(high)}`, toIp(probe)), list.check(toIp(probe), 'ipv4'));
        assert.ok(contains(`${toIp(low)}-${toIp(high)}`, toIp(low)));
        assert.ok(contains(`${toIp(low)}-${toIp(high)}`, toIp(high)));
      }),
      { numRuns: 500 },
    );
  });

  test('a reversed range is an error', () => {
    assert.ok('error' in parseIpEntry('192.0.2.9-192.0.2.1'));
  });
});

describe('IPv6', () => {
  test('CIDR agrees with node:net BlockList', () => {
    const group = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16));
    const address = fc.array(group, { minLength: 8, maxLength: 8 }).map((groups) => groups.join(':'));
    fc.assert(
      fc.property(address, address, fc.integer({ min: 0, max: 128 }), (base, probe, bits) => {
        const list = new BlockList();
        list.addSubnet(base, bits, 'ipv6');
        assert.equal(contains(`${base}/${bits}`, probe), list.check(probe, 'ipv6'));
      }),
      { numRuns: 500 },
    );
  });

  test('an IPv4 entry never contains an IPv6 address and vice versa', () => {
    assert.ok(!contains('0.0.0.0/0', '2001:db8::1'));
    assert.ok(!contains('::/0', '192.0.2.1'));
  });

  test('IPv4-mapped IPv6 is read as IPv4', () => {
    assert.equal(parseIp('::ffff:192.0.2.1')?.kind(), 'ipv4');
  });
});

describe('strict parsing', () => {
  for (const bad of ['127.1', '1.2.3', '256.0.0.1', '1.2.3.4/33', '1.2.3.4/x', 'example.com', '', '01.02.03.04.05']) {
    test(`"${bad}" is rejected`, () => {
      assert.ok('error' in parseIpEntry(bad));
    });
  }

  test('a compiled list keeps invalid entries aside with their reason', () => {
    const list = compileIpList(['203.0.113.10', 'bogus', '198.51.100.0/28']);
    assert.equal(list.entries.length, 2);
    assert.deepEqual(list.invalid.map((entry) => entry.text), ['bogus']);
    assert.equal(findInList(list, parseIp('198.51.100.9')!)?.text, '198.51.100.0/28');
  });
});
