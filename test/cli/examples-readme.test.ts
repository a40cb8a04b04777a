/**
 * examples/README.md states how many files, scenarios, rows and records the examples hold: each number it states is
 * counted from the files here, so that the README cannot drift from them.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readReports } from '../../src/cli/dmarc.js';
import { loadScenarioFile } from '../../src/scenarios/load.js';
import { loadSnapshotFile } from '../../src/snapshot/load.js';
import { readTrace } from '../../src/trace/read.js';

const FOLDER = 'examples';
const WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve'];
const readme = (await readFile(join(FOLDER, 'README.md'), 'utf8')).replace(/\s+/g, ' ');

/** The number the README states in the first match of `pattern` (its first group: a word or digits). */
function stated(pattern: RegExp): number {
  const match = pattern.exec(readme);
  assert.ok(match?.[1], `the README states ${pattern}`);
  const word = match[1].toLowerCase();
  const value = /^\d+$/.test(word) ? Number(word) : WORDS.indexOf(word);
  assert.ok(value >= 0, `"${match[1]}" is a number`);
  return value;
}

async function files(folder: string, keep: (name: string) => boolean = () => true): Promise<string[]> {
  return (await readdir(join(FOLDER, folder), { withFileTypes: true })).filter((entry) => entry.isFile() && keep(entry.name)).map((entry) => entry.name);
}

describe('examples/README.md counts match the files', () => {
  test('snapshots, and the older transport rules every snapshot holds', async () => {
    const snapshots = (await readdir(FOLDER)).filter((name) => name.endsWith('.json'));
    assert.equal(stated(/All (\w+) snapshots describe/i), snapshots.length);
    const ruleNames = await Promise.all(snapshots.map(async (name) => (await loadSnapshotFile(join(FOLDER, name))).snapshot.TransportRule.map((rule) => rule.Name)));
    const inEvery = (ruleNames[0] ?? []).filter((name) => ruleNames.every((names) => names.includes(name)));
    assert.equal(stated(/(\w+) older transport rules appear in every file/i), inEvery.length);
    for (const name of inEvery) assert.ok(readme.includes(`"${name}"`), `the README names "${name}"`);
  });

  test('scenarios', async () => {
    const scenarios = await loadScenarioFile(join(FOLDER, 'scenarios.yaml'));
    assert.equal(stated(/There are (\w+) scenarios/i), scenarios.length);
  });

  test('plans, traces, messages and DMARC reports', async () => {
    const plans = (await readdir(join(FOLDER, 'plans'), { withFileTypes: true })).filter((entry) => entry.isDirectory());
    assert.equal(stated(/`plans\/`: (\w+) example plans/i), plans.length);

    const traces = await files('traces');
    assert.equal(stated(/`traces\/`: (\w+) message trace/i), traces.length);
    let rows = 0;
    let malformed = 0;
    for (const name of traces) {
      const summary = await readTrace(join(FOLDER, 'traces', name), { onRecord: () => undefined });
      rows += summary.records + summary.malformed;
      malformed += summary.malformed;
    }
    assert.equal(stated(/It has (\d+) rows/i), rows);
    assert.equal(stated(/(\w+) malformed row/i), malformed);

    assert.equal(stated(/`messages\/`: (\w+) message/i), (await files('messages')).length);

    const reports = await files('dmarc', (name) => name !== 'SOURCE.md');
    assert.equal(stated(/`dmarc\/`: (\w+) DMARC aggregate report/i), reports.length);
    const read = await readReports([join(FOLDER, 'dmarc')]);
    assert.equal(read.skipped.length, 0);
    assert.equal(stated(/Amazon SES, (\w+) records/i), read.reports.reduce((sum, report) => sum + report.records.length, 0));
  });

  test('every file and folder in examples/ is described', async () => {
    for (const entry of await readdir(FOLDER)) {
      if (entry === 'README.md') continue;
      assert.ok(readme.includes(`\`${entry}`) || readme.includes(`\`${entry}/\``), `the README describes ${entry}`);
    }
  });
});
