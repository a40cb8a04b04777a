/**
 * `--prove-time-limit` on the commands that run the class search besides `prove`: `plan` (the proof of the
 * configuration after the plan), `audit --prove` (EOPL-090/091) and `report` (the proof now and after the plan). A
 * search stopped at its limit is reported as not a proof; a check whose search found nothing falls back to the corpus
 * and says why. 0.001 s: the first check of the search (after 1,024 steps) is already past it.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { AuditResult } from '../../src/audit/model.js';
import { DEFAULT_PROVE_TIME_LIMIT } from '../../src/cli/time-limit.js';
import { cli, tempFolder } from '../helpers/cli.js';

const temp = tempFolder('eoplock-prove-limit-');
const EXPOSED = 'examples/contoso-exposed.json';
const LOCKED = 'examples/contoso-locked.json';
const SOURCES = ['--allow-direct-send', '192.0.2.25=Office scanners', '--allow-direct-send', '198.51.100.150=Invoicing'];

describe('--prove-time-limit', () => {
  test('plan: PLAN.md and the summary say the proof after the plan was stopped and is not a proof', async () => {
    const out = join(temp.path(), 'plan');
    const result = await cli('plan', EXPOSED, '--out', out, ...SOURCES, '--prove-time-limit', '0.001');
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /the class search stopped at --prove-time-limit after [\d,]+ of [\d,]+ classes \(not a proof\)/);
    const plan = await readFile(join(out, 'PLAN.md'), 'utf8');
    assert.match(plan, /`eoplock prove` on expected-after\.json \*\*was stopped at its time limit\*\* .*\*\*not a proof\*\*/);
    assert.doesNotMatch(plan, /`eoplock prove` on expected-after\.json: \*\*0 bypasses/);
  });

  test('plan: by default (60 s) the examples are proven to the end', async () => {
    const out = join(temp.path(), 'plan-default');
    const result = await cli('plan', EXPOSED, '--out', out, ...SOURCES);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(await readFile(join(out, 'PLAN.md'), 'utf8'), /`eoplock prove` on expected-after\.json: \*\*0 bypasses in [\d,]+ classes\*\*/);
  });

  test('audit --prove: a search stopped with nothing found passes on the corpus and says the search did not finish', async () => {
    const result = await cli('audit', LOCKED, '--prove', '--prove-time-limit', '0.001', '--format', 'json');
    const audit = JSON.parse(result.stdout) as AuditResult;
    for (const id of ['EOPL-090', 'EOPL-091']) {
      const finding = audit.findings.find((entry) => entry.id === id);
      assert.equal(finding?.status, 'pass', id);
      assert.match(finding?.summary ?? '', /judged on the corpus: the class search stopped at its time limit after [\d,]+ classes of [\d,]+ classes, with nothing found there \(not a proof\)$/, id);
    }
  });

  test('report: the proof blocks say the searches were stopped', async () => {
    const out = join(temp.path(), 'report.html');
    const result = await cli('report', EXPOSED, '--out', out, '--prove-time-limit', '0.001');
    assert.equal(result.code, 0, result.stderr);
    const html = await readFile(out, 'utf8');
    assert.ok((html.match(/search stopped after [^<]*— not a proof/g) ?? []).length >= 1);
  });

  test('every command\'s --help shows the default the commands use', async () => {
    for (const command of ['plan', 'report', 'audit']) {
      const help = (await cli(command, '--help')).stdout.replace(/\s+/g, ' ');
      assert.match(help, new RegExp(`--prove-time-limit <seconds> .*?\\(default: "${DEFAULT_PROVE_TIME_LIMIT}"\\)`), command);
    }
  });

  for (const command of [['plan', EXPOSED, '--out', 'unused'], ['audit', LOCKED, '--prove'], ['report', EXPOSED, '--out', 'unused.html']]) {
    test(`${command[0]}: a limit that is not a positive number is bad input`, async () => {
      const result = await cli(...command, '--prove-time-limit', '-1');
      assert.equal(result.code, 2, result.stdout);
      assert.match(result.stderr, /--prove-time-limit: expected a positive number of seconds, got "-1"/);
    });
  }
});
