import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REDIS } from './cluster';
import { freePort, startApp, waitFor, type AppProcess } from './processes';

/**
 * The compiled API and worker pointed at a database that does not exist (a typo in DATABASE_URL):
 * each exits 1 with one line naming the URL without its password, the setting and PostgreSQL's
 * reason. Before, the message came twice, each time with its stack: once from Nest's
 * ExceptionHandler, once from the process's own start-failure handler.
 */
describe('an API and a worker whose database does not exist (compiled processes, PostgreSQL, Redis)', () => {
  const missing = `trainyard_missing_${randomUUID().replaceAll('-', '')}`;
  const url = `postgresql://postgres:secret-pw@127.0.0.1:5432/${missing}`;
  let home: string;
  let app: AppProcess | undefined;

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'trainyard-start-failure-'));
  });
  afterEach(async () => {
    await app?.stop('SIGKILL');
    app = undefined;
  });
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it.each(['api', 'worker'] as const)(
    'the %s exits 1 with one line naming DATABASE_URL and why',
    async (name) => {
      const proc = startApp(name, {
        DATABASE_URL: url,
        REDIS_URL: `redis://${REDIS.host}:${REDIS.port}`,
        TRAINYARD_QUEUE: `e2e-${randomUUID()}`,
        TRAINYARD_HOME: home,
        API_PORT: String(await freePort()),
        WORKER_METRICS_PORT: String(await freePort()),
        LOG_JSON: 'false',
      });
      app = proc;
      const code = await waitFor(
        'the process to exit',
        async () => proc.child.exitCode ?? undefined,
        60_000,
        () => proc.output(),
      );
      const output = proc.output();
      expect(code).toBe(1);
      const said = output.split('\n').filter((line) => line.includes(missing));
      expect(said).toEqual([
        `Cannot connect to PostgreSQL at postgresql://postgres:***@127.0.0.1:5432/${missing} (DATABASE_URL): database "${missing}" does not exist`,
      ]);
      expect(output).not.toMatch(/^\s+at /m);
      expect(output).not.toContain('secret-pw');
    },
    90_000,
  );
});
