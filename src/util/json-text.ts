/**
 * JSON text, walked without building it: where a syntax error is, how deep the nesting goes, which keys repeat, and
 * where the value at a JSON path starts. One pass, iterative (no recursion, so no nesting depth can overflow the
 * stack), linear in the text. JSON.parse does the parsing; this answers the questions JSON.parse cannot: the line of
 * a problem, for error messages. Pure.
 */

/** How deep input data may nest (objects and arrays inside each other). Real snapshots and data files need < 10. */
export const MAX_NESTING = 64;

export type JsonPathSegment = string | number;

export interface JsonTextProblem {
  /** Where in the text (UTF-16 offset). */
  offset: number;
  message: string;
  /** The JSON path of the value being read when the problem was found. */
  path: JsonPathSegment[];
}

export interface JsonTextOptions {
  /** Objects and arrays nested deeper than this are a problem. */
  maxNesting?: number;
  /** A key named twice in one object is a problem. */
  uniqueKeys?: boolean;
  /** The text is known to be JSON (JSON.parse accepted it): strings are skipped without checking their content. */
  valid?: boolean;
  /**
   * Called where each value starts, with its path (a shared stack: copy it to keep it) and offset. Returning true
   * stops the walk.
   */
  onValue?: (path: readonly JsonPathSegment[], offset: number) => boolean | void;
}

// Character codes.
const TAB = 0x09;
const LINE_FEED = 0x0a;
const RETURN = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const PLUS = 0x2b;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DOT = 0x2e;
const SLASH = 0x2f;
const ZERO = 0x30;
const NINE = 0x39;
const COLON = 0x3a;
const UPPER_E = 0x45;
const OPEN_BRACKET = 0x5b;
const BACKSLASH = 0x5c;
const CLOSE_BRACKET = 0x5d;
const LOWER_E = 0x65;
const LOWER_U = 0x75;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

interface Container {
  object: boolean;
  /** The keys seen so far (objects, when keys must be unique). */
  keys: Set<string> | null;
}

class Stop {
  constructor(readonly problem: JsonTextProblem | null) {}
}

/**
 * Walks JSON text. Returns the first problem (a syntax error, nesting deeper than `maxNesting`, a repeated key), or
 * null when there is none or `onValue` stopped the walk.
 */
