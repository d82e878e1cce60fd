import { randomUUID } from 'node:crypto';
import { ApiKeysRepository } from './api-keys.repository';
import { DEFAULT_CONNECT_TIMEOUT_MS, type Database } from './open-database';
import { ProjectsRepository } from './projects.repository';
import { useDatabaseBehindProxy } from './testing';

/**
 * A PostgreSQL that answers, but slowly (a loaded server, a database in another region): every
 * chunk held 150 ms each way, a round trip 300 ms later. Work must wait its turn within the
 * deadlines the settings name, not fail sooner on a bound of its own.
 */
describe('a slow PostgreSQL (300 ms per round trip)', () => {
  let proxied: Database;
  let release: () => void;

  useDatabaseBehindProxy(({ proxied: opened, proxy }) => {
    proxied = opened;
    proxy.slow(150);
    release = () => proxy.slow(0);
  }, DEFAULT_CONNECT_TIMEOUT_MS);
  afterAll(() => release?.());

  it('lets transactions queue for a pooled connection up to DATABASE_CONNECT_TIMEOUT_MS', async () => {
    const projects = new ProjectsRepository(proxied.prisma);
    const started = Date.now();
    // Four times the pool's 10 connections: the last wait some seconds for a turn, well within 10 s.
    const outcomes = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) =>
        projects.setLimits(`slow-${randomUUID().slice(0, 8)}-${i}`, { maxRunning: 2 }),
      ),
    );
    const failed = outcomes.flatMap((o) =>
      o.status === 'rejected' ? [String((o.reason as Error).message).trim()] : [],
    );
    expect({ failed: failed.length, first: failed[0]?.slice(0, 300) }).toEqual({ failed: 0, first: undefined });
    expect(Date.now() - started).toBeLessThan(DEFAULT_CONNECT_TIMEOUT_MS);
  }, 60_000);

  it('lets a transaction wait its turn on a lock for longer than 5 s', async () => {
    const keys = new ApiKeysRepository(proxied.prisma);
    const project = `slow-${randomUUID().slice(0, 8)}`;
    // One project's creates take turns on its advisory lock, about 1 s each here: the last waits ~7 s.
    const outcomes = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => keys.createWithin({ name: `k${i}`, scopes: ['read'], project }, 100)),
    );
    const failed = outcomes.flatMap((o) =>
      o.status === 'rejected' ? [String((o.reason as Error).message).trim()] : [],
    );
    expect({ failed: failed.length, first: failed[0]?.slice(0, 300) }).toEqual({ failed: 0, first: undefined });
  }, 60_000);
});
