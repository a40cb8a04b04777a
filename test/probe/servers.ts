/**
 * Loopback servers for the probe's tests: an SMTP server (smtp-server) that records every command line it reads and
 * every message, and a raw TCP server that misbehaves as told. Both listen on 127.0.0.1 only.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { SMTPServer } from 'smtp-server';

export const HOST = '127.0.0.1';

export interface RecordingServer {
  port: number;
  /** Every command line the server read, in order ("EHLO x", "MAIL FROM:<a@b>", …). */
  commands: string[];
  /** Connections accepted. */
  connections: number;
  /** Messages received with DATA. */
  messages: string[];
  close(): Promise<void>;
}

/** smtp-server without STARTTLS or AUTH, accepting every envelope (or refusing RCPT with `rcptRefusal`), recording what it is sent. */
export async function recordingServer(options: { rcptRefusal?: string } = {}): Promise<RecordingServer> {
  const record: RecordingServer = { port: 0, commands: [], connections: 0, messages: [], close: async () => undefined };
  const logger = {
    debug: (_entry: unknown, message: unknown, ...args: unknown[]) => {
      if (message === 'C:') record.commands.push(String(args[0]));
    },
    info: () => undefined,
    warn: () => undefined,
    error: () => undefined,
    trace: () => undefined,
    fatal: () => undefined,
  };
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    logger: logger as never,
    onRcptTo(_address, _session, callback) {
      callback(options.rcptRefusal ? Object.assign(new Error(options.rcptRefusal), { responseCode: 550 }) : undefined);
    },
    onConnect(_session, callback) {
      record.connections++;
      callback();
    },
    onData(stream, _session, callback) {
      let text = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => (text += chunk));
      stream.on('end', () => {
        record.messages.push(text);
        callback();
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, HOST, () => resolve()));
  record.port = (server.server.address() as { port: number }).port;
  record.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return record;
}

/** A raw TCP server; `onSocket` decides what it says. `allowHalfOpen` keeps its side open after the client's FIN. */
export async function rawServer(onSocket: (socket: Socket) => void): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, () => resolve()));
  return {
    server,
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * A scripted SMTP peer: `greeting` on connect, then `reply(command)` for every command line (null: stay silent).
 * QUIT gets 221 and the connection is ended, unless `reply` answers QUIT itself.
 */
export async function scriptedServer(greeting: string, reply: (command: string) => string | null): Promise<{ port: number; commands: string[]; close(): Promise<void> }> {
  const commands: string[] = [];
  const server = await rawServer((socket) => {
    socket.write(greeting);
    let buffered = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      let end: number;
      while ((end = buffered.indexOf('\r\n')) >= 0) {
        const command = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        commands.push(command);
        const answer = reply(command);
        if (answer !== null) socket.write(answer);
        else if (/^QUIT$/i.test(command)) socket.end('221 bye\r\n');
      }
    });
  });
  return { port: server.port, commands, close: server.close };
}

const RUNNER = fileURLToPath(new URL('./run-cli.ts', import.meta.url));

/**
 * Runs the CLI in a child process; `lived` is how long the process lived after `main` started, up to its exit:
 * the command's own time plus whatever kept the event loop alive after it returned.
 */
export function childCli(...argv: string[]): Promise<{ code: number | null; stdout: string; stderr: string; lived: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', RUNNER, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      const lived = Number(/eoplock-test: lived (\d+) ms/.exec(stderr)?.[1] ?? Number.NaN);
      resolve({ code, stdout, stderr: stderr.replace(/eoplock-test: lived \d+ ms\n/, ''), lived });
    });
  });
}
