import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_MODEL_PARAMETERS, type RunSpecInput, RunSpecSchema } from '@trainyard/contracts';
import { startTrainingProcess } from './start-training-process';
import type { TrainingEvent, TrainingJobInput } from './training-job.types';

// Needs the compiled training process: `node tools/build.mjs libs` (the test command builds first).
// A head on a pretrained base is sized only in the training process (the API does not know the base's
// features): one past the limits must fail there for good before it is allocated, not crash out of memory.
const dataset = { name: 'synthetic-shapes', imageSize: 16, perClass: 8, testPerClass: 2 } as const;
const architecture = { inputShape: [16, 16, 1] as [number, number, 1], filters: [4, 8], latentDim: 8 };
/** How long a refused head may take, from the last event before it is built to the outcome. */
const FAST_MS = 500;

const dense = (name: string, units: number, activation = 'relu') => ({
  class_name: 'Dense',
  config: { name, units, activation },
});
const head = (...layers: object[]) => ({
  class_name: 'Sequential',
  config: { layers: [{ class_name: 'Flatten', config: { name: 'flat' } }, ...layers] },
});

describe('a head on a pretrained base, sized in the training process', () => {
  let root: string;
  let baseUri: string;

  async function run(spec: RunSpecInput, extra: Partial<TrainingJobInput> = {}) {
    const events: { event: TrainingEvent; at: number }[] = [];
    const handle = startTrainingProcess(
      {
        runId: randomUUID(),
        firstCheckpointSequence: 1,
        backend: 'wasm',
        spec: RunSpecSchema.parse(spec),
        storage: { driver: 'local', root },
        ...extra,
      },
      (event) => void events.push({ event, at: performance.now() }),
    );
    // A head that is built after all would train (or crash) for long: stopped, it ends 'cancelled'.
    const guard = setTimeout(() => handle.cancel(), 30_000);
    const outcome = await handle.done.finally(() => clearTimeout(guard));
    return { outcome, events, endedAt: performance.now() };
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'trainyard-head-size-'));
    const pretrain = await run({
      kind: 'pretrain',
      name: 'small base',
      dataset,
      model: { type: 'conv-autoencoder', ...architecture },
      training: { epochs: 1, batchSize: 8, seed: 3 },
    });
    expect(pretrain.outcome).toEqual({ status: 'succeeded' });
    const saved = pretrain.events.map((e) => e.event).filter((e) => e.type === 'checkpoint');
    baseUri = saved.at(-1)!.uri;
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  // The base's features at its 'conv' cut are [4, 4, 8]: 128 values once flattened.
  it.each([
    [
      'Dense(65536) → Dense(65536): 4.3 billion parameters',
      head(dense('wide', 65_536), dense('wider', 65_536), dense('out', 4, 'softmax')),
      /^run \S+: model\.layers\.head\.config\.layers\.2: Dense 'wider': Brings the model to 4,295,032,832 parameters; no model may hold more than 100,000,000 \(the head is fed the base's features \[4, 4, 8\]\)$/,
    ],
    [
      'a layer that fits alone past the ceiling with the layers before it',
      head(dense('wide', 65_536), dense('narrow', 1_400), dense('out', 4, 'softmax')),
      /model\.layers\.head\.config\.layers\.2: Dense 'narrow': Brings the model to 100,205,944 parameters; .* \(the layer holds 91,751,800; the head is fed the base's features \[4, 4, 8\]\)$/,
    ],
  ])('fails a head of %s for good, before building it', async (_what, layersHead, reason) => {
    const { outcome, events, endedAt } = await run(
      {
        kind: 'finetune',
        name: 'oversized head',
        dataset,
        model: { type: 'classifier', baseRunId: randomUUID(), ...architecture, layers: { head: layersHead } },
        training: { epochs: 1, batchSize: 8, seed: 3 },
      },
      { baseCheckpointUri: baseUri },
    );
    expect(outcome).toEqual({ status: 'failed', retryable: false, reason: expect.stringMatching(reason) });
    expect(MAX_MODEL_PARAMETERS).toBe(100_000_000);
    // Nothing trained or saved; the failure came straight after the data and the base were read.
    expect(events.map((e) => e.event.type)).toEqual(['progress', 'backend']);
    expect(endedAt - events.at(-1)!.at).toBeLessThan(FAST_MS);
  });

  // QUOTA_MODEL_PARAMETERS (the worker's, in the input) bounds the spec's own head, which the API
  // cannot size on this base. On the base's 128 features, each head below holds ~136,000 parameters:
  // far under the ceiling, past a quota of 100,000.
  const quota = 100_000;
  const finetune = (name: string, model: object): RunSpecInput => ({
    kind: 'finetune',
    name,
    dataset,
    model: { type: 'classifier', baseRunId: randomUUID(), ...architecture, ...model },
    training: { epochs: 1, batchSize: 8, seed: 3 },
  });
  const heads = [
    [
      'the built-in head (headUnits 1024)',
      { headUnits: 1024 },
      /^run \S+: model\.headUnits: The built-in head holds 136,708 parameters; the project's quota is 100,000 \(QUOTA_MODEL_PARAMETERS\)\. Its largest layer, Dense 'head_hidden', holds 132,096 \(the head is fed the base's features \[4, 4, 8\]\)$/,
    ],
    [
      'a layers head (Dense(1024))',
      { layers: { head: head(dense('wide', 1_024), dense('out', 4, 'softmax')) } },
      /^run \S+: model\.layers\.head\.config\.layers\.1: The head holds 136,196 parameters; the project's quota is 100,000 \(QUOTA_MODEL_PARAMETERS\)\. Its largest layer, Dense 'wide', holds 132,096 \(the head is fed the base's features \[4, 4, 8\]\)$/,
    ],
  ] as const;

  it.each(heads)('fails %s past the quota it is given for good, before building it', async (_what, model, reason) => {
    const { outcome, events, endedAt } = await run(finetune('head past the quota', model), {
      baseCheckpointUri: baseUri,
      modelParameterQuota: quota,
    });
    expect(outcome).toEqual({ status: 'failed', retryable: false, reason: expect.stringMatching(reason) });
    expect(events.map((e) => e.event.type)).toEqual(['progress', 'backend']);
    expect(endedAt - events.at(-1)!.at).toBeLessThan(FAST_MS);
  });

  it.each(
    heads.flatMap(([what, model]): [string, string, object, Partial<TrainingJobInput>][] => [
      [what, 'no quota (MAX_MODEL_PARAMETERS)', model, {}],
      [what, 'a quota it fits', model, { modelParameterQuota: 10_000_000 }],
    ]),
  )('trains %s given %s', async (_what, _quota, model, given) => {
    const { outcome, events } = await run(finetune('head within the quota', model), {
      baseCheckpointUri: baseUri,
      ...given,
    });
    expect(outcome).toEqual({ status: 'succeeded' });
    expect(events.some((e) => e.event.type === 'result')).toBe(true);
  });

  // Not a head's size, but the same read of the base: a bucket restored from an older backup lost it.
  it('fails for good naming the base run when its checkpoint is gone from the store', async () => {
    const gone = baseUri.replace(/\/checkpoints\/\d+\/$/, '/checkpoints/999/');
    expect(gone).not.toBe(baseUri);
    const { outcome } = await run(finetune('base gone', { headUnits: 8 }), { baseCheckpointUri: gone });
    expect(outcome).toEqual({
      status: 'failed',
      retryable: false,
      reason: expect.stringMatching(
        new RegExp(
          `^run \\S+: Base run [0-9a-f-]{36} cannot be fine-tuned from: .*checkpoints/999/.*manifest\\.json is missing`,
        ),
      ),
    });
  });
});
