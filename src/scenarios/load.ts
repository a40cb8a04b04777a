/**
 * Loading a scenario file (JSON or YAML). Errors name the file, the path and, for YAML and JSON, the line.
 */
import { InputError } from '../errors.js';
import type { Transaction } from '../eop/types.js';
import { parseHeaderBlock } from '../headers/parse.js';
import { parseDataFile } from '../util/data-file.js';
import { readTextFile } from '../util/files.js';
import { ScenarioFileSchema, type Expectation } from './schema.js';

export interface Scenario {
  name: string;
  description?: string | undefined;
  transaction: Transaction;
  expect?: Expectation | undefined;
}

/** Parses scenario text (JSON or YAML) and the raw header blocks it holds. */
export async function parseScenarios(text: string, file?: string): Promise<Scenario[]> {
  const parsed = { data: parseDataFile(text, ScenarioFileSchema, file) };
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
        ...(input.authentication !== undefined ? { authentication: input.authentication } : {}),
        ...(input.attachments !== undefined ? { attachments: input.attachments } : {}),
      },
      expect: input.expect,
    });
  }
  return scenarios;
}

export async function loadScenarioFile(file: string): Promise<Scenario[]> {
  return parseScenarios(await readTextFile(file), file);
}
