/**
 * eoplock pull against a loopback HTTPS server that implements the token endpoint and InvokeCommand, with MSAL for
 * Node pointed at it. No test reaches the internet.
 */
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import selfsigned from 'selfsigned';
import { runAudit } from '../../src/audit/run.js';
import { pullCommand, type PullCommandOptions } from '../../src/cli/pull.js';
import { DEFAULT_ASSUMPTIONS } from '../../src/eop/assumptions.js';
import { appOnlyTokens, readCertificate } from '../../src/pull/auth.js';
import { ExoClient } from '../../src/pull/exo-client.js';
import { inferProfile } from '../../src/profile/profile.js';
import { loadSnapshotFile } from '../../src/snapshot/load.js';
import { parseSnapshot } from '../../src/snapshot/parse.js';
import { cli, tempFolder } from '../helpers/cli.js';
import { startExoServer, type RunningExoServer } from '../helpers/exo-server.js';

const TENANT = 'contoso.onmicrosoft.com';
const CLIENT_ID = '11111111-2222-3333-4444-555555555555';
const temp = tempFolder('eoplock-pull-');
const example = JSON.parse(await readFile('examples/contoso-exposed.json', 'utf8')) as Record<string, unknown[]>;

/** The example's sections as the service would answer, with the OData sidecar keys it adds. */
function rows(): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const [key, value] of Object.entries(example)) {
    if (key === 'Meta' || key === 'Dns') continue;
    const list = Array.isArray(value) ? value : [value];
    out[`Get-${key}`] = list.map((row) => ({ ...(row as object), '@odata.type': `#Exchange.${key}`, 'WhenChangedUTC@odata.type': '#DateTimeOffset' }));
  }
  return out;
}

let server: RunningExoServer;
let certificateFile = '';
let secret = '';
let thumbprintSha256 = '';
const sleeps: number[] = [];

before(async () => {
  const app = await selfsigned.generate([{ name: 'commonName', value: 'eoplock-app' }], { keyType: 'rsa', keySize: 2048, algorithm: 'sha256' });
  secret = app.private;
  thumbprintSha256 = createHash('sha256').update(new X509Certificate(app.cert).raw).digest('hex');
  server = await startExoServer({
    tenant: TENANT,
    clientId: CLIENT_ID,
    thumbprintSha256,
    rows: rows(),
    pageSize: 2,
    throttleOnce: { 'Get-TransportRule': 1 },
  });
  certificateFile = await temp.file('app.pem', `${app.cert}\n${app.private}`);
});
after(() => server.close());

function options(overrides: Partial<PullCommandOptions> = {}): PullCommandOptions {
  return {
    tenant: TENANT,
    appId: CLIENT_ID,
    certificate: certificateFile,
    deviceCode: false,
    cloud: 'global',
    skipDns: true,
    concurrency: 2,
    endpoints: { login: server.url, exchange: server.url, ca: server.ca, authorityMetadata: server.authorityMetadata },
    sleep: async (ms) => void sleeps.push(ms),
    ...overrides,
  };
}

function capture() {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: (text: string) => void (out.stdout += text), stderr: (text: string) => void (out.stderr += text), color: false, progress: false } };
}

