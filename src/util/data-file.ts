/**
 * JSON or YAML data files validated with a zod schema. Errors name the file, the path and the line.
 *
 * JSON text is read by JSON.parse (fast and lean, linear) and walked once more by walkJsonText for what JSON.parse
 * lets through: nesting deeper than {@link MAX_NESTING}, and a key named twice in one object (YAML refuses that
 * too). Anything else is YAML (a superset of JSON, so JSON that JSON.parse refuses gets YAML's error message). The
 * YAML parser is guarded where it is not linear or not bounded: the nesting is checked while the syntax tree is
 * built (the parser's own stack, so deep nesting never reaches its recursive composer), keys are checked for
 * repeats with a set rather than the parser's pairwise `uniqueKeys`, and the tree is turned into plain values here
 * rather than by `toJS()`, whose alias resolution takes time quadratic in the number of aliases: an alias refers to
 * the value of its anchor (no copy), an alias with no anchor before it or inside its own anchor is an error, and the
 * aliases may not expand the data beyond {@link MAX_EXPANDED} values more than the file holds (a "billion laughs"
 * file is refused at its first alias past that).
 */
import { Composer, isAlias, isMap, isNode, isScalar, isSeq, Lexer, LineCounter, Parser, type Document, type ParsedNode } from 'yaml';
import type { z } from 'zod';
import { InputError, formatPath } from '../errors.js';
import { lineAndColumn, locateJsonPath, MAX_NESTING, walkJsonText, type JsonPathSegment } from './json-text.js';
import { parseOptions } from './zod.js';

/** How many values aliases may add to a YAML file, beyond one per character of the file. */
const MAX_EXPANDED = 1_000_000;

