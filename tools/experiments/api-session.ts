import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { embeddedAdminKey, startEmbeddedServer, TrainyardClient, waitUntilReady } from '@trainyard/cli-app';

export interface ApiSession {
  client: TrainyardClient;
  /** Where the embedded server logs, when this session started one. */
  logPath?: string;
  close(): void;
}

/**
 * API_URL (and TRAINYARD_API_KEY, a key with the submit and read scopes) when given (a running
 * Trainyard, any number of workers); otherwise the embedded server
 * of `npm run demo` (API + one worker, PGlite), in its own home and on its own queue so it never
 * takes jobs of another Trainyard sharing this Redis.
 */
export async function openApiSession(options: { workerConcurrency: number; home: string }): Promise<ApiSession> {
  const url = process.env['API_URL'];
  if (url) {
    const client = new TrainyardClient(url.replace(/\/$/, ''), process.env['TRAINYARD_API_KEY']);
    if (!(await client.ready())) throw new Error(`API_URL ${url} does not answer /readyz`);
    return { client, close: () => undefined };
  }
  const home = resolve(options.home);
  mkdirSync(home, { recursive: true });
  const port = Number(process.env['API_PORT'] ?? 3100);
  const logPath = join(home, 'server.log');
  const adminKey = embeddedAdminKey(home);
  const server = startEmbeddedServer(port, logPath, {
    TRAINYARD_HOME: home,
    TRAINYARD_ADMIN_KEY: adminKey,
    TRAINYARD_QUEUE: `trainyard-experiment-${process.pid}`,
    WORKER_CONCURRENCY: String(options.workerConcurrency),
  });
  const close = () => server.kill('SIGTERM');
  process.once('SIGINT', () => {
    close();
    process.exit(130);
  });
  const client = new TrainyardClient(`http://127.0.0.1:${port}`, adminKey);
  await waitUntilReady(client, server, logPath);
  return { client, logPath, close };
}
