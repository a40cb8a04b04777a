/**
 * Domain and address fields of a snapshot: RFC 5321 syntax (with Exchange's `*` and `*.domain` where Exchange allows
 * them), never a control character. These names reach DNS queries and the probe's SMTP command lines
 * (`probe --tenant`). Every real snapshot must still load.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { InputError } from '../../src/errors.js';
import { loadSnapshotFile } from '../../src/snapshot/load.js';
import { parseSnapshot } from '../../src/snapshot/parse.js';
import { cli, tempFolder } from '../helpers/cli.js';
import { acceptedDomains, partnerConnector } from '../helpers/tenant.js';

const { file } = tempFolder('eoplock-domain-validation-');

const REAL = 'test/fixtures/real-world/tqhjy.snapshot.json';

function base(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Meta: { eoplockSnapshot: 1, initialDomain: 'contoso.onmicrosoft.com' },
    OrganizationConfig: [{ Name: 'contoso' }],
    AcceptedDomain: acceptedDomains(),
    InboundConnector: [partnerConnector()],
    ...overrides,
  };
}

function refused(document: Record<string, unknown>, where: string, message: RegExp): void {
  assert.throws(
    () => parseSnapshot(document),
    (error: unknown) => {
      assert.ok(error instanceof InputError, String(error));
      assert.equal(error.where, where);
      assert.match(error.message, message);
      assert.doesNotMatch(error.message, /[\r\n\u0000\u001b]/, 'the value is shown escaped');
      return true;
    },
  );
}

describe('snapshots that must keep loading', () => {
  for (const path of ['examples/contoso-exposed.json', 'examples/contoso-locked.json', 'examples/contoso-partial.json', 'test/fixtures/snapshots/ps51-quirks.json', 'test/fixtures/snapshots/ps51-utf16le.json', 'test/fixtures/snapshots/rest-quirks.json']) {
    test(path, async () => {
      const { snapshot } = await loadSnapshotFile(path);
      assert.ok(snapshot.AcceptedDomain.length > 0);
    });
  }
  test('the real-world export (tqhjy)', async () => {
    const { snapshot } = await loadSnapshotFile(REAL);
    assert.deepEqual(snapshot.InboundConnector[0]?.SenderDomains, ['test.domain.com']);
    const audit = await cli('audit', REAL);
    assert.ok(audit.code === 0 || audit.code === 1, audit.stderr);
  });

  test("Exchange's wildcard forms, a trailing dot, IDN and punycode names", () => {
    const { snapshot } = parseSnapshot(
      base({
        AcceptedDomain: [
          ...acceptedDomains(),
          { DomainName: '*.contoso.net', DomainType: 'InternalRelay' },
          { DomainName: 'contoso.org.', DomainType: 'Authoritative' },
          { DomainName: 'bücher.example', DomainType: 'Authoritative' },
          { DomainName: 'xn--bcher-kva.example', DomainType: 'Authoritative' },
        ],
        InboundConnector: [
          partnerConnector({ SenderDomains: ['*', 'smtp:*;1', '*.partner.example', 'SMTP:contoso.com;1', 'partner.example.'], AssociatedAcceptedDomains: ['contoso.com', '*.contoso.net'] }),
          partnerConnector({ Name: 'Address space as one string', SenderDomains: 'smtp:*;1' }),
          partnerConnector({ Name: 'Cert', TlsSenderCertificateName: '*.seg.example.net', EFUsers: ['alice@contoso.com'], TrustedOrganizations: ['fabrikam.com'] }),
        ],
      }),
    );
    assert.deepEqual(snapshot.InboundConnector[0]?.SenderDomains, ['*', '*', '*.partner.example', 'contoso.com', 'partner.example.']);
    assert.deepEqual(snapshot.InboundConnector[1]?.SenderDomains, ['*']);
  });
});

describe('domain and address fields that are refused', () => {
  const domains = (name: string) => [{ DomainName: name, DomainType: 'Authoritative', Default: true }];
  for (const [name, value] of [
    ['CRLF and a smuggled DATA', 'contoso.com\r\nDATA'],
    ['a bare LF', 'contoso.com\n'],
    ['NUL', 'contoso\u0000.com'],
    ['ESC', 'contoso\u001b[2J.com'],
    ['U+2028', 'contoso.com\u2028'],
    ['a space', 'contoso .com'],
    ['an angle bracket', 'contoso.com>'],
    ['an underscore', 'con_toso.com'],
    ['a bare *', '*'],
    ['an empty name', ''],
    ['a 64-character label', `${'a'.repeat(64)}.com`],
    ['254 characters', `${'a.'.repeat(126)}ab`],
  ] as const) {
    test(`AcceptedDomain DomainName with ${name}`, () => refused(base({ AcceptedDomain: domains(value) }), 'AcceptedDomain[0].DomainName', /is not a domain name or \*\.domain/));
  }

  test('a connector SenderDomains entry with CRLF (the entry is named)', () => {
    refused(base({ InboundConnector: [partnerConnector({ SenderDomains: ['smtp:*;1', 'contoso.com\r\nDATA'] })] }), 'InboundConnector[0].SenderDomains[1]', /"contoso\.com\\r\\nDATA" is not a domain name, \*\.domain or \*/);
  });
  test('a connector SenderDomains entry in address-space form with a control character', () => {
    refused(base({ InboundConnector: [partnerConnector({ SenderDomains: ['smtp:contoso.com\u0000;1'] })] }), 'InboundConnector[0].SenderDomains[0]', /not a domain name/);
  });
  test('AssociatedAcceptedDomains: a bare * is not an accepted domain', () => {
    refused(base({ InboundConnector: [partnerConnector({ AssociatedAcceptedDomains: ['*'] })] }), 'InboundConnector[0].AssociatedAcceptedDomains[0]', /not a domain name/);
  });
  test('Meta.initialDomain with LF', () => {
    refused(base({ Meta: { eoplockSnapshot: 1, initialDomain: 'contoso.onmicrosoft.com\nX' } }), 'Meta.initialDomain', /not a domain name/);
  });
  test('TlsSenderCertificateName with ESC', () => {
    refused(base({ InboundConnector: [partnerConnector({ TlsSenderCertificateName: 'mx.seg.example\u001b]0;x\u0007' })] }), 'InboundConnector[0].TlsSenderCertificateName', /holds a control character/);
  });
  test('EFUsers and TrustedOrganizations entries with CR', () => {
    refused(base({ InboundConnector: [partnerConnector({ EFUsers: ['a@contoso.com\r'] })] }), 'InboundConnector[0].EFUsers[0]', /holds a control character/);
    refused(base({ InboundConnector: [partnerConnector({ TrustedOrganizations: ['fabrikam.com\r\n'] })] }), 'InboundConnector[0].TrustedOrganizations[0]', /holds a control character/);
  });
  test('a very long value is shown cut short', () => {
    assert.throws(
      () => parseSnapshot(base({ AcceptedDomain: domains(`${'x'.repeat(10_000)}\r\n`) })),
      (error: unknown) => error instanceof InputError && error.message.length < 300 && error.message.includes('…'),
    );
  });
});

