/**
 * `eoplock audit` as text without a gateway profile: the checks that did not run for want of one are named, with the
 * flag that runs them; giving that flag runs them. Also: evidence of a refused legitimate path renders (its verdict
 * carries no SMTP stage).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { cli, tempFolder } from '../helpers/cli.js';

const temp = tempFolder('eoplock-audit-not-run-');

interface JsonFinding {
  id: string;
  status: string;
  summary: string;
}

/** The locked example without its gateway: no gateway connector, no MX records. */
async function tenantWithoutGateway(): Promise<string> {
  const snapshot = JSON.parse(await readFile('examples/contoso-locked.json', 'utf8')) as {
    InboundConnector: { Name: string; ConnectorType: string }[];
    Dns: Record<string, { MX?: string[] }>;
  };
  snapshot.InboundConnector = snapshot.InboundConnector.filter((connector) => !/Secure Email Gateway/.test(connector.Name));
  for (const entry of Object.values(snapshot.Dns)) entry.MX = [];
  return temp.file('no-gateway.json', JSON.stringify(snapshot));
}

/** The ids on the "Not run" line that names `flag`. */
function notRun(stdout: string, flag: string): string[] {
  const line = stdout.split('\n').find((text) => text.startsWith('Not run: ') && (text.endsWith(`${flag} runs them`) || text.endsWith(`${flag} runs it`)));
  return line ? [...line.matchAll(/EOPL-\d{3}/g)].map((match) => match[0]) : [];
}

async function findings(...args: string[]): Promise<JsonFinding[]> {
  const result = await cli('audit', ...args, '--format', 'json');
  // One snapshot: one result object (several: an array of them).
  return (JSON.parse(result.stdout) as { findings: JsonFinding[] }).findings;
}

describe('audit text without a gateway profile', () => {
  test('no gateway known: the gateway checks are named with --seg-ip, and --seg-ip runs them', async () => {
    const file = await tenantWithoutGateway();
    const result = await cli('audit', file);
    // A refused legitimate path is evidence with a reject verdict: it renders, not an internal error (exit 70).
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, /reject 550 5\.7\.68/);
    const listed = notRun(result.stdout, '--seg-ip');
    const skippedForGateway = (await findings(file)).filter((finding) => finding.status === 'not-applicable' && /\bgateway\b/i.test(finding.summary));
    assert.ok(listed.length > 0, result.stdout);
    assert.deepEqual(listed, skippedForGateway.map((finding) => finding.id));
    const after = await findings(file, '--seg-ip', '203.0.113.10');
    for (const id of listed) {
      const finding = after.find((entry) => entry.id === id);
      assert.ok(finding, id);
      assert.doesNotMatch(finding.summary, /no gateway in front of Exchange Online/, `${id} ran once --seg-ip was given`);
    }
    assert.doesNotMatch((await cli('audit', file, '--seg-ip', '203.0.113.10')).stdout, /no gateway is known/);
  });

  test('a gateway inferred from the snapshot: the address checks want --seg-ip, the certificate check --seg-cert', async () => {
    const result = await cli('audit', 'examples/contoso-exposed.json');
    const json = await findings('examples/contoso-exposed.json');
    const byAddress = json.filter((finding) => finding.status === 'not-applicable' && /give --seg-ip/.test(finding.summary)).map((finding) => finding.id);
    const byCertificate = json.filter((finding) => finding.status === 'not-applicable' && /names no certificate/.test(finding.summary)).map((finding) => finding.id);
    assert.ok(byAddress.length > 0 && byCertificate.length > 0, 'the example has both kinds');
    assert.deepEqual(notRun(result.stdout, '--seg-ip'), byAddress);
    assert.deepEqual(notRun(result.stdout, '--seg-cert'), byCertificate);
    // The "Not run" lines come with the summary, before the findings.
    assert.ok(result.stdout.indexOf('Not run: ') < result.stdout.indexOf('\nHIGH ('), result.stdout);

    const given = ['--seg-ip', '203.0.113.10', '--seg-ip', '203.0.113.11', '--seg-ip', '198.51.100.0/28', '--seg-cert', '*.seg.example.net'];
    const full = await cli('audit', 'examples/contoso-exposed.json', ...given);
    assert.doesNotMatch(full.stdout, /^Not run: /m);
    const ran = await findings('examples/contoso-exposed.json', ...given);
    for (const id of [...byAddress, ...byCertificate]) {
      const finding = ran.find((entry) => entry.id === id);
      assert.doesNotMatch(finding?.summary ?? '', /give --seg-ip|names no certificate/, id);
    }
  });

  test('a locked tenant whose profile has everything: no "Not run" line', async () => {
    const result = await cli('audit', 'examples/contoso-locked.json');
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout, /^Not run: /m);
  });
});
