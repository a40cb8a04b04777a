/**
 * The diff compares configurations, not export encodings, and shows what changed in full.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { diffSnapshots, parseInstant, sameValue } from '../../src/diff/diff.js';
import { applyOps } from '../../src/plan/ops.js';
import { loadSnapshotFile } from '../../src/snapshot/load.js';
import { cli, tempFolder } from '../helpers/cli.js';

const locked = (await loadSnapshotFile('examples/contoso-locked.json')).snapshot;
const temp = tempFolder('eoplock-diff-');
const RAW_CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** The locked example with one change made by `edit` on a copy of its raw JSON. */
async function fileWith(name: string, edit: (document: Record<string, any>) => void): Promise<string> {
  const document = JSON.parse(JSON.stringify(locked)) as Record<string, any>;
  edit(document);
  return temp.file(name, JSON.stringify(document, null, 2));
}

describe('export encodings compare equal', () => {
  test('an enum as a number equals its name (AuthenticationType, as Windows PowerShell 5.1 writes it)', async () => {
    const numbers = structuredClone(locked);
    for (const domain of numbers.AcceptedDomain) (domain as Record<string, unknown>).AuthenticationType = 0;
    assert.equal((locked.AcceptedDomain[0] as Record<string, unknown>).AuthenticationType, 'Managed');
    assert.deepEqual(diffSnapshots(locked, numbers), []);
    // A different number is a change, shown with its name.
    (numbers.AcceptedDomain[0] as Record<string, unknown>).AuthenticationType = 1;
    const changes = diffSnapshots(locked, numbers);
    assert.deepEqual(changes.map((change) => [change.object, change.property, change.before, change.after]), [[locked.AcceptedDomain[0]?.DomainName, 'AuthenticationType', 'Managed', 1]]);
    const before = await temp.file('names.json', JSON.stringify(locked));
    const after = await temp.file('federated.json', JSON.stringify(numbers));
    const run = await cli('diff', before, after);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /AuthenticationType: "Managed" → 1 \(Federated\)/);
  });

  test('the loader\'s enums: a 5.1 file with numbers and a 7.x file with names have no differences', async () => {
    const names = await fileWith('enum-names.json', () => {});
    const numbers = await fileWith('enum-numbers.json', (document) => {
      const domains = Array.isArray(document.AcceptedDomain) ? document.AcceptedDomain : [document.AcceptedDomain];
      for (const domain of domains) {
        if (domain.DomainType === 'Authoritative') domain.DomainType = 0;
        if (domain.AuthenticationType === 'Managed') domain.AuthenticationType = 0;
      }
      for (const rule of document.TransportRule) if (rule.Mode === 'Enforce') rule.Mode = 3;
    });
    const run = await cli('diff', names, numbers);
    assert.equal(run.code, 0, run.stdout);
  });

  test('dates: the same moment at a different precision or offset is equal; another moment is not', () => {
    const equal: [string, string][] = [
      ['2021-02-15T10:06:31.000Z', '2021-02-15T10:06:31Z'],
      ['2021-02-15T10:06:31.4567891Z', '2021-02-15T10:06:31.456Z'],
      ['2021-02-15T10:06:31.4567891Z', '2021-02-15T10:06:31Z'],
      ['2021-02-15T11:06:31+01:00', '2021-02-15T10:06:31.000Z'],
      ['2021-02-15T10:06:31', '2021-02-15T10:06:31.0000000Z'],
      ['1969-12-31T23:59:59.9990000Z', '1969-12-31T23:59:59.999Z'],
    ];
    for (const [a, b] of equal) {
      assert.ok(sameValue('DkimSigningConfig', 'KeyCreationTime', a, b), `${a} = ${b}`);
      assert.ok(sameValue('DkimSigningConfig', 'KeyCreationTime', b, a), `${b} = ${a}`);
    }
    const different: [string, string][] = [
      ['2021-02-15T10:06:31.000Z', '2021-02-15T10:06:32Z'],
      ['2021-02-15T10:06:31.4567891Z', '2021-02-15T10:06:31.457Z'],
      ['2021-02-15T10:06:31Z', '2021-02-15T10:06:31+01:00'],
      ['1969-12-31T23:59:59.999Z', '1970-01-01T00:00:00Z'],
      ['2021-02-15T10:06:31Z', '2021-02-15 10:06:31Z'],
    ];
    for (const [a, b] of different) assert.ok(!sameValue('DkimSigningConfig', 'KeyCreationTime', a, b), `${a} ≠ ${b}`);
    assert.equal(parseInstant('2021-02-30T10:06:31Z'), undefined);
  });

  test('dates: /Date(ms)/ from Windows PowerShell 5.1 against seven-digit ISO from PowerShell 7', async () => {
    const iso = await fileWith('dates-iso.json', (document) => {
      document.DkimSigningConfig[0].KeyCreationTime = '2021-02-15T10:06:31.0000000Z';
      document.DkimSigningConfig[0].RotateOnDate = '2021-02-15T10:06:31.2500000+00:00';
    });
    const ms = await fileWith('dates-ms.json', (document) => {
      document.DkimSigningConfig[0].KeyCreationTime = `/Date(${Date.UTC(2021, 1, 15, 10, 6, 31)})/`;
      document.DkimSigningConfig[0].RotateOnDate = `/Date(${Date.UTC(2021, 1, 15, 10, 6, 31, 250)})/`;
    });
    assert.equal((await cli('diff', iso, ms)).code, 0);
    const later = await fileWith('dates-later.json', (document) => {
      document.DkimSigningConfig[0].KeyCreationTime = `/Date(${Date.UTC(2021, 1, 15, 10, 6, 31, 1)})/`;
    });
    const run = await cli('diff', iso, later);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /KeyCreationTime: "2021-02-15T10:06:31\.0000000Z" → "2021-02-15T10:06:31\.001Z"/);
  });

  test('a real export (ScubaGear, /Date(ms)/, enum names) against the same tenant written the other way round: no differences', async () => {
    const { readFile } = await import('node:fs/promises');
    const text = await readFile('test/fixtures/real-world/tqhjy.snapshot.json', 'utf8');
    let dates = 0;
    let enums = 0;
    // The other PowerShell: ISO dates with seven fractional digits and an offset, AuthenticationType as a number.
    const other = text
      .replace(/"\\?\/Date\((-?\d+)\)\\?\/"/g, (_, ms: string) => {
        dates++;
        return JSON.stringify(new Date(Number(ms)).toISOString().replace(/\.(\d{3})Z$/, '.$10000+00:00'));
      })
      .replace(/"AuthenticationType":\s*"Managed"/g, () => {
        enums++;
        return '"AuthenticationType": 0';
      });
    assert.ok(dates > 10 && enums > 0, `${dates} dates, ${enums} enums rewritten`);
    const run = await cli('diff', 'test/fixtures/real-world/tqhjy.snapshot.json', await temp.file('tqhjy-other.json', other));
    assert.equal(run.code, 0, run.stdout);
  });

  test('lists compare as collections: the order of TXT records or addresses is no change', () => {
    const reordered = structuredClone(locked);
    const entry = reordered.Dns['contoso.com'] as { TXT: string[] };
    entry.TXT.reverse();
    assert.ok(entry.TXT.length > 1);
    assert.deepEqual(diffSnapshots(locked, reordered), []);
    entry.TXT.push(entry.TXT[0] as string);
    assert.equal(diffSnapshots(locked, reordered).length, 1, 'a repeated entry is a change');
  });
});

