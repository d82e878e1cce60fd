import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClassificationReport, type RunSpecInput, RunSpecSchema } from '@trainyard/contracts';
import { CheckpointStore, LocalObjectStore } from '@trainyard/storage';
import { prestartTrainingProcess, startTrainingProcess, type TrainingProcessOptions } from './start-training-process';
import type { TrainingEvent, TrainingJobInput } from './training-job.types';
import { collectTrainingProcess } from './testing/collect-training-process';
import type { TrainingOutputLine } from './training-output';

// Needs the compiled training process: `node tools/build.mjs libs` (the test command builds first).
const dataset = { name: 'synthetic-shapes', imageSize: 16, perClass: 40, testPerClass: 10 } as const;
const architecture: { inputShape: [number, number, 1]; filters: number[]; latentDim: number } = {
  inputShape: [16, 16, 1],
  filters: [4, 8],
  latentDim: 16,
};

type Input = Omit<TrainingJobInput, 'spec'> & { spec: RunSpecInput };

async function train(
  input: Input,
  onEvent: (event: TrainingEvent, handle: ReturnType<typeof startTrainingProcess>) => void = () => undefined,
  options: TrainingProcessOptions = {},
) {
  const output: TrainingOutputLine[] = [];
  const run = await collectTrainingProcess({ ...input, spec: RunSpecSchema.parse(input.spec) }, onEvent, {
    onOutput: (line) => output.push(line),
    ...options,
  });
  return { outcome: run.outcome, events: run.events, output, handle: run.handle };
}

