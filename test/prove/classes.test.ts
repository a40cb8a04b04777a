/**
 * The class space (issue 16 §2): the regions of each input, derived from the snapshot, the profile and the allowed
 * sources; where mail comes from; which gateway vendors share their infrastructure (src/profile/vendors.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_ASSUMPTIONS, resolveAssumptions } from '../../src/eop/assumptions.js';
import { parseIp } from '../../src/eop/ip.js';
import { givenProfile, inferProfile } from '../../src/profile/profile.js';
import { GATEWAY_VENDORS, vendorForGateway } from '../../src/profile/vendors.js';
import { deriveClassSpace, originOfTransaction } from '../../src/prove/classes.js';
import { parseSnapshot } from '../../src/snapshot/parse.js';
import { loadSnapshotFile } from '../../src/snapshot/load.js';

function snapshotOf(extra: Record<string, unknown>) {
  return parseSnapshot({
    Meta: { eoplockSnapshot: 1, tenant: 'Classes' },
    OrganizationConfig: { RejectDirectSend: true },
    AcceptedDomain: [{ DomainName: 'fabrikam.com', DomainType: 'Authoritative', Default: true }],
    ...extra,
  }).snapshot;
}

describe('class space', () => {
  test('client IP: a region per interval between the boundaries of every list, IPv4 and IPv6, plus outside all', () => {
    const snapshot = snapshotOf({
      InboundConnector: [{ Name: 'GW', ConnectorType: 'Partner', SenderDomains: ['*'], SenderIPAddresses: ['203.0.113.0/24'] }],
      TransportRule: [{ Name: 'R', Priority: 0, SenderIpRanges: ['2001:db8:1::/48'], SetSCL: -1 }],
    });
    const space = deriveClassSpace(snapshot, { profile: givenProfile({ ips: ['203.0.113.0/28'] }), assumptions: DEFAULT_ASSUMPTIONS });
    const labels = space.clientIp.map((region) => region.label);
    // IPv4: outside (both sides merged: same lists), the /28 (connector and profile), the rest of the /24.
    // IPv6: outside, and the rule's /48.
    assert.equal(space.clientIp.length, 5, labels.join('\n'));
    const gateway = space.clientIp.filter((region) => region.origin === 'gateway');
    assert.equal(gateway.length, 1);
    assert.match(gateway[0]?.label ?? '', /203\.0\.113\.0–203\.0\.113\.15/);
    const rest = space.clientIp.find((region) => region.label.startsWith('IPv4 203.0.113.16–203.0.113.255'));
    assert.ok(rest);
    assert.equal(rest.origin, null);
    assert.ok(space.clientIp.some((region) => parseIp(region.value)?.kind() === 'ipv6' && region.label.includes('rule "R".SenderIpRanges')));
    assert.ok(space.clientIp.some((region) => region.label.includes('outside every address list') && parseIp(region.value)?.kind() === 'ipv6'));
  });

  test('TLS: none, without a certificate, a wildcard\'s apex and one and two labels below, an accepted-domain and an unrelated name', () => {
    const snapshot = snapshotOf({
      InboundConnector: [{ Name: 'GW', ConnectorType: 'Partner', SenderDomains: ['*'], TlsSenderCertificateName: '*.seg.example.net', RestrictDomainsToCertificate: true }],
    });
    const profile = inferProfile(snapshot);
    const names = (assumptions = DEFAULT_ASSUMPTIONS) =>
      deriveClassSpace(snapshot, { profile, assumptions }).tls.map((region) => region.value?.certificate?.san?.[0] ?? (region.value ? 'tls' : 'none'));
    // Under the default reading every name at or below seg.example.net matches alike: one region. A name below the
    // accepted domain (not accepted: MatchSubDomains is off) and an unrelated name are told apart by nothing: one region.
    assert.deepEqual(names(), ['none', 'tls', 'mx1.seg.example.net', 'mail.fabrikam.com', 'fabrikam.com']);
    const merged = deriveClassSpace(snapshot, { profile, assumptions: DEFAULT_ASSUMPTIONS }).tls[2]?.label ?? '';
    assert.match(merged, /the same for a\.b\.seg\.example\.net, seg\.example\.net/);
    // Under single-label, two labels below matches nothing, like an unrelated name; the apex is within the profile's name.
    assert.deepEqual(names(resolveAssumptions({ 'certificate-wildcard': 'single-label' })), ['none', 'tls', 'mx1.seg.example.net', 'a.b.seg.example.net', 'mail.fabrikam.com', 'fabrikam.com']);
  });

  test('senders, recipients and headers: accepted domains and subdomains, named domains, foreign, null; rule headers satisfied and not', () => {
    const snapshot = snapshotOf({
      InboundConnector: [{ Name: 'Scanner', ConnectorType: 'Partner', SenderDomains: ['scan.fabrikam.net'], SenderIPAddresses: ['192.0.2.25'] }],
      TransportRule: [
        { Name: 'H', Priority: 0, ExceptIfHeaderMatchesMessageHeader: 'X-Verified', ExceptIfHeaderMatchesPatterns: ['^ok-\\d+$'], Quarantine: true },
        { Name: 'V', Priority: 1, From: ['vip@fabrikam.com'], Quarantine: true },
      ],
    });
    const space = deriveClassSpace(snapshot, { profile: inferProfile(snapshot), assumptions: DEFAULT_ASSUMPTIONS });
    const senders = space.mailFrom.map((region) => region.value);
    for (const expected of ['sender@fabrikam.com', 'sender@sub.fabrikam.com', 'sender@scan.fabrikam.net', 'vip@fabrikam.com', 'sender@mailer.attacker.example', '']) {
      assert.ok(senders.includes(expected), expected);
    }
    assert.equal(space.headerFrom.at(-1)?.value, null);
    const recipients = space.recipients.map((region) => region.value.join('+'));
    assert.deepEqual(recipients, ['user@fabrikam.com', 'user@sub.fabrikam.com', 'user@unknown-recipient.example', 'user@fabrikam.com+user@unknown-recipient.example']);
    const headers = space.headers.map((region) => region.value);
    assert.deepEqual(headers[1], { 'X-MS-Exchange-Organization-AuthAs': 'Internal' });
    const verified = headers.filter((value) => 'X-Verified' in value).map((value) => value['X-Verified'] as string);
    assert.equal(verified.length, 2);
    assert.ok(verified.some((value) => /^ok-\d+$/i.test(value)), `no satisfying value in ${verified.join(', ')}`);
    assert.ok(verified.some((value) => !/^ok-\d+$/i.test(value)));
    assert.equal(space.size, space.clientIp.length * space.tls.length * space.mailFrom.length * space.headerFrom.length * space.recipients.length * space.headers.length * space.authentication.length);
  });

  test('recipients: single recipients every reader treats alike are one region, counted for each', () => {
    // The readers of a recipient: the accepted domain's type (attribution S3, SentToScope S18), a restricting
    // connector's AssociatedAcceptedDomains (S7, S9, §3.3), a rule's RecipientDomainIs (S18), the anti-phishing
    // policy that applies (S32), the MX (S26), EFUsers (S23).
    const snapshot = snapshotOf({
      AcceptedDomain: [
        { DomainName: 'fabrikam.com', DomainType: 'Authoritative', Default: true },
        { DomainName: 'fabrikam.net', DomainType: 'Authoritative' },
        { DomainName: 'fabrikam.org', DomainType: 'InternalRelay' },
        { DomainName: 'fabrikam.de', DomainType: 'Authoritative' },
        { DomainName: 'fabrikam.info', DomainType: 'Authoritative' },
      ],
      InboundConnector: [{ Name: 'GW', ConnectorType: 'Partner', SenderDomains: ['*'], SenderIPAddresses: ['203.0.113.0/28'], RestrictDomainsToIPAddresses: true, AssociatedAcceptedDomains: ['fabrikam.de'] }],
      TransportRule: [{ Name: 'R', Priority: 0, RecipientDomainIs: ['fabrikam.info'], Quarantine: true }],
    });
    const options = { profile: inferProfile(snapshot), assumptions: DEFAULT_ASSUMPTIONS };
    const merged = deriveClassSpace(snapshot, { ...options, mergeRecipients: true });
    const members = merged.recipients.map((region) => region.members.map((member) => member.value.join('+')));
    assert.deepEqual(members, [
      ['user@fabrikam.com', 'user@fabrikam.net'],
      ['user@fabrikam.org'],
      ['user@fabrikam.de'],
      ['user@fabrikam.info'],
      // Not accepted (MatchSubDomains is off), in no list: like an unknown domain. sub.fabrikam.info is under the rule's domain.
      ['user@sub.fabrikam.com', 'user@sub.fabrikam.net', 'user@sub.fabrikam.org', 'user@sub.fabrikam.de', 'user@unknown-recipient.example'],
      ['user@sub.fabrikam.info'],
      ['user@fabrikam.com+user@unknown-recipient.example'],
    ]);
    assert.match(merged.recipients[0]?.label ?? '', /accepted domain fabrikam\.com \(Authoritative\); the same for accepted domain fabrikam\.net/);
    // The merged space covers the same classes; without mergeRecipients every region stands alone.
    const plain = deriveClassSpace(snapshot, options);
    assert.equal(plain.recipients.length, 12);
    assert.ok(plain.recipients.every((region) => region.members.length === 1));
    assert.equal(merged.size, plain.size);
  });

  test('origin: the gateway by address or certificate, an allowed source by Direct Send address or a non-gateway connector', async () => {
    const { snapshot } = await loadSnapshotFile('examples/contoso-locked.json');
    const options = { profile: inferProfile(snapshot), assumptions: DEFAULT_ASSUMPTIONS, allowDirectSend: ['192.0.2.80'] };
    const tx = (clientIp: string, certificate?: string) => ({
      clientIp,
      mailFrom: 'a@contoso.com',
      rcptTo: ['b@contoso.com'],
      ...(certificate ? { tls: { certificate: { subject: `CN=${certificate}` } } } : {}),
    });
    assert.equal(originOfTransaction(snapshot, options, tx('203.0.113.10')), 'gateway');
    assert.equal(originOfTransaction(snapshot, options, tx('198.51.100.77', 'mx9.seg.example.net')), 'gateway');
    assert.equal(originOfTransaction(snapshot, options, tx('192.0.2.25')), 'allowed-source');
    assert.equal(originOfTransaction(snapshot, options, tx('192.0.2.80')), 'allowed-source');
    assert.equal(originOfTransaction(snapshot, options, tx('198.51.100.77', 'mail.contoso.com')), 'allowed-source');
    assert.equal(originOfTransaction(snapshot, options, tx('198.51.100.77', 'mail.attacker.example')), 'other');
  });
});

describe('gateway vendors and their shared infrastructure', () => {
  test('every shared-infrastructure record says what narrows it and where it comes from', () => {
    const shared = GATEWAY_VENDORS.filter((vendor) => vendor.shared);
    assert.deepEqual(shared.map((vendor) => vendor.name), ['Mimecast', 'Proofpoint', 'Cisco Secure Email', 'Barracuda Email Security']);
    for (const vendor of shared) {
      assert.ok(vendor.shared?.narrows.length, vendor.name);
      assert.ok(vendor.shared?.source.length, vendor.name);
    }
    // EchoSpoofing (Guardio Labs, July 2024) was relayed through Proofpoint's shared servers.
    assert.match(GATEWAY_VENDORS.find((vendor) => vendor.name === 'Proofpoint')?.shared?.source ?? '', /EchoSpoofing/);
    // Cisco assigns each customer its own addresses (Cisco community, Office 365 configuration for Cloud Email Security).
    assert.equal(GATEWAY_VENDORS.find((vendor) => vendor.name === 'Cisco Secure Email')?.shared?.addresses, false);
  });

  test('the vendor of a gateway: by name, MX host or shared certificate name', () => {
    assert.equal(vendorForGateway({ name: 'Proofpoint', mxHosts: [], certificateName: null })?.name, 'Proofpoint');
    assert.equal(vendorForGateway({ name: null, mxHosts: ['eu-smtp-inbound-1.mimecast.com'], certificateName: null })?.name, 'Mimecast');
    assert.equal(vendorForGateway({ name: null, mxHosts: [], certificateName: '*.mimecast.com' })?.name, 'Mimecast');
    assert.equal(vendorForGateway({ name: null, mxHosts: ['mx1.seg.example.net'], certificateName: '*.seg.example.net' }), undefined);
  });
});
