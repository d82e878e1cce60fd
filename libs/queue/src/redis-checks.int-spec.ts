import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { assertNoEviction, assertRedisReachable } from './redis-checks';
import { createRedisConnection } from './redis-connection';
import { RedisEvictionPolicyError } from './redis-eviction-policy.error';
import { RedisUnavailableError } from './redis-unavailable.error';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A free TCP port on loopback. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A Redis of this test's own on `port` (the machine's redis-server), keeping nothing on disk. */
function startRedis(port: number, args: string[] = []): ChildProcess {
  return spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args],
    {
      stdio: 'ignore',
    },
  );
}

const servers: ChildProcess[] = [];
afterAll(() => {
  for (const server of servers) server.kill('SIGKILL');
});

describe('assertRedisReachable', () => {
  it('resolves for the running Redis', async () => {
    await expect(assertRedisReachable(REDIS_URL, 3000)).resolves.toBeUndefined();
  });

  it('waits out the timeout, then fails with the URL and how to start Redis when nothing listens', async () => {
    const started = Date.now();
    const error = await assertRedisReachable('redis://127.0.0.1:1', 2000).catch((e: unknown) => e);
    // Refused at once, tried again until the deadline: what the message says it waited.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1700);
    expect(Date.now() - started).toBeLessThan(2500);
    expect(error).toBeInstanceOf(RedisUnavailableError);
    const message = (error as Error).message;
    expect(message).toContain('redis://127.0.0.1:1');
    expect(message).toContain('redis-server --daemonize yes');
    expect(message).toContain('docker compose up -d redis');
    expect(message).toContain('REDIS_URL');
    expect(message).toContain('ECONNREFUSED');
  });

  it('waits for a Redis that starts after it, within the timeout', async () => {
    const port = await freePort();
    const started = Date.now();
    const late = setTimeout(() => servers.push(startRedis(port)), 800);
    try {
      await expect(assertRedisReachable(`redis://127.0.0.1:${port}`, 10_000)).resolves.toBeUndefined();
      expect(Date.now() - started).toBeGreaterThanOrEqual(800);
    } finally {
      clearTimeout(late);
    }
  });

  it('fails at once for an answer no wait changes: a wrong password', async () => {
    const port = await freePort();
    servers.push(startRedis(port, ['--requirepass', 'right']));
    await assertRedisReachable(`redis://:right@127.0.0.1:${port}`, 10_000);
    const started = Date.now();
    const error = await assertRedisReachable(`redis://:wrong@127.0.0.1:${port}`, 10_000).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect((error as Error).message).toMatch(/WRONGPASS|invalid username-password/);
    expect((error as Error).message).not.toContain('wrong@');
  });

  it('fails by its deadline when the host never answers', async () => {
    // 10.255.255.1 is a non-routable address: the TCP connect hangs instead of being refused.
    const started = Date.now();
    const error = await assertRedisReachable('redis://:secret@10.255.255.1:6379', 500).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect((error as Error).message).not.toContain('secret');
  });
});

describe('assertNoEviction', () => {
  let connection: Redis;
  beforeEach(() => {
    connection = createRedisConnection(REDIS_URL);
  });
  afterEach(async () => {
    await connection.quit();
  });

  it('accepts the test Redis, which runs with noeviction', async () => {
    const warnings: string[] = [];
    await assertNoEviction(connection, (m) => warnings.push(m));
    expect(warnings).toEqual([]);
  });

  it('refuses another policy', async () => {
    // CONFIG SET on the shared Redis would disturb other suites, so fake only the reply.
    jest.spyOn(connection, 'config').mockResolvedValueOnce(['maxmemory-policy', 'allkeys-lru'] as never);
    await expect(assertNoEviction(connection)).rejects.toBeInstanceOf(RedisEvictionPolicyError);
  });

  it('warns and carries on when CONFIG is not permitted', async () => {
    jest
      .spyOn(connection, 'config')
      .mockRejectedValueOnce(new Error("NOPERM this user has no permissions to run the 'config' command") as never);
    const warnings: string[] = [];
    await assertNoEviction(connection, (m) => warnings.push(m));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('NOPERM');
  });
});
