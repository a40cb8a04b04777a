/**
 * Properties of decide() over generated transactions: determinism, purity, and the lockdown guarantee.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { decide } from '../../src/eop/decide.js';
import type { Transaction } from '../../src/eop/types.js';
import { loadSnapshotFile } from '../../src/snapshot/load.js';

const octet = fc.integer({ min: 0, max: 255 });
const ipv4 = fc.tuple(octet, octet, octet, octet).map((parts) => parts.join('.'));
const ipv6 = fc.array(fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16)), { minLength: 8, maxLength: 8 }).map((g) => g.join(':'));
const domain = fc.constantFrom('contoso.com', 'contoso.co.uk', 'contosolabs.com', 'fabrikam.example', 'sub.contoso.com', 'not-hosted.example');
const local = fc.constantFrom('ceo', 'user', 'scanner', 'x');
const address = fc.tuple(local, domain).map(([l, d]) => `${l}@${d}`);
const certificateName = fc.constantFrom('mx1.seg.example.net', 'mail.contoso.com', 'mail.attacker.example', 'a.b.seg.example.net', 'seg.example.net');

const transaction: fc.Arbitrary<Transaction> = fc.record({
  clientIp: fc.oneof(ipv4, ipv6, fc.constantFrom('203.0.113.10', '192.0.2.25', '198.51.100.5')),
  helo: fc.constant('client.example'),
  tls: fc.option(fc.record({ certificate: fc.option(certificateName.map((name) => ({ subject: `CN=${name}` })), { nil: undefined }) }), { nil: undefined }),
  mailFrom: fc.oneof(address, fc.constant('')),
  rcptTo: fc.array(address, { minLength: 1, maxLength: 4 }),
  headers: fc.option(
    fc.tuple(address, fc.boolean()).map(([from, forged]) => [
      { name: 'From', value: from },
      ...(forged ? [{ name: 'X-MS-Exchange-Organization-AuthAs', value: 'Internal' }] : []),
    ]),
    { nil: undefined },
  ),
});

describe('decide() properties', async () => {
  const locked = (await loadSnapshotFile('examples/contoso-locked.json')).snapshot;
  const exposed = (await loadSnapshotFile('examples/contoso-exposed.json')).snapshot;

  test('deterministic: the same input gives the same verdict', () => {
    fc.assert(
      fc.property(transaction, fc.constantFrom(locked, exposed), (tx, snapshot) => {
        assert.deepEqual(decide(snapshot, tx), decide(snapshot, structuredClone(tx)));
      }),
      { numRuns: 300 },
    );
  });

  test('pure: neither the snapshot nor the transaction is changed', () => {
    const before = structuredClone(locked);
    fc.assert(
      fc.property(transaction, (tx) => {
        const copy = JSON.stringify(tx);
        decide(locked, tx);
        assert.equal(JSON.stringify(tx), copy);
      }),
      { numRuns: 200 },
    );
    assert.deepEqual(locked, before);
  });

  test('a reject carries a 4xx/5xx code and an enhanced code of the same class; an accept carries 250', () => {
    fc.assert(
      fc.property(transaction, fc.constantFrom(locked, exposed), (tx, snapshot) => {
        const verdict = decide(snapshot, tx);
        if (verdict.action === 'accept') assert.equal(verdict.code, 250);
        else {
          assert.ok(verdict.code >= 400 && verdict.code < 600);
          assert.equal(verdict.enhanced[0], String(verdict.code)[0]);
        }
        for (const step of verdict.trace) assert.ok(step.sources.length > 0, step.step);
      }),
      { numRuns: 300 },
    );
  });

  test('the locked tenant: nothing without a connector match reaches a mailbox', () => {
    fc.assert(
      fc.property(transaction, (tx) => {
        const verdict = decide(locked, tx);
        if (verdict.connector === null) {
          assert.ok(!(verdict.action === 'accept' && verdict.disposition === 'deliver'), JSON.stringify({ tx, verdict: verdict.enhanced }));
        }
      }),
      { numRuns: 500 },
    );
  });
});
