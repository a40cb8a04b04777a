import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_ASSUMPTIONS } from '../../src/eop/assumptions.js';
import { certificateNames, matchCertificateName } from '../../src/eop/certificate.js';

test('certificate names: CN from a full subject DN plus SANs, lower-cased, without duplicates', () => {
  assert.deepEqual(certificateNames({ subject: 'CN=MX1.Seg.Example.NET, O=Example Gateway, C=US', san: ['DNS:mx1.seg.example.net', 'relay.seg.example.net.'] }), [
    'mx1.seg.example.net',
    'relay.seg.example.net',
  ]);
  assert.deepEqual(certificateNames({ subject: 'mail.contoso.com' }), ['mail.contoso.com']);
  assert.deepEqual(certificateNames({ subject: 'O=No CN' }), []);
});

test('exact names match case-insensitively; a certificate wildcard matches only the same wildcard', () => {
  const a = DEFAULT_ASSUMPTIONS;
  assert.equal(matchCertificateName('Mail.Contoso.com', ['mail.contoso.com'], a), 'mail.contoso.com');
  assert.equal(matchCertificateName('mx1.seg.example.net', ['*.seg.example.net'], a), null);
  assert.equal(matchCertificateName('*.seg.example.net', ['*.seg.example.net'], a), '*.seg.example.net');
});

// New-/Set-InboundConnector, TlsSenderCertificateName (S7, S8): "Wildcards are supported to indicate a domain and all
// subdomains (for example, *.contoso.com)". The default reach follows that text; the narrower readings stay switchable.
test('by default *.seg.example.net reaches the domain itself and every name below it, as the cmdlet reference says', () => {
  assert.equal(DEFAULT_ASSUMPTIONS['certificate-wildcard'], 'subdomains-and-apex');
  assert.equal(matchCertificateName('*.seg.example.net', ['seg.example.net'], DEFAULT_ASSUMPTIONS), 'seg.example.net');
  assert.equal(matchCertificateName('*.seg.example.net', ['mx1.seg.example.net'], DEFAULT_ASSUMPTIONS), 'mx1.seg.example.net');
  assert.equal(matchCertificateName('*.seg.example.net', ['a.b.seg.example.net'], DEFAULT_ASSUMPTIONS), 'a.b.seg.example.net');
  assert.equal(matchCertificateName('*.seg.example.net', ['evilseg.example.net'], DEFAULT_ASSUMPTIONS), null);
  assert.equal(matchCertificateName('*.seg.example.net', ['example.net'], DEFAULT_ASSUMPTIONS), null);
});

test('the certificate-wildcard alternatives: subdomains (not the domain itself) and single-label', () => {
  assert.equal(matchCertificateName('*.seg.example.net', ['seg.example.net'], { 'certificate-wildcard': 'subdomains' }), null);
  assert.equal(matchCertificateName('*.seg.example.net', ['a.b.seg.example.net'], { 'certificate-wildcard': 'subdomains' }), 'a.b.seg.example.net');
  assert.equal(matchCertificateName('*.seg.example.net', ['a.b.seg.example.net'], { 'certificate-wildcard': 'single-label' }), null);
  assert.equal(matchCertificateName('*.seg.example.net', ['mx1.seg.example.net'], { 'certificate-wildcard': 'single-label' }), 'mx1.seg.example.net');
});

test('the assumption quotes the reference it follows', async () => {
  const { ASSUMPTIONS } = await import('../../src/eop/assumptions.js');
  const entry = ASSUMPTIONS.find((item) => item.id === 'certificate-wildcard');
  assert.match(entry?.rationale ?? '', /"Wildcards are supported to indicate a domain and all subdomains \(for example, \*\.contoso\.com\)"/);
  assert.doesNotMatch(entry?.rationale ?? '', /does not define its reach/);
});

test('in a decision: a gateway presenting a certificate for seg.example.net itself matches *.seg.example.net (contoso-locked)', async () => {
  const { decide } = await import('../../src/eop/decide.js');
  const { loadSnapshotFile } = await import('../../src/snapshot/load.js');
  const locked = (await loadSnapshotFile('examples/contoso-locked.json')).snapshot;
  const transaction = { clientIp: '203.0.113.10', tls: { certificate: { subject: 'CN=seg.example.net' } }, mailFrom: 'a@fabrikam.example', rcptTo: ['alice@contoso.com'] };
  const verdict = decide(locked, transaction);
  assert.equal(verdict.connector?.name, 'From Secure Email Gateway (certificate)');
  assert.ok(verdict.assumptions.includes('certificate-wildcard'));
  assert.equal(decide(locked, transaction, { assumptions: { 'certificate-wildcard': 'subdomains' } }).connector?.matchedBy, undefined);
});
