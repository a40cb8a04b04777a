/**
 * What every command needs at the edge: output streams, colour, and where results go.
 *
 * Three kinds of output, kept apart so each can be made safe without breaking the others:
 * - human text (`stdout`, `stderr`): lines eoplock writes for people. Values are escaped where they are put into
 *   lines (`visible()`); the process streams also pass everything through `terminalSafe()` as a last line of
 *   defence, which keeps eoplock's own colour sequences and newlines and makes any other control character visible;
 * - exact data (`emit` without `human`: JSON, SARIF, JUnit XML, HTML, CSV): written byte for byte, since those formats
 *   escape for themselves and a reader must get the exact values (U+2028 included);
 * - progress redraws (`redraw`): a leading `\r` that moves back over the last progress line, then safe text.
 */
import { terminalSafe } from '../util/display.js';
import { writeFileAtomic } from '../util/files.js';

export interface Io {
  /** Human text on stdout. */
  stdout: (text: string) => void;
  /** Human text on stderr: errors, warnings, notes. */
  stderr: (text: string) => void;
  /** Exact data on stdout (JSON, SARIF, XML, HTML), written as it is; absent: `stdout`. */
  data?: (text: string) => void;
  /** A progress redraw on stderr (`\r` first); absent: `stderr`. */
  redraw?: (text: string) => void;
  /** Colour on stdout: a TTY without NO_COLOR, or FORCE_COLOR set. */
  color: boolean;
  /** Progress bars on stderr: only when stderr is a terminal. */
  progress: boolean;
}

export function processIo(): Io {
  const env = process.env;
  const forced = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0';
  return {
    stdout: (text) => process.stdout.write(terminalSafe(text)),
    stderr: (text) => process.stderr.write(terminalSafe(text)),
    data: (text) => process.stdout.write(text),
    redraw: (text) => process.stderr.write(redrawSafe(text)),
    color: forced || (process.stdout.isTTY === true && env.NO_COLOR === undefined && env.TERM !== 'dumb'),
    progress: process.stderr.isTTY === true && env.TERM !== 'dumb',
  };
}

/** A redraw: its leading carriage returns kept, the rest {@link terminalSafe}. */
export function redrawSafe(text: string): string {
  const start = text.length - text.replace(/^\r+/, '').length;
  return text.slice(0, start) + terminalSafe(text.slice(start));
}

export interface EmitOptions {
  /** Human text (the `text` formats): passed through `terminalSafe()`, on stdout and in the file alike. */
  human?: boolean;
}

/**
 * Writes a command's output to a file (atomically) or to stdout. Without `human` the output is exact data (JSON,
 * SARIF, XML, HTML), written byte for byte.
 */
export async function emit(io: Io, text: string, output: string | undefined, options: EmitOptions = {}): Promise<void> {
  if (output) await writeFileAtomic(output, options.human ? terminalSafe(text) : text);
  else if (options.human) io.stdout(text);
  else writeData(io, text);
}

/** Exact data (JSON, SARIF, XML, HTML) on stdout, byte for byte. */
export function writeData(io: Io, text: string): void {
  (io.data ?? io.stdout)(text);
}

/** Writes a progress redraw (from {@link progressBar}, or any text starting with `\r`) to stderr. */
export function showProgress(io: Io, text: string): void {
  (io.redraw ?? io.stderr)(text);
}

/** A progress bar line for stderr (`\r` to redraw; a newline when done). Write it with {@link showProgress}. */
export function progressBar(label: string, done: number, total: number, width = 30): string {
  const filled = Math.round((done / total) * width);
  return `\r${label} ${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${done}/${total}${done === total ? '\n' : ''}`;
}
