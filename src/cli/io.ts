/**
 * What every command needs at the edge: output streams, colour, and where results go.
 */
import { writeFileAtomic } from '../util/files.js';

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Colour on stdout: a TTY without NO_COLOR, or FORCE_COLOR set. */
  color: boolean;
  /** Progress bars on stderr: only when stderr is a terminal. */
  progress: boolean;
}

export function processIo(): Io {
  const env = process.env;
  const forced = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0';
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    color: forced || (process.stdout.isTTY === true && env.NO_COLOR === undefined && env.TERM !== 'dumb'),
    progress: process.stderr.isTTY === true && env.TERM !== 'dumb',
  };
}

/** Writes a command's output to a file (atomically) or to stdout. */
export async function emit(io: Io, text: string, output: string | undefined): Promise<void> {
  if (output) await writeFileAtomic(output, text);
  else io.stdout(text);
}

/** A progress bar line for stderr (`\r` to redraw; a newline when done). */
export function progressBar(label: string, done: number, total: number, width = 30): string {
  const filled = Math.round((done / total) * width);
  return `\r${label} ${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${done}/${total}${done === total ? '\n' : ''}`;
}
