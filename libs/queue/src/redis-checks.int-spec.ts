import type { Redis } from 'ioredis';
import { assertNoEviction, assertRedisReachable } from './redis-checks';
import { createRedisConnection } from './redis-connection';
import { RedisEvictionPolicyError } from './redis-eviction-policy.error';
import { RedisUnavailableError } from './redis-unavailable.error';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('assertRedisReachable', () => {
  it('resolves for the running Redis', async () => {
    await expect(assertRedisReachable(REDIS_URL, 3000)).resolves.toBeUndefined();
  });

  it('fails within the timeout with the URL and how to start Redis when nothing listens', async () => {
    const started = Date.now();
    const error = await assertRedisReachable('redis://127.0.0.1:1', 2000).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(2500);
    expect(error).toBeInstanceOf(RedisUnavailableError);
    const message = (error as Error).message;
    expect(message).toContain('redis://127.0.0.1:1');
    expect(message).toContain('redis-server --daemonize yes');
    expect(message).toContain('docker compose up -d redis');
    expect(message).toContain('REDIS_URL');
    expect(message).toContain('ECONNREFUSED');
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
