/**
 * --replay's machinery on its own: representatives sent over real SMTP (nodemailer's client) to the lab, each from its
 * own loopback address mapped to its client IP. The transactions are the builtin corpus's (src/corpus/builtin.ts) on
 * the bundled examples: the Direct Send spoof EOP accepts on the exposed tenant and refuses with 550 5.7.68 on the
 * locked one (S1, S3), and the gateway's own mail with its certificate (the locked tenant's connector is restricted
 * to *.seg.example.net).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loopbackSource, replayFindings } from '../../src/cli/prove-replay.js';
import { DEFAULT_ASSUMPTIONS } from '../../src/eop/assumptions.js';
import { decide } from '../../src/eop/decide.js';
import type { Transaction, Verdict } from '../../src/eop/types.js';
import type { ProofFinding } from '../../src/prove/types.js';
import type { Snapshot } from '../../src/snapshot/parse.js';
import { loadSnapshotFile } from '../../src/snapshot/load.js';

const exposed = (await loadSnapshotFile('examples/contoso-exposed.json')).snapshot;
const locked = (await loadSnapshotFile('examples/contoso-locked.json')).snapshot;

const spoof: Transaction = { clientIp: '198.51.100.77', helo: 'mail.attacker.example', mailFrom: 'ceo@contoso.com', rcptTo: ['alice@contoso.com'], headers: [{ name: 'From', value: 'CEO <ceo@contoso.com>' }] };
const viaGateway: Transaction = {
  clientIp: '203.0.113.10',
  helo: 'mx1.seg.example.net',
  tls: { certificate: { subject: 'CN=mx1.seg.example.net', san: ['mx1.seg.example.net'] } },
  mailFrom: 'partner@fabrikam.example',
  rcptTo: ['alice@contoso.com'],
  headers: [{ name: 'From', value: 'partner@fabrikam.example' }],
};

function finding(snapshot: Snapshot, transaction: Transaction, key: string, verdict?: Partial<Verdict>): ProofFinding {
  const decided = { ...decide(snapshot, transaction, { assumptions: DEFAULT_ASSUMPTIONS }), ...verdict };
  const labels = { clientIp: '', tls: '', mailFrom: '', headerFrom: '', recipients: '', headers: '', authentication: '' };
  return { kind: 'bypass', cause: key, key, classes: 1, representative: { transaction, labels, origin: 'other', verdict: decided }, sources: [] };
}

describe('replay over SMTP', () => {
  test('loopback sources are distinct host addresses in 127.77.0.0/16', () => {
    const sources = Array.from({ length: 600 }, (_, index) => loopbackSource(index));
    assert.equal(new Set(sources).size, 600);
    for (const source of sources) assert.match(source, /^127\.77\.\d{1,3}\.([1-9]\d{0,2})$/);
  });

  test('the lab answers each representative as the emulator did: accepted on the exposed tenant', { timeout: 60_000 }, async () => {
    const outcomes = await replayFindings(exposed, DEFAULT_ASSUMPTIONS, [finding(exposed, spoof, 'spoof')]);
    assert.deepEqual(outcomes, [{ key: 'spoof', expected: 250, observed: 250, command: 'end of DATA', status: 'same' }]);
  });

  test('refused at RCPT on the locked tenant; the gateway with its certificate accepted; a wrong expectation is reported', { timeout: 60_000 }, async () => {
    const outcomes = await replayFindings(locked, DEFAULT_ASSUMPTIONS, [
      finding(locked, spoof, 'spoof'),
      finding(locked, viaGateway, 'gateway'),
      finding(locked, spoof, 'wrong', { code: 250 }),
    ]);
    assert.deepEqual(
      outcomes.map((outcome) => [outcome.key, outcome.observed, outcome.command, outcome.status]),
      [
        ['spoof', 550, 'RCPT TO', 'same'],
        ['gateway', 250, 'end of DATA', 'same'],
        ['wrong', 550, 'RCPT TO', 'different'],
      ],
    );
  });
});
