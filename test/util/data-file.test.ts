/**
 * Data files (gateway profiles for --seg, scenario files): hostile YAML and JSON is refused as bad input (exit 2,
 * file and line named), quickly; large honest files are read in linear time.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { z } from 'zod';
import { InputError } from '../../src/errors.js';
import { ProfileFileSchema } from '../../src/profile/profile.js';
import { ScenarioFileSchema } from '../../src/scenarios/schema.js';
import { parseDataFile } from '../../src/util/data-file.js';
import { cli, tempFolder } from '../helpers/cli.js';

const { file, path: folder } = tempFolder('eoplock-data-file-');
const LOCKED = 'examples/contoso-locked.json';

/** The InputError parseDataFile throws for `text`, as `where: message`. */
function refusal(text: string, schema: z.ZodType = ProfileFileSchema): string {
  try {
    parseDataFile(text, schema, 'f.yaml');
  } catch (error) {
    assert.ok(error instanceof InputError, `not an InputError: ${String(error)}`);
    assert.equal(error.file, 'f.yaml');
    return `${error.where ?? ''}: ${error.message}`;
  }
  assert.fail('the file was accepted');
}

/**
 * Runs `work` and checks it took less than `ms`: a test's timeout cannot stop synchronous work, so a slow parser
 * would otherwise pass late rather than fail.
 */
async function within<T>(ms: number, work: () => T | Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await work();
  const elapsed = performance.now() - started;
  assert.ok(elapsed < ms, `took ${Math.round(elapsed)} ms (limit ${ms} ms)`);
  return result;
}

