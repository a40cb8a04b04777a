/**
 * `eoplock diff <before> <after>`: wiring, and the differences as text.
 */
import { styleText } from 'node:util';
import { diffSnapshots, enumName, unmatched, type Change } from '../diff/diff.js';
import { diffWords, similarity } from '../diff/words.js';
import { loadSnapshotFile } from '../snapshot/load.js';
import { visible } from '../util/display.js';
import { emit, type Io } from './io.js';

export interface DiffOptions {
  format: 'text' | 'json';
  out?: string;
  color: boolean;
}

export async function diffCommand(io: Io, beforeFile: string, afterFile: string, options: DiffOptions): Promise<number> {
  const [before, after] = await Promise.all([loadSnapshotFile(beforeFile), loadSnapshotFile(afterFile)]);
  const changes = diffSnapshots(before.snapshot, after.snapshot);
  const text =
    options.format === 'json'
      ? `${JSON.stringify({ before: beforeFile, after: afterFile, changes }, null, 2)}\n`
      : renderDiff(changes, beforeFile, afterFile, options.color && !options.out);
  await emit(io, text, options.out, { human: options.format !== 'json' });
  return changes.length > 0 ? 1 : 0;
}

type Paint = (style: Parameters<typeof styleText>[0], text: string) => string;

/** Strings longer than this are shown whole with the changed words marked, not as `before → after`. */
const LONG_STRING = 40;

/** A value as one line: JSON for everything but enum numbers, which also show their name. Never shortened. */
function show(section: string, property: string, value: unknown): string {
  const name = enumName(section, property, value);
  const text = visible(JSON.stringify(value ?? null) ?? 'null');
  return name === undefined ? text : `${text} (${visible(name)})`;
}

/** `[-removed-]{+added+}` inside the text both share, as `git diff --word-diff=plain` marks it. */
function markedWords(before: string, after: string, paint: Paint): string {
  return diffWords(before, after)
    .map((piece) => {
      if (piece.kind === 'same') return visible(piece.text);
      const removed = piece.removed === '' ? '' : paint('red', `[-${visible(piece.removed)}-]`);
      const added = piece.added === '' ? '' : paint('green', `{+${visible(piece.added)}+}`);
      return removed + added;
    })
    .join('');
}

const isEmpty = (value: unknown) => value === null || value === undefined || value === '' || (Array.isArray(value) && value.length === 0);

/** The lines of one changed property, indented under its object. */
function propertyLines(change: Change, paint: Paint): string[] {
  const property = change.property ?? '';
  const label = visible(property);
  const name = property.slice(property.lastIndexOf('.') + 1);
  const { before, after } = change;
  if (typeof before === 'string' && typeof after === 'string' && Math.max(before.length, after.length) > LONG_STRING) {
    return [`    ${label}: ${markedWords(before, after, paint)}`];
  }
  if ((Array.isArray(before) || isEmpty(before)) && (Array.isArray(after) || isEmpty(after)) && (Array.isArray(before) || Array.isArray(after))) {
    const [removed, added] = unmatched(change.section, name, Array.isArray(before) ? before : [], Array.isArray(after) ? after : []);
    // A missing property against an empty list (or "" against []): no entry to list, so the values themselves.
    if (removed.length === 0 && added.length === 0) return [`    ${label}: ${show(change.section, name, before)} → ${show(change.section, name, after)}`];
    const lines = [`    ${label}:`];
    for (const [left, right] of pairSimilar(removed, added)) {
      if (left !== undefined && right !== undefined) lines.push(`      ~ ${markedWords(left as string, right as string, paint)}`);
      else if (left !== undefined) lines.push(paint('red', `      - ${entry(change.section, name, left)}`));
      else lines.push(paint('green', `      + ${entry(change.section, name, right)}`));
    }
    return lines;
  }
  return [`    ${label}: ${show(change.section, name, before)} → ${show(change.section, name, after)}`];
}

/** A list entry: strings as they are (escaped), anything else as JSON. */
function entry(section: string, property: string, value: unknown): string {
  return typeof value === 'string' ? visible(value) : show(section, property, value);
}

/**
 * Removed and added list entries, with each removed string paired to the added string most like it (a TXT record
 * whose one word changed), so the pair is shown as one entry with the word marked. Unpaired entries stand alone.
 */
function pairSimilar(removed: unknown[], added: unknown[]): [unknown, unknown][] {
  const out: [unknown, unknown][] = [];
  const free = new Set(added.map((_, index) => index));
  // Pairing compares every removed with every added string; beyond a few hundred pairs entries stay unpaired.
  const compare = removed.length * added.length <= 400;
  for (const left of removed) {
    let best = -1;
    let score = 0;
    if (typeof left === 'string' && compare) {
      for (const index of free) {
        const right = added[index];
        if (typeof right !== 'string') continue;
        const value = removed.length === 1 && added.length === 1 ? 1 : similarity(left, right);
        if (value > score) [best, score] = [index, value];
      }
    }
    if (best >= 0 && score >= 0.5) {
      free.delete(best);
      out.push([left, added[best]]);
    } else out.push([left, undefined]);
  }
  for (const index of free) out.push([undefined, added[index]]);
  return out;
}

/** The properties of an added or removed object, one a line; empty ones are counted, not listed. */
function objectLines(change: Change, paint: Paint): string[] {
  const entries = Object.entries(change.properties ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const shown = entries.filter(([, value]) => !isEmpty(value));
  const style = change.kind === 'added' ? 'green' : 'red';
  const lines = shown.map(([key, value]) => paint(style, `    ${visible(key)}: ${show(change.section, key, value)}`));
  const empty = entries.length - shown.length;
  if (empty > 0) lines.push(paint('dim', `    (and ${empty} empty propert${empty === 1 ? 'y' : 'ies'}: null, "" or [])`));
  return lines;
}

/** Differences as text; names, properties and values from the snapshots go through `visible()`. */
export function renderDiff(changes: readonly Change[], beforeFile: string, afterFile: string, color = false): string {
  const paint: Paint = (style, text) => (color ? styleText(style, text, { validateStream: false }) : text);
  if (changes.length === 0) return `No configuration differences between ${visible(beforeFile)} and ${visible(afterFile)}.\n`;
  const lines = [`${changes.length} difference(s) from ${visible(beforeFile)} to ${visible(afterFile)}:`];
  let last = '';
  for (const change of changes) {
    const heading = `${change.section} "${visible(change.object)}"`;
    if (change.kind !== 'changed') {
      lines.push(paint(change.kind === 'added' ? 'green' : 'red', `${change.kind === 'added' ? '+' : '-'} ${heading} ${change.kind}`), ...objectLines(change, paint));
      last = '';
      continue;
    }
    if (heading !== last) lines.push(`~ ${heading}`);
    last = heading;
    lines.push(...propertyLines(change, paint));
  }
  return `${lines.join('\n')}\n`;
}
