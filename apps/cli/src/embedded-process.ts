import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { embeddedLockHolder, newApiKeyToken } from '@trainyard/db';
import type { TrainyardClient } from '@trainyard/client';
import { WORKER_SHUTDOWN_MARGIN_MS, type TrainyardConfig } from '@trainyard/config';

/**
 * What the demo, the embedded server, `npm run keys` and `npm run migrate` exit with when another
 * live process has the embedded database open (EX_TEMPFAIL: run it again once that one stopped).
 */
export const EMBEDDED_DATABASE_IN_USE_EXIT_CODE = 75;

/**
 * How long the embedded server's shutdown may take once signalled before it exits whatever still
 * waits (its own backstop, embedded-server.ts): the worker stops first, within
 * WORKER_SHUTDOWN_TIMEOUT_MS and its margin, then the API, within API_SHUTDOWN_TIMEOUT_MS.
 */
export function embeddedServerStopWithinMs(config: Pick<TrainyardConfig, 'worker' | 'api'>): number {
  return config.worker.shutdownTimeoutMs + WORKER_SHUTDOWN_MARGIN_MS + config.api.shutdownTimeoutMs;
}

/**
 * How long past the server's own backstop the demo still waits before SIGKILL: the backstop's exit
 * is immediate, but PGlite runs its statements on the server's event loop, and one in flight
 * delays the backstop's timer until it ends.
 */
export const EMBEDDED_SERVER_KILL_ROOM_MS = 10_000;

/**
 * How long the demo waits for its server to stop (worker, API, PGlite flushed) before SIGKILL: past
 * the server's own backstop, derived from the same settings, so a longer WORKER_SHUTDOWN_TIMEOUT_MS
 * moves the kill too (a fixed 60 s came before the worker's deadline above about 51 s).
 */
export function embeddedServerKillAfterMs(config: Pick<TrainyardConfig, 'worker' | 'api'>): number {
  return embeddedServerStopWithinMs(config) + EMBEDDED_SERVER_KILL_ROOM_MS;
}

/**
 * The embedded server's admin key: made once per TRAINYARD_HOME and kept in `<home>/admin-key`
 * (mode 0600), so the dashboard and curl can use the same key as the demo. The server gets it as
 * TRAINYARD_ADMIN_KEY and stores only its hash.
 */
export function embeddedAdminKey(home: string): string {
  const path = join(home, 'admin-key');
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const key = newApiKeyToken();
  writeFileSync(path, `${key}\n`, { mode: 0o600, flag: 'wx' });
  return key;
}

/**
 * Starts the one-process embedded server (API + one worker, see embedded-server.ts) as a child
 * process, its output in `logPath` (a fresh log each time, so a failed start shows its own cause).
 */
export function startEmbeddedServer(port: number, logPath: string, env: Record<string, string> = {}): ChildProcess {
  // The child writes the log file itself, not through a pipe to us: its output outlives this
  // process (a demo that exits or is killed first cannot make its last log lines EPIPE).
  const log = openSync(logPath, 'w');
  try {
    return spawn(process.execPath, [join(__dirname, 'embedded-server.js')], {
      env: { ...process.env, ...env, API_PORT: String(port) },
      stdio: ['ignore', log, log],
    });
  } finally {
    closeSync(log);
  }
}

/**
 * Why the embedded server cannot start here, checked before it is spawned, or null: another live
 * process holds the embedded database (`embeddedPath`; null with DATABASE_URL, see
 * @trainyard/db's embedded-lock), or something already listens on the port (whose /readyz would
 * otherwise pass for this server's).
 */
export async function embeddedServerBlocker(
  embeddedPath: string | null,
  port: number,
  host: string,
): Promise<{ message: string; exitCode: number } | null> {
  const holder = embeddedPath === null ? null : embeddedLockHolder(embeddedPath);
  if (holder)
    return {
      exitCode: EMBEDDED_DATABASE_IN_USE_EXIT_CODE,
      message:
        `the embedded database in ${embeddedPath} is in use by process ${holder.pid} (${holder.command}, ` +
        `since ${holder.since}), e.g. a demo or a background embedded-server.js. Stop it (Ctrl-C in its ` +
        `terminal, or kill ${holder.pid}) and run this again.`,
    };
  const taken = await new Promise<string | null>((resolve) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    // The address the server will listen on (API_HOST, loopback by default): a server on another
    // address of this port (`[::1]`, a LAN address) is no conflict, and its /readyz is not asked.
    probe.listen(port, host, () => probe.close(() => resolve(null)));
  });
  if (taken)
    return {
      exitCode: 1,
      message: `port ${port} is not free (${taken}): another server listens on it. Stop that one, or set API_PORT.`,
    };
  return null;
}

/**
 * Stops the embedded server: `signal`, then up to `timeoutMs` (embeddedServerKillAfterMs) for it to
 * exit (the worker, the API and PGlite closed), then SIGKILL. Resolves once it has exited, with how.
 */
export async function stopEmbeddedServer(
  server: ChildProcess,
  timeoutMs: number,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<{ code: number | null; signal: NodeJS.Signals | null; killed: boolean }> {
  const exited = () => server.exitCode !== null || server.signalCode !== null;
  const done = new Promise<void>((resolve) => {
    if (exited()) resolve();
    else server.once('exit', () => resolve());
  });
  if (!exited()) server.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    done.then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    server.kill('SIGKILL');
    await done;
  }
  return { code: server.exitCode, signal: server.signalCode, killed: timedOut };
}

/** Waits for /readyz; if the server exits first, fails with the end of its log (e.g. "Redis is not reachable…"). */
export async function waitUntilReady(client: TrainyardClient, server: ChildProcess, logPath: string): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null || server.signalCode !== null) {
      const tail = readFileSync(logPath, 'utf8').trim().split('\n').slice(-15).join('\n');
      throw new Error(`the Trainyard server exited (${server.signalCode ?? `code ${server.exitCode}`}):\n${tail}`);
    }
    if (await client.ready()) return;
    await sleep(300);
  }
  throw new Error(`the Trainyard server did not become ready within 90 s; see ${logPath}`);
}
