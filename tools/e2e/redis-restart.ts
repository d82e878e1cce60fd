import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * The Redis the disruptive tests restart: the machine's shared one (6379) in CI, or a private one
 * (TRAINYARD_TEST_REDIS_PORT) so a developer can run them beside other suites.
 */
export const REDIS_PORT = Number(process.env['TRAINYARD_TEST_REDIS_PORT'] ?? 6379);

const cli = (...args: string[]) =>
  run('redis-cli', ['-h', '127.0.0.1', '-p', String(REDIS_PORT), ...args], { timeout: 5000 });

export async function redisAnswers(): Promise<boolean> {
  return cli('ping').then(
    ({ stdout }) => stdout.trim() === 'PONG',
    () => false,
  );
}

/**
 * The machine's own start command (docs of the node-svc machine: no persistence, so a restart
 * loses every key, as a crashed Redis without AOF would), then the eviction policy our API and
 * workers insist on at start.
 */
export async function startRedis(): Promise<void> {
  if (!(await redisAnswers())) {
    const dir = REDIS_PORT === 6379 ? '/var/lib/redis' : `/tmp/trainyard-redis-${REDIS_PORT}`;
    const log = REDIS_PORT === 6379 ? '/var/log/redis/ci.log' : `${dir}/redis.log`;
    await run('mkdir', ['-p', dir]);
    await run('redis-server', [
      '--daemonize',
      'yes',
      '--bind',
      '127.0.0.1',
      '-::1',
      '--port',
      String(REDIS_PORT),
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--logfile',
      log,
    ]);
    await until('Redis to answer', redisAnswers);
  }
  await cli('config', 'set', 'maxmemory-policy', 'noeviction');
}

/** `shutdown nosave`, down for `downMs`, started again: every queue, job and lock is gone. */
export async function restartRedis(downMs = 500): Promise<void> {
  // The server closes the connection as it exits, so redis-cli reports an error: expected.
  await cli('shutdown', 'nosave').catch(() => undefined);
  await until('Redis to stop', async () => !(await redisAnswers()));
  await new Promise((r) => setTimeout(r, downMs));
  await startRedis();
}

/**
 * SIGSTOP Redis for `ms`, then SIGCONT: connections stay open and nothing is answered, as with a
 * Redis stalled by a fork, swapping or a partition that sends no reset. Locks it holds expire
 * meanwhile (they are judged by the clock when it wakes).
 */
export async function freezeRedis(ms: number): Promise<void> {
  const { stdout } = await cli('info', 'server');
  const pid = /process_id:(\d+)/.exec(stdout)?.[1];
  if (!pid) throw new Error(`redis-cli info server named no process_id:\n${stdout}`);
  process.kill(Number(pid), 'SIGSTOP');
  try {
    await new Promise((r) => setTimeout(r, ms));
  } finally {
    process.kill(Number(pid), 'SIGCONT');
  }
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
