import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunSpecSchema } from '@trainyard/contracts';
import {
  startTrainingProcess,
  startTrainingProcessFromEntry,
  type BacklogChange,
  type TrainingProcessOptions,
} from './start-training-process';
import { scriptedEnv, type ScriptedMessages } from './testing/scripted-messages';
import type { TrainingEvent, TrainingJobInput } from './training-job.types';

// Needs the compiled training process and the scripted one: `node tools/build.mjs libs`.
const wallTime = '2026-12-01T10:00:00.000Z';
const metrics = (name: string, step: number) => ({
  kind: 'event',
  event: { type: 'metrics', points: [{ name, step, epoch: 1, value: 0.5, wallTime }] },
});
const pretrain = (name: string, epochs: number) => ({
  kind: 'pretrain',
  name,
  dataset: { name: 'synthetic-shapes', imageSize: 16, perClass: 40, testPerClass: 10 },
  model: { type: 'conv-autoencoder', inputShape: [16, 16, 1], filters: [4, 8], latentDim: 16 },
  training: { epochs, batchSize: 16, seed: 1 },
  checkpoint: { everyEpochs: 100 },
});
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('what a training process sends its supervisor', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'trainyard-messages-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const input = (spec: unknown): TrainingJobInput => ({
    runId: randomUUID(),
    storage: { driver: 'local', root },
    firstCheckpointSequence: 1,
    spec: RunSpecSchema.parse(spec),
  });

  /** Runs the scripted process to its outcome, handling each event with `handle`. */
  const scripted = async (
    script: ScriptedMessages,
    handle: (event: TrainingEvent) => Promise<void> | void = () => undefined,
    options: TrainingProcessOptions = {},
  ) => {
    const handled: TrainingEvent[] = [];
    const child = startTrainingProcessFromEntry(
      'testing/scripted-training.child',
      input(pretrain('scripted', 1)),
      async (event) => {
        handled.push(event);
        await handle(event);
      },
      { ...options, env: scriptedEnv(script), onOutput: () => undefined },
    );
    return { outcome: await child.done, handled, pid: child.pid! };
  };

  it('kills a process at its first invalid message and fails the attempt without retry, naming what was wrong', async () => {
    // A NUL in a metric name: unchecked, PostgreSQL refused the batch, and every retry sent it again.
    const nul = await scripted({ messages: [metrics('loss', 0), metrics('val\u0000loss', 1), metrics('loss', 2)] });
    expect(nul.outcome).toEqual({
      status: 'failed',
      retryable: false,
      reason: expect.stringMatching(
        /^training process of run \S+ \(pid \d+\) sent an invalid message and was killed \(SIGKILL\): event\.points\[0\]\.name: Control character U\+0000 at position 3 is not allowed$/,
      ),
    });
    // What came before it was handled, in order; nothing after it.
    expect(nul.handled).toEqual([metrics('loss', 0).event]);
    expect(alive(nul.pid)).toBe(false);

    const unknown = await scripted({ messages: [{ kind: 'event', event: { type: 'telemetry' } }] });
    expect(unknown.outcome).toMatchObject({
      status: 'failed',
      retryable: false,
      reason: expect.stringContaining('event.type: Invalid discriminator value'),
    });
    expect(unknown.handled).toEqual([]);
  });

  it('kills a process that floods events past the backlog limit, failing the attempt retryably', async () => {
    const eventBacklog = { pauseAt: 50, resumeAt: 10, failAt: 200 };
    // The scripted process never waits when asked to, as code flooding within a batch would not.
    const flood = await scripted({ messages: [metrics('loss', 0)], times: 5000 }, () => sleep(5), { eventBacklog });
    expect(flood.outcome).toEqual({
      status: 'failed',
      retryable: true,
      reason: expect.stringMatching(
        /^training process of run \S+ \(pid \d+\) got more than 200 events and metric points ahead of their handling \(the database writes\) without waiting, and was killed \(SIGKILL\)$/,
      ),
    });
    // Each event counts 2 (itself and its point): at most 100 were waiting, a few more handled.
    expect(flood.handled.length).toBeLessThan(120);
    expect(alive(flood.pid)).toBe(false);
  });

  it('lets a burst of data reports through, as a streamed dataset sends one per bad image it tolerates', async () => {
    const eventBacklog = { pauseAt: 50, resumeAt: 10, failAt: 200 };
    // 300 reports in one burst, each listing 300 skipped files (every skip so far, as the stream
    // reports them): far past failAt if their lists counted, one each as they replace each other.
    const skipped = Array.from({ length: 300 }, (_, i) => ({
      file: `s3://b/shards/x.tar#${i}.jpg`,
      reason: 'truncated',
    }));
    const report = {
      kind: 'event',
      event: {
        type: 'data-report',
        report: {
          classNames: ['cat', 'dog'],
          files: 10_000,
          splits: { train: 8000, validation: 1000, test: 1000 },
          skippedCount: 300,
          skipped,
          decoded: 0,
          cacheHits: 0,
        },
      },
    };
    const burst = await scripted({ messages: [report], times: 150 }, () => sleep(1), { eventBacklog });
    expect(burst.outcome).toEqual({ status: 'succeeded' });
    expect(burst.handled).toHaveLength(150);
  });

  it('holds a real training back between batches while its events wait to be handled, then lets it finish', async () => {
    // How far the training had got (its "epoch E/12" lines, printed as it posts each epoch's
    // metrics) each time the handler reached an epoch's metrics.
    let printed = 0;
    const lags: number[] = [];
    const changes: BacklogChange[] = [];
    const training = startTrainingProcess(
      { ...input(pretrain('held back', 12)), backend: 'wasm' },
      async (event) => {
        if (event.type === 'metrics') {
          const epoch = event.points.find((p) => p.name === 'loss')?.epoch;
          if (epoch !== undefined) lags.push(printed - epoch);
        }
        // A slow database: each write takes 15 ms.
        await sleep(15);
      },
      {
        eventBacklog: { pauseAt: 12, resumeAt: 4, failAt: 10_000 },
        onBacklog: (change) => changes.push(change),
        onOutput: (line) => {
          const epoch = /^epoch (\d+)\/12 /.exec(line.text)?.[1];
          if (epoch) printed = Number(epoch);
        },
      },
    );
    expect(await training.done).toEqual({ status: 'succeeded' });
    expect(lags).toHaveLength(12);
    // An epoch is 9 batches (a sampled batch_loss each) and its metrics: paused at 12 items waiting,
    // the training is never more than an epoch or two ahead of what was handled. Left to run, it was
    // 6 to 10 epochs ahead by the end.
    expect(Math.max(...lags)).toBeLessThanOrEqual(2);
    // Each pause was told, then its end, with how long it lasted: what the worker logs and counts.
    expect(changes.length).toBeGreaterThanOrEqual(2);
    changes.forEach((change, i) => {
      expect(change.paused).toBe(i % 2 === 0);
      if (change.paused) expect(change.waiting).toBeGreaterThanOrEqual(12);
      else expect(change).toMatchObject({ waiting: expect.any(Number), pausedMs: expect.any(Number) });
      if (!change.paused) expect(change.waiting).toBeLessThanOrEqual(4);
    });
    expect(changes.at(-1)!.paused).toBe(false);
  });

  it('delivers every event even when what reports a pause throws (a metrics counter refusing a value)', async () => {
    let handled = 0;
    const errors: string[] = [];
    const training = startTrainingProcess(
      { ...input(pretrain('hook throws', 4)), backend: 'wasm' },
      async () => {
        handled++;
        await sleep(15);
      },
      {
        eventBacklog: { pauseAt: 6, resumeAt: 2, failAt: 10_000 },
        onBacklog: () => {
          throw new Error('It is not possible to decrease a counter');
        },
        onOutput: (line) => {
          if (line.text.includes('reporting the event backlog failed')) errors.push(line.text);
        },
      },
    );
    expect(await training.done).toEqual({ status: 'succeeded' });
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(handled).toBeGreaterThan(4);
  });

  it('keeps a held-back training heartbeating: held longer than its silence deadline, it is not killed', async () => {
    let printed = 0;
    let printedWhenHandled: number | undefined;
    const training = startTrainingProcess(
      { ...input(pretrain('held long', 3)), backend: 'wasm' },
      async (event) => {
        if (event.type !== 'metrics' || printedWhenHandled !== undefined) return;
        // The first write takes 7.5 s, three silence deadlines (2.5 s each: one batch on a loaded
        // 2-core machine has taken over 1 s, so a 1 s deadline killed a training that was not held).
        await sleep(7500);
        printedWhenHandled = printed;
      },
      {
        heartbeatTimeoutMs: 2500,
        eventBacklog: { pauseAt: 3, resumeAt: 1, failAt: 10_000 },
        onOutput: (line) => {
          const epoch = /^epoch (\d+)\/3 /.exec(line.text)?.[1];
          if (epoch) printed = Number(epoch);
        },
      },
    );
    expect(await training.done).toEqual({ status: 'succeeded' });
    // It waited in its first epoch all that time (free, it ends all 3 epochs in well under 7.5 s).
    expect(printedWhenHandled).toBe(0);
  });
});
