import type { INestApplication } from '@nestjs/common';
import {
  type BaseRunSpec,
  GIB,
  largestBatchWithin,
  parseRunSpec,
  RunSpecSchema,
  type RunSpecInput,
  trainingMemory,
  trainingMemoryOnBase,
  WASM_MEMORY_GIB,
} from '@trainyard/contracts';
import { randomUUID } from 'node:crypto';
import { CheckpointsRepository, type Database, RunsRepository, WorkersRepository } from '@trainyard/db';
import { DATABASE } from '@trainyard/infrastructure';
import { startTestApi, type TestApi } from '../testing/test-api';
import { succeededRun } from '../testing/succeeded-run';

type Problem = { errors?: { field: string; message: string }[] };

/** The autoencoder measured on wasm: traps at a batch of 512, trains at 256 (docs/training.md). */
const autoencoder = (batchSize: number, extra: object = {}) => ({
  kind: 'pretrain',
  name: `ae ${batchSize}`,
  dataset: { name: 'synthetic-shapes', imageSize: 64, channels: 3, perClass: 4 },
  model: { type: 'conv-autoencoder', inputShape: [64, 64, 3], filters: [32, 64], latentDim: 64 },
  training: { epochs: 1, batchSize },
  ...extra,
});

/** A `layers-autoencoder` of its own: two 3×3 convolutions of 32 filters at 64×64×3, one back to 3 channels. */
const ownConv = (name: string, extra: object = {}) => ({
  class_name: 'Conv2D',
  config: { name, filters: 32, kernel_size: 3, padding: 'same', activation: 'relu', ...extra },
});
const ownEncoder = {
  class_name: 'Sequential',
  config: { layers: [ownConv('e1', { batch_input_shape: [null, 64, 64, 3] }), ownConv('e2')] },
};
const ownDecoder = {
  class_name: 'Sequential',
  config: { layers: [ownConv('d1', { filters: 3, activation: 'sigmoid' })] },
};

function estimateOf(input: object) {
  const parsed = parseRunSpec(input as RunSpecInput);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return trainingMemory(parsed.spec)!;
}

/**
 * What a run needs on its device is estimated from its layers at submit (training-memory.ts):
 * a batch past the wasm backend's 4 GiB on a fleet that only trains on wasm, and a declared
 * resources.memoryGb below the estimate, are refused with a 422 rather than queued to fail on
 * their first step; the fleet is held to the larger of the two. Real PostgreSQL, Redis and HTTP.
 */
