import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TrainyardClient } from '../../apps/cli/src/api-client';

export interface ApiSession {
  client: TrainyardClient;
  /** Where the embedded server logs, when this session started one. */
  logPath?: string;
  close(): void;
}

/**
 * API_URL when given (a running Trainyard, any number of workers); otherwise the embedded server
 * of `npm run demo` (API + one worker, PGlite), in its own home and on its own queue so it never
 * takes jobs of another Trainyard sharing this Redis.
 */
export async function openApiSession(options: { workerConcurrency: number; home: string }): Promise<ApiSession> {
  const url = process.env['API_URL'];
  if (url) {
    const client = new TrainyardClient(url.replace(/\/$/, ''));
    if (!(await client.ready())) throw new Error(`API_URL ${url} does not answer /readyz`);
    return { client, close: () => undefined };
  }
  const home = resolve(options.home);
  mkdirSync(home, { recursive: true });
  const port = Number(process.env['API_PORT'] ?? 3100);
  const logPath = join(home, 'server.log');
  const server = startServer(port, logPath, {
    TRAINYARD_HOME: home,
    TRAINYARD_QUEUE: `trainyard-experiment-${process.pid}`,
    WORKER_CONCURRENCY: String(options.workerConcurrency),
  });
  const close = () => server.kill('SIGTERM');
  process.once('SIGINT', () => {
    close();
    process.exit(130);
  });
  const client = new TrainyardClient(`http://127.0.0.1:${port}`);
  await waitUntilReady(client, server, logPath);
  return { client, logPath, close };
}

function startServer(port: number, logPath: string, env: Record<string, string>): ChildProcess {
  const log = createWriteStream(logPath, { flags: 'w' });
  // dist/tools/experiments → dist/apps/cli/src/embedded-server.js
  const entry = join(__dirname, '../../apps/cli/src/embedded-server.js');
  const child = spawn(process.execPath, [entry], { env: { ...process.env, ...env, API_PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}

async function waitUntilReady(client: TrainyardClient, server: ChildProcess, logPath: string): Promise<void> {
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
