/**
 * A gateway profile that trusts a good part of the Internet (0.0.0.0/0, a /8, ::/0, a certificate wildcard over a
 * single label such as *.com) leaves nothing to prove: every class from there counts as the gateway's. `prove` and
 * `plan` refuse it as bad input, naming where it came from; `audit --prove` judges EOPL-090/091 on the corpus and
 * says why.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { givenProfile, MAX_GATEWAY_IPV4_ADDRESSES, profileTooWide } from '../../src/profile/profile.js';
import { cli, tempFolder } from '../helpers/cli.js';

describe('profileTooWide', () => {
  test('addresses beyond a /14, IPv6 wider than a /32, and wildcards over a single label', () => {
    assert.equal(MAX_GATEWAY_IPV4_ADDRESSES, 262_144);
    assert.match(profileTooWide(givenProfile({ ips: ['0.0.0.0/0'] })) ?? '', /cover 4,294,967,296 IPv4 addresses \(the widest entry: 0\.0\.0\.0\/0\), more than a \/14/);
    assert.match(profileTooWide(givenProfile({ ips: ['203.0.113.10', '10.0.0.0/8'] })) ?? '', /the widest entry: 10\.0\.0\.0\/8/);
    assert.match(profileTooWide(givenProfile({ ips: ['198.51.100.0-255.255.255.255'] })) ?? '', /more than a \/14/);
    assert.match(profileTooWide(givenProfile({ ips: ['10.0.0.0/13'] })) ?? '', /cover 524,288 IPv4 addresses/);
    assert.match(profileTooWide(givenProfile({ ips: ['::/0'] })) ?? '', /include ::\/0, an IPv6 block wider than a \/32/);
    // As inferred from a connector's TlsSenderCertificateName (--seg-cert refuses such a name itself).
    assert.match(profileTooWide({ ...givenProfile({ ips: ['203.0.113.10'] }), certificateName: '*.com' }) ?? '', /certificate name \*\.com matches a host in any domain under \.com/);
    // What gateways use: a few blocks (a Proofpoint /19 included), a /32 of IPv6, a name in the vendor's domain.
    assert.equal(profileTooWide(givenProfile({ ips: ['10.0.0.0/14'] })), null);
    assert.equal(profileTooWide(givenProfile({ ips: ['148.163.128.0/19', '67.231.144.0/24', '203.0.113.10'] })), null);
    assert.equal(profileTooWide(givenProfile({ ips: ['2001:db8::/32'] })), null);
    assert.equal(profileTooWide(givenProfile({ certificateName: '*.seg.example.net' })), null);
    assert.equal(profileTooWide({ ...givenProfile({ ips: ['203.0.113.10'] }), certificateName: '*.co.uk' }), null, 'two labels: not judged here (EOPL-038 looks at shared names)');
  });
});

describe('the commands with a connector that trusts 0.0.0.0/0 as the gateway', () => {
  const folder = tempFolder('eoplock-too-wide-');
  let file = '';
  before(async () => {
    const exposed = JSON.parse(await readFile('examples/contoso-exposed.json', 'utf8')) as { InboundConnector: { SenderIPAddresses: string[] }[] };
    const gateway = exposed.InboundConnector.find((connector) => connector.SenderIPAddresses.length > 0);
    assert.ok(gateway);
    gateway.SenderIPAddresses = [...gateway.SenderIPAddresses, '0.0.0.0/0'];
    file = await folder.file('trusts-everything.json', JSON.stringify(exposed));
  });

  test('prove refuses it: exit 2, one line naming the profile and what to give instead', async () => {
    const result = await cli('prove', file);
    assert.equal(result.code, 2, result.stdout);
    assert.match(result.stderr, /^eoplock: error: .*trusts-everything\.json: at gateway profile: the gateway's addresses \(from InboundConnector\[\d\]\.SenderIPAddresses\) cover 4,294,967,296 IPv4 addresses .*prove nothing; give the gateway's own addresses with --seg-ip/);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    // With the gateway given, the same snapshot is searched (and its connector's hole found).
    const given = await cli('prove', file, '--seg-ip', '203.0.113.10', '--format', 'json');
    assert.equal(given.code, 1, given.stderr);
    assert.ok((JSON.parse(given.stdout) as { bypasses: number }).bypasses > 0);
  });

  test('plan refuses it (no plan folder written)', async () => {
    const out = join(folder.path(), 'plan');
    const result = await cli('plan', file, '--out', out);
    assert.equal(result.code, 2, result.stdout);
    assert.match(result.stderr, /at gateway profile: .*more than a \/14 .*give the gateway's own addresses with --seg-ip/);
    await assert.rejects(readFile(join(out, 'PLAN.md')));
  });

  test('audit --prove judges EOPL-090 and EOPL-091 on the corpus and says why', async () => {
    const result = await cli('audit', file, '--prove', '--format', 'json');
    const report = JSON.parse(result.stdout) as { findings: { id: string; summary: string }[] };
    for (const id of ['EOPL-090', 'EOPL-091']) {
      const check = report.findings.find((entry) => entry.id === id);
      assert.ok(check, id);
      assert.match(check.summary, /judged on the corpus: the gateway's addresses .* the class search would prove nothing$/, id);
    }
  });
});
