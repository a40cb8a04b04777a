/**
 * Loading a scenario file (JSON or YAML). Errors name the file, the path and, for YAML and JSON, the line.
 */
import { LineCounter, parseDocument, isNode } from 'yaml';
import { InputError, formatPath } from '../errors.js';
import type { Transaction } from '../eop/types.js';
import { parseHeaderBlock } from '../headers/parse.js';
import { readTextFile } from '../util/files.js';
import { ScenarioFileSchema, type Expectation } from './schema.js';

export interface Scenario {
  name: string;
  description?: string | undefined;
  transaction: Transaction;
  expect?: Expectation | undefined;
}

/** Parses scenario text. YAML is a superset of JSON, so one parser serves both and reports lines for both. */
export async function parseScenarios(text: string, file?: string): Promise<Scenario[]> {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineOf = (offset: number | undefined): string | undefined => {
    if (offset === undefined) return undefined;
    const { line, col } = lineCounter.linePos(offset);
    return `line ${line}, column ${col}`;
  };
  if (document.errors.length > 0) {
    const error = document.errors[0];
    throw new InputError(`not valid YAML or JSON: ${error?.message.split('\n')[0] ?? 'parse error'}`, {
      file,
      where: lineOf(error?.pos[0]),
    });
  }
  const value: unknown = document.toJS();
  const parsed = ScenarioFileSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = (issue?.path ?? []) as (string | number)[];
    let node: unknown = document.getIn(path, true);
    for (let depth = path.length - 1; !isNode(node) && depth >= 0; depth--) node = document.getIn(path.slice(0, depth), true);
    const line = isNode(node) ? lineOf(node.range?.[0]) : undefined;
    throw new InputError(issue?.message ?? 'invalid scenario file', {
      file,
      where: `${formatPath(path)}${line ? ` (${line})` : ''}`,
    });
  }
  const scenarios: Scenario[] = [];
  for (const [index, input] of parsed.data.scenarios.entries()) {
    let headers: Transaction['headers'];
    if (typeof input.headers === 'string') {
      try {
        headers = await parseHeaderBlock(input.headers);
      } catch (error) {
        throw new InputError(`the header block cannot be parsed: ${(error as Error).message}`, {
          file,
          where: `scenarios[${index}].headers`,
        });
      }
    } else headers = input.headers;
    scenarios.push({
      name: input.name,
      description: input.description,
      transaction: {
        clientIp: input.clientIp,
        ...(input.helo !== undefined ? { helo: input.helo } : {}),
        ...(input.tls !== undefined ? { tls: input.tls } : {}),
        mailFrom: input.mailFrom,
        rcptTo: input.rcptTo,
        ...(headers !== undefined ? { headers } : {}),
      },
      expect: input.expect,
    });
  }
  return scenarios;
}

export async function loadScenarioFile(file: string): Promise<Scenario[]> {
  return parseScenarios(await readTextFile(file), file);
}
