import { loadConfig } from '@trainyard/config';
import type { Database } from '@trainyard/db';
import { useDatabaseBehindProxy, type FreezableProxy } from '@trainyard/db/testing';
import { DatabasePatience, type PatienceLog } from './database-patience';

const DEADLINE_MS = 800;

/**
 * A stopping worker's call whose try a silent PostgreSQL never answers (a proxy that stops
 * forwarding; pg's own deadline, 20 s here, far off): it gives the try up once the worker stops
 * waiting, rather than holding the worker, and its job, until pg does.
 */
describe('DatabasePatience while the worker stops, PostgreSQL silent (real PostgreSQL behind a proxy)', () => {
  let proxied: Database;
  let proxy: FreezableProxy;
  useDatabaseBehindProxy((opened) => {
    ({ proxied, proxy } = opened);
  }, 20_000);
  const log: PatienceLog = { warn: () => undefined, log: () => undefined };

  it('gives up a try in flight an eighth of the deadline after it stops waiting, and lets answered ones through', async () => {
    const patience = new DatabasePatience(loadConfig({ WORKER_DATABASE_OUTAGE_PATIENCE_MS: '120000' }));
    await proxied.ping(); // a pooled connection, open before the freeze
    proxy.freeze();
    const started = Date.now();
    const call = patience.call('run r: recording its attempt PREEMPTED', () => proxied.ping(), log);
    patience.stopWaiting(DEADLINE_MS);
    await expect(call).rejects.toThrow(
      /^the database was unreachable for \d+ s \(1 try, given up as the process stops\): no answer to try 1 after \d+ ms; left to pg's own deadline$/,
    );
    const tookMs = Date.now() - started;
    // Stopped waiting at half the deadline (400 ms), then an eighth of it (100 ms) for the try.
    expect(tookMs).toBeGreaterThanOrEqual(DEADLINE_MS / 2 + DEADLINE_MS / 8 - 5);
    expect(tookMs).toBeLessThan(DEADLINE_MS);
    // A try begun after the stop is given as long, from its start: one the database answers goes through.
    proxy.thaw();
    await expect(patience.call('run r: reading the run', () => proxied.ping(), log)).resolves.toBeUndefined();
    proxy.freeze();
    const later = Date.now();
    await expect(patience.call('run r: reading the run', () => proxied.ping(), log)).rejects.toThrow(
      /\(1 try, given up as the process stops\): no answer to try 1/,
    );
    expect(Date.now() - later).toBeLessThan(DEADLINE_MS / 8 + 300);
    proxy.thaw();
  }, 30_000);
});