describe('startTrainingProcess', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'trainyard-training-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('pretrains, then fine-tunes from the pretrain checkpoint well above chance', async () => {
    const storage = { driver: 'local', root } as const;
    const pretrainId = randomUUID();
    const pre = await train({
      runId: pretrainId,
      storage,
      firstCheckpointSequence: 1,
      spec: {
        kind: 'pretrain',
        name: 'tiny pretrain',
        dataset,
        model: { type: 'conv-autoencoder', ...architecture },
        training: { epochs: 3, batchSize: 16, learningRate: 0.01, seed: 3 },
        checkpoint: { everyEpochs: 2 },
      },
    });
    expect(pre.outcome).toEqual({ status: 'succeeded' });
    const backend = pre.events.find((e) => e.type === 'backend');
    expect(backend).toMatchObject({ type: 'backend', backend: expect.any(String), detail: expect.any(String) });
    const checkpoints = pre.events.filter((e) => e.type === 'checkpoint');
    // Every 2 epochs, the final one, and epoch 1's: the first validation is always the best so far.
    expect(checkpoints.map((c) => [c.sequence, c.epoch, c.reason])).toEqual([
      [1, 1, 'best'],
      [2, 2, 'interval'],
      [3, 3, 'final'],
    ]);
    const last = checkpoints[2];
    expect(last.models).toEqual(['autoencoder', 'encoder']);
    const stored = await new CheckpointStore(new LocalObjectStore(root)).read(last.uri);
    expect(Object.keys(stored.files)).toContain('encoder/weights.bin');
    const result = pre.events.find((e) => e.type === 'result');
    expect(result).toMatchObject({ result: { split: 'test', samples: 40, mse: expect.any(Number) } });
    // 160 images, 16 held out for validation: 144 / 16 = 9 steps per epoch.
    const progress = pre.events.flatMap((e) => (e.type === 'progress' ? [e.progress] : []));
    expect(progress[0].phase).toBe('loading');
    expect(progress.at(-1)).toMatchObject({ phase: 'done', epoch: 3, epochs: 3, step: 26, stepsPerEpoch: 9 });
    const steps = pre.events.flatMap((e) => (e.type === 'metrics' ? e.points.map((p) => p.step) : []));
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    // What the process printed reached onOutput line by line, every line before `done` settled.
    const printed = pre.output.filter((l) => l.stream === 'stdout').map((l) => l.text);
    expect(printed.filter((t) => t.startsWith('epoch '))).toEqual(
      [1, 2, 3].map((e) =>
        expect.stringMatching(new RegExp(`^epoch ${e}/3 loss \\S+ val_loss \\S+ val_mse \\S+ \\(\\d+ img/s\\)$`)),
      ),
    );
    expect(printed).toContain(`checkpoint 3 written (epoch 3, step 26, ${(last.bytes / 1024).toFixed(1)} KiB, final)`);
    expect(printed).toContainEqual(
      expect.stringMatching(/^result on the test split: reconstruction MSE \S+ over 40 samples$/),
    );

    const fine = await train({
      runId: randomUUID(),
      storage,
      firstCheckpointSequence: 1,
      baseCheckpointUri: last.uri,
      spec: {
        kind: 'finetune',
        name: 'tiny finetune',
        dataset: { ...dataset, labelsPerClass: 30 },
        model: { type: 'classifier', baseRunId: pretrainId, headUnits: 16 },
        training: { epochs: 20, batchSize: 16, learningRate: 0.01, seed: 3 },
        checkpoint: { everyEpochs: 100 },
      },
    });
    expect(fine.outcome).toEqual({ status: 'succeeded' });
    // everyEpochs 100: the final checkpoint, and one at each new best val_accuracy before it.
    const fineCheckpoints = fine.events.flatMap((e) => (e.type === 'checkpoint' ? [e] : []));
    expect(new Set(fineCheckpoints.map((c) => c.models.join()))).toEqual(new Set(['classifier']));
    expect(fineCheckpoints.map((c) => c.reason)).toEqual([...fineCheckpoints.slice(0, -1).map(() => 'best'), 'final']);
    const report = (fine.events.find((e) => e.type === 'result') as { result: ClassificationReport }).result;
    expect(report.classNames).toEqual(['circle', 'square', 'triangle', 'cross']);
    // Chance is 25%; over five tries this setup scored 0.65-0.875 on the 40 test shapes.
    expect(report.accuracy).toBeGreaterThan(0.5);
  });

  it('ends cancelled when cancelled, and fails without retry on a bad base checkpoint', async () => {
    const storage = { driver: 'local', root } as const;
    const events: TrainingEvent[] = [];
    const handle = startTrainingProcess(
      {
        runId: randomUUID(),
        storage,
        firstCheckpointSequence: 1,
        spec: RunSpecSchema.parse({
          kind: 'pretrain',
          name: 'to cancel',
          dataset,
          model: { type: 'conv-autoencoder', ...architecture },
          training: { epochs: 50, batchSize: 4 },
        }),
      },
      (e) => {
        events.push(e);
        if (e.type === 'metrics') handle.cancel();
      },
    );
    expect(await handle.done).toEqual({ status: 'cancelled' });
    expect(events.some((e) => e.type === 'result')).toBe(false);

    const bad = await train({
      runId: randomUUID(),
      storage,
      firstCheckpointSequence: 1,
      baseCheckpointUri: new LocalObjectStore(root).uri('runs/nowhere/checkpoints/1/'),
      spec: { kind: 'finetune', name: 'no base', dataset, model: { type: 'classifier', baseRunId: randomUUID() } },
    });
    expect(bad.outcome).toMatchObject({
      status: 'failed',
      retryable: false,
      reason: expect.stringContaining('nowhere'),
    });
  });

  it('cancels and fails (retryable) when handling an event fails', async () => {
    const handle = startTrainingProcess(
      {
        runId: randomUUID(),
        storage: { driver: 'local', root },
        firstCheckpointSequence: 1,
        spec: RunSpecSchema.parse({
          kind: 'pretrain',
          name: 'db down',
          dataset,
          model: { type: 'conv-autoencoder', ...architecture },
        }),
      },
      async (e) => {
        if (e.type === 'backend') throw new Error('database unreachable');
      },
    );
    expect(await handle.done).toEqual({
      status: 'failed',
      retryable: true,
      reason: expect.stringMatching(/'backend' event .* failed: database unreachable/),
    });
  });

  /** 144 training images in batches of 4: 36 steps an epoch, every second one sampled as batch_loss. */
  const long = (name: string, training = { epochs: 50, batchSize: 4, seed: 1 }): Input => ({
    runId: randomUUID(),
    storage: { driver: 'local', root },
    firstCheckpointSequence: 1,
    backend: 'wasm',
    spec: {
      kind: 'pretrain',
      name,
      dataset,
      model: { type: 'conv-autoencoder', ...architecture },
      training,
      checkpoint: { everyEpochs: 100 },
    },
  });
  /** One epoch of 9 batches. */
  const short = (name: string): Input => long(name, { epochs: 1, batchSize: 16, seed: 1 });
  const batchSteps = (events: TrainingEvent[]) =>
    events.flatMap((e) =>
      e.type === 'metrics' ? e.points.filter((p) => p.name === 'batch_loss').map((p) => p.step) : [],
    );

  it('cancels and preempts between two batches, mid-epoch, though the training leaves its event loop no turn', async () => {
    const cancelled = await train(long('cancel mid-epoch'), (e, handle) => {
      if (e.type === 'metrics' && batchSteps([e]).includes(4)) handle.cancel();
    });
    expect(cancelled.outcome).toEqual({ status: 'cancelled' });
    // Acted within a few batches of the request, well before the first epoch's end (step 35).
    expect(Math.max(...batchSteps(cancelled.events))).toBeLessThan(20);

    const preempted = await train(long('preempt mid-epoch'), (e, handle) => {
      if (e.type === 'metrics' && batchSteps([e]).includes(4)) handle.preempt();
    });
    expect(preempted.outcome).toEqual({ status: 'preempted' });
    const checkpoint = preempted.events.find((e) => e.type === 'checkpoint');
    expect(checkpoint).toMatchObject({ reason: 'preempt', epoch: 0 });
    // The checkpoint holds the position it stopped at: nothing trained was left out of it.
    expect((checkpoint as { step: number }).step).toBeGreaterThanOrEqual(Math.max(...batchSteps(preempted.events)));
    expect((checkpoint as { step: number }).step).toBeLessThan(20);
  });

  it('runs each training in a fresh process, and a kill -9 of it is a retryable failure with the crash recorded', async () => {
    const first = await train(short('first'));
    expect(first.outcome).toEqual({ status: 'succeeded' });
    const killed = await train(long('killed'), (e, handle) => {
      if (e.type === 'metrics' && handle.pid) process.kill(handle.pid, 'SIGKILL');
    });
    expect([first.handle.pid, killed.handle.pid]).not.toContain(process.pid);
    expect(killed.handle.pid).not.toBe(first.handle.pid);
    expect(killed.outcome).toEqual({
      status: 'failed',
      retryable: true,
      reason: expect.stringMatching(
        /^training process of run \S+ \(pid \d+\) ended without an outcome \(signal SIGKILL\)/,
      ),
      crash: { pid: killed.handle.pid, exitCode: null, signal: 'SIGKILL', stderrTail: expect.any(Array) },
    });
  });

  it('kills a training that stops answering after the deadline (test-only hang), and only that one', async () => {
    const hangOnce = join(root, `hang-${randomUUID()}`);
    const options = { heartbeatTimeoutMs: 3000, env: { NODE_ENV: 'test', TRAINYARD_TEST_CHILD_HANG_ONCE: hangOnce } };
    let lastEventAt = 0;
    const hung = await train(long('hangs'), () => (lastEventAt = Date.now()), options);
    const killedAfter = Date.now() - lastEventAt;
    expect(hung.outcome).toMatchObject({
      status: 'failed',
      retryable: true,
      reason: expect.stringMatching(
        /sent nothing for \d+ ms \(WORKER_CHILD_HEARTBEAT_TIMEOUT_MS=3000\) and was killed \(SIGKILL\); its last stderr lines: training process \d+ hangs now/,
      ),
      crash: { signal: 'SIGKILL', exitCode: null, silentMs: expect.any(Number) },
    });
    // Killed after the deadline, with at most two ticks of the watch (a quarter of it each) to spare.
    const { silentMs } = (hung.outcome as { crash: { silentMs: number } }).crash;
    expect(silentMs).toBeGreaterThanOrEqual(3000);
    expect(killedAfter).toBeLessThan(3000 + 2 * 750 + 2000);
    // The hook hangs the first process only: the next one, same settings, trains on.
    const next = await train(short('after the hang'), () => undefined, options);
    expect(next.outcome).toEqual({ status: 'succeeded' });
  });

  it('trains on the (fake) GPU backend pinned by the environment it is given, a fresh process each time', async () => {
    const gpu = (device: string): TrainingProcessOptions => ({
      env: {
        NODE_ENV: 'test',
        TRAINYARD_TEST_FAKE_TFJS_NODE_GPU: '1',
        CUDA_VISIBLE_DEVICES: device,
        TF_FORCE_GPU_ALLOW_GROWTH: 'true',
      },
    });
    const input = (): Input => ({ ...short('on a gpu'), backend: 'tensorflow-gpu' });
    // The fake binding, like tfjs-node's, cannot load twice in one process: a reused process would fail the second run.
    const runs = [await train(input(), undefined, gpu('1')), await train(input(), undefined, gpu('0'))];
    for (const [i, run] of runs.entries()) {
      expect(run.outcome).toEqual({ status: 'succeeded' });
      expect(run.events.find((e) => e.type === 'backend')).toMatchObject({
        backend: 'tensorflow-gpu',
        detail: expect.stringContaining('GPU device in use'),
      });
      const device = i === 0 ? '1' : '0';
      expect(run.output).toContainEqual({
        stream: 'stderr',
        text: `fake tfjs-node-gpu: loaded in process ${run.handle.pid} with CUDA_VISIBLE_DEVICES=${device} TF_FORCE_GPU_ALLOW_GROWTH=true`,
      });
    }
    expect(runs[0]!.handle.pid).not.toBe(runs[1]!.handle.pid);
  });

  it('fails a run for good when its first step runs out of (fake) GPU memory, naming training.batchSize', async () => {
    // 256 KiB of "GPU": the first convolution's output at batch 128 (128 × 16 × 16 × 4 floats, 512 KiB) does not fit.
    const small: TrainingProcessOptions = {
      env: { NODE_ENV: 'test', TRAINYARD_TEST_FAKE_TFJS_NODE_GPU: '1', TRAINYARD_TEST_FAKE_GPU_MEMORY_BYTES: '262144' },
    };
    const input = (): Input => ({
      ...long('too large for the gpu', { epochs: 1, batchSize: 128, seed: 1 }),
      backend: 'tensorflow-gpu',
    });
    const run = await train(input(), undefined, small);
    expect(run.outcome).toEqual({
      status: 'failed',
      retryable: false,
      reason: expect.stringMatching(
        /^run \S+: training\.batchSize: a training step on a batch of 128 ran out of GPU memory \(OOM when allocating tensor with shape\[128,16,16,4\] .*device:GPU:0.*\): lower training\.batchSize/,
      ),
    });
    expect(run.events.filter((e) => e.type === 'checkpoint')).toEqual([]);
  });

  it('prestarts a process that loads its backend while it waits, unwatched, then trains the attempt it is given, once', async () => {
    const idle: TrainingOutputLine[] = [];
    const heartbeatTimeoutMs = 1000;
    const spare = prestartTrainingProcess({ backend: 'wasm', heartbeatTimeoutMs, onOutput: (l) => idle.push(l) });
    const loaded = Date.now();
    while (!idle.some((l) => l.text.startsWith('prestarted: wasm backend loaded')) && Date.now() - loaded < 30_000)
      await new Promise((r) => setTimeout(r, 50));
    expect(idle.map((l) => l.text)).toContainEqual(expect.stringMatching(/^prestarted: wasm backend loaded/));
    // Waiting sends nothing: past several silence deadlines it is alive all the same.
    await new Promise((r) => setTimeout(r, 3 * heartbeatTimeoutMs));
    const output: TrainingOutputLine[] = [];
    const events: TrainingEvent[] = [];
    const handle = spare.train(
      { ...short('prestarted'), spec: RunSpecSchema.parse(short('prestarted').spec) },
      (e) => {
        events.push(e);
      },
      { onOutput: (l) => output.push(l) },
    );
    expect(handle.pid).toBe(spare.pid);
    expect(await handle.done).toEqual({ status: 'succeeded' });
    // It trained on the backend it had loaded while it waited (how much sooner: npm run bench:dispatch).
    expect(events.filter((e) => e.type === 'backend')).toEqual([expect.objectContaining({ backend: 'wasm' })]);
    // The attempt's lines went to the attempt's sink, none to the idle one after it was given.
    expect(output.some((l) => /training/.test(l.text) || l.stream === 'stdout')).toBe(true);
    expect(idle.every((l) => !l.text.includes('epoch'))).toBe(true);
    expect(() => spare.train(short('again') as TrainingJobInput, () => undefined)).toThrow(/already given an attempt/);
    await spare.exited;
  });

  it('trains the attempt a prestarted process is given while it is still loading its backend', async () => {
    const spare = prestartTrainingProcess({ backend: 'wasm', onOutput: () => undefined });
    // At once: the start message arrives mid-load, when nothing but the load holds the process.
    const handle = spare.train(
      { ...short('given at once'), spec: RunSpecSchema.parse(short('given at once').spec) },
      () => undefined,
    );
    expect(await handle.done).toEqual({ status: 'succeeded' });
  });

  it('discards a prestarted process that was never given an attempt', async () => {
    const spare = prestartTrainingProcess({ backend: 'wasm', onOutput: () => undefined });
    spare.discard();
    await spare.exited;
    expect(spare.pid).toEqual(expect.any(Number));
    expect(() => process.kill(spare.pid!, 0)).toThrow();
  });
});
