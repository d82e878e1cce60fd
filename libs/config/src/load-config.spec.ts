import { ConfigError, loadConfig } from './load-config';
import { logLevelsUpTo } from './log-levels';

describe('loadConfig', () => {
  it('gives a working local setup with no variables at all', () => {
    const config = loadConfig({});
    expect(config.database.url).toBeUndefined();
    expect(config.database.embeddedPath).toMatch(/\.trainyard[/\\]pglite$/);
    expect(config.storage).toEqual({ driver: 'local', root: expect.stringMatching(/\.trainyard[/\\]objects$/) });
    expect(config.redis.url).toBe('redis://127.0.0.1:6379');
    expect(config.queue.name).toBe('trainyard-training');
    expect(config.worker.concurrency).toBe(1);
  });

  it('switches to S3 and PostgreSQL when their variables are set', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/trainyard',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      S3_BUCKET: 'runs',
      WORKER_CONCURRENCY: '4',
    });
    expect(config.database.url).toBe('postgresql://postgres@127.0.0.1:5432/trainyard');
    expect(config.storage).toMatchObject({ driver: 's3', endpoint: 'http://127.0.0.1:9000', bucket: 'runs' });
    expect(config.worker.concurrency).toBe(4);
  });

  it('lists every wrong setting in one error', () => {
    let error: unknown;
    try {
      loadConfig({ API_PORT: '70000', REDIS_URL: 'http://nope', WORKER_CONCURRENCY: 'many', S3_BUCKET: 'Bad_Bucket' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['API_PORT', 'REDIS_URL', 'WORKER_CONCURRENCY', 'S3_BUCKET']) expect(problems).toContain(name);
    expect((error as ConfigError).problems).toHaveLength(4);
  });

  it('takes a worker for dead after three heartbeat intervals of silence', () => {
    expect(loadConfig({}).worker).toMatchObject({ heartbeatIntervalMs: 10_000, lostAfterMs: 30_000 });
    expect(loadConfig({ WORKER_HEARTBEAT_INTERVAL_MS: '500' }).worker).toMatchObject({ heartbeatIntervalMs: 500, lostAfterMs: 1500 });
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', S3_ENDPOINT: '' }).storage.driver).toBe('local');
  });
});

describe('logLevelsUpTo', () => {
  it('enables the named level and every more severe one', () => {
    expect(logLevelsUpTo('warn')).toEqual(['error', 'warn']);
    expect(logLevelsUpTo('verbose')).toHaveLength(5);
  });
});
