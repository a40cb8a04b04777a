/**
 * `eoplock prove` end to end through the CLI, on the bundled example tenants (examples/: exposed, partial — the
 * guide as written —, locked): the headline, the exit codes, the formats, bad input, and --replay through the lab
 * over real SMTP on loopback.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { ProofResult } from '../../src/prove/types.js';
import type { ReplayOutcome } from '../../src/report/prove.js';
import { cli, tempFolder } from '../helpers/cli.js';

const temp = tempFolder('eoplock-prove-cli-');
type Json = ProofResult & { headline: string; file: string; allAssumptions: boolean; replay?: ReplayOutcome[] };

describe('eoplock prove', () => {
  test('the locked example: "0 bypasses in N classes", exit 0', async () => {
    const result = await cli('prove', 'examples/contoso-locked.json');
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /^eoplock prove — Contoso Ltd \(examples\/contoso-locked\.json\)\n/);
    assert.match(result.stdout, /^0 bypasses in [\d,]+ classes \(\d+(\.\d)? m?s\)$/m);
    assert.match(result.stdout, /^no legitimate path is refused$/m);
    assert.match(result.stdout, /^Limits of the proof$/m);
  });

  test('the exposed example: bypasses grouped by cause with a representative each, exit 1; --trace adds the steps', async () => {
    const result = await cli('prove', 'examples/contoso-exposed.json');
    assert.equal(result.code, 1);
    assert.match(result.stdout, /^[1-9][\d,]* bypass(es)? in [\d,]+ classes/m);
    assert.match(result.stdout, /^Bypasses: accepted by EOP for delivery without passing the gateway\n✗ .+ — [\d,]+ class(es)?\n {4}\S+, .*MAIL FROM <.*>.*RCPT .+\n {4}→ accept → (deliver|junk)/m);
    assert.doesNotMatch(result.stdout, /^ {6}\[connector\]/m);
    const traced = await cli('prove', 'examples/contoso-exposed.json', '--trace');
    assert.match(traced.stdout, /^ {6}\[connector\] .+\(S\d+/m);
  });

  test('JSON: the result with the file and headline; every bypass representative is accepted and not from the gateway', async () => {
    const result = await cli('prove', 'examples/contoso-exposed.json', '--format', 'json');
    assert.equal(result.code, 1);
    const json = JSON.parse(result.stdout) as Json;
    assert.equal(json.file, 'examples/contoso-exposed.json');
    assert.ok(json.classes > 0 && json.bypasses > 0);
    assert.match(json.headline, /^[\d,]+ bypass(es)? in [\d,]+ classes/);
    const bypasses = json.findings.filter((finding) => finding.kind === 'bypass');
    assert.ok(bypasses.length > 0);
    assert.equal(bypasses.reduce((sum, finding) => sum + finding.classes, 0), json.bypasses);
    for (const finding of bypasses) {
      assert.equal(finding.representative.verdict.action, 'accept');
      assert.equal(finding.representative.origin, 'other');
    }
  });

  test('SARIF: bypasses under EOPL-090, located in the snapshot file', async () => {
    const out = join(temp.path(), 'prove.sarif');
    const result = await cli('prove', 'examples/contoso-exposed.json', 'examples/contoso-locked.json', '--format', 'sarif', '--out', out);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    const sarif = JSON.parse(await readFile(out, 'utf8')) as { runs: { results: { ruleId: string; locations: { physicalLocation: { artifactLocation: { uri: string } } }[] }[] }[] };
    const results = sarif.runs[0]?.results ?? [];
    assert.ok(results.some((entry) => entry.ruleId === 'EOPL-090'));
    assert.ok(results.every((entry) => entry.locations[0]?.physicalLocation.artifactLocation.uri === 'examples/contoso-exposed.json'), 'the locked example has no finding');
  });

  test('several snapshots in JSON: { proofs: [...] }, in the order given', async () => {
    const result = await cli('prove', 'examples/contoso-locked.json', 'examples/contoso-exposed.json', '--format', 'json');
    const json = JSON.parse(result.stdout) as { proofs: Json[] };
    assert.deepEqual(json.proofs.map((proof) => [proof.file, proof.bypasses === 0]), [['examples/contoso-locked.json', true], ['examples/contoso-exposed.json', false]]);
  });

  test('a seeded hole: the connector trusts a /24 where the gateway is a /28; --all-assumptions finds it under every combination', async () => {
    // One accepted domain, RejectDirectSend on, the gateway's Partner connector restricted to 203.0.113.0/24 while the
    // gateway (--seg-ip) is 203.0.113.0/28: the other 240 addresses of the /24 meet the restriction (S7, S9).
    const small = await temp.file(
      'small.json',
      JSON.stringify({
        Meta: { eoplockSnapshot: 1, tenant: 'Small' },
        OrganizationConfig: { RejectDirectSend: true },
        AcceptedDomain: [{ DomainName: 'small.example', DomainType: 'Authoritative', Default: true }],
        InboundConnector: [{ Name: 'From SEG', Enabled: true, ConnectorType: 'Partner', SenderDomains: ['smtp:*;1'], SenderIPAddresses: ['203.0.113.0/24'], RestrictDomainsToIPAddresses: true }],
      }),
    );
    const plain = await cli('prove', small, '--seg-ip', '203.0.113.0/28');
    assert.equal(plain.code, 1);
    assert.match(plain.stdout, /^✗ .*Partner connector "From SEG" matched by IP.* — [\d,]+ class(es)?\n {4}203\.0\.113\.\d+,/m);
    const representative = /^ {4}203\.0\.113\.(\d+),/m.exec(plain.stdout);
    assert.ok(representative && Number(representative[1]) >= 16, 'the representative is in the /24 but outside the /28');
    const all = await cli('prove', small, '--seg-ip', '203.0.113.0/28', '--all-assumptions', '--format', 'json');
    const json = JSON.parse(all.stdout) as Json;
    assert.equal(json.allAssumptions, true);
    // The hole does not depend on any uncertain behaviour: it is found under every combination, so it carries no
    // "only under" label (the cause leaves AuthAs out, so partner-authas does not split it).
    const hole = json.findings.filter((finding) => finding.kind === 'bypass' && /Partner connector "From SEG" matched by IP/.test(finding.cause));
    assert.ok(hole.length > 0, 'the /24 hole is found under every combination');
    assert.ok(hole.every((finding) => !finding.onlyUnder || finding.onlyUnder.length === 0), 'and is not labelled as depending on an assumption');
    const text = await cli('prove', small, '--seg-ip', '203.0.113.0/28', '--all-assumptions');
    assert.match(text.stdout, /searched under every combination of the uncertain assumptions/);
    assert.doesNotMatch(text.stdout, /only under: partner-authas/);
  });

  test('--allow-direct-send takes the plan\'s IP=NAME form', async () => {
    const result = await cli('prove', 'examples/contoso-exposed.json', '--allow-direct-send', '192.0.2.25=Office scanners', '--format', 'json');
    assert.ok(result.code === 0 || result.code === 1, result.stderr);
    assert.equal(result.stderr, '');
  });
});

describe('--time-limit', () => {
  // 0.001 s: the first check (after 1,024 steps of the search) is already past it, so each search stops there.
  test('a search stopped by the limit says how far it got, is not a proof and exits 1, in every format', async () => {
    const text = await cli('prove', 'examples/contoso-locked.json', '--time-limit', '0.001');
    assert.equal(text.code, 1, text.stderr);
    assert.match(text.stdout, /^search stopped after \d+(\.\d)? m?s: 0 bypasses in the first [\d,]+ of [\d,]+ classes — not a proof$/m);
    assert.doesNotMatch(text.stdout, /^0 bypasses in [\d,]+ classes/m, 'never the proof headline');
    assert.match(text.stdout, /^ {2}- the search was stopped after [\d,]+ of [\d,]+ classes: this is not a proof/m);

    const json = JSON.parse((await cli('prove', 'examples/contoso-locked.json', '--time-limit', '0.001', '--format', 'json')).stdout) as Json;
    assert.ok(json.stopped, 'stopped is present');
    assert.ok(json.classes < json.stopped.of, `${json.classes} of ${json.stopped.of}`);
    assert.match(json.headline, /not a proof$/);

    const sarif = JSON.parse((await cli('prove', 'examples/contoso-locked.json', '--time-limit', '0.001', '--format', 'sarif')).stdout) as {
      runs: { invocations: { executionSuccessful: boolean; toolExecutionNotifications: { message: { text: string } }[] }[] }[];
    };
    const invocation = sarif.runs[0]?.invocations[0];
    assert.equal(invocation?.executionSuccessful, false);
    assert.match(invocation?.toolExecutionNotifications[0]?.message.text ?? '', /^examples\/contoso-locked\.json: search stopped after .* not a proof$/);
  });

  test('a limit the search does not reach changes nothing: the proof, exit 0', async () => {
    const result = await cli('prove', 'examples/contoso-locked.json', '--time-limit', '600', '--format', 'json');
    assert.equal(result.code, 0, result.stderr);
    const json = JSON.parse(result.stdout) as Json;
    assert.equal(json.stopped, undefined);
    assert.match(json.headline, /^0 bypasses in [\d,]+ classes/);
  });
});

describe('bad input: exit 2, one line naming what is wrong, no stack trace', () => {
  const cases: [string, string[], RegExp][] = [
    ['a missing file', ['prove', 'does-not-exist.json'], /does-not-exist\.json/],
    ['an address that is not one', ['prove', 'examples/contoso-locked.json', '--allow-direct-send', 'scanner.example=Scanner'], /--allow-direct-send\[0\]: .*scanner\.example/],
    ['an unknown assumption', ['prove', 'examples/contoso-locked.json', '--assume', 'no-such-thing=1'], /no-such-thing/],
    ['--assume with --all-assumptions', ['prove', 'examples/contoso-locked.json', '--all-assumptions', '--assume', 'attribution-reject-stage=data'], /--assume: .*exclude each other/],
    ['an unknown format', ['prove', 'examples/contoso-locked.json', '--format', 'junit'], /argument 'junit' is invalid/],
    ['a time limit that is not a positive number', ['prove', 'examples/contoso-locked.json', '--time-limit', '0'], /--time-limit: expected a positive number of seconds, got "0"/],
    ['a time limit in words', ['prove', 'examples/contoso-locked.json', '--time-limit', 'ten'], /--time-limit: expected a positive number of seconds, got "ten"/],
    ['no threads', ['prove', 'examples/contoso-locked.json', '--threads', '0'], /--threads: expected a whole number of threads from 1 to 64, got "0"/],
    ['threads in part', ['prove', 'examples/contoso-locked.json', '--threads', '1.5'], /--threads: expected a whole number of threads from 1 to 64, got "1\.5"/],
  ];
  for (const [name, argv, message] of cases) {
    test(name, async () => {
      const result = await cli(...argv);
      assert.equal(result.code, 2, result.stdout);
      assert.match(result.stderr, message);
      assert.doesNotMatch(result.stderr, /\n\s+at /);
    });
  }
});

describe('--replay', () => {
  test('each representative sent over SMTP to the lab; those with a From header get the reply the emulator decided', { timeout: 300_000 }, async () => {
    const result = await cli('prove', 'examples/contoso-exposed.json', '--replay', '--format', 'json');
    const json = JSON.parse(result.stdout) as Json;
    assert.ok(json.replay && json.replay.length === json.findings.length && json.replay.length > 0);
    assert.deepEqual(json.replay.map((outcome) => outcome.key), json.findings.map((finding) => finding.key), 'one replay per finding, in order');
    // A representative without any header is decided without the From check; over SMTP the lab sees a message without
    // a From header, which EOP refuses with 5.7.512 (S49) — the kind of difference --replay exists to show.
    const withFrom = new Set(json.findings.filter((finding) => /^From /.test(JSON.stringify(finding.representative.transaction.headers ?? []).replace(/^.*?"name":"From".*$/, 'From '))).map((finding) => finding.key));
    assert.ok(withFrom.size > 0);
    assert.deepEqual(json.replay.filter((outcome) => withFrom.has(outcome.key) && outcome.status !== 'same'), [], 'no mismatch where the representative has a From header');
    const text = await cli('prove', 'examples/contoso-exposed.json', '--replay');
    assert.match(text.stdout, /^ {4}replay: the lab replied 250 at end of DATA, as decided$/m);
    assert.match(text.stdout, /^replay: (the lab gave every one of \d+ representatives the same reply over SMTP|\d+ of \d+ representatives got another reply \(or none\) from the lab)$/m);
    if (json.replay.some((outcome) => outcome.status !== 'same')) assert.equal(text.code, 1, 'a mismatch fails the run');
  });
});
