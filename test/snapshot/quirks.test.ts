/**
 * Real-world cmdlet JSON quirks (eop-behaviour.md §3.4, §11.9; libraries.md §1.9), one fixture each.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InputError } from '../../src/errors.js';
import { loadSnapshotFile } from '../../src/snapshot/load.js';
import { parseSnapshot } from '../../src/snapshot/parse.js';
import { addressSpaceDomain } from '../../src/snapshot/quirks.js';

const fixture = (name: string) => `test/fixtures/snapshots/${name}`;

describe('Windows PowerShell 5.1 output (ps51-quirks.json)', async () => {
  const loaded = await loadSnapshotFile(fixture('ps51-quirks.json'));
  const { snapshot, notes } = loaded;

  test('single objects are wrapped in arrays', () => {
    assert.equal(snapshot.OrganizationConfig.length, 1);
    assert.equal(snapshot.AcceptedDomain.length, 1);
    assert.equal(snapshot.InboundConnector.length, 1);
    assert.ok(notes.some((note) => note.kind === 'wrapped-in-array' && note.path === 'InboundConnector'));
  });

  test('\\/Date(ms)\\/ becomes ISO-8601', () => {
    assert.equal(snapshot.Meta.capturedAt, '2025-11-21T09:20:00.000Z');
    assert.equal((snapshot.OrganizationConfig[0] as Record<string, unknown>).WhenChanged, new Date(1760000000000).toISOString());
  });

  test('enums as numbers are mapped by the Exchange enum tables and reported', () => {
    assert.equal(snapshot.AcceptedDomain[0]?.DomainType, 'Authoritative');
    assert.equal(snapshot.InboundConnector[0]?.ConnectorType, 'Partner');
    assert.equal(snapshot.TransportRule[0]?.State, 'Enabled');
    assert.equal(snapshot.TransportRule[0]?.Mode, 'Enforce');
    const mapped = notes.filter((note) => note.kind === 'enum-number-mapped').map((note) => `${note.path} ${note.detail}`);
    assert.deepEqual(mapped.sort(), [
      'AcceptedDomain[0].DomainType 0 → Authoritative',
      'InboundConnector[0].ConnectorType 2 → Partner',
      'TransportRule[0].Mode 3 → Enforce',
      'TransportRule[0].State 0 → Enabled',
    ]);
  });

  test('SenderDomains in address-space form smtp:*;1 reads as *', () => {
    assert.deepEqual(snapshot.InboundConnector[0]?.SenderDomains, ['*']);
  });

  test('type names in Conditions/Exceptions/Actions are data, not truncation', () => {
    assert.deepEqual((snapshot.TransportRule[0] as Record<string, unknown>).Exceptions, [
      'Microsoft.Exchange.MessagingPolicies.Rules.Tasks.SenderIpRangesPredicate',
    ]);
  });

  test('unknown properties are kept', () => {
    assert.equal((snapshot.AcceptedDomain[0] as Record<string, unknown>).AuthenticationType, 0);
    assert.equal((snapshot.InboundConnector[0] as Record<string, unknown>).ConnectorSource, 'AdminUI');
  });
});

test('UTF-16 LE with BOM (Out-File in 5.1) reads the same as UTF-8', async () => {
  const utf16 = await loadSnapshotFile(fixture('ps51-utf16le.json'));
  const utf8 = await loadSnapshotFile(fixture('ps51-quirks.json'));
  assert.deepEqual(utf16.snapshot, utf8.snapshot);
});

describe('EXO admin REST API output (rest-quirks.json)', async () => {
  const { snapshot, notes } = await loadSnapshotFile(fixture('rest-quirks.json'));

  test('@data.type and @odata.type sidecar keys are removed', () => {
    const connector = snapshot.InboundConnector[0] as Record<string, unknown>;
    assert.ok(!Object.keys(connector).some((key) => key.includes('@')));
    assert.equal(notes.filter((note) => note.kind === 'type-annotation-removed').length, 5);
  });

  test('"True"/"true" strings become booleans where booleans are expected', () => {
    assert.equal(snapshot.OrganizationConfig[0]?.RejectDirectSend, true);
    assert.equal(snapshot.InboundConnector[0]?.RestrictDomainsToIPAddresses, true);
  });

  test('a list flattened into one string is split and reported', () => {
    assert.deepEqual(snapshot.InboundConnector[0]?.SenderIPAddresses, ['203.0.113.10', '203.0.113.11']);
    assert.ok(notes.some((note) => note.kind === 'list-split' && note.path === 'InboundConnector[0].SenderIPAddresses'));
    assert.deepEqual(snapshot.InboundConnector[0]?.SenderDomains, ['*']);
  });

  test('null lists become empty lists; the transport rule on/off switch is State', () => {
    assert.deepEqual(snapshot.InboundConnector[0]?.EFSkipIPs, []);
    assert.equal(snapshot.TransportRule[0]?.State, 'Disabled');
  });

  test('unknown nested properties are kept as they are', () => {
    assert.deepEqual((snapshot.OrganizationConfig[0] as Record<string, unknown>).SomeFutureProperty, { Nested: [1, 2] });
  });
});

describe('depth truncation is refused with the JSON path', () => {
  for (const [file, where] of [
    ['truncated-depth2.json', 'TransportRule[0].ExceptIfSenderIpRanges'],
    ['truncated-hashtable.json', 'TransportRule[0].Description'],
  ] as const) {
    test(file, async () => {
      await assert.rejects(loadSnapshotFile(fixture(file)), (error: unknown) => {
        assert.ok(error instanceof InputError);
        assert.equal(error.where, where);
        assert.equal(error.file, fixture(file));
        assert.match(error.message, /-Depth 10/);
        return true;
      });
    });
  }
});

describe('validation names the JSON path', () => {
  const base = () => ({
    Meta: { eoplockSnapshot: 1 },
    OrganizationConfig: {},
    AcceptedDomain: [{ DomainName: 'contoso.com', DomainType: 'Authoritative' }],
  });
  const cases: [string, Record<string, unknown>, string][] = [
    ['a wrong format version', { ...base(), Meta: { eoplockSnapshot: 2 } }, 'Meta.eoplockSnapshot'],
    ['an unknown DomainType', { ...base(), AcceptedDomain: [{ DomainName: 'a.example', DomainType: 'Relay' }] }, 'AcceptedDomain[0].DomainType'],
    ['an unknown enum number', { ...base(), AcceptedDomain: [{ DomainName: 'a.example', DomainType: 7 }] }, 'AcceptedDomain[0].DomainType'],
    ['a rule without Priority', { ...base(), TransportRule: [{ Name: 'x' }] }, 'TransportRule[0].Priority'],
    ['a connector list that is not a list of objects', { ...base(), InboundConnector: ['x'] }, 'InboundConnector[0]'],
    ['two OrganizationConfig objects', { ...base(), OrganizationConfig: [{}, {}] }, 'OrganizationConfig'],
    ['a document that is an array', [] as unknown as Record<string, unknown>, '(document root)'],
  ];
  for (const [name, document, where] of cases) {
    test(name, () => {
      assert.throws(() => parseSnapshot(document), (error: unknown) => error instanceof InputError && error.where === where);
    });
  }
});

describe('Windows PowerShell 5.1 {"value": [...], "Count": n} wrapper', () => {
  const base = (overrides: Record<string, unknown> = {}) => ({
    Meta: { eoplockSnapshot: 1 },
    OrganizationConfig: {},
    AcceptedDomain: [{ DomainName: 'contoso.com', DomainType: 'Authoritative' }],
    ...overrides,
  });
  const connector = (SenderIPAddresses: unknown) => ({ Name: 'From SEG', ConnectorType: 'Partner', SenderDomains: ['*'], SenderIPAddresses });
  const wrapperNotes = (notes: { kind: string; path: string; detail: string }[]) =>
    notes.filter((note) => note.kind === 'value-count-unwrapped').map((note) => `${note.path}: ${note.detail}`);

  test('a whole section is unwrapped into its list, with a note', () => {
    const domains = [
      { DomainName: 'contoso.com', DomainType: 0, Default: true },
      { DomainName: 'contoso.co.uk', DomainType: 'Authoritative' },
    ];
    const { snapshot, notes } = parseSnapshot(base({ AcceptedDomain: { value: domains, Count: 2 } }));
    assert.deepEqual(
      snapshot.AcceptedDomain.map((domain) => [domain.DomainName, domain.DomainType, domain.Default]),
      [
        ['contoso.com', 'Authoritative', true],
        ['contoso.co.uk', 'Authoritative', false],
      ],
    );
    assert.deepEqual(wrapperNotes(notes), ['AcceptedDomain: {"value": [...], "Count": 2} (Windows PowerShell 5.1) → its list of 2']);
    // The items are normalised at the paths of the unwrapped list, and the list is not taken for a single object.
    assert.ok(notes.some((note) => note.kind === 'enum-number-mapped' && note.path === 'AcceptedDomain[0].DomainType'));
    assert.ok(!notes.some((note) => note.kind === 'wrapped-in-array' && note.path === 'AcceptedDomain'));
  });

  test('a property value is unwrapped (SenderIPAddresses), an empty one too', () => {
    const { snapshot, notes } = parseSnapshot(
      base({
        InboundConnector: [
          connector({ value: ['203.0.113.10', '198.51.100.0/28'], Count: 2 }),
          { ...connector([]), Name: 'Other', EFSkipIPs: { value: [], Count: 0 } },
        ],
      }),
    );
    assert.deepEqual(snapshot.InboundConnector[0]?.SenderIPAddresses, ['203.0.113.10', '198.51.100.0/28']);
    assert.deepEqual(snapshot.InboundConnector[1]?.EFSkipIPs, []);
    assert.deepEqual(wrapperNotes(notes), [
      'InboundConnector[0].SenderIPAddresses: {"value": [...], "Count": 2} (Windows PowerShell 5.1) → its list of 2',
      'InboundConnector[1].EFSkipIPs: {"value": [...], "Count": 0} (Windows PowerShell 5.1) → its list of 0',
    ]);
  });

  test('a wrapper in a section kept as exported is unwrapped as well', () => {
    const { snapshot, notes } = parseSnapshot(base({ AntiPhishPolicy: [{ Name: 'Office365 AntiPhish Default', ExcludedDomains: { value: ['a.example'], Count: 1 } }] }));
    assert.deepEqual((snapshot.AntiPhishPolicy[0] as Record<string, unknown>).ExcludedDomains, ['a.example']);
    assert.deepEqual(wrapperNotes(notes).map((line) => line.split(':')[0]), ['AntiPhishPolicy[0].ExcludedDomains']);
  });

  for (const [name, value] of [
    ['Count is not the length of value', { value: ['203.0.113.10', '203.0.113.11'], Count: 3 }],
    ['Count is a string', { value: ['203.0.113.10'], Count: '1' }],
    ['a third key', { value: ['203.0.113.10'], Count: 1, Extra: true }],
    ['value is not a list', { value: '203.0.113.10', Count: 1 }],
    ['only value', { value: ['203.0.113.10'] }],
    ['the keys in another case', { Value: ['203.0.113.10'], count: 1 }],
  ] as const) {
    test(`not unwrapped when ${name}`, () => {
      assert.throws(
        () => parseSnapshot(base({ InboundConnector: [connector(value)] })),
        (error: unknown) => {
          assert.ok(error instanceof InputError);
          assert.equal(error.where, 'InboundConnector[0].SenderIPAddresses');
          assert.match(error.message, /expected array, received object/);
          return true;
        },
      );
    });
  }

  test('a section that only looks like a wrapper stays an object (and is wrapped in an array as one)', () => {
    const { snapshot, notes } = parseSnapshot(base({ OrganizationConfig: { value: [1, 2], Count: 3 } }));
    assert.deepEqual(snapshot.OrganizationConfig[0], { value: [1, 2], Count: 3, RejectDirectSend: false });
    assert.deepEqual(wrapperNotes(notes), []);
    assert.ok(notes.some((note) => note.kind === 'wrapped-in-array' && note.path === 'OrganizationConfig'));
  });

  test('the document root is never unwrapped', () => {
    assert.throws(
      () => parseSnapshot({ value: [base()], Count: 1 }),
      (error: unknown) => error instanceof InputError && error.where === 'Meta' && error.message.startsWith('required property is missing'),
    );
  });
});

describe('a required property that is missing', () => {
  const base = () => ({
    Meta: { eoplockSnapshot: 1 },
    OrganizationConfig: {},
    AcceptedDomain: [{ DomainName: 'contoso.com', DomainType: 'Authoritative' }],
  });
  const cases: [string, Record<string, unknown>, string, string][] = [
    ['a string', { ...base(), AcceptedDomain: [{ DomainType: 'Authoritative' }] }, 'AcceptedDomain[0].DomainName', 'required property is missing'],
    ['a number', { ...base(), TransportRule: [{ Name: 'x' }] }, 'TransportRule[0].Priority', 'required property is missing'],
    ['a section', { Meta: { eoplockSnapshot: 1 }, OrganizationConfig: {} }, 'AcceptedDomain', 'required property is missing'],
    ['a property whose name Object.prototype has', { ...base(), InboundConnector: [JSON.parse('{"ConnectorType": "Partner", "constructor": 1}')] }, 'InboundConnector[0].Name', 'required property is missing'],
    [
      'an enum (its values are listed)',
      { ...base(), AcceptedDomain: [{ DomainName: 'contoso.com' }] },
      'AcceptedDomain[0].DomainType',
      'required property is missing (one of "Authoritative", "InternalRelay", "ExternalRelay")',
    ],
    ['the format version (its own message)', { ...base(), Meta: {} }, 'Meta.eoplockSnapshot', 'Meta.eoplockSnapshot must be 1 (the only snapshot format version so far)'],
  ];
  for (const [name, document, where, message] of cases) {
    test(name, () => {
      assert.throws(
        () => parseSnapshot(document),
        (error: unknown) => {
          assert.ok(error instanceof InputError);
          assert.equal(error.where, where);
          assert.equal(error.message, message);
          return true;
        },
      );
    });
  }

  test('a value of the wrong type still says what was expected and what was found', () => {
    assert.throws(
      () => parseSnapshot({ ...base(), AcceptedDomain: [{ DomainName: ['contoso.com'], DomainType: 'Authoritative' }] }),
      (error: unknown) => error instanceof InputError && error.where === 'AcceptedDomain[0].DomainName' && /expected string, received array/.test(error.message),
    );
  });
});

test('addressSpaceDomain reads the address-space forms Exchange writes', () => {
  assert.equal(addressSpaceDomain('smtp:*;1'), '*');
  assert.equal(addressSpaceDomain('SMTP:contoso.com;10'), 'contoso.com');
  assert.equal(addressSpaceDomain('*.contoso.com'), '*.contoso.com');
});

test('the bundled examples load, and each shows the quirks it is documented to contain', async () => {
  const exposed = await loadSnapshotFile('examples/contoso-exposed.json');
  assert.ok(exposed.notes.some((note) => note.kind === 'date-converted'));
  assert.ok(exposed.notes.some((note) => note.kind === 'enum-number-mapped'));
  const partial = await loadSnapshotFile('examples/contoso-partial.json');
  assert.ok(partial.notes.some((note) => note.kind === 'type-annotation-removed'));
  const locked = await loadSnapshotFile('examples/contoso-locked.json');
  assert.ok(locked.notes.some((note) => note.kind === 'wrapped-in-array' && note.path === 'HostedConnectionFilterPolicy'));
  for (const { snapshot } of [exposed, partial, locked]) {
    assert.ok(snapshot.InboundConnector.every((connector) => !connector.SenderDomains.some((domain) => domain.startsWith('smtp:'))));
  }
});
