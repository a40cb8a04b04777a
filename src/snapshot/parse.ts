/**
 * From JSON value to a validated, normalised snapshot. Pure: no file access (see load.ts for that).
 */
import type { z } from 'zod';
import { InputError, formatPath } from '../errors.js';
import { lineAndColumn, walkJsonText } from '../util/json-text.js';
import { recordAbsentProperties } from './absent.js';
import { undoQuirks, type NormalisationNote } from './quirks.js';
import { SnapshotSchema, type SnapshotDocument } from './schema.js';

export type Snapshot = SnapshotDocument;

export interface ParsedSnapshot {
  snapshot: Snapshot;
  /** What was normalised and where (see docs/snapshot-format.md). */
  notes: NormalisationNote[];
}

/** Validates and normalises a parsed JSON document. Throws {@link InputError} naming the JSON path. */
export function parseSnapshot(value: unknown): ParsedSnapshot {
  const { document, notes } = undoQuirks(value);
  const result = SnapshotSchema.safeParse(document);
  if (!result.success) throw issueToError(result.error.issues, document);
  recordAbsentProperties(document, result.data);
  return { snapshot: result.data, notes };
}

function issueToError(issues: z.core.$ZodIssue[], document: Record<string, unknown>): InputError {
  const first = issues[0];
  if (!first) return new InputError('the snapshot is not valid');
  const where = formatPath(first.path as PropertyKey[]);
  let message = first.message;
  if (first.code === 'invalid_type' && valueAt(document, first.path as PropertyKey[]) === undefined) {
    message = `required property is missing (${first.message})`;
  }
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  return new InputError(`${message}${more}`, { where });
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = root;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
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