describe('eoplock pull (app-only, certificate)', () => {
  test('writes a snapshot that validates and audits like the example', async () => {
    const target = join(temp.path(), 'contoso.json');
    const { out, io } = capture();
    const code = await pullCommand(io, options({ out: target }));
    assert.equal(code, 0, out.stderr);
    assert.match(out.stdout, new RegExp(`${TENANT}: wrote .*contoso\\.json`));
    assert.match(out.stderr, /Microsoft does not support calling it directly/);
    assert.match(out.stderr, /Get-TransportRule throttled \(HTTP 429\); retry 1 in 1 s/);
    assert.deepEqual(sleeps, [1000], 'Retry-After: 1 was honoured once');
    const pulled = (await loadSnapshotFile(target)).snapshot;
    assert.equal(pulled.Meta.eoplockSnapshot, 1);
    assert.equal(pulled.Meta.tenant, 'Contoso Ltd');
    assert.equal(pulled.InboundConnector.length, (example.InboundConnector as unknown[]).length, 'every page was followed');
    assert.equal(pulled.TransportRule.length, (example.TransportRule as unknown[]).length);
    const raw = await readFile(target, 'utf8');
    assert.doesNotMatch(raw, /@odata/, 'OData sidecar keys are dropped');
    assert.doesNotMatch(raw, /token-|PRIVATE KEY/, 'no secret is written');
    assert.doesNotMatch(out.stdout + out.stderr, /token-|PRIVATE KEY/, 'no secret is printed');
    // Same audit as the example without its Dns section (the pull skipped DNS).
    const { Dns: _dns, ...withoutDns } = example;
    const reference = parseSnapshot(withoutDns).snapshot;
    const ids = (snapshot: typeof pulled) => runAudit(snapshot, inferProfile(snapshot), { file: 'x', assumptions: DEFAULT_ASSUMPTIONS }).findings.map((finding) => `${finding.id}:${finding.status}`);
    assert.deepEqual(ids(pulled), ids(reference));
    // Requests: only Get- cmdlets, app-only anchor, one token reused from MSAL's cache.
    assert.ok(server.invoked.every((input) => input.CmdletInput.CmdletName.startsWith('Get-')));
    assert.ok(server.anchors.every((anchor) => anchor === `APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@${TENANT}`));
    assert.equal(server.log.filter((line) => line.endsWith('/oauth2/v2.0/token')).length, 1);
  });

  test('--tenants: a failing tenant is reported, the others are written', async () => {
    const list = await temp.file('tenants.txt', `# customers\n${TENANT}\nfabrikam.onmicrosoft.com   # not served: token fails\n`);
    const dir = join(temp.path(), 'many');
    const { out, io } = capture();
    const code = await pullCommand(io, options({ tenant: undefined, tenants: list, outDir: dir }) as PullCommandOptions);
    assert.equal(code, 1);
    assert.deepEqual((await readdir(dir)).sort(), [`${TENANT}.json`]);
    assert.match(out.stderr, /fabrikam\.onmicrosoft\.com: .*sign-in failed/);
    assert.match(out.stderr, /1 of 2 tenant\(s\) failed; the others were written/);
  });
});

describe('eoplock pull --device-code', () => {
  test('shows the sign-in message and pulls with the person\'s token', async () => {
    const target = join(temp.path(), 'device.json');
    const { out, io } = capture();
    const code = await pullCommand(io, options({ out: target, certificate: undefined, deviceCode: true }) as PullCommandOptions);
    assert.equal(code, 0, out.stderr);
    assert.match(out.stderr, /To sign in, open https:\/\/127\.0\.0\.1:\d+\/devicelogin and enter the code ABCD-EFGH\./);
    assert.equal((await loadSnapshotFile(target)).snapshot.Meta.tenant, 'Contoso Ltd');
    assert.ok(server.anchors.at(-1)?.startsWith('UPN:'), 'a person\'s calls are not anchored as an app');
  });
});

