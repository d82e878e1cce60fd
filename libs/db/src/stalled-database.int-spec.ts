import { createFreshDatabase, startFreezableProxy, type FreezableProxy, type FreshDatabase } from './testing';
import { isConnectionError, isStatementTimeout, withConnectionRetry } from './connection-retry';
import { openDatabase, type Database } from './open-database';

// A PostgreSQL that stops answering (a proxy in front of the real server stops forwarding) must
// not hang its callers: a statement in flight fails after the query deadline, a query waiting
// for a connection after the connect deadline, both as connection errors (what the repositories
// retry and the API answers 503 for); a slow statement on a server that answers is cancelled by
// the server. Once the server answers again, so does the pool, without a restart.
const QUERY_TIMEOUT_MS = 1000;
const CONNECT_TIMEOUT_MS = 800;
// statement_timeout plus the client's grace (2 s), plus room for a loaded machine.
const GIVE_UP_WITHIN_MS = QUERY_TIMEOUT_MS + 2000 + 2500;

let fresh: FreshDatabase;
let proxy: FreezableProxy;
let db: Database;

beforeAll(async () => {
  fresh = await createFreshDatabase();
  const real = new URL(fresh.url);
  proxy = await startFreezableProxy({ host: real.hostname, port: Number(real.port || 5432) });
  const viaProxy = new URL(fresh.url);
  viaProxy.port = String(proxy.port);
  db = await openDatabase(
    {
      url: viaProxy.toString(),
      embeddedPath: '',
      queryTimeoutMs: QUERY_TIMEOUT_MS,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
    },
    { log: () => undefined },
  );
});

afterAll(async () => {
  proxy?.thaw();
  await db?.close();
  await proxy?.close();
  await fresh?.drop();
});

async function failure(promise: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = Date.now();
  try {
    await promise;
  } catch (error) {
    return { error, ms: Date.now() - started };
  }
  throw new Error('expected the query to fail');
}

test('a statement in flight on a silent server fails after the deadline, as a lost connection', async () => {
  await expect(db.prisma.run.count()).resolves.toBe(0);
  proxy.freeze();
  try {
    const { error, ms } = await failure(db.prisma.run.count());
    expect(isConnectionError(error)).toBe(true);
    expect(ms).toBeGreaterThanOrEqual(QUERY_TIMEOUT_MS);
    expect(ms).toBeLessThan(GIVE_UP_WITHIN_MS);
  } finally {
    proxy.thaw();
  }
  await expect(db.prisma.run.count()).resolves.toBe(0);
});

test('queries beyond the pool wait at most the connect deadline, and raw and model queries alike', async () => {
  await db.prisma.$queryRaw`SELECT 1`;
  proxy.freeze();
  try {
    // More queries than the pool has connections (10): the rest wait for a turn.
    const outcomes = await Promise.all(
      Array.from({ length: 14 }, (_, i) => failure(i % 2 ? db.prisma.$queryRaw`SELECT 1` : db.prisma.run.count())),
    );
    for (const { error, ms } of outcomes) {
      expect(isConnectionError(error)).toBe(true);
      expect(ms).toBeLessThan(GIVE_UP_WITHIN_MS);
    }
    await expect(db.ping()).rejects.toThrow();
  } finally {
    proxy.thaw();
  }
  const counts = await Promise.all(Array.from({ length: 12 }, () => db.prisma.run.count()));
  expect(counts).toEqual(Array(12).fill(0));
  await expect(db.ping()).resolves.toBeUndefined();
});

test('a slow statement on a server that answers is cancelled by the server, and the pool stays usable', async () => {
  const { error, ms } = await failure(db.prisma.$queryRaw`SELECT pg_sleep(5)`);
  expect(isStatementTimeout(error)).toBe(true);
  expect(isConnectionError(error)).toBe(false);
  expect(ms).toBeGreaterThanOrEqual(QUERY_TIMEOUT_MS - 50);
  expect(ms).toBeLessThan(QUERY_TIMEOUT_MS + 2000);
  await expect(db.prisma.run.count()).resolves.toBe(0);
});

test('a restart (the server answering 57P03 while it stops and starts) is a lost connection, raw and model queries alike', async () => {
  await db.prisma.$queryRaw`SELECT 1`;
  for (const message of ['the database system is shutting down', 'the database system is starting up'] as const) {
    proxy.restart(message);
    try {
      // Prisma keeps the server's code only under meta.driverAdapterError for a raw query (P2010):
      // read as "not a connection error", a restart cost every running run an attempt.
      const outcomes = await Promise.all([failure(db.prisma.$queryRaw`SELECT 1`), failure(db.prisma.run.count())]);
      for (const { error } of outcomes)
        expect({ message, connection: isConnectionError(error) }).toEqual({ message, connection: true });
    } finally {
      proxy.back();
    }
  }
  await expect(db.prisma.run.count()).resolves.toBe(0);
});

test('a write retried on lost connections rides through a restart of a second and a half', async () => {
  await db.prisma.$queryRaw`SELECT 1`;
  proxy.restart();
  const restarted = new Promise<void>((resolve) =>
    setTimeout(() => {
      proxy.back();
      resolve();
    }, 1500),
  );
  let retries = 0;
  const count = withConnectionRetry(() => db.prisma.run.count(), { onRetry: () => retries++ });
  await expect(count).resolves.toBe(0);
  await restarted;
  expect(retries).toBeGreaterThan(0);
});
