/**
 * `probe --send`: the closing line says what was delivered. After a 250 at DATA it counts the messages accepted (and
 * those refused at DATA), and never says "No message was delivered"; that sentence comes only when no message was, with
 * the reason.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startLab, type RunningLab } from '../../src/lab/lab.js';
import { resolveAssumptions } from '../../src/eop/assumptions.js';
import { inferProfile } from '../../src/profile/profile.js';
import { loadSnapshotFile } from '../../src/snapshot/load.js';
import { cli } from '../helpers/cli.js';
import { HOST, scriptedServer } from './servers.js';

const EXPOSED = 'examples/contoso-exposed.json';

interface ProbeJson {
  runs: { result: { steps: { stage: string; code: number }[] } }[];
}

describe('probe --send against the lab (the guide\'s tests for the exposed tenant)', () => {
  let lab: RunningLab;
  before(async () => {
    const { snapshot } = await loadSnapshotFile(EXPOSED);
    lab = await startLab({ snapshot, assumptions: resolveAssumptions(), profile: inferProfile(snapshot), listen: { host: HOST, port: 0 } });
  });
  after(async () => {
    await lab.close(0);
  });

  test('messages accepted at DATA are counted, refused ones too, and "No message was delivered" is not said', async () => {
    const args = ['probe', '--tenant', EXPOSED, '--host', HOST, '--port', String(lab.eop.port), '--starttls', 'never', '--send', '--timeout', '20'];
    const json = JSON.parse((await cli(...args, '--format', 'json')).stdout) as ProbeJson;
    const atData = json.runs.map((run) => run.result.steps.find((step) => step.stage === 'data')?.code).filter((code): code is number => code !== undefined);
    const accepted = atData.filter((code) => code >= 200 && code < 300).length;
    const refused = atData.length - accepted;
    assert.ok(accepted > 0, 'the exposed tenant accepts some test messages at DATA');
    const text = await cli(...args);
    assert.equal((text.stdout.match(/accept at DATA: 25\d/g) ?? []).length, accepted, text.stdout);
    const closing = text.stdout.trimEnd().split('\n').at(-1) ?? '';
    const counted = accepted === 1 ? 'one test message was' : `${accepted} test messages were`;
    assert.ok(closing.startsWith(`--send: ${counted} accepted at DATA`), closing);
    if (refused > 0) assert.match(closing, new RegExp(`, ${refused} refused at DATA\\.$`));
    assert.doesNotMatch(text.stdout, /No message was delivered/);
    assert.doesNotMatch(text.stdout, /unless --send is given/);
  });

  test('the null sender\'s test message has a From address (MAILER-DAEMON at the EHLO name), so DATA is judged, not refused for lacking one', async () => {
    const args = ['probe', '--host', HOST, '--port', String(lab.eop.port), '--starttls', 'never', '--from', '', '--to', 'alice@contoso.com', '--send', '--timeout', '20'];
    const json = JSON.parse((await cli(...args, '--format', 'json')).stdout) as ProbeJson;
    const steps = json.runs[0]?.result.steps ?? [];
    const data = steps.find((step) => step.stage === 'data');
    assert.ok(data, JSON.stringify(steps));
    assert.equal(data.code, 250, 'the exposed tenant accepts a bounce from the internet');
    const text = await cli(...args);
    assert.doesNotMatch(text.stdout, /5\.7\.512/);
  });
});

describe('probe --send refused at the end of DATA', () => {
  test('"No message was delivered", with the reason: refused at DATA', async () => {
    let inData = false;
    const server = await scriptedServer('220 hi\r\n', (line) => {
      if (inData) {
        if (line !== '.') return null;
        inData = false;
        return '550 5.7.1 not wanted\r\n';
      }
      if (/^DATA$/i.test(line)) {
        inData = true;
        return '354 go ahead\r\n';
      }
      return /^QUIT/i.test(line) ? null : '250 ok\r\n';
    });
    try {
      const result = await cli('probe', '--host', HOST, '--port', String(server.port), '--from', 'a@b.example', '--to', 'c@d.example', '--send', '--starttls', 'never', '--timeout', '10');
      assert.match(result.stdout, /reject at DATA: 550 5\.7\.1 not wanted/);
      assert.match(result.stdout, /No message was delivered: --send was given, and the test that reached DATA was refused there\./);
      assert.doesNotMatch(result.stdout, /accepted at DATA/);
    } finally {
      await server.close();
    }
  });
});
