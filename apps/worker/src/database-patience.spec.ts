import { loadConfig } from '@trainyard/config';
import { DatabasePatience, repeatedFailureReports, waitReports } from './database-patience';

const refused = () => Object.assign(new Error('the database system is shutting down'), { code: '57P03' });

function lines() {
  const said: { level: 'warn' | 'log'; message: string }[] = [];
  return {
    said,
    log: {
      warn: (message: string) => said.push({ level: 'warn', message }),
      log: (message: string) => said.push({ level: 'log', message }),
    },
  };
}

describe('DatabasePatience', () => {
  it('warns at the first lost connection, then every 10 s at most, and once when the database is back', () => {
    const { said, log } = lines();
    const reports = waitReports('run r: writing metrics', 120_000, log);
    // Tries over a 35 s outage, waits capped at 5 s.
    const away = [0, 100, 300, 700, 1500, 3100, 6300, 11_300, 16_300, 21_300, 26_300, 31_300];
    away.forEach((ms, i) => reports.onRetry(refused(), i + 1, ms));
    reports.onRecovered(35_000, away.length + 1);
    expect(said).toEqual([
      {
        level: 'warn',
        message:
          'run r: writing metrics waits for the database (try 1: the database system is shutting down); it tries again for up to 120 s (WORKER_DATABASE_OUTAGE_PATIENCE_MS)',
      },
      {
        level: 'warn',
        message:
          'run r: writing metrics still waits for the database after 11 s (try 8: the database system is shutting down)',
      },
      {
        level: 'warn',
        message:
          'run r: writing metrics still waits for the database after 21 s (try 10: the database system is shutting down)',
      },
      {
        level: 'warn',
        message:
          'run r: writing metrics still waits for the database after 31 s (try 12: the database system is shutting down)',
      },
      { level: 'log', message: 'the database answers again after 35 s away; run r: writing metrics went on (try 13)' },
    ]);
  });

  it('stops waiting within half the shutdown deadline once the worker stops', async () => {
    const patience = new DatabasePatience(loadConfig({ WORKER_DATABASE_OUTAGE_PATIENCE_MS: '120000' }));
    const { said, log } = lines();
    const started = Date.now();
    const waiting = patience.call('run r: recording checkpoint 3', () => Promise.reject(refused()), log);
    patience.stopWaiting(400);
    await expect(waiting).rejects.toThrow(
      /^the database was unreachable for \d+ s \(\d+ tries, given up as the process stops\): the database system is shutting down$/,
    );
    const tookMs = Date.now() - started;
    expect(tookMs).toBeGreaterThanOrEqual(190);
    expect(tookMs).toBeLessThan(1500);
    expect(said[0]).toMatchObject({
      level: 'warn',
      message: expect.stringMatching(/^run r: recording checkpoint 3 waits/),
    });
    // A call after the stop gives up at its first lost connection.
    let tries = 0;
    await expect(
      patience.call('run r: reading the run', () => (tries++, Promise.reject(refused())), log),
    ).rejects.toThrow(/\(1 try, given up as the process stops\)/);
    expect(tries).toBe(1);
  });

  it('counts a try given up unanswered until PostgreSQL answers it at last', async () => {
    const patience = new DatabasePatience(loadConfig({ WORKER_DATABASE_OUTAGE_PATIENCE_MS: '120000' }));
    const { log } = lines();
    let answer!: () => void;
    const hung = new Promise<void>((resolve) => (answer = resolve));
    patience.stopWaiting(400);
    const call = patience.call('run r: recording its attempt FAILED', () => hung, log);
    expect(patience.unansweredTries).toBe(0);
    // Stopped waiting at 200 ms, the try given up 50 ms later: the database is silent.
    await expect(call).rejects.toThrow(/given up as the process stops\): no answer to try 1/);
    expect(patience.unansweredTries).toBe(1);
    answer();
    await hung;
    expect(patience.unansweredTries).toBe(0);
  });

  it('counts a shutdown call unanswered past the stop as a try given up, and tells whoever waits for one', async () => {
    const patience = new DatabasePatience(loadConfig({}));
    let answer!: () => void;
    const hung = new Promise<void>((resolve) => (answer = resolve));
    const waited = patience.whenTryUnanswered();
    let told = false;
    void waited.then(() => (told = true));
    patience.stopWaiting(400);
    patience.watchShutdownCall(hung);
    const startedAt = Date.now();
    await waited;
    // Stopped waiting at 200 ms, the call given up 50 ms later.
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(240);
    expect(told).toBe(true);
    expect(patience.unansweredTries).toBe(1);
    await patience.whenTryUnanswered(); // at once while one is
    answer();
    await hung;
    expect(patience.unansweredTries).toBe(0);
    // An answered one is left alone.
    patience.watchShutdownCall(Promise.resolve());
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(patience.unansweredTries).toBe(0);
  });

  it('names a run’s calls after it, in the log it is given, and tells their lost connections apart with retryOn', async () => {
    const patience = new DatabasePatience(loadConfig({ WORKER_DATABASE_OUTAGE_PATIENCE_MS: '120000' }));
    const { said, log } = lines();
    const forRun = patience.forRun('r7', log);
    let tries = 0;
    await expect(
      forRun('reading the run', () => (++tries < 3 ? Promise.reject(refused()) : Promise.resolve('run'))),
    ).resolves.toBe('run');
    expect(tries).toBe(3);
    expect(said.map((s) => `${s.level} ${s.message}`)).toEqual([
      expect.stringMatching(
        /^warn run r7: reading the run waits for the database \(try 1: the database system is shutting down\)/,
      ),
      expect.stringMatching(
        /^log the database answers again after \d+ ms away; run r7: reading the run went on \(try 3\)$/,
      ),
    ]);
    // retryOn: an error it does not take for a lost connection is not waited for.
    const storeDown = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9000'), { code: 'ECONNREFUSED' });
    let storeTries = 0;
    await expect(
      forRun(
        'resolving its inputs',
        () => (storeTries++, Promise.reject(storeDown)),
        () => false,
      ),
    ).rejects.toBe(storeDown);
    expect(storeTries).toBe(1);
    expect(said).toHaveLength(2);
  });

  it('says a check repeated every 0.5 s that fails once, then every 10 s at most, and once when it answers', () => {
    const { said, log } = lines();
    let at = 0;
    const checks = repeatedFailureReports('cancel check for run r', log, () => at);
    checks.answered();
    // A 35 s outage: 70 failed checks, 0.5 s apart.
    for (; at < 35_000; at += 500) checks.failed(refused());
    checks.answered();
    checks.answered();
    expect(said.map((s) => `${s.level} ${s.message}`)).toEqual([
      'warn cancel check for run r failed: the database system is shutting down',
      'warn cancel check for run r still fails after 10 s (21 tries): the database system is shutting down',
      'warn cancel check for run r still fails after 20 s (41 tries): the database system is shutting down',
      'warn cancel check for run r still fails after 30 s (61 tries): the database system is shutting down',
      'log cancel check for run r answers again after 35 s (70 failed)',
    ]);
  });
});