/** "Billion laughs": each level holds ten aliases of the one before, 10^levels strings in all. */
function aliasBomb(levels = 12): string {
  const lines = ['l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
  for (let level = 1; level < levels; level++) lines.push(`l${level}: &l${level} [${Array(10).fill(`*l${level - 1}`).join(', ')}]`);
  return `${lines.join('\n')}\n`;
}

describe('aliases', () => {
  test('an alias with no anchor (ips: *undefined) names the line', () => {
    assert.equal(refusal('name: gw\nips: *undefined\n'), 'ips (line 2, column 6): the alias *undefined refers to no anchor &undefined before it');
    assert.match(refusal('ips: [*later]\nname: &later gw\n'), /^ips\[0\] \(line 1, column 7\): the alias \*later refers to no anchor/);
  });

  test('an alias inside its own anchor is refused (it would be an endless value)', () => {
    assert.match(refusal('ips: &a [1.2.3.4, *a]\n'), /^ips\[1\] \(line 1, column 19\): the alias \*a is inside the value of its own anchor/);
  });

  test('ordinary aliases give their anchor\'s value', () => {
    assert.deepEqual(parseDataFile('name: &n gw\nips: &ips [203.0.113.10]\nmxHosts: [*n]\n', ProfileFileSchema), {
      name: 'gw',
      ips: ['203.0.113.10'],
      mxHosts: ['gw'],
    });
  });

  test('a billion-laughs file is refused at the alias that expands too far, quickly', { timeout: 10_000 }, () => {
    const started = performance.now();
    assert.match(refusal(aliasBomb()), /^l\d+\[\d\] \(line \d+, column \d+\): the aliases expand to more than \d+ values/);
    assert.ok(performance.now() - started < 1_000, `${performance.now() - started} ms`);
  });

  test('many anchors and aliases: linear (yaml\'s own alias resolution is quadratic in them)', { timeout: 10_000 }, async () => {
    const count = 20_000;
    const text = `${Array.from({ length: count }, (_, i) => `k${i}: &a${i} v${i}`).join('\n')}\nall: [${Array.from({ length: count }, (_, i) => `*a${i}`).join(', ')}]\n`;
    const value = await within(8_000, () => parseDataFile(text, z.looseObject({ all: z.array(z.string()) })));
    assert.equal(value.all[count - 1], `v${count - 1}`);
  });
});

describe('structure', () => {
  test('a key named twice is refused, in YAML and in JSON, with its line', () => {
    assert.equal(refusal('name: a\nips: []\nname: b\n'), '(document root) (line 3, column 1): the key "name" appears twice in one mapping');
    assert.equal(refusal('{\n  "name": "a",\n  "name": "b"\n}'), '(document root) (line 3, column 3): the key "name" appears twice in one object');
  });

  test('nesting deeper than 64 levels is refused with its place, before the YAML composer recurses', { timeout: 10_000 }, () => {
    const started = performance.now();
    assert.match(refusal(`ips: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`), /^line 1, column \d+: nested more than 64 levels deep$/);
    assert.match(refusal(`${Array.from({ length: 5_000 }, (_, i) => `${' '.repeat(i)}- `).join('\n')}x\n`), /^line \d+, column \d+: nested more than 64 levels deep$/);
    assert.match(refusal(`{"ips": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`), /^ips(\[0\]){63} \(line 1, column 72\): nested more than 64 levels deep$/);
    assert.match(refusal(`name: ${'['.repeat(64)}${']'.repeat(64)}\n`), /^name(\[0\]){63} \(line 1, column 70\): nested more than 64 levels deep$/);
    assert.ok(performance.now() - started < 2_000, `${performance.now() - started} ms`);
    // 64 levels in all (the mapping and 63 lists) are fine.
    assert.deepEqual(parseDataFile(`x: ${'['.repeat(63)}${']'.repeat(63)}\n`, z.unknown()), { x: JSON.parse('['.repeat(63) + ']'.repeat(63)) });
  });

  test('one document per file; keys are plain values; __proto__ is an ordinary key', () => {
    assert.equal(refusal('name: a\n---\nname: b\n'), 'line 2, column 1: the file holds more than one YAML document');
    assert.match(refusal('[a]: 1\n'), /\(line 1, column 1\): a key must be a plain value/);
    for (const text of ['__proto__: {polluted: 1}\n', '{"__proto__": {"polluted": 1}}']) {
      const value = parseDataFile(text, z.unknown()) as Record<string, unknown>;
      assert.equal(Object.getPrototypeOf(value), Object.prototype);
      assert.deepEqual(Object.keys(value), ['__proto__']);
      assert.equal((value as { polluted?: unknown }).polluted, undefined);
    }
  });

  test('YAML reads as yaml.parse reads it (the example scenario file, anchors, numbers, nulls)', async () => {
    for (const text of [await readFile('examples/scenarios.yaml', 'utf8'), 'a: &x {b: [1, 2.5, true, null, ~, "s", 0x1f]}\nc: *x\nd:\n? e\n1: one\n']) {
      assert.deepEqual(parseDataFile(text, z.unknown()), parseYaml(text));
    }
  });

  test('a schema problem names the path and the line, in YAML and JSON', () => {
    assert.equal(refusal('name: a\nips:\n  - 1\n'), 'ips[0] (line 3, column 5): Invalid input: expected string, received number');
    assert.equal(refusal('{\n  "name": "a",\n  "ips": [1]\n}'), 'ips[0] (line 3, column 11): Invalid input: expected string, received number');
    assert.match(refusal(`{${Array.from({ length: 1000 }, (_, i) => `"k${i}": 1`).join(', ')}}`), /^\(document root\) \(line 1, column 1\): Unrecognized keys: "k0", "k1", "k2" and 997 more$/);
  });
});

describe('large honest files stay linear', () => {
  test('a JSON object with 100,000 keys (pairwise duplicate-key checks would take minutes)', { timeout: 10_000 }, async () => {
    const headers = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`X-Header-${i}`, `v${i}`]));
    const text = JSON.stringify({ scenarios: [{ name: 'x', clientIp: '192.0.2.1', mailFrom: 'a@b.example', rcptTo: 'u@contoso.com', headers }] });
    const value = await within(5_000, () => parseDataFile(text, ScenarioFileSchema));
    assert.equal(Object.keys(value.scenarios[0]?.headers ?? {}).length, 100_000);
  });

  test('a YAML mapping with 50,000 keys', { timeout: 10_000 }, async () => {
    const text = `${Array.from({ length: 50_000 }, (_, i) => `k${i}: ${i}`).join('\n')}\n`;
    assert.equal(Object.keys(await within(8_000, () => parseDataFile(text, z.record(z.string(), z.number())))).length, 50_000);
  });

  test('45,000 scenarios as JSON', { timeout: 10_000 }, async () => {
    const examples = (parseYaml(await readFile('examples/scenarios.yaml', 'utf8')) as { scenarios: object[] }).scenarios;
    const scenarios = Array.from({ length: 45_000 }, (_, i) => ({ ...examples[i % examples.length], name: `scenario ${i}` }));
    const text = JSON.stringify({ scenarios });
    const value = await within(8_000, () => parseDataFile(text, ScenarioFileSchema, 'big.json'));
    assert.equal(value.scenarios.length, 45_000);
  });
});