export function walkJsonText(text: string, options: JsonTextOptions = {}): JsonTextProblem | null {
  const maxNesting = options.maxNesting ?? Infinity;
  const uniqueKeys = options.uniqueKeys ?? false;
  const valid = options.valid ?? false;
  const onValue = options.onValue;
  const length = text.length;
  const stack: Container[] = [];
  const path: JsonPathSegment[] = [];
  let at = 0;

  const fail = (message: string, offset = at): never => {
    throw new Stop({ offset, message, path: [...path] });
  };
  const unexpected = (): never => fail(at >= length ? 'unexpected end of the text' : `unexpected character ${describeChar(text, at)}`);
  const skipSpace = () => {
    while (at < length) {
      const c = text.charCodeAt(at);
      if (c !== SPACE && c !== LINE_FEED && c !== RETURN && c !== TAB) break;
      at++;
    }
  };
  /** Reads the string at `at` (its opening quote); returns its value when `decode`, else ''. */
  const readString = (decode: boolean): string => {
    const start = at;
    at++;
    let escaped = false;
    if (valid) {
      // The closing quote is the first one not escaped: preceded by an even number of backslashes.
      let end = text.indexOf('"', at);
      for (;;) {
        if (end < 0) fail('unexpected end of the text inside a string', start);
        let slashes = 0;
        while (text.charCodeAt(end - 1 - slashes) === BACKSLASH) slashes++;
        if (slashes % 2 === 0) break;
        end = text.indexOf('"', end + 1);
      }
      at = end + 1;
      if (!decode) return '';
      const raw = text.slice(start, at);
      return raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
    }
    for (;;) {
      if (at >= length) fail('unexpected end of the text inside a string', at);
      const c = text.charCodeAt(at);
      if (c === QUOTE) break;
      if (c < 0x20) fail('a control character inside a string (write it as an escape such as \\n)', at);
      if (c === BACKSLASH) {
        escaped = true;
        const next = text.charCodeAt(at + 1);
        if (next === LOWER_U) {
          if (!/^[0-9A-Fa-f]{4}$/.test(text.slice(at + 2, at + 6))) fail('a \\u escape needs four hex digits', at);
          at += 6;
          continue;
        }
        const simple = next === QUOTE || next === BACKSLASH || next === SLASH || next === 0x62 || next === 0x66 || next === 0x6e || next === 0x72 || next === 0x74;
        if (!simple) fail(at + 1 >= length ? 'unexpected end of the text inside a string' : 'not a JSON escape sequence', at);
        at += 2;
        continue;
      }
      at++;
    }
    at++;
    if (!decode) return '';
    return escaped ? (JSON.parse(text.slice(start, at)) as string) : text.slice(start + 1, at - 1);
  };
  const digits = (): number => {
    const start = at;
    while (at < length && text.charCodeAt(at) >= ZERO && text.charCodeAt(at) <= NINE) at++;
    return at - start;
  };
  const readNumber = () => {
    if (text.charCodeAt(at) === MINUS) at++;
    const first = text.charCodeAt(at);
    if (first === ZERO) at++;
    else if (digits() === 0) unexpected();
    if (text.charCodeAt(at) === DOT) {
      at++;
      if (digits() === 0) unexpected();
    }
    const e = text.charCodeAt(at);
    if (e === LOWER_E || e === UPPER_E) {
      at++;
      const sign = text.charCodeAt(at);
      if (sign === PLUS || sign === MINUS) at++;
      if (digits() === 0) unexpected();
    }
  };
  const readWord = (word: string) => {
    if (text.startsWith(word, at)) at += word.length;
    else unexpected();
  };
  /** Reads `"key" :` in the object on top of the stack and pushes the key onto the path. */
  const readKey = (container: Container) => {
    if (text.charCodeAt(at) !== QUOTE) fail(at >= length ? 'unexpected end of the text' : `expected a key in double quotes, found ${describeChar(text, at)}`);
    const keyAt = at;
    const key = readString(true);
    if (container.keys) {
      if (container.keys.has(key)) fail(`the key ${JSON.stringify(key)} appears twice in one object`, keyAt);
      container.keys.add(key);
    }
    path.push(key);
    skipSpace();
    if (text.charCodeAt(at) !== COLON) fail(at >= length ? 'unexpected end of the text' : `expected ":" after the key, found ${describeChar(text, at)}`);
    at++;
    skipSpace();
  };

  try {
    skipSpace();
    for (;;) {
      // A value starts at `at`.
      if (onValue?.(path, at)) return null;
      const c = text.charCodeAt(at);
      if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        if (stack.length >= maxNesting) fail(`nested more than ${maxNesting} levels deep`);
        const container: Container = { object: c === OPEN_BRACE, keys: c === OPEN_BRACE && uniqueKeys ? new Set() : null };
        stack.push(container);
        at++;
        skipSpace();
        const close = text.charCodeAt(at);
        if (container.object && close !== CLOSE_BRACE) {
          readKey(container);
          continue;
        }
        if (!container.object && close !== CLOSE_BRACKET) {
          path.push(0);
          continue;
        }
        // An empty object or array: closed below.
        stack.pop();
        at++;
      } else if (c === QUOTE) readString(false);
      else if (c === MINUS || (c >= ZERO && c <= NINE)) readNumber();
      else if (c === 0x74 /* t */) readWord('true');
      else if (c === 0x66 /* f */) readWord('false');
      else if (c === 0x6e /* n */) readWord('null');
      else unexpected();

      // After a value: the next one in its container, or the container's end (perhaps several).
      let next = false;
      while (!next) {
        skipSpace();
        const container = stack.at(-1);
        if (!container) {
          if (at < length) fail(`unexpected ${describeChar(text, at)} after the end of the JSON value`);
          return null;
        }
        const d = text.charCodeAt(at);
        if (d === COMMA) {
          at++;
          skipSpace();
          if (container.object) {
            path.pop();
            readKey(container);
          } else path[path.length - 1] = (path[path.length - 1] as number) + 1;
          next = true;
        } else if (d === (container.object ? CLOSE_BRACE : CLOSE_BRACKET)) {
          at++;
          path.pop();
          stack.pop();
        } else if (at >= length) unexpected();
        else fail(`expected "," or "${container.object ? '}' : ']'}", found ${describeChar(text, at)}`);
      }
    }
  } catch (error) {
    if (error instanceof Stop) return error.problem;
    throw error;
  }
}

/** A character for a message: printable ones quoted, others as U+XXXX. */
function describeChar(text: string, at: number): string {
  const code = text.codePointAt(at) ?? 0;
  return code > 0x20 && code < 0x7f ? JSON.stringify(String.fromCodePoint(code)) : `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** `line L, column C` (both from 1) of an offset in the text. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let at = text.indexOf('\n'); at !== -1 && at < offset; at = text.indexOf('\n', at + 1)) {
    line++;
    lineStart = at + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/** Where the value at `path` starts, or where the longest part of the path that exists does; null if no part does. */
export function locateJsonPath(text: string, path: readonly JsonPathSegment[], maxNesting = MAX_NESTING): number | null {
  let best: { length: number; offset: number } | null = null;
  walkJsonText(text, {
    maxNesting,
    onValue: (current, offset) => {
      if (current.length > path.length || (best && current.length <= best.length)) return false;
      for (let index = 0; index < current.length; index++) if (current[index] !== path[index]) return false;
      best = { length: current.length, offset };
      return current.length === path.length;
    },
  });
  return (best as { length: number; offset: number } | null)?.offset ?? null;
}