describe('what changed is shown in full', () => {
  test('an added connector is shown with its properties; a removed one too', async () => {
    const after = applyOps(locked, [
      { cmdlet: 'New-InboundConnector', name: 'Scanner 2', parameters: { SenderIPAddresses: ['192.0.2.26'], SenderDomains: ['contoso.com'], RestrictDomainsToIPAddresses: true } },
    ]);
    const added = diffSnapshots(locked, after).find((change) => change.kind === 'added');
    assert.equal(added?.object, 'Scanner 2');
    assert.deepEqual(added?.properties?.SenderIPAddresses, ['192.0.2.26']);
    const before = await temp.file('one-connector.json', JSON.stringify(locked));
    const later = await temp.file('two-connectors.json', JSON.stringify(after));
    const run = await cli('diff', before, later);
    assert.equal(run.code, 1);
    const block = run.stdout.slice(run.stdout.indexOf('+ InboundConnector "Scanner 2" added'));
    assert.ok(block.length < run.stdout.length, run.stdout);
    const connector = after.InboundConnector.find((item) => item.Name === 'Scanner 2') as Record<string, unknown>;
    for (const [key, value] of Object.entries(connector)) {
      if (value === null || (Array.isArray(value) && value.length === 0) || value === '') continue;
      assert.ok(block.includes(`\n    ${key}: ${JSON.stringify(value)}\n`), `${key} shown`);
    }
    const reverse = await cli('diff', later, before);
    assert.match(reverse.stdout, /^- InboundConnector "Scanner 2" removed\n {4}\w+: /m);
    assert.match(reverse.stdout, /\n {4}SenderIPAddresses: \["192\.0\.2\.26"\]\n/);
  });

  test('a long TXT record with one changed word is shown whole, with the word marked and nothing cut', async () => {
    const record = (all: string) =>
      `v=spf1 ip4:192.0.2.25 ip4:203.0.113.10 ip4:203.0.113.11 ip4:198.51.100.0/28 include:spf.protection.outlook.com include:mail.zendesk.com include:_spf.salesforce.com ${all}`;
    assert.ok(record('-all').length > 120);
    const soft = await fileWith('soft.json', (document) => (document.Dns['contoso.com'].TXT = [record('~all'), 'MS=ms48213377']));
    const hard = await fileWith('hard.json', (document) => (document.Dns['contoso.com'].TXT = ['MS=ms48213377', record('-all')]));
    const run = await cli('diff', soft, hard);
    assert.equal(run.code, 1);
    const line = run.stdout.split('\n').find((text) => text.includes('include:_spf.salesforce.com'));
    assert.equal(line, `      ~ ${record('[-~all-]{+-all+}')}`);
    assert.doesNotMatch(run.stdout, /…|\.\.\./);
    assert.doesNotMatch(run.stdout, /MS=ms48213377/, 'the unchanged record is not listed');
  });

  test('a long rule text: the changed words are marked, the rest shown as it is', async () => {
    const text = 'Mail to Contoso must come through the gateway. Contact postmaster@contoso.com if you think this is a mistake.';
    const before = await fileWith('reason-1.json', (document) => (document.TransportRule[0].RejectMessageReasonText = text));
    const after = await fileWith('reason-2.json', (document) => (document.TransportRule[0].RejectMessageReasonText = text.replace('the gateway.', 'the Contoso mail gateway.')));
    const run = await cli('diff', before, after);
    assert.match(run.stdout, /^ {4}RejectMessageReasonText: Mail to Contoso must come through the \{\+Contoso mail \+\}gateway\. Contact postmaster@contoso\.com if you think this is a mistake\.$/m);
  });

  test('control characters in a changed long value are escaped, not passed to the terminal', async () => {
    const text = 'v=spf1 include:spf.protection.outlook.com include:one.example include:two.example -all';
    const before = await fileWith('plain-txt.json', (document) => (document.Dns['contoso.com'].TXT = [text]));
    const after = await fileWith('hostile-txt.json', (document) => (document.Dns['contoso.com'].TXT = [text.replace('one.example', 'one.example\u001b]0;pwned\u0007\r\n# forged\u202e')]));
    const run = await cli('diff', before, after);
    assert.equal(run.code, 1);
    assert.doesNotMatch(run.stdout.replace(/\n/g, ''), RAW_CONTROL);
    assert.ok(run.stdout.includes('\\e]0;pwned\\x07\\r\\n#'), run.stdout);
  });
});