describe('through the CLI: exit 2, the file and line named', () => {
  test('--seg with ips: *undefined', async () => {
    const profile = await file('undefined.yaml', 'name: gw\nips: *undefined\n');
    const result = await cli('audit', LOCKED, '--seg', profile);
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stderr, `eoplock: error: ${profile}: at ips (line 2, column 6): the alias *undefined refers to no anchor &undefined before it\n`);
  });

  test('a billion-laughs file as --seg and as --scenarios', { timeout: 10_000 }, async () => {
    const bomb = await file('bomb.yaml', aliasBomb());
    const scenarios = await file('bomb-scenarios.yaml', `scenarios:\n${aliasBomb().replace(/^/gm, '  ').replace(/^ {2}l0/, '  - l0').replace(/^ {2}(?=l[1-9])/gm, '    ')}`);
    for (const argv of [['audit', LOCKED, '--seg', bomb], ['simulate', LOCKED, '--scenarios', scenarios]]) {
      const started = performance.now();
      const result = await cli(...argv);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /^eoplock: error: \S+bomb(-scenarios)?\.yaml: at \S+ \(line \d+, column \d+\): the aliases expand to more than \d+ values/);
      assert.ok(performance.now() - started < 1_000, `${argv[0]}: ${performance.now() - started} ms`);
    }
  });
});

/** Hostile fragments a profile file may hold, as YAML text. */
const fragment = fc.oneof(
  fc.constantFrom('*undefined', '&a [1.2.3.4, *a]', '!!binary aGk=', '!custom x', '<<: *m', '? [a]\n: b', '---\nname: b', '...', '"\\u0000\\e"', "'\u202e'"),
  fc.nat(200).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
  fc.nat(200).map((depth) => `${'{a: '.repeat(depth)}1${'}'.repeat(depth)}`),
  fc.string({ maxLength: 12, unit: fc.constantFrom('\n', '\t', ' ', ':', '-', '[', ']', '{', '}', '&', '*', '!', '|', '>', '#', '"', "'", '\u0000', '\u001b', '\u2028', 'x', '1') }),
  fc.constantFrom('1e400', '-0', '0x1F', '.nan', '99999999999999999999999', 'true', 'null', '~'),
);

const profileValue = fc.record(
  {
    name: fc.oneof(fc.string({ maxLength: 20 }), fc.constant('gw')),
    ips: fc.array(fc.oneof(fc.constantFrom('203.0.113.10', '198.51.100.0/28', '2001:db8::1', '1.2.3.4-1.2.3.9'), fc.string({ maxLength: 20 })), { maxLength: 4 }),
    certificateName: fc.oneof(fc.constantFrom('*.seg.example.net', 'mx.seg.example.net'), fc.string({ maxLength: 20 })),
    mxHosts: fc.array(fc.oneof(fc.constant('mx1.seg.example.net'), fc.string({ maxLength: 20 })), { maxLength: 3 }),
  },
  { requiredKeys: [] },
);

test('fuzz: hostile --seg profile files never crash audit (exit 0, 1 or 2; one line naming the file; no --out on 2)', { timeout: 60_000 }, async () => {
  let run = 0;
  await fc.assert(
    fc.asyncProperty(profileValue, fc.boolean(), fc.array(fc.tuple(fc.nat(), fragment), { maxLength: 3 }), async (value, asJson, inserts) => {
      let text = asJson ? JSON.stringify(value, null, 2) : stringifyYaml(value);
      for (const [position, insert] of inserts) {
        const at = position % (text.length + 1);
        text = text.slice(0, at) + insert + text.slice(at);
      }
      run++;
      const profile = await file(`seg-${run}.${asJson ? 'json' : 'yaml'}`, text);
      const out = join(folder(), `audit-${run}.json`);
      const result = await cli('audit', LOCKED, '--seg', profile, '--format', 'json', '--out', out);
      assert.ok([0, 1, 2].includes(result.code), `exit ${result.code}: ${result.stderr}`);
      assert.doesNotMatch(result.stderr, /^ {4}at |internal error/m);
      if (result.code === 2) {
        assert.equal(existsSync(out), false, 'no --out on exit 2');
        assert.match(result.stderr, /^eoplock: error: [^\n]*\n$/);
        assert.ok(result.stderr.includes(profile) || /--seg/.test(result.stderr), result.stderr);
      }
    }),
    { numRuns: 60, seed: 20_260_513 },
  );
});