describe('the training-memory estimate at submit (PostgreSQL, Redis, HTTP)', () => {
  let api: TestApi;
  let app: INestApplication;
  let workers: WorkersRepository;
  const started: string[] = [];

  beforeAll(async () => {
    api = await startTestApi();
    app = api.app;
    workers = new WorkersRepository(app.get<Database>(DATABASE).prisma);
  });
  afterEach(async () => {
    for (const id of started.splice(0)) await workers.stop(id);
  });
  afterAll(() => api?.stop());

  async function post(route: string, body: unknown): Promise<{ status: number; body: Problem & { id?: string } }> {
    const res = await api.fetch(`${api.baseUrl}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Problem };
  }
  async function startWorker(
    id: string,
    backend: string,
    fields: Partial<Parameters<WorkersRepository['register']>[0]>,
  ) {
    await workers.register({ id, hostname: id, pid: 1, backend, gpu: null, concurrency: 1, ...fields });
    started.push(id);
  }
  const cpuWasmWorker = () => startWorker('cpu-wasm', 'wasm', { resourceClasses: ['cpu', 'any'], memoryMb: 65_536 });

  it('refuses a declared resources.memoryGb below the estimate, naming it, whatever the fleet', async () => {
    const spec = autoencoder(256, { resources: { accelerator: 'any', memoryGb: 1 } });
    const estimate = estimateOf(spec).bytes / GIB;
    expect(estimate).toBeGreaterThan(1);
    const res = await post('/v1/runs', spec);
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([
      {
        field: 'resources.memoryGb',
        message: expect.stringMatching(
          /^Declares 1 GB on its device, but its training needs about \d+\.\d\d GiB .*training\.batchSize 256/,
        ),
      },
    ]);
    const enough = await post('/v1/runs', autoencoder(256, { resources: { memoryGb: Math.ceil(estimate) } }));
    expect(enough.status).toBe(201);
  });

  it("refuses a batch past the wasm backend's 4 GiB when only wasm workers serve the class, naming training.batchSize and the largest batch it allows", async () => {
    await cpuWasmWorker();
    const largest = largestBatchWithin(estimateOf(autoencoder(1)), WASM_MEMORY_GIB * GIB);
    expect(largest).toBeGreaterThanOrEqual(256);
    expect(largest).toBeLessThan(512);
    const cpu = { resources: { accelerator: 'cpu' } };

    const over = await post('/v1/runs', autoencoder(largest + 1, cpu));
    expect(over.status).toBe(422);
    expect(over.body.errors).toEqual([
      {
        field: 'training.batchSize',
        message: expect.stringMatching(
          new RegExp(
            `^A training step on a batch of ${largest + 1} needs about 4\\.\\d\\d GiB .*more than the 4 GiB the wasm backend can hold, and every live worker that serves resource class "cpu" trains on wasm: lower training.batchSize to at most ${largest},`,
          ),
        ),
      },
    ]);
    expect((await post('/v1/runs', autoencoder(largest, cpu))).status).toBe(201);

    // A sweep's runs are held to it each: the swept batch is what breaks it.
    const sweep = {
      name: 'batches',
      base: {
        ...autoencoder(32, cpu),
        kind: 'finetune',
        model: { type: 'classifier', filters: [64, 128], inputShape: [64, 64, 3] },
      },
      strategy: 'grid',
      parameters: { 'training.batchSize': [32, 1024] },
      metric: 'test/accuracy',
      goal: 'max',
    };
    // Named where the request holds the value to change (the sweep schema's path), saying which.
    const swept = await post('/v1/sweeps', sweep);
    expect(swept.status).toBe(422);
    expect(swept.body.errors?.map((e) => e.field)).toEqual(['parameters.training.batchSize']);
    expect(swept.body.errors?.[0]?.message).toMatch(
      /^With training\.batchSize=1024: A training step on a batch of 1024 .*lower training\.batchSize to at most \d+,/,
    );
    // A swept parameter that sizes the model, the batch the base's: the base's batch is what to lower.
    const wide = { ...sweep, parameters: { 'model.headUnits': [16, 32] } };
    const wider = await post('/v1/sweeps', {
      ...wide,
      base: { ...sweep.base, training: { epochs: 1, batchSize: 1024 } },
    });
    expect(wider.status).toBe(422);
    expect(wider.body.errors?.map((e) => e.field)).toEqual(['base.training.batchSize']);
    expect(wider.body.errors?.[0]?.message).toMatch(/^With model\.headUnits=32: A training step on a batch of 1024 /);
  });

  it("names the swept batch that breaks a sweep base's resources.memoryGb", async () => {
    const sweep = {
      name: 'declared',
      base: {
        ...autoencoder(32, { resources: { accelerator: 'any', memoryGb: 1 } }),
        kind: 'finetune',
        model: { type: 'classifier', filters: [64, 128], inputShape: [64, 64, 3] },
      },
      strategy: 'grid',
      parameters: { 'training.batchSize': [32, 512] },
    };
    const res = await post('/v1/sweeps', sweep);
    expect(res.status).toBe(422);
    // resources.memoryGb is the base's own (no sweep parameter sets it): named there, with the run's values.
    expect(res.body.errors).toEqual([
      {
        field: 'base.resources.memoryGb',
        message: expect.stringMatching(
          /^With training\.batchSize=512: Declares 1 GB on its device, but its training needs about \d+\.\d\d GiB .*training\.batchSize 512/,
        ),
      },
    ]);
  });

  it("sizes a pipeline's fine-tune step by its pretrain's encoder: refused past wasm's 4 GiB, and below a declared memoryGb", async () => {
    await cpuWasmWorker();
    const cpu = { accelerator: 'cpu' };
    const pipeline = (finetune: object) => ({
      name: 'steps',
      pretrain: { ...autoencoder(32), resources: cpu },
      finetunes: [
        {
          name: 'small',
          dataset: autoencoder(32).dataset,
          model: { type: 'classifier' },
          training: { epochs: 1, batchSize: 32 },
          resources: cpu,
        },
        { name: 'large', dataset: autoencoder(32).dataset, model: { type: 'classifier' }, ...finetune },
      ],
    });
    // The step trains the pretrain's encoder (64×64×3, filters [32, 64]): what a fine-tune from scratch with those fields needs.
    const onEncoder = (batchSize: number) =>
      estimateOf({
        kind: 'finetune',
        name: 'x',
        dataset: autoencoder(32).dataset,
        model: { type: 'classifier', inputShape: [64, 64, 3], filters: [32, 64], latentDim: 64 },
        training: { epochs: 1, batchSize },
      });
    const largest = largestBatchWithin(onEncoder(1), WASM_MEMORY_GIB * GIB);
    expect(largest).toBeLessThan(1024);

    const over = await post(
      '/v1/pipelines',
      pipeline({ training: { epochs: 1, batchSize: largest + 1 }, resources: cpu }),
    );
    expect(over.status).toBe(422);
    expect(over.body.errors).toEqual([
      {
        field: 'finetunes.1.training.batchSize',
        message: expect.stringMatching(
          new RegExp(
            `^A training step on a batch of ${largest + 1} needs about 4\\.\\d\\d GiB .*lower training\\.batchSize to at most ${largest},`,
          ),
        ),
      },
    ]);
    const declared = await post(
      '/v1/pipelines',
      pipeline({ training: { epochs: 1, batchSize: 256 }, resources: { ...cpu, memoryGb: 1 } }),
    );
    expect(declared.status).toBe(422);
    expect(declared.body.errors).toEqual([
      {
        field: 'finetunes.1.resources.memoryGb',
        message: expect.stringMatching(
          new RegExp(
            `^Declares 1 GB on its device, but its training needs about ${(Math.ceil((onEncoder(256).bytes / GIB) * 100) / 100).toFixed(2)} GiB`,
          ),
        ),
      },
    ]);
    expect(
      (await post('/v1/pipelines', pipeline({ training: { epochs: 1, batchSize: largest }, resources: cpu }))).status,
    ).toBe(201);
  });

  it("sizes a pipeline's fine-tune step on a layers-autoencoder pretrain by its encoder, used whole", async () => {
    await cpuWasmWorker();
    const cpu = { accelerator: 'cpu' };
    const dataset = autoencoder(32).dataset;
    const pipeline = (batchSize: number) => ({
      name: 'own steps',
      pretrain: {
        ...autoencoder(32),
        model: { type: 'layers-autoencoder', encoder: ownEncoder, decoder: ownDecoder },
        resources: cpu,
      },
      finetunes: [
        { name: 'step', dataset, model: { type: 'classifier' }, training: { epochs: 1, batchSize }, resources: cpu },
      ],
    });
    // The worker trains the encoder whole under the step's head: the same topology from scratch as layers.base.
    const largest = largestBatchWithin(
      estimateOf({ kind: 'finetune', name: 'x', dataset, model: { type: 'classifier', layers: { base: ownEncoder } } }),
      WASM_MEMORY_GIB * GIB,
    );
    expect(largest).toBeGreaterThan(8);
    const over = await post('/v1/pipelines', pipeline(largest + 1));
    expect({ status: over.status, fields: over.body.errors?.map((e) => e.field) }).toEqual({
      status: 422,
      fields: ['finetunes.0.training.batchSize'],
    });
    expect((await post('/v1/pipelines', pipeline(largest))).status).toBe(201);
  });

  it('sizes a fine-tune on a base run, or on a registered version of it, by the pretrain its stored spec holds', async () => {
    // A SUCCEEDED built-in pretrain (64×64×3, filters [32, 64]) with a COMPLETE checkpoint holding its encoder.
    const runs = app.get(RunsRepository);
    const checkpoints = app.get(CheckpointsRepository);
    const baseRunId = randomUUID();
    const stored = RunSpecSchema.parse(autoencoder(32));
    await runs.create({ id: baseRunId, kind: 'PRETRAIN', name: 'base', spec: stored as never, baseRunId: null });
    await runs.markRunning(baseRunId, 'cpu');
    const checkpoint = await checkpoints.begin({
      runId: baseRunId,
      attemptId: null,
      sequence: 1,
      epoch: 1,
      step: 10,
      uri: `file:///x/${baseRunId}/`,
      models: ['autoencoder', 'encoder'],
    });
    await checkpoints.complete(checkpoint.id, 100, 'f'.repeat(64));
    await runs.finish(baseRunId, 'SUCCEEDED');
    const registered = await post('/v1/models', { name: `encoder-${baseRunId.slice(0, 8)}`, runId: baseRunId });
    expect(registered.status).toBe(201);

    await cpuWasmWorker();
    const largest = largestBatchWithin(
      estimateOf({
        kind: 'finetune',
        name: 'x',
        dataset: autoencoder(32).dataset,
        model: { type: 'classifier', inputShape: [64, 64, 3], filters: [32, 64], latentDim: 64 },
        training: { epochs: 1, batchSize: 1 },
      }),
      WASM_MEMORY_GIB * GIB,
    );
    const onBase = (base: object, batchSize: number, resources: object = { accelerator: 'cpu' }) => ({
      kind: 'finetune',
      name: `on a base ${batchSize}`,
      dataset: autoencoder(32).dataset,
      model: { type: 'classifier', ...base },
      training: { epochs: 1, batchSize },
      resources,
    });
    const version = { baseModel: { name: `encoder-${baseRunId.slice(0, 8)}`, version: 1 } };
    for (const base of [{ baseRunId }, version]) {
      const over = await post('/v1/runs', onBase(base, largest + 1));
      expect(over.status).toBe(422);
      expect(over.body.errors).toEqual([
        {
          field: 'training.batchSize',
          message: expect.stringMatching(
            new RegExp(
              `^A training step on a batch of ${largest + 1} needs about 4\\.\\d\\d GiB .*at most ${largest},`,
            ),
          ),
        },
      ]);
      const declared = await post('/v1/runs', onBase(base, 256, { accelerator: 'cpu', memoryGb: 1 }));
      expect(declared.body.errors?.map((e) => e.field)).toEqual(['resources.memoryGb']);
      expect((await post('/v1/runs', onBase(base, largest))).status).toBe(201);
    }
    // Submit reads the base run once and parses its spec once: the resolver's read is what sizes it.
    const reads = jest.spyOn(RunsRepository.prototype, 'get');
    const parses = jest.spyOn(RunSpecSchema, 'safeParse');
    try {
      for (const base of [{ baseRunId }, version]) {
        reads.mockClear();
        parses.mockClear();
        expect((await post('/v1/runs', onBase(base, 32))).status).toBe(201);
        const baseReads = reads.mock.calls.filter(([id]) => id === baseRunId).length;
        const baseParses = parses.mock.calls.filter(
          ([spec]) => (spec as { kind?: unknown } | null)?.kind === 'pretrain',
        );
        expect({ base, baseReads, baseParses: baseParses.length }).toEqual({ base, baseReads: 1, baseParses: 1 });
      }
    } finally {
      reads.mockRestore();
      parses.mockRestore();
    }
    // A sweep on the base: its swept batch named.
    const sweep = await post('/v1/sweeps', {
      name: 'on a base',
      base: onBase({ baseRunId }, 32),
      strategy: 'grid',
      parameters: { 'training.batchSize': [32, largest + 1] },
    });
    expect(sweep.status).toBe(422);
    expect(sweep.body.errors?.map((e) => e.field)).toEqual(['parameters.training.batchSize']);
  });

  it('sizes a fine-tune on a layers-autoencoder pretrain run, and on a registered fine-tune, by the layers the worker loads', async () => {
    /** A SUCCEEDED run of `kind` with `stored` as its spec and a COMPLETE checkpoint holding `models`. */
    const succeeded = (kind: 'PRETRAIN' | 'FINETUNE', stored: object, models: string[]) =>
      succeededRun(app, { kind, spec: stored, models });
    const dataset = autoencoder(32).dataset;
    const pretrainId = await succeeded(
      'PRETRAIN',
      RunSpecSchema.parse({
        ...autoencoder(32),
        model: { type: 'layers-autoencoder', encoder: ownEncoder, decoder: ownDecoder },
      }),
      ['autoencoder', 'encoder'],
    );
    // A classifier trained from scratch on the built-in encoder, registered as a version.
    const trained = RunSpecSchema.parse({
      kind: 'finetune',
      name: 'trained',
      dataset,
      model: { type: 'classifier', inputShape: [64, 64, 3], filters: [32, 64], headUnits: 64 },
      training: { epochs: 1, batchSize: 32 },
    });
    const trainedId = await succeeded('FINETUNE', trained, ['classifier']);
    const name = `classifier-${trainedId.slice(0, 8)}`;
    expect((await post('/v1/models', { name, runId: trainedId })).status).toBe(201);

    await cpuWasmWorker();
    const onBase = (base: object, batchSize: number, resources: object = { accelerator: 'cpu' }) => ({
      kind: 'finetune',
      name: `on a base ${batchSize}`,
      dataset,
      model: { type: 'classifier', ...base },
      training: { epochs: 1, batchSize },
      resources,
    });
    // The layers each loads: the pretrain's encoder whole under a fresh head; the classifier's encoder cut below its head, under one.
    const ownBase = estimateOf(onBase({ layers: { base: ownEncoder } }, 1));
    const registeredBase = trainingMemoryOnBase(
      RunSpecSchema.parse(onBase({ baseModel: { name, version: 1 } }, 1)),
      trained as BaseRunSpec,
    )!;
    for (const [base, memory] of [
      [{ baseRunId: pretrainId }, ownBase],
      [{ baseModel: { name, version: 1 } }, registeredBase],
    ] as const) {
      const largest = largestBatchWithin(memory, WASM_MEMORY_GIB * GIB);
      expect(largest).toBeGreaterThan(8);
      const over = await post('/v1/runs', onBase(base, largest + 1));
      expect({ base, status: over.status, fields: over.body.errors?.map((e) => e.field) }).toEqual({
        base,
        status: 422,
        fields: ['training.batchSize'],
      });
      expect(over.body.errors?.[0]?.message).toMatch(new RegExp(`lower training\\.batchSize to at most ${largest},`));
      const declared = await post('/v1/runs', onBase(base, largest, { accelerator: 'cpu', memoryGb: 0.5 }));
      expect({ base, fields: declared.body.errors?.map((e) => e.field) }).toEqual({
        base,
        fields: ['resources.memoryGb'],
      });
      expect({ base, status: (await post('/v1/runs', onBase(base, largest))).status }).toEqual({ base, status: 201 });
    }
  });

  it('sizes a fine-tune whose base is frozen by what trains: a batch its unfrozen twin is refused at is queued', async () => {
    await cpuWasmWorker();
    // The classifier calibrated frozen and unfrozen (docs/training.md), on 28×28×1 shapes.
    const classifier = (batchSize: number, model: object = {}) => ({
      kind: 'finetune',
      name: `classifier ${batchSize}`,
      dataset: { name: 'synthetic-shapes', imageSize: 28, channels: 1, perClass: 4 },
      model: { type: 'classifier', filters: [256], ...model },
      training: { epochs: 1, batchSize },
      resources: { accelerator: 'cpu' },
    });
    const frozen = { freezing: { mode: 'base' } };
    const limit = WASM_MEMORY_GIB * GIB;
    const largest = largestBatchWithin(estimateOf(classifier(1, frozen)), limit);
    expect(largest).toBeGreaterThan(largestBatchWithin(estimateOf(classifier(1)), limit));
    expect(largest).toBeLessThan(1024);
    // 702 trained frozen on wasm (400 the most unfrozen): accepted, where it was refused as unfrozen.
    expect((await post('/v1/runs', classifier(702, frozen))).status).toBe(201);
    const unfrozen = await post('/v1/runs', classifier(largest));
    expect(unfrozen.body.errors?.map((e) => e.field)).toEqual(['training.batchSize']);
    for (const base of [frozen, { freezeBase: true }])
      expect((await post('/v1/runs', classifier(largest, base))).status).toBe(201);
    const over = await post('/v1/runs', classifier(largest + 1, frozen));
    expect(over.status).toBe(422);
    expect(over.body.errors?.[0]?.message).toMatch(new RegExp(`at most ${largest},`));
  });

  it('queues the same batch when a live worker of the class trains on another backend', async () => {
    await cpuWasmWorker();
    await startWorker('cpu-tensorflow', 'tensorflow', { resourceClasses: ['cpu', 'any'], memoryMb: 65_536 });
    expect((await post('/v1/runs', autoencoder(1024, { resources: { accelerator: 'cpu' } }))).status).toBe(201);
  });

  it('places a run by its estimate when it declares less or nothing: no GPU too small for it', async () => {
    // One GPU worker of 2 GiB; the run needs more than that and declares nothing.
    await startWorker('gpu-small', 'tensorflow-gpu', {
      gpu: 'small',
      gpuCount: 1,
      gpuMemoryMb: 2048,
      resourceClasses: ['gpu', 'any'],
      memoryMb: 65_536,
    });
    const gpu = { resources: { accelerator: 'gpu' } };
    const needed = estimateOf(autoencoder(512, gpu)).bytes / GIB;
    expect(needed).toBeGreaterThan(2);
    const res = await post('/v1/runs', autoencoder(512, gpu));
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([
      {
        field: 'resources',
        message: expect.stringMatching(
          new RegExp(
            `^None of the 1 live workers serves resource class "gpu" with ${Math.ceil(needed * 100) / 100} GB on its device;`,
          ),
        ),
      },
    ]);
    expect((await post('/v1/runs', autoencoder(64, gpu))).status).toBe(201);
  });
});