export function parseDataFile<Schema extends z.ZodType>(text: string, schema: Schema, file?: string): z.output<Schema> {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const json = /^\s*[[{]/.test(body) ? parseJson(body, file) : undefined;
  if (json) {
    const parsed = schema.safeParse(json.value, parseOptions(schema));
    if (parsed.success) return parsed.data;
    const { path, message } = firstIssue(parsed.error);
    const offset = locateJsonPath(body, path);
    throw new InputError(message, { file, where: `${formatPath(path)}${offset === null ? '' : ` (${lineAt(body, offset)})`}` });
  }
  const lineCounter = new LineCounter();
  const document = parseYaml(body, lineCounter, file);
  const lineOf = (offset: number | undefined): string | undefined => {
    if (offset === undefined) return undefined;
    const { line, col } = lineCounter.linePos(offset);
    return `line ${line}, column ${col}`;
  };
  const parsed = schema.safeParse(plainValue(document, body.length, lineOf, file), parseOptions(schema));
  if (!parsed.success) {
    const { path, message } = firstIssue(parsed.error);
    let node: unknown = document.getIn(path, true);
    for (let depth = path.length - 1; !isNode(node) && depth >= 0; depth--) node = document.getIn(path.slice(0, depth), true);
    const line = isNode(node) ? lineOf(node.range?.[0]) : undefined;
    throw new InputError(message, { file, where: `${formatPath(path)}${line ? ` (${line})` : ''}` });
  }
  return parsed.data;
}

/** The first problem zod found. Its message lists every unknown key; past three, the rest are counted. */
function firstIssue(error: z.ZodError): { path: JsonPathSegment[]; message: string } {
  const issue = error.issues[0];
  const path = (issue?.path ?? []).filter((key): key is JsonPathSegment => typeof key !== 'symbol');
  if (issue?.code === 'unrecognized_keys' && (issue.keys.length > 3 || issue.message.length > 200)) {
    const named = issue.keys.slice(0, 3).map((key) => JSON.stringify(key.length > 60 ? `${key.slice(0, 57)}...` : key));
    return { path, message: `Unrecognized keys: ${named.join(', ')} and ${issue.keys.length - named.length} more` };
  }
  return { path, message: issue?.message ?? 'invalid file' };
}

function lineAt(text: string, offset: number): string {
  const { line, column } = lineAndColumn(text, offset);
  return `line ${line}, column ${column}`;
}

/** JSON.parse, then the checks it does not make; undefined when the text is not JSON (it may still be YAML). */
function parseJson(text: string, file: string | undefined): { value: unknown } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const problem = walkJsonText(text, { maxNesting: MAX_NESTING, uniqueKeys: true, valid: true });
  if (problem) throw new InputError(problem.message, { file, where: `${formatPath(problem.path)} (${lineAt(text, problem.offset)})` });
  return { value };
}

/** The YAML syntax tree of a file holding one document, with its nesting checked as it is built. */
function parseYaml(text: string, lineCounter: LineCounter, file: string | undefined): Document.Parsed<ParsedNode> {
  const parser = new Parser(lineCounter.addNewLine);
  lineCounter.addNewLine(0);
  // The parser's stack holds the document and each open collection (and a scalar being read): a little more than
  // the nesting. The exact limit is checked on the values (plainValue); this keeps deep input from the composer.
  const limit = MAX_NESTING + 8;
  function* tokens() {
    for (const lexeme of new Lexer().lex(text)) {
      yield* parser.next(lexeme);
      if (parser.stack.length > limit) {
        const { line, col } = lineCounter.linePos(parser.offset);
        throw new InputError(`nested more than ${MAX_NESTING} levels deep`, { file, where: `line ${line}, column ${col}` });
      }
    }
    yield* parser.end();
  }
  const composer = new Composer({ uniqueKeys: false, prettyErrors: false });
  let document: Document.Parsed<ParsedNode> | undefined;
  for (const next of composer.compose(tokens(), true, text.length)) {
    if (document) {
      const { line, col } = lineCounter.linePos(next.range[0]);
      throw new InputError('the file holds more than one YAML document', { file, where: `line ${line}, column ${col}` });
    }
    document = next;
  }
  if (!document) throw new InputError('the file is empty', { file });
  const error = document.errors[0];
  if (error) {
    const { line, col } = lineCounter.linePos(error.pos[0]);
    throw new InputError(`not valid YAML or JSON: ${error.message.split('\n')[0] ?? 'parse error'}`, { file, where: `line ${line}, column ${col}` });
  }
  return document;
}

/**
 * The document's value as plain data (objects, arrays, strings, numbers, booleans, null). Linear in the size of the
 * tree; an alias is its anchor's value, counted at its full size against the expansion limit.
 */
function plainValue(
  document: Document.Parsed<ParsedNode>,
  textLength: number,
  lineOf: (offset: number | undefined) => string | undefined,
  file: string | undefined,
): unknown {
  /** Anchors by name: the converted value and its size in values, or null while the anchored node is converted. */
  const anchors = new Map<string, { value: unknown; size: number } | null>();
  const path: JsonPathSegment[] = [];
  const limit = MAX_EXPANDED + textLength;
  let total = 0;
  const fail = (message: string, node: unknown): never => {
    const line = isNode(node) ? lineOf(node.range?.[0]) : undefined;
    throw new InputError(message, { file, where: `${formatPath(path)}${line ? ` (${line})` : ''}` });
  };
  const convert = (node: unknown): { value: unknown; size: number } => {
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      if (target === undefined) return fail(`the alias *${node.source} refers to no anchor &${node.source} before it`, node);
      if (target === null) return fail(`the alias *${node.source} is inside the value of its own anchor`, node);
      total += target.size;
      if (total > limit) return fail(`the aliases expand to more than ${limit} values (an alias bomb?)`, node);
      return target;
    }
    const anchor = isScalar(node) || isMap(node) || isSeq(node) ? node.anchor : undefined;
    if (anchor) anchors.set(anchor, null);
    let result: { value: unknown; size: number };
    total += 1;
    if (isMap(node) || isSeq(node)) {
      if (path.length >= MAX_NESTING) fail(`nested more than ${MAX_NESTING} levels deep`, node);
    }
    if (isMap(node)) {
      const out: Record<string, unknown> = {};
      let size = 1;
      for (const pair of node.items) {
        const key = keyOf(pair.key, fail);
        if (Object.hasOwn(out, key)) fail(`the key ${JSON.stringify(key)} appears twice in one mapping`, pair.key);
        path.push(key);
        const child = convert(pair.value);
        path.pop();
        Object.defineProperty(out, key, { value: child.value, enumerable: true, writable: true, configurable: true });
        size += child.size;
      }
      result = { value: out, size };
    } else if (isSeq(node)) {
      const out: unknown[] = [];
      let size = 1;
      node.items.forEach((item, index) => {
        path.push(index);
        const child = convert(item);
        path.pop();
        out.push(child.value);
        size += child.size;
      });
      result = { value: out, size };
    } else if (isScalar(node)) {
      const value = node.value;
      result = { value: typeof value === 'bigint' ? Number(value) : value, size: 1 };
    } else result = { value: null, size: 1 };
    if (anchor) anchors.set(anchor, result);
    return result;
  };
  return convert(document.contents).value;
}

/** A mapping key as the string it is in plain data: a scalar's text; null is ''. Collections are refused. */
function keyOf(key: unknown, fail: (message: string, node: unknown) => never): string {
  if (key === null || key === undefined) return '';
  if (!isScalar(key)) return fail('a key must be a plain value, not a list, a mapping or an alias', key);
  const value = key.value;
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return fail('a key must be a plain value', key);
}
