/**
 * Every KQL query eoplock writes, parsed and bound by Microsoft's own Kusto parser (@kusto/language-service-next)
 * against the EmailEvents table as Microsoft documents it: no errors, the impact summary's result has the columns
 * `eoplock impact` reads, and a wrong column name is caught.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildQueries, EMAIL_EVENTS_COLUMNS_USED, QUERY_PURPOSES } from '../../src/trace/queries.js';
import { SUMMARY_COLUMNS } from '../../src/trace/summary.js';
import { cli } from '../helpers/cli.js';
import { EMAIL_EVENTS_SCHEMA } from './email-events.js';
import { analyse } from './kusto.js';

/** Inputs that reach every branch: IPv4 ranges and single addresses, IPv6, domains with quotes and backslashes. */
const INPUTS = [
  { gatewayIps: ['203.0.113.10'], acceptedDomains: [], days: 1 },
  { gatewayIps: ['203.0.113.10', '198.51.100.0/28', '192.0.2.1-192.0.2.9', '2001:db8::25'], acceptedDomains: ['contoso.com', "o'brien.example", 'back\\slash"quote.example'], days: 90 },
];

const errorsOf = (text: string) => analyse(text).errors.map((error) => `${error.Code} ${error.Message} at ${error.Start}`);

describe('KQL bound by the Kusto language service', () => {
  test('every KQL query, for every purpose, binds against EmailEvents with no error', () => {
    const seen = new Set<string>();
    for (const input of INPUTS) {
      for (const query of buildQueries(input).filter((q) => q.kind === 'kql')) {
        seen.add(query.purpose);
        assert.deepEqual(errorsOf(query.text), [], `${query.id}:\n${query.text}`);
      }
    }
    assert.deepEqual([...seen].sort(), [...QUERY_PURPOSES].sort(), 'KQL queries of every purpose were checked');
  });

  test('the queries printed by "eoplock queries --kind kql" bind, one by one', async () => {
    for (const purpose of QUERY_PURPOSES) {
      const result = await cli('queries', 'examples/contoso-locked.json', '--kind', 'kql', '--for', purpose);
      assert.equal(result.code, 0, result.stderr);
      // Queries are separated by a blank line, each headed by its comment.
      const queries = result.stdout.trim().split(/\n\n(?=\/\/)/);
      assert.ok(queries.length >= 1);
      for (const text of queries) assert.deepEqual(errorsOf(text), [], text);
    }
  });

  test('the impact summary returns the columns impact reads, with their types', () => {
    const query = buildQueries(INPUTS[0] as (typeof INPUTS)[number]).find((q) => q.id === 'kql-impact-summary');
    assert.ok(query);
    const types: Record<string, string> = { Messages: 'long', FirstSeen: 'datetime', LastSeen: 'datetime' };
    assert.deepEqual(analyse(query.text).columns, SUMMARY_COLUMNS.map((column) => `${column}:${types[column] ?? 'string'}`));
  });

  test('a wrong column name is an error, and so is a column missing from the table', () => {
    const query = buildQueries(INPUTS[0] as (typeof INPUTS)[number]).find((q) => q.id === 'kql-impact-summary');
    assert.ok(query);
    const misspelt = analyse(query.text.replace('by SenderIPv4', 'by SenderIPV4x'));
    assert.ok(misspelt.errors.some((error) => error.Message.includes("'SenderIPV4x'")), JSON.stringify(misspelt.errors));
    // The same query against a table without Connectors: the binder knows the schema, not just the syntax.
    const withoutConnectors = analyse(query.text, EMAIL_EVENTS_SCHEMA.filter(([name]) => name !== 'Connectors'));
    assert.ok(withoutConnectors.errors.some((error) => error.Message.includes("'Connectors'")), JSON.stringify(withoutConnectors.errors));
  });

  test('the columns the queries rely on are documented EmailEvents columns', () => {
    const documented = new Set(EMAIL_EVENTS_SCHEMA.map(([name]) => name));
    assert.deepEqual(EMAIL_EVENTS_COLUMNS_USED.filter((column) => !documented.has(column)), []);
  });
});
