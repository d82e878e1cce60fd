import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from './cluster';
import { saveTinyVgg, writeColourFolder } from './image-folder-fixtures';

/**
 * The Keras workflow as Trainyard jobs, across real processes: a folder of the user's images on
 * S3 is registered, an imported CNN is fine-tuned on it with augmentation and two-stage
 * freezing, its model is registered, and an evaluation run measures it on the held-out test split.
 */
describe('image folder → imported model fine-tune → evaluation (API, worker, S3, PostgreSQL)', () => {
  let cluster: Cluster;
  let home: string;

  beforeAll(async () => {
    cluster = await Cluster.start();
    home = mkdtempSync(join(tmpdir(), 'trainyard-e2e-folder-'));
    await cluster.startWorker({ TRAINYARD_HOME: home });
  });
  afterAll(async () => {
    await cluster?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  async function json(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await cluster.fetch(`${cluster.baseUrl}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it('fine-tunes, lists the corrupt file, saves augmentation.png and evaluates well above chance', async () => {
    await writeColourFolder(cluster.store, 'datasets/colours/');
    const modelUri = await saveTinyVgg(cluster.store, 'imported/tiny-vgg/');
    const dataset = await json('POST', '/v1/datasets', {
      name: 'colours',
      location: { kind: 's3', prefix: 'datasets/colours/' },
    });
    expect(dataset).toMatchObject({
      status: 201,
      body: { classNames: ['blue', 'green', 'red'], counts: [12, 12, 13] },
    });

    const finetuneId = await cluster.submit({
      kind: 'finetune',
      name: 'colours from tiny vgg',
      dataset: {
        name: 'image-folder',
        datasetId: dataset.body.id as string,
        imageShape: [16, 16, 3],
        split: { validation: 0.2, test: 0.25, seed: 1 },
      },
      model: {
        type: 'classifier',
        importedModel: { uri: modelUri },
        headUnits: 8,
        freezing: { mode: 'two-stage', unfreezeTopLayers: 1, unfreezeAfterEpochs: 4, fineTuneLearningRate: 0.01 },
      },
      augmentation: { rescale: 1, horizontalFlip: true, shearRange: 10, zoomRange: 0.1 },
      training: { epochs: 8, batchSize: 6, learningRate: 0.1, seed: 5 },
    });
    const finetune = await cluster.waitForStatus(finetuneId, ['SUCCEEDED', 'FAILED', 'CANCELLED'], 180_000);
    expect({ status: finetune.status, reason: finetune.failureReason }).toEqual({ status: 'SUCCEEDED', reason: null });
    expect(finetune.dataReport).toMatchObject({
      skippedCount: 1,
      skipped: [{ file: 'datasets/colours/red/broken.png', reason: expect.stringMatching(/not a readable image/) }],
    });

    const png = await cluster.fetch(`${cluster.baseUrl}/v1/runs/${finetuneId}/augmentation.png`);
    expect(png.status).toBe(200);
    expect(
      Buffer.from(await png.arrayBuffer())
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG');

    const model = await json('POST', '/v1/models', { name: 'colours', runId: finetuneId });
    expect(model).toMatchObject({ status: 201, body: { version: 1 } });

    const evaluationId = await cluster.submit({
      kind: 'evaluate',
      name: 'colours test',
      checkpoint: { runId: finetuneId },
      topK: 2,
    });
    const evaluation = await cluster.waitForStatus(evaluationId, ['SUCCEEDED', 'FAILED', 'CANCELLED'], 120_000);
    expect({ status: evaluation.status, reason: evaluation.failureReason }).toEqual({
      status: 'SUCCEEDED',
      reason: null,
    });
    const result = evaluation.result as {
      kind: string;
      split: string;
      samples: number;
      accuracy: number;
      topK: { k: number; accuracy: number };
      confusionMatrix: number[][];
    };
    expect(result).toMatchObject({ kind: 'evaluation', split: 'test', samples: 9, topK: { k: 2 } });
    // Chance is 1/3.
    expect(result.accuracy).toBeGreaterThanOrEqual(0.75);
    expect(evaluation.baseRunId).toBe(finetuneId);

    // The registered model is a base by name and version: a new head on its frozen features.
    const fromRegistryId = await cluster.submit({
      kind: 'finetune',
      name: 'colours from the registry',
      dataset: {
        name: 'image-folder',
        datasetId: dataset.body.id as string,
        imageShape: [16, 16, 3],
        split: { validation: 0.2, test: 0.25, seed: 1 },
      },
      model: { type: 'classifier', baseModel: { name: 'colours', version: 1 }, freezing: { mode: 'base' } },
      training: { epochs: 6, batchSize: 6, learningRate: 0.05, seed: 5 },
    });
    const fromRegistry = await cluster.waitForStatus(fromRegistryId, ['SUCCEEDED', 'FAILED', 'CANCELLED'], 180_000);
    expect({ status: fromRegistry.status, reason: fromRegistry.failureReason }).toEqual({
      status: 'SUCCEEDED',
      reason: null,
    });
    expect((fromRegistry.result as { accuracy: number }).accuracy).toBeGreaterThanOrEqual(0.75);
  });

  it('fails a run on a folder with no readable image in a class, its data report naming every file skipped and why', async () => {
    for (const file of ['cat/1.png', 'cat/2.png', 'dog/1.png', 'dog/2.png'])
      await cluster.store.put(`datasets/not-images/${file}`, Buffer.from('this is text, not a PNG'));
    const dataset = await json('POST', '/v1/datasets', {
      name: 'not images',
      location: { kind: 's3', prefix: 'datasets/not-images/' },
    });
    expect(dataset.status).toBe(201);
    const runId = await cluster.submit({
      kind: 'finetune',
      name: 'on text',
      dataset: { name: 'image-folder', datasetId: dataset.body.id as string, imageShape: [16, 16, 3] },
      model: { type: 'classifier', filters: [4], latentDim: 8 },
      training: { epochs: 1, batchSize: 2 },
    });
    const run = await cluster.waitForStatus(runId, ['SUCCEEDED', 'FAILED', 'CANCELLED'], 120_000);
    expect(run.status).toBe('FAILED');
    expect(run.failureReason).toMatch(/classes 'cat', 'dog' have no readable image \(4 file\(s\) skipped\)/);
    const report = run.dataReport as { skippedCount: number; skipped: { file: string; reason: string }[] } | null;
    expect(report).toMatchObject({ classNames: ['cat', 'dog'], files: 4, skippedCount: 4 });
    expect(report!.skipped.map((s) => s.file).sort()).toEqual(
      ['cat/1.png', 'cat/2.png', 'dog/1.png', 'dog/2.png'].map((file) => `datasets/not-images/${file}`),
    );
    for (const skipped of report!.skipped) expect(skipped.reason.length).toBeGreaterThan(0);
  });
});
