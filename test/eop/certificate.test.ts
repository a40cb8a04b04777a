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

test('connector wildcard reach follows the certificate-wildcard assumption', () => {
  const names = ['seg.example.net'];
  assert.equal(matchCertificateName('*.seg.example.net', names, DEFAULT_ASSUMPTIONS), null);
  assert.equal(matchCertificateName('*.seg.example.net', names, { 'certificate-wildcard': 'subdomains-and-apex' }), 'seg.example.net');
  assert.equal(matchCertificateName('*.seg.example.net', ['a.b.seg.example.net'], { 'certificate-wildcard': 'single-label' }), null);
  assert.equal(matchCertificateName('*.seg.example.net', ['evilseg.example.net'], DEFAULT_ASSUMPTIONS), null);
});
