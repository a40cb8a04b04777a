/**
 * From JSON value to a validated, normalised snapshot. Pure: no file access (see load.ts for that).
 */
import type { z } from 'zod';
import { InputError, formatPath } from '../errors.js';
import { lineAndColumn, walkJsonText } from '../util/json-text.js';
import { recordAbsentProperties } from './absent.js';
import { undoQuirks, type NormalisationNote } from './quirks.js';
import { SnapshotSchema, type SnapshotDocument } from './schema.js';
import { parseOptions } from '../util/zod.js';

export type Snapshot = SnapshotDocument;

export interface ParsedSnapshot {
  snapshot: Snapshot;
  /** What was normalised and where (see docs/snapshot-format.md). */
  notes: NormalisationNote[];
}

/** Validates and normalises a parsed JSON document. Throws {@link InputError} naming the JSON path. */
export function parseSnapshot(value: unknown): ParsedSnapshot {
  const { document, notes } = undoQuirks(value);
  const result = SnapshotSchema.safeParse(document, parseOptions(SnapshotSchema));
  if (!result.success) throw issueToError(result.error.issues, document);
  recordAbsentProperties(document, result.data);
  return { snapshot: result.data, notes };
}

function issueToError(issues: z.core.$ZodIssue[], document: Record<string, unknown>): InputError {
  const first = issues[0];
  if (!first) return new InputError('the snapshot is not valid');
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  // A record key that failed its own check (a Dns key that is not a domain name): the key check's message, not zod's
  // "Invalid key in record"; a very long key is cut in the path as it is in the message.
  if (first.code === 'invalid_key') {
    const path = first.path.map((key, index) => (index === first.path.length - 1 && typeof key === 'string' && key.length > MAX_KEY_SHOWN ? `${key.slice(0, MAX_KEY_SHOWN)}…` : key));
    return new InputError(`${first.issues[0]?.message ?? first.message}${more}`, { where: formatPath(path) });
  }
  return new InputError(`${describeIssue(first, document)}${more}`, { where: formatPath(first.path) });
}

/** Keys longer than this are cut where an error names them. */
const MAX_KEY_SHOWN = 120;

/**
 * The issue's message, except for a value that is not there at all: zod's "expected string, received undefined" then
 * becomes "required property is missing" (an enum keeps the list of what it may be); messages the schema wrote
 * itself, such as Meta.eoplockSnapshot's, are kept.
 */
function describeIssue(issue: z.core.$ZodIssue, document: Record<string, unknown>): string {
  if (!isMissing(document, issue.path)) return issue.message;
  if (issue.code === 'invalid_type') return 'required property is missing';
  if (issue.code === 'invalid_value' && issue.values.length > 1) {
    return `required property is missing (one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')})`;
  }
  return issue.message;
}

/** Whether the document has no value at `path` (own properties only: "constructor" is not Object.prototype's). */
function isMissing(root: unknown, path: readonly PropertyKey[]): boolean {
  let current: unknown = root;
  for (const key of path) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, key)) return true;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current === undefined;
}

/** Text to JSON, with `line L, column C` in the error. Handles a UTF-8 BOM left in the text. */
export function parseJsonText(text: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return JSON.parse(body);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new InputError(`not valid JSON: ${describeJsonError(message)}`, { where: locateJsonError(body, message) });
  }
}

/** V8's message without its echo of the input. */
function describeJsonError(message: string): string {
  return message
    .replace(/, (?:\.\.\.)?"[\s\S]*"(?:\.\.\.)? is not valid JSON$/, '')
    .replace(/ in JSON at position \d+.*$/s, '')
    .replace(/^Unexpected/, 'unexpected')
    .replace(/^Expected/, 'expected');
}

/**
 * Where the error is: the first place the text stops being JSON, found by walking it (linear and iterative, so any
 * nesting depth and size is fine), else the position V8 names.
 */
function locateJsonError(body: string, message: string): string | undefined {
  const problem = walkJsonText(body);
  const position = /position (\d+)/.exec(message);
  const offset = problem?.offset ?? (position ? Number(position[1]) : undefined);
  if (offset === undefined) return undefined;
  const { line, column } = lineAndColumn(body, offset);
  return `line ${line}, column ${column}`;
}