describe('Dns keys: the domain each entry belongs to', () => {
  const entry = { MX: ['10 mx1.seg.example.net'], TXT: [], DMARC: [] };
  test('upper case, a trailing dot, punycode and IDN names are accepted, as for AcceptedDomain', () => {
    const keys = ['CONTOSO.COM', 'contoso.co.uk.', 'xn--bcher-kva.example', 'bücher.example', 'mail-1.contoso.com'];
    const { snapshot } = parseSnapshot(base({ Dns: Object.fromEntries(keys.map((key) => [key, entry])) }));
    assert.deepEqual(Object.keys(snapshot.Dns), keys);
    assert.deepEqual(snapshot.Dns['CONTOSO.COM']?.MX, ['10 mx1.seg.example.net']);
  });

  for (const [name, key, where] of [
    ['ESC (a terminal colour sequence)', 'x\u001b[31m', 'Dns["x\\u001b[31m"]'],
    ['a space', 'a b', 'Dns["a b"]'],
    ['an empty key', '', 'Dns[""]'],
    ['CRLF', 'contoso.com\r\nX', 'Dns["contoso.com\\r\\nX"]'],
    ['an HTML tag', '<img src=x>.example', 'Dns["<img src=x>.example"]'],
    ['a wildcard', '*.contoso.com', 'Dns["*.contoso.com"]'],
    ['two trailing dots', 'contoso.com..', 'Dns["contoso.com.."]'],
    ['a lone dot', '.', 'Dns["."]'],
    ['an underscore', '_dmarc.contoso.com', 'Dns["_dmarc.contoso.com"]'],
    ['a 64-character label', `${'a'.repeat(64)}.com`, `Dns["${'a'.repeat(64)}.com"]`],
  ] as const) {
    test(`a key with ${name} is refused, the key shown escaped`, () => {
      refused(base({ Dns: { 'contoso.com': entry, [key]: entry } }), where, /^the key ".*" is not a domain name \(a Dns key names the domain its records belong to\)$/);
    });
  }

  test('the message shows the key with visible escapes', () => {
    assert.throws(
      () => parseSnapshot(base({ Dns: { 'x\u001b[31m\u2028': entry } })),
      (error: unknown) => error instanceof InputError && error.message.startsWith('the key "x\\e[31m\\u2028" is not a domain name'),
    );
  });

  test('a very long key is cut short in the path and the message', () => {
    assert.throws(
      () => parseSnapshot(base({ Dns: { [`${'x'.repeat(10_000)}\r\n`]: entry } })),
      (error: unknown) => error instanceof InputError && (error.where ?? '').length < 200 && error.message.length < 300 && error.message.includes('…'),
    );
  });

  test('eoplock audit with a bad Dns key: exit 2, one line naming Dns["…"], no stack trace', async () => {
    const document = JSON.parse(await readFile('examples/contoso-exposed.json', 'utf8')) as { Dns: Record<string, unknown> };
    document.Dns['x\u001b[31m'] = document.Dns['contoso.com'];
    const crafted = await file('dns-key.json', JSON.stringify(document));
    const result = await cli('audit', crafted);
    assert.equal(result.code, 2);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr.trimEnd().split('\n').length, 1);
    assert.ok(!result.stderr.includes('\u001b'), 'ESC is shown escaped');
    assert.doesNotMatch(result.stderr, /internal error|^ {4}at /m);
    assert.match(result.stderr, /^eoplock: error: .*dns-key\.json: at Dns\["x\\u001b\[31m"\]: the key "x\\e\[31m" is not a domain name/);
  });
});

test('eoplock audit on a crafted snapshot: exit 2, one line naming the file and the path', async () => {
  const document = JSON.parse(await readFile('examples/contoso-locked.json', 'utf8')) as { AcceptedDomain: { DomainName: string }[] };
  const first = document.AcceptedDomain[0];
  assert.ok(first);
  first.DomainName = 'contoso.com\r\n\u001b[31mDATA';
  const crafted = await file('crafted.json', JSON.stringify(document));
  const result = await cli('audit', crafted);
  assert.equal(result.code, 2);
  assert.equal(result.stdout, '');
  assert.equal(result.stderr.trimEnd().split('\n').length, 1);
  assert.match(result.stderr, /^eoplock: error: .*crafted\.json: at AcceptedDomain\[0\]\.DomainName: "contoso\.com\\r\\n\\e\[31mDATA" is not a domain name/);
});
