/**
 * A copy of a string that does not keep a larger one alive. Fields cut from a big chunk of CSV text can be views into
 * that chunk (V8 sliced strings): storing such a view in a long-lived map keeps the whole chunk in memory. Everything
 * the trace tools keep beyond one row goes through this.
 */
export function own(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}
