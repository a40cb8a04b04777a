/**
 * Header analysis of real mail (issue 15 §2): messages that entered Exchange Online more than once, mail from other
 * Microsoft 365 tenants, a sender's own relay at a gateway vendor, relayed copies that carry only Exchange Online's
 * X-MS-Exchange-Authentication-Results / ARC-Authentication-Results, intra-organisation mail with SFV:SKI, and
 * Authentication-Results-Original. Fixtures and their sources: test/fixtures/headers/SOURCES.md (the mha-* files are
 * real headers from Microsoft's Message Header Analyzer tests, MIT; the others are written from the documentation and
 * the shape of real Exchange Online headers, with documentation addresses).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { renderHeaders } from '../../src/cli/headers.js';
import { analyseHeaders, type HeaderAnalysis } from '../../src/headers/analyse.js';
import { parseAuthenticationResults } from '../../src/headers/auth-results.js';
import { readMessageHeaders } from '../../src/headers/parse.js';
import { inferProfile, type GatewayProfile } from '../../src/profile/profile.js';
import { loadSnapshotFile } from '../../src/snapshot/load.js';
import { cli } from '../helpers/cli.js';
import { assertLinear } from '../helpers/growth.js';

const FIXTURES = 'test/fixtures/headers';
/** contoso's gateway: SenderIPAddresses 203.0.113.10, 203.0.113.11, 198.51.100.0/28; MX mx1/mx2.seg.example.net. */
const EXPOSED = 'examples/contoso-exposed.json';

async function analyseText(text: string, snapshotFile?: string, profile?: GatewayProfile): Promise<HeaderAnalysis> {
  const { fields } = await readMessageHeaders(text);
  const snapshot = snapshotFile ? (await loadSnapshotFile(snapshotFile)).snapshot : undefined;
  const chosen = profile ?? (snapshot ? inferProfile(snapshot) : undefined);
  return analyseHeaders(fields, { ...(snapshot ? { snapshot } : {}), ...(chosen ? { profile: chosen } : {}) });
}

const fixture = (name: string) => readFile(`${FIXTURES}/${name}`, 'utf8');
const analyse = async (name: string, snapshotFile?: string, profile?: GatewayProfile) => analyseText(await fixture(name), snapshotFile, profile);
const item = (analysis: HeaderAnalysis, id: string) => analysis.checklist.find((entry) => entry.id === id);

