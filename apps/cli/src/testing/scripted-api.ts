import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Command } from '../cli/command';
import { runCli, runCommand, type CliIo } from '../cli/cli-main';

/** Answers one request; `url` is the request's, parsed. */
export type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

/**
 * A real HTTP server on a free loopback port answering by `METHOD /path` (no query) from `routes`,
 * a 404 problem for anything else: what the CLI's specs point `--url` at to give the commands
 * answers the live API gives only by accident (a damaged archive, a dropped stream).
 */
export async function scriptedApi(routes: Record<string, Route>) {
  const seen: string[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://localhost');
    const key = `${req.method} ${url.pathname}`;
    seen.push(`${key}${url.search}`);
    const route = routes[key];
    if (route) return route(req, res, url);
    res.writeHead(404, { 'content-type': 'application/problem+json' });
    res.end(JSON.stringify({ type: 'about:blank', title: 'Not Found', status: 404, detail: `no route ${key}` }));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** `METHOD /path?query` of every request, in order. */
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        // Streams left open (an event stream) would keep close() waiting.
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A JSON answer. */
export const json =
  (body: unknown, status = 200): Route =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

/** Opens a `text/event-stream` answer and returns a writer of `event:`/`data:` blocks. */
export function openEventStream(res: ServerResponse): (event: string, data: unknown, id?: string) => void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  res.flushHeaders();
  return (event, data, id) =>
    res.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

export interface CliOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** How the in-process command meets its "process": a terminal or a pipe, Ctrl-C. */
export interface CliSetting {
  /** stdout is a terminal (default: a pipe). */
  stdoutIsTty?: boolean;
  /** Aborted as Ctrl-C aborts the command's signal. */
  signal?: AbortSignal;
  /** Called with each write to stdout as it happens (to act, e.g. interrupt, once some output came). */
  onOut?(text: string): void;
  /** What stdin holds (default: nothing to read). */
  stdin?: string;
}

function capture(
  env: Record<string, string | undefined>,
  setting: CliSetting = {},
): { io: CliIo; result: (code: number) => CliOutcome } {
  let stdout = '';
  let stderr = '';
  return {
    io: {
      out: (t) => {
        stdout += t;
        setting.onOut?.(t);
      },
      err: (t) => (stderr += t),
      stdoutIsTty: setting.stdoutIsTty ?? false,
      env,
      signal: setting.signal ?? new AbortController().signal,
      ...(setting.stdin === undefined ? {} : { readStdin: () => Promise.resolve(setting.stdin!) }),
    },
    result: (code) => ({ code, stdout, stderr }),
  };
}

/** `trainyard ARGV…` in process, its output captured (stdout a pipe unless `setting` says a terminal). */
export async function cli(
  argv: string[],
  env: Record<string, string | undefined> = {},
  setting: CliSetting = {},
): Promise<CliOutcome> {
  const { io, result } = capture(env, setting);
  return result(await runCli(argv, io));
}

/** One command object (e.g. one built with test timings) run as `trainyard` would run it. */
export async function cliCommand(
  command: Command,
  argv: string[],
  env: Record<string, string | undefined> = {},
  setting: CliSetting = {},
): Promise<CliOutcome> {
  const { io, result } = capture(env, setting);
  return result(await runCommand(command, argv, io));
}

/**
 * The characters of `text` that no CLI output may hold raw, as "U+001B at 12": C0 controls but
 * the line feed (and the tab, where `tabs` says multi-line text may keep them), DEL, C1, U+2028/2029,
 * bidi controls and marks, and U+200B, U+FEFF (the joiners U+200C, U+200D stay). Checked code point by code
 * point against its own list, not terminalSafe's, so the specs do not share the code's mistakes.
 */
export function rawControlCharacters(text: string, { tabs = false } = {}): string[] {
  const found: string[] = [];
  let index = 0;
  for (const char of text) {
    const c = char.codePointAt(0)!;
    const unsafe =
      (c < 0x20 && c !== 0x0a && !(tabs && c === 0x09)) ||
      (c >= 0x7f && c <= 0x9f) ||
      c === 0x2028 ||
      c === 0x2029 ||
      (c >= 0x202a && c <= 0x202e) ||
      (c >= 0x2066 && c <= 0x2069) ||
      c === 0x200e ||
      c === 0x200f ||
      c === 0x061c ||
      c === 0x200b ||
      c === 0xfeff;
    if (unsafe) found.push(`U+${c.toString(16).toUpperCase().padStart(4, '0')} at ${index}`);
    index += char.length;
  }
  return found;
}
