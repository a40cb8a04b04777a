/**
 * The one error type for bad input. It names where the problem is (a file, a JSON path, a line) and what was
 * expected. The CLI maps it to exit code 2; anything else that escapes is a bug.
 */
import { visible } from './util/display.js';

export class InputError extends Error {
  override readonly name = 'InputError';
  /** The file the bad input came from, when there is one. */
  readonly file: string | undefined;
  /** Where in the input: a JSON path such as `InboundConnector[2].SenderIPAddresses[0]`, or `line 4, column 7`. */
  readonly where: string | undefined;

  constructor(message: string, options: { file?: string | undefined; where?: string | undefined } = {}) {
    super(message);
    this.file = options.file;
    this.where = options.where;
  }

  /**
   * One line for a human: `file: at path: message`. Each part can carry input (a file name, a key, a value quoted in
   * the message), so control characters are made visible: the line stays one line and cannot drive a terminal.
   */
  describe(): string {
    const parts: string[] = [];
    if (this.file) parts.push(visible(this.file));
    if (this.where) parts.push(`at ${visible(this.where)}`);
    parts.push(visible(this.message));
    return parts.join(': ');
  }

  /** The same error, attributed to a file. */
  inFile(file: string): InputError {
    return new InputError(this.message, { file, where: this.where });
  }
}

/** Formats a path of keys and indices the way users read JSON paths: `A[0].B.C`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else {
      const name = String(key);
      out += /^[A-Za-z_$][\w$@-]*$/.test(name) ? (out ? `.${name}` : name) : `[${JSON.stringify(name)}]`;
    }
  }
  return out || '(document root)';
}

/** The keys and indices of a path written by {@link formatPath}. */
export function parsePath(path: string): (string | number)[] {
  const segments: (string | number)[] = [];
  const token = /([A-Za-z_$][\w$@-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]|\./gy;
  let match: RegExpExecArray | null;
  while ((match = token.exec(path)) !== null) {
    if (match[1] !== undefined) segments.push(match[1]);
    else if (match[2] !== undefined) segments.push(Number(match[2]));
    else if (match[3] !== undefined) segments.push(JSON.parse(match[3]) as string);
    if (token.lastIndex >= path.length) break;
  }
  return segments;
}