describe('service errors', () => {
  const client = (overrides: { token?: () => Promise<string> } = {}) =>
    new ExoClient({ baseUrl: server.url, tenant: TENANT, token: overrides.token ?? (async () => 'not-issued'), appOnly: true, ca: server.ca, sleep: async () => undefined });

  test('401 names the cmdlet and the permission', async () => {
    await assert.rejects(client().invoke('Get-InboundConnector'), (error: Error & { cmdlet?: string; status?: number }) => error.cmdlet === 'Get-InboundConnector' && error.status === 401 && /Exchange\.ManageAsApp/.test(error.message));
  });

  test('a non-Get cmdlet is refused before any request', async () => {
    const before = server.log.length;
    await assert.rejects(client().invoke('Set-OrganizationConfig', { RejectDirectSend: true }), /only runs Get- cmdlets/);
    assert.equal(server.log.length, before);
  });

  test('a malformed body and a service error carry the service message; nothing is written', async () => {
    const failing = await startExoServer({
      tenant: TENANT,
      clientId: CLIENT_ID,
      thumbprintSha256,
      rows: rows(),
      pageSize: 50,
      malformed: ['Get-InboundConnector'],
      fail: { 'Get-AcceptedDomain': { status: 500, message: 'The operation could not be performed because object could not be found.' } },
    });
    try {
      const target = join(temp.path(), 'never.json');
      const endpoints = { login: failing.url, exchange: failing.url, ca: failing.ca, authorityMetadata: failing.authorityMetadata };
      const { out, io } = capture();
      const code = await pullCommand(io, options({ out: target, endpoints }));
      assert.equal(code, 1);
      assert.match(out.stderr, /Get-AcceptedDomain: HTTP 500: The operation could not be performed because object could not be found\./);
      await assert.rejects(stat(target), 'a failed pull writes nothing');
      const token = appOnlyTokens(CLIENT_ID, TENANT, readCertificate(await readFile(certificateFile, 'utf8'), undefined, certificateFile), { login: failing.url, resource: failing.url, ca: failing.ca, authorityMetadata: failing.authorityMetadata });
      const direct = new ExoClient({ baseUrl: failing.url, tenant: TENANT, token, appOnly: true, ca: failing.ca });
      await assert.rejects(direct.invoke('Get-InboundConnector'), (error: Error & { cmdlet?: string }) => error.cmdlet === 'Get-InboundConnector' && /not JSON \(<html><body>Service Unavailable/.test(error.message));
    } finally {
      await failing.close();
    }
  });
});

describe('secrets the service echoes are never printed or written', () => {
  test('an API error body that quotes the token: the CLI output has none of it, nothing is written', async () => {
    const echoing = await startExoServer({ tenant: TENANT, clientId: CLIENT_ID, thumbprintSha256, rows: rows(), pageSize: 50, echoToken: ['Get-InboundConnector'] });
    try {
      const target = join(temp.path(), 'echo.json');
      const { out, io } = capture();
      const code = await pullCommand(io, options({ out: target, endpoints: { login: echoing.url, exchange: echoing.url, ca: echoing.ca, authorityMetadata: echoing.authorityMetadata } }));
      assert.equal(code, 1);
      const issued = echoing.tokens;
      assert.ok(issued.length > 0, 'a token was issued and sent');
      const printed = out.stdout + out.stderr;
      for (const token of issued) assert.ok(!printed.includes(token), `the token ${token} is not printed`);
      assert.match(out.stderr, /Get-InboundConnector: HTTP 400: Authorization: \[redacted\]; access_token=\[redacted\]; the token \[redacted\] is not valid/);
      await assert.rejects(stat(target), 'a failed pull writes nothing');
    } finally {
      await echoing.close();
    }
  });

  test('a sign-in error that quotes the client assertion: redacted in the CLI output', async () => {
    const echoing = await startExoServer({ tenant: TENANT, clientId: CLIENT_ID, thumbprintSha256, rows: rows(), pageSize: 50, echoAssertion: true });
    try {
      const target = join(temp.path(), 'assertion.json');
      const { out, io } = capture();
      const code = await pullCommand(io, options({ out: target, endpoints: { login: echoing.url, exchange: echoing.url, ca: echoing.ca, authorityMetadata: echoing.authorityMetadata } }));
      assert.equal(code, 1);
      const assertion = echoing.assertions[0] ?? '';
      assert.equal(assertion.split('.').length, 3, 'MSAL sent a signed client assertion');
      const printed = out.stdout + out.stderr;
      assert.match(out.stderr, /sign-in failed: .*AADSTS7000274: Client assertion \[redacted\] is not valid \(client_assertion=\[redacted\]\)/);
      for (const segment of assertion.split('.')) assert.ok(!printed.includes(segment), 'no part of the assertion is printed');
      await assert.rejects(stat(target));
    } finally {
      await echoing.close();
    }
  });
});

describe('pull bad input', () => {
  test('missing sign-in choice, a bad tenant, a bad certificate file: exit 2 with the place named', async () => {
    const both = await cli('pull', '--tenant', TENANT, '--app-id', CLIENT_ID, '--out', 'x.json');
    assert.equal(both.code, 2);
    assert.match(both.stderr, /choose one way to sign in/);
    const badTenant = await cli('pull', '--tenant', 'not a tenant', '--app-id', CLIENT_ID, '--device-code', '--out', 'x.json');
    assert.equal(badTenant.code, 2);
    assert.match(badTenant.stderr, /--tenant: "not a tenant" is neither a tenant id/);
    const notPem = await temp.file('bad.pem', 'hello');
    const badCert = await cli('pull', '--tenant', TENANT, '--app-id', CLIENT_ID, '--certificate', notPem, '--out', 'x.json');
    assert.equal(badCert.code, 2);
    assert.match(badCert.stderr, /bad\.pem: no PEM certificate/);
    // A line of the key, looked for as text (base64 holds + and /, which a regular expression would read as syntax).
    const keyLine = secret.split('\n')[1] ?? 'unused';
    assert.ok(!(badCert.stderr + badCert.stdout).includes(keyLine), 'no part of the private key is printed');
  });
});
