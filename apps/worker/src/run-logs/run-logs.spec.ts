import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import { LocalObjectStore } from '@trainyard/storage';
import { RunLogs } from './run-logs';

describe('RunLogs', () => {
  let root: string;
  let warn: jest.SpyInstance;
  let log: jest.SpyInstance;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'trainyard-run-logs-'));
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });
  afterEach(async () => {
    warn.mockRestore();
    log.mockRestore();
    await rm(root, { recursive: true, force: true });
  });

  it('says, as the worker stops, how many lines of each attempt the store did not take', async () => {
    const store = new LocalObjectStore(root);
    const config = { runLogs: { chunkBytes: 256 * 1024, flushMs: 60_000 } } as TrainyardConfig;
    const logs = new RunLogs(config, store);
    const stored = { runId: randomUUID(), attempt: 1, jobId: 'job-stored' };
    const lost = { runId: randomUUID(), attempt: 2, jobId: 'job-lost' };
    // The store refuses the second run's writes (a file where its folder must go).
    await mkdir(join(root, 'runs'));
    await writeFile(join(root, 'runs', lost.runId), 'in the way');

    const kept = logs.open(stored);
    kept.output({ stream: 'stdout', text: 'epoch 1' });
    await kept.close();
    const ended = logs.open(lost);
    ended.output({ stream: 'stdout', text: 'checkpoint 1 written' });
    ended.output({ stream: 'stderr', text: 'object store unavailable' });
    ended.output({ stream: 'stdout', text: 'preempted' });
    await ended.close();
    // Still open when the worker stops (its shutdown deadline passed): its lines are written now.
    const open = logs.open({ ...stored, attempt: 2 });
    open.output({ stream: 'stdout', text: 'epoch 2' });
    warn.mockClear();

    expect(await logs.stop()).toBe(3);
    expect(warn.mock.calls).toEqual([
      [
        `up to 3 lines of the run's log were lost: the worker stopped before ${store.description} took them`,
        { ...lost },
      ],
    ]);
    expect((await store.list(`runs/${stored.runId}/`)).map((o) => o.key)).toEqual([
      `runs/${stored.runId}/logs/00001-000001.ndjson`,
      `runs/${stored.runId}/logs/00002-000001.ndjson`,
    ]);
    // Nothing is left to report twice.
    expect(await logs.stop()).toBe(0);
  });
});
