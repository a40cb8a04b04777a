/**
 * Microsoft's own Kusto parser and binder (@kusto/language-service-next, a Bridge.NET build that defines a global
 * `Kusto` when its scripts are loaded), with a database holding the EmailEvents table as Microsoft documents it.
 * Loaded once per test file that imports this module.
 */
import { createRequire } from 'node:module';
import { EMAIL_EVENTS_SCHEMA, type ColumnType } from './email-events.js';

const require = createRequire(import.meta.url);
require('@kusto/language-service-next/bridge.min.js');
require('@kusto/language-service-next/Kusto.Language.Bridge.min.js');

/** The few members of the Bridge objects these tests use. */
interface BridgeList<T> {
  Count: number;
  getItem(index: number): T;
}
interface KustoDiagnostic {
  Severity: string;
  Code: string;
  Message: string;
  Start: number;
  Length: number;
}
interface KustoColumn {
  Name: string;
  Type: { Name: string };
}
interface KustoCodeResult {
  GetDiagnostics(): BridgeList<KustoDiagnostic>;
  ResultType: { Columns?: BridgeList<KustoColumn> } | null;
}
interface KustoLanguage {
  KustoCode: { ParseAndAnalyze(text: string, globals: unknown): KustoCodeResult };
  GlobalState: { Default: { WithDatabase(database: unknown): unknown } };
  Symbols: {
    ScalarTypes: Record<string, unknown>;
    ColumnSymbol: new (name: string, type: unknown) => unknown;
    TableSymbol: { $ctor4: new (name: string, columns: unknown[]) => unknown };
    DatabaseSymbol: { ctor: new (name: string, members: unknown[]) => unknown };
  };
}

const Kusto = (globalThis as unknown as { Kusto: { Language: KustoLanguage } }).Kusto.Language;

const TYPES: Record<ColumnType, string> = { datetime: 'DateTime', string: 'String', long: 'Long', int: 'Int' };

function globalsFor(schema: readonly (readonly [string, ColumnType])[]): unknown {
  const { Symbols } = Kusto;
  const columns = schema.map(([name, type]) => new Symbols.ColumnSymbol(name, Symbols.ScalarTypes[TYPES[type]]));
  const table = new Symbols.TableSymbol.$ctor4('EmailEvents', columns);
  return Kusto.GlobalState.Default.WithDatabase(new Symbols.DatabaseSymbol.ctor('Defender', [table]));
}

const defaultGlobals = globalsFor(EMAIL_EVENTS_SCHEMA);

export interface Analysed {
  errors: KustoDiagnostic[];
  /** The result's columns as name:type, when the query's result is a table. */
  columns: string[];
}

/** Parses and binds a query against the EmailEvents database (or another schema of that table). */
export function analyse(query: string, schema?: readonly (readonly [string, ColumnType])[]): Analysed {
  const code = Kusto.KustoCode.ParseAndAnalyze(query, schema ? globalsFor(schema) : defaultGlobals);
  const diagnostics = code.GetDiagnostics();
  const errors: KustoDiagnostic[] = [];
  for (let k = 0; k < diagnostics.Count; k++) {
    const diagnostic = diagnostics.getItem(k);
    if (diagnostic.Severity === 'Error') errors.push(diagnostic);
  }
  const columns: string[] = [];
  const resultColumns = code.ResultType?.Columns;
  if (resultColumns) for (let k = 0; k < resultColumns.Count; k++) columns.push(`${resultColumns.getItem(k).Name}:${resultColumns.getItem(k).Type.Name}`);
  return { errors, columns };
}