describe('a message that entered Exchange Online more than once (issue 15 §2.1)', () => {
  // sender's tenant → signature service → sender's tenant again → contoso's gateway → contoso's tenant
  test('the entry is the latest hop into *.mail.protection.outlook.com, not the first pass', async () => {
    const analysis = await analyse('double-entry.eml');
    assert.deepEqual(analysis.eopEntrySteps, [4, 8]);
    assert.equal(analysis.eopEntry?.step, 8);
    assert.equal(analysis.eopEntry?.byHost, 'BN2PEPF000044AB.mail.protection.outlook.com');
    assert.equal(analysis.eopEntry?.fromHost, 'out1.seg.example.net');
    assert.equal(analysis.eopEntry?.fromIp, '203.0.113.10');
    assert.equal(analysis.connectingIp, '203.0.113.10');
    assert.equal(analysis.connectingHost, 'out1.seg.example.net');
    assert.equal(analysis.antispam?.header, 'X-Forefront-Antispam-Report', 'the -Untrusted report of the first pass is not read');
    assert.ok(analysis.notes.some((note) => /entered Exchange Online 2 times \(hops 4, 8\)/.test(note)), analysis.notes.join('\n'));
    assert.equal(analysis.path, 'undetermined');
  });

  test('host and address come from the same Received line', async () => {
    const analysis = await analyse('double-entry.eml');
    const detail = item(analysis, 'last-hop')?.detail ?? '';
    assert.match(detail, /from out1\.seg\.example\.net \[203\.0\.113\.10\]/);
    assert.doesNotMatch(detail, /relay-1\.signatures/);
    // Without X-Forefront-Antispam-Report the address still comes from the entry line, never from another pass.
    const text = (await fixture('double-entry.eml')).replace(/^X-Forefront-Antispam-Report: .*\n/m, '');
    const bare = await analyseText(text);
    assert.equal(bare.antispam, null);
    assert.equal(bare.connectingIp, '203.0.113.10');
    assert.match(item(bare, 'last-hop')?.detail ?? '', /from out1\.seg\.example\.net \[203\.0\.113\.10\]/);
  });

  test('with the tenant snapshot the latest entry is the gateway, by its address', async () => {
    const analysis = await analyse('double-entry.eml', EXPOSED);
    assert.equal(analysis.path, 'through-gateway');
    assert.equal(item(analysis, 'last-hop')?.status, 'pass');
    assert.match(analysis.gatewayEvidence ?? '', /203\.0\.113\.10 is one of the gateway's addresses, from InboundConnector\[1\]\.SenderIPAddresses/);
    assert.equal(analysis.hops.find((hop) => hop.step === 4)?.fromGateway, false, 'the signature service is not the gateway');
  });

  test('the text report marks the earlier pass and the entry', async () => {
    const analysis = await analyse('double-entry.eml');
    const text = renderHeaders(analysis, 'double-entry.eml', []);
    assert.match(text, /4\. relay-1\.signatures\.example\.net \[198\.51\.100\.40\] → AMS0EPF000001A5\.mail\.protection\.outlook\.com .*← into EOP \(an earlier pass\)/);
    assert.match(text, /8\. out1\.seg\.example\.net \[203\.0\.113\.10\] → BN2PEPF000044AB\.mail\.protection\.outlook\.com .*← into EOP$/m);
  });
});

describe('mail from another Microsoft 365 tenant or Outlook.com (issue 15 §2.2)', () => {
  test('the hop from *.outbound.protection.outlook.com is the entry, from outside this tenant', async () => {
    const analysis = await analyse('from-another-tenant.eml');
    assert.equal(analysis.eopEntry?.step, 3);
    assert.equal(analysis.eopEntry?.fromHost, 'NAM04-BN3-obe.outbound.protection.outlook.com');
    assert.equal(analysis.eopEntry?.fromIp, '40.107.68.131');
    assert.equal(analysis.eopEntry?.sender, 'microsoft-365-outbound');
    assert.equal(analysis.connectingFromMicrosoft365, true);
    assert.deepEqual(analysis.hops.filter((hop) => hop.sender === 'microsoft-internal').map((hop) => hop.step), [1, 2, 4, 5, 6]);
    assert.equal(analysis.path, 'undetermined');
    assert.match(item(analysis, 'last-hop')?.detail ?? '', /Exchange Online's outbound servers \(mail from another Microsoft 365 tenant or Outlook\.com\)/);
  });

  test('behind a gateway, mail straight from another tenant did not pass it', async () => {
    const analysis = await analyse('from-another-tenant.eml', EXPOSED);
    assert.equal(analysis.path, 'direct-to-eop');
    assert.equal(item(analysis, 'last-hop')?.status, 'fail');
    assert.match(analysis.gatewayEvidence ?? '', /40\.107\.68\.131 is not among the gateway's addresses/);
  });

  test("real: MHA's X-Forefront-Antispam-Report from NAM04-BN3-obe.outbound.protection.outlook.com (MIT)", async () => {
    const analysis = await analyse('mha-antispam-from-outbound-protection.headers.txt');
    assert.deepEqual(analysis.hops, []);
    assert.equal(analysis.connectingIp, '40.107.68.131');
    assert.equal(analysis.connectingHost, 'NAM04-BN3-obe.outbound.protection.outlook.com');
    assert.equal(analysis.connectingFromMicrosoft365, true);
    assert.equal(analysis.path, 'undetermined');
    assert.match(item(analysis, 'last-hop')?.detail ?? '', /from NAM04-BN3-obe\.outbound\.protection\.outlook\.com \[40\.107\.68\.131\], Exchange Online's outbound servers/);
  });

  test('real: an Outlook.com mailbox (MHA, MIT) — the entry is the hop into the EOP frontend, the rest is Microsoft-internal', async () => {
    const github = await analyse('mha-received-github-to-outlookcom.headers.txt');
    assert.equal(github.hops.length, 5);
    assert.equal(github.eopEntry?.step, 3);
    assert.equal(github.eopEntry?.fromHost, 'o9.sgmail.github.com');
    assert.equal(github.eopEntry?.fromIp, '167.89.101.2');
    assert.equal(github.eopEntry?.sender, 'other');
    assert.deepEqual(github.hops.slice(3).map((hop) => hop.sender), ['microsoft-internal', 'microsoft-internal']);
    assert.equal(github.relayedAfterEop, null);
    const gmail = await analyse('mha-ews-test-gmail-to-eop.headers.txt');
    assert.equal(gmail.eopEntry?.fromHost, 'mail-ua0-f171.google.com');
    assert.equal(gmail.eopEntry?.fromIp, '209.85.217.171');
    assert.equal(gmail.eopEntry?.byHost, 'BY2NAM01FT028.mail.protection.outlook.com');
    assert.equal(gmail.path, 'undetermined');
  });
});

describe('no "through the gateway" from a vendor host name alone (issue 15 §2.3)', () => {
  test("a sender's own Proofpoint relay, passing SPF for the envelope domain: undetermined without a profile", async () => {
    const analysis = await analyse('sender-relay-pphosted.eml');
    assert.equal(analysis.path, 'undetermined');
    assert.equal(analysis.eopEntry?.vendor, 'Proofpoint');
    assert.equal(analysis.eopEntry?.fromGateway, false);
    assert.equal(analysis.connectingIpIsGateway, null);
    assert.equal(item(analysis, 'last-hop')?.status, 'unknown');
    assert.match(analysis.gatewayEvidence ?? '', /Proofpoint host name, but senders use the same vendors for their own outbound mail/);
    assert.match(analysis.gatewayEvidence ?? '', /SPF for fabrikam\.com passed from 198\.51\.100\.77/);
    const result = await cli('headers', `${FIXTURES}/sender-relay-pphosted.eml`);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Path {5}into EOP; whether through the gateway is undetermined/);
    assert.doesNotMatch(result.stdout, /← from the gateway/);
  });

  test("with the recipient's gateway profile, the sender's relay is not the gateway", async () => {
    const analysis = await analyse('sender-relay-pphosted.eml', EXPOSED);
    assert.equal(analysis.path, 'direct-to-eop');
    assert.equal(item(analysis, 'last-hop')?.status, 'fail');
  });

  test("an MX at the same vendor without the gateway's addresses does not decide either", async () => {
    const profile: GatewayProfile = { name: 'Proofpoint', ips: [], certificateName: null, mxHosts: ['mx0a-00999901.pphosted.com'], ipsSource: null, origin: { kind: 'given', from: ['test'] } };
    const analysis = await analyse('sender-relay-pphosted.eml', undefined, profile);
    assert.equal(analysis.path, 'undetermined');
    assert.match(analysis.gatewayEvidence ?? '', /the vendor this tenant's MX points to, but Proofpoint's hosts serve all its customers/);
  });

  test('with gateway addresses, a host name in the gateway domain from another address is not the gateway (HELO is the sender\'s claim)', async () => {
    const text = (await fixture('gateway-path.eml')).replaceAll('203.0.113.10', '198.18.7.7');
    const analysis = await analyseText(text, EXPOSED);
    assert.equal(analysis.eopEntry?.fromHost, 'out1.seg.example.net');
    assert.equal(analysis.eopEntry?.fromGateway, false);
    assert.equal(analysis.path, 'direct-to-eop');
  });

  test("Exchange Online's connector stamp is evidence: X-MS-Exchange-SkipListedInternetSender (S23)", async () => {
    const analysis = await analyse('skip-listed.eml');
    assert.equal(analysis.path, 'through-gateway');
    assert.match(analysis.gatewayEvidence ?? '', /stamped X-MS-Exchange-SkipListedInternetSender/);
  });
});

describe("relayed copies: Exchange Online's own results in other headers (issue 15 §2.4)", () => {
  test('X-MS-Exchange-Authentication-Results is read, and named', async () => {
    const analysis = await analyse('relayed-copy.eml');
    assert.equal(analysis.exchangeResults?.header, 'X-MS-Exchange-Authentication-Results');
    assert.equal(analysis.exchangeResults?.spf?.senderIp, '192.0.2.25');
    const spf = item(analysis, 'spf-true-source');
    assert.match(spf?.detail ?? '', /\(from X-MS-Exchange-Authentication-Results\)/);
    assert.doesNotMatch(spf?.detail ?? '', /No Authentication-Results/);
    assert.equal(analysis.authenticationResults.find((results) => results.authservId === 'lists.example.org')?.writtenByExchange, false);
    assert.equal(analysis.relayedAfterEop?.step, 5);
    assert.ok(analysis.notes.some((note) => /hop 5 took the message to lists\.example\.org/.test(note)), analysis.notes.join('\n'));
  });

  test('without it, the ARC-Authentication-Results mx.microsoft.com wrote', async () => {
    const text = (await fixture('relayed-copy.eml')).replace(/^X-MS-Exchange-Authentication-Results:.*\n( .*\n)*/m, '');
    const analysis = await analyseText(text);
    assert.equal(analysis.exchangeResults?.header, 'ARC-Authentication-Results');
    assert.equal(analysis.exchangeResults?.authservId, 'mx.microsoft.com');
    assert.equal(analysis.exchangeResults?.instance, 1);
    assert.equal(analysis.exchangeResults?.spf?.result, 'pass');
    assert.equal(analysis.exchangeResults?.dmarc?.headerFrom, 'fabrikam.com');
    assert.match(item(analysis, 'spf-true-source')?.detail ?? '', /\(from ARC-Authentication-Results by mx\.microsoft\.com, i=1\)/);
  });

  test("the tenant's own Authentication-Results comes first; an ARC set by someone else is not Exchange Online's", async () => {
    const double = await analyse('double-entry.eml');
    assert.equal(double.exchangeResults?.header, 'Authentication-Results');
    assert.equal(double.exchangeResults?.spf?.senderIp, '203.0.113.10');
    const { fields } = await readMessageHeaders('ARC-Authentication-Results: i=2; mx.google.com; spf=pass smtp.mailfrom=fabrikam.com\nSubject: x\n');
    assert.equal(analyseHeaders(fields).exchangeResults, null);
  });

  test('an outbound pass (DIR:OUT) is not judged against the inbound gateway', async () => {
    const analysis = await analyse('relayed-copy.eml', EXPOSED);
    assert.equal(analysis.path, 'undetermined');
    assert.equal(item(analysis, 'last-hop')?.status, 'unknown');
    assert.match(analysis.gatewayEvidence ?? '', /DIR:OUT/);
  });
});

describe('SFV:SKI (issue 15 §2.5)', () => {
  test('intra-organisation mail: explained, in the summary, no SCL -1 rule blamed', async () => {
    const analysis = await analyse('intra-org-ski.eml', EXPOSED);
    assert.equal(analysis.authAs, 'Internal');
    assert.equal(analysis.path, 'internal');
    assert.equal(item(analysis, 'last-hop')?.status, 'info');
    assert.equal(analysis.antispam?.explained.find((entry) => entry.field === 'SFV')?.meaning, 'skipped spam filtering for another reason, such as intra-organisational mail');
    const bypass = item(analysis, 'filter-bypass');
    assert.equal(bypass?.status, 'info');
    assert.match(bypass?.detail ?? '', /intra-organisation mail \(SCL -1, SFV:SKI, AuthAs: Internal\)/);
    assert.doesNotMatch(bypass?.detail ?? '', /bypass rule/);
    const result = await cli('headers', `${FIXTURES}/intra-org-ski.eml`, '--snapshot', EXPOSED);
    assert.equal(result.code, 0, result.stdout);
    assert.match(result.stdout, /Filtering SFV:SKI — skipped spam filtering for another reason, such as intra-organisational mail/);
    assert.match(result.stdout, /Path {5}inside the organisation \(AuthAs: Internal\)/);
  });

  test('SFV:SKI without AuthAs: Internal is worth a look, still without blaming a rule', async () => {
    const text = (await fixture('intra-org-ski.eml')).replace('AuthAs: Internal', 'AuthAs: Anonymous');
    const analysis = await analyseText(text, EXPOSED);
    const bypass = item(analysis, 'filter-bypass');
    assert.equal(bypass?.status, 'warn');
    assert.match(bypass?.detail ?? '', /yet AuthAs is Anonymous/);
    assert.doesNotMatch(bypass?.detail ?? '', /bypass rule/);
  });

  test('SFV:SKN (marked non-spam before filtering) does point at an SCL -1 rule', async () => {
    const text = (await fixture('intra-org-ski.eml')).replace('AuthAs: Internal', 'AuthAs: Anonymous').replace('SFV:SKI', 'SFV:SKN');
    const bypass = item(await analyseText(text, EXPOSED), 'filter-bypass');
    assert.equal(bypass?.status, 'warn');
    assert.match(bypass?.detail ?? '', /SFV:SKN: marked non-spam before filtering/);
    assert.match(bypass?.detail ?? '', /SCL -1 bypass rule should be disabled \(S23\)/);
  });
});

describe('Authentication-Results-Original parses like any Authentication-Results (issue 15 §2.6)', () => {
  // The form Exchange Online writes when it renames an earlier pass's results (double-entry.eml, after real headers).
  const VALUE = 'dkim=none (message not signed)\r\n header.d=none;dmarc=none action=none header.from=fabrikam.com;';

  test('methods, results and properties, not dkim="none header.d=none"', () => {
    const parsed = parseAuthenticationResults(VALUE);
    assert.equal(parsed.authservId, null);
    assert.deepEqual(parsed.methods.map((method) => [method.method, method.result, method.comment, [...method.properties]]), [
      ['dkim', 'none', 'message not signed', [['header.d', 'none']]],
      ['dmarc', 'none', '', [['action', 'none'], ['header.from', 'fabrikam.com']]],
    ]);
  });

  test('read the same under either name; header.d=none is no domain', async () => {
    const { fields } = await readMessageHeaders(`Authentication-Results-Original: ${VALUE}\r\nAuthentication-Results: ${VALUE}\r\n`);
    const [original, results] = analyseHeaders(fields).authenticationResults;
    assert.equal(original?.header, 'Authentication-Results-Original');
    assert.deepEqual({ ...original, header: '' }, { ...results, header: '' });
    assert.deepEqual(original?.dkim, [{ result: 'none', domain: null }]);
    assert.deepEqual(original?.dmarc, { result: 'none', action: 'none', headerFrom: 'fabrikam.com' });
    const double = await analyse('double-entry.eml');
    assert.deepEqual(double.authenticationResults.find((entry) => entry.header === 'Authentication-Results-Original')?.dkim, [{ result: 'none', domain: null }]);
  });

  test("ARC-Authentication-Results: the instance and the authres-version are not methods or part of the authserv-id", () => {
    const parsed = parseAuthenticationResults('i=1; mx.microsoft.com 1; spf=pass (sender ip is 192.0.2.25) smtp.mailfrom=fabrikam.com; arc=none (0)');
    assert.equal(parsed.instance, 1);
    assert.equal(parsed.authservId, 'mx.microsoft.com');
    assert.deepEqual(parsed.methods.map((method) => method.method), ['spf', 'arc']);
  });
});

describe('linear in the number of passes, reports and results', () => {
  test('analyseHeaders on many hops into EOP, antispam reports and ARC results', { timeout: 30_000 }, async () => {
    const fields = (count: number) => {
      const list: { name: string; value: string }[] = [];
      for (let index = 0; index < count; index++) {
        const ip = `198.51.${(index >> 8) & 255}.${index & 255}`;
        list.push({ name: 'Received', value: `from relay-${index}.example.net (${ip}) by BN2PEPF000044AB.mail.protection.outlook.com (10.167.243.156) with Microsoft SMTP Server; Tue, 10 Jun 2025 14:02:07 +0000` });
        list.push({ name: 'X-Forefront-Antispam-Report', value: `CIP:${ip};SFV:NSPM;DIR:INB;` });
        list.push({ name: 'ARC-Authentication-Results', value: `i=${index + 1}; mx.microsoft.com 1; spf=pass (sender ip is ${ip}) smtp.mailfrom=fabrikam.com` });
      }
      return list;
    };
    await assertLinear('analyseHeaders', (size) => analyseHeaders(fields(size)), 2_000);
  });
});
