import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { newApiKeyToken } from '@trainyard/db';
import type { TrainyardClient } from '@trainyard/client';

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
  const log = createWriteStream(logPath, { flags: 'w' });
  const child = spawn(process.execPath, [join(__dirname, 'embedded-server.js')], {
    env: { ...process.env, ...env, API_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}

/** Waits for /readyz; if the server exits first, fails with the end of its log (e.g. "Redis is not reachable…"). */
export async function waitUntilReady(client: TrainyardClient, server: ChildProcess, logPath: string): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) {
      const tail = readFileSync(logPath, 'utf8').trim().split('\n').slice(-15).join('\n');
      throw new Error(`the Trainyard server exited (code ${server.exitCode}):\n${tail}`);
    }
    if (await client.ready()) return;
    await sleep(300);
  }
  throw new Error(`the Trainyard server did not become ready within 90 s; see ${logPath}`);
}
