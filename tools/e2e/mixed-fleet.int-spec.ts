import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import {
  type FinetuneSpec,
  GIB,
  largestBatchWithin,
  RunSpecSchema,
  trainingMemoryOnBase,
  WASM_MEMORY_GIB,
} from '@trainyard/contracts';
import { Cluster, TERMINAL } from './cluster';
import type { AppProcess } from './processes';

const CLI = resolve(__dirname, '../../dist/apps/cli/src/trainyard.js');
const execFileAsync = promisify(execFile);

/**
 * A batch past the wasm backend's 4 GiB in a fleet where a worker of another backend also serves
 * the run's class: the API accepts it (it cannot know which worker takes it), and a wasm worker that
 * takes it gives it back for that one, until none serves the class any more; then it trains it,
 * and the run fails naming the batch size rather than wait forever. Real processes (an API and a
 * wasm worker, PostgreSQL, Redis, S3); the `tensorflow` worker is a row in the workers table that
 * the test keeps heartbeating (no TensorFlow build here), which is all the fleet knows of a worker.
 */
describe('a wasm worker and a run only another backend can hold (real processes)', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await Cluster.start();
  }, 120_000);
  afterAll(async () => cluster?.stop());

  let worker: AppProcess;
  beforeAll(async () => {
    // Each job it gives back comes round in 1 s, not the default 5 s (load-config.spec.ts checks it),
    // which the tests below waited out twice each for the three takes they count.
    worker = await cluster.startWorker({ WORKER_PRESTART: 'false', WORKER_WAIT_ELSEWHERE_MS: '1000' });
  }, 120_000);

  /** A live `tensorflow` worker serving the class "any": a workers row kept heartbeating until stopped. */
  async function otherBackendWorker(id: string, memoryMb = 65536): Promise<{ stop(): Promise<void> }> {
    await cluster.pg.query(
      `INSERT INTO workers (id, hostname, pid, backend, resource_classes, memory_mb, concurrency)
       VALUES ($1, 'elsewhere', 1, 'tensorflow', '{cpu,any}', $2, 1)`,
      [id, memoryMb],
    );
    const beat = setInterval(
      () => void cluster.pg.query(`UPDATE workers SET last_heartbeat_at = now() WHERE id = $1`, [id]),
      1000,
    );
    return {
      async stop() {
        clearInterval(beat);
        await cluster.pg.query(`UPDATE workers SET stopped_at = now(), stop_reason = 'shutdown' WHERE id = $1`, [id]);
      },
    };
  }

  /** Taken and given back again every WORKER_WAIT_ELSEWHERE_MS (each take stamps the job's processedOn), `times` times. */
  async function takenTimes(id: string, times: number): Promise<number> {
    const taken = new Set<number>();
    const deadline = Date.now() + 40_000;
    while (taken.size < times && Date.now() < deadline) {
      const processedOn = (await cluster.queue.getJob(id))?.processedOn;
      if (processedOn) taken.add(processedOn);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return taken.size;
  }

  it('gives the run back while a live tensorflow worker serves its class, and trains it (to fail, worded) once none does', async () => {
    const other = 'tensorflow-elsewhere';
    const elsewhere = await otherBackendWorker(other);
    try {
      // Estimated at 4.71 GiB (the estimate allows 509 on wasm); its first batch holds 600 and traps on wasm.
      const id = await cluster.submit({
        kind: 'pretrain',
        name: 'past wasm memory',
        dataset: { name: 'synthetic-shapes', imageSize: 64, channels: 3, perClass: 170, testPerClass: 2 },
        model: { type: 'conv-autoencoder', inputShape: [64, 64, 3], filters: [32, 64], latentDim: 64 },
        training: { epochs: 1, batchSize: 600, seed: 1 },
      });
      const givenBack = new RegExp(
        `run ${id}: a training step on a batch of 600 needs about \\d+\\.\\d\\d GiB \\(estimated from its layers\\), more than the 4 GiB the wasm backend this worker trains on can hold; given back for worker ${other} \\(tensorflow\\), which serves resource class "any"`,
        'g',
      );
      // Given back, and taken and given back again: no attempt opened meanwhile, and the worker's log says so once.
      expect(await takenTimes(id, 3)).toBeGreaterThanOrEqual(3);
      expect(worker.output().match(givenBack)?.length ?? 0).toBe(1);
      expect(await cluster.attempts(id)).toEqual([]);
      expect((await cluster.run(id)).status).toBe('QUEUED');

      // The other worker stops: the wasm worker trains the run, which fails for good, worded.
      await elsewhere.stop();
      const run = await cluster.waitForStatus(id, ['FAILED', 'SUCCEEDED'], 150_000);
      expect(run.status).toBe('FAILED');
      expect(run.failureReason).toMatch(
        /training\.batchSize: a training step on a batch of 600 failed in the wasm backend \(.+\), as one that needs more memory than the 4 GiB it can hold does/,
      );
      expect((await cluster.attempts(id)).map((a) => a.outcome)).toEqual(['FAILED']);
      const log = (await cluster.runLog(id)).map((line) => line.msg);
      expect(log).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^run ${id}: a training step on a batch of 600 needs about .*, and no live worker of another backend serves resource class "any": trained here, where its first step is expected to fail naming training\\.batchSize$`,
          ),
        ),
      );
    } finally {
      await elsewhere.stop();
    }
  }, 300_000);

  it("sizes a fine-tune on a base run by the base's stored spec: given back as a run past wasm memory, shown by `trainyard show`", async () => {
    // The base: a built-in conv autoencoder, trained here (small, well under wasm's limit).
    const dataset = { name: 'synthetic-shapes', imageSize: 64, channels: 3, perClass: 4, testPerClass: 2 } as const;
    const baseRunId = await cluster.submit({
      kind: 'pretrain',
      name: 'base',
      dataset,
      model: { type: 'conv-autoencoder', inputShape: [64, 64, 3], filters: [32, 64], latentDim: 64 },
      training: { epochs: 1, batchSize: 8, seed: 1 },
    });
    expect((await cluster.waitForStatus(baseRunId, TERMINAL, 120_000)).status).toBe('SUCCEEDED');

    const other = 'tensorflow-elsewhere-finetune';
    const elsewhere = await otherBackendWorker(other);
    try {
      // Its own spec names only its base: sized as the fine-tune from scratch on the base's
      // encoder, a batch of 800 is past what wasm holds (778 at most, trainingMemoryOnBaseRun).
      const id = await cluster.submit({
        kind: 'finetune',
        name: 'on the base, past wasm memory',
        dataset,
        model: { type: 'classifier', baseRunId },
        training: { epochs: 1, batchSize: 800, seed: 1 },
      });
      expect(await takenTimes(id, 3)).toBeGreaterThanOrEqual(3);
      const givenBack = new RegExp(
        `run ${id}: a training step on a batch of 800 needs about 4\\.\\d\\d GiB \\(estimated from its layers\\), more than the 4 GiB the wasm backend this worker trains on can hold; given back for worker ${other} \\(tensorflow\\), which serves resource class "any"`,
        'g',
      );
      expect(worker.output().match(givenBack)?.length ?? 0).toBe(1);
      expect(await cluster.attempts(id)).toEqual([]);
      expect((await cluster.run(id)).status).toBe('QUEUED');
      // `trainyard show` (the compiled command, against this API) prints the same estimate.
      const { stdout } = await execFileAsync(process.execPath, [CLI, 'show', id], {
        env: {
          PATH: process.env['PATH'] ?? '',
          HOME: tmpdir(),
          TRAINYARD_URL: cluster.baseUrl,
          TRAINYARD_API_KEY: cluster.adminKey,
        },
      });
      expect(stdout).toMatch(/^memory {4}about 4\.\d\d GiB a training step \(estimated at training\.batchSize 800\)$/m);
      expect((await cluster.fetch(`${cluster.baseUrl}/v1/runs/${id}/cancel`, { method: 'POST' })).ok).toBe(true);
    } finally {
      await elsewhere.stop();
    }
  }, 300_000);

  it('sizes a fine-tune on a registered fine-tune by the classifier its stored spec builds: given back as a run past wasm memory', async () => {
    // The base: a classifier trained here from scratch (small), registered as a version.
    const dataset = { name: 'synthetic-shapes', imageSize: 64, channels: 3, perClass: 4, testPerClass: 2 } as const;
    const trained = {
      kind: 'finetune' as const,
      name: 'registered base',
      dataset,
      model: {
        type: 'classifier' as const,
        inputShape: [64, 64, 3] as [number, number, 3],
        filters: [32, 64],
        headUnits: 16,
      },
      training: { epochs: 1, batchSize: 8, seed: 1 },
    };
    const trainedId = await cluster.submit(trained);
    expect((await cluster.waitForStatus(trainedId, TERMINAL, 120_000)).status).toBe('SUCCEEDED');
    const name = `classifier-${trainedId.slice(0, 8)}`;
    const registered = await cluster.fetch(`${cluster.baseUrl}/v1/models`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name, runId: trainedId }),
    });
    expect(registered.status).toBe(201);

    const finetune = (batchSize: number) => ({
      kind: 'finetune' as const,
      name: 'on the registered classifier, past wasm memory',
      dataset,
      model: { type: 'classifier' as const, baseModel: { name, version: 1 } },
      training: { epochs: 1, batchSize, seed: 1 },
    });
    // The batch just past wasm's 4 GiB for the layers the worker loads (its classifier cut below its head, a fresh head).
    const spec = (input: object) => RunSpecSchema.parse(input) as FinetuneSpec;
    const memory = trainingMemoryOnBase(spec(finetune(1)), spec(trained))!;
    const batch = largestBatchWithin(memory, WASM_MEMORY_GIB * GIB) + 1;
    const other = 'tensorflow-elsewhere-registered';
    const elsewhere = await otherBackendWorker(other);
    try {
      const id = await cluster.submit(finetune(batch));
      expect(await takenTimes(id, 3)).toBeGreaterThanOrEqual(3);
      const givenBack = new RegExp(
        `run ${id}: a training step on a batch of ${batch} needs about 4\\.\\d\\d GiB \\(estimated from its layers\\), more than the 4 GiB the wasm backend this worker trains on can hold; given back for worker ${other} \\(tensorflow\\), which serves resource class "any"`,
        'g',
      );
      expect(worker.output().match(givenBack)?.length ?? 0).toBe(1);
      expect(await cluster.attempts(id)).toEqual([]);
      expect((await cluster.fetch(`${cluster.baseUrl}/v1/runs/${id}/cancel`, { method: 'POST' })).ok).toBe(true);
    } finally {
      await elsewhere.stop();
    }
  }, 300_000);

  it('gives back a run that needs more memory than this worker has, saying so once, whatever its backend', async () => {
    // 900 GB: more RAM than this worker registers, which only the 1 TiB row serves (the API accepts it).
    const other = 'tensorflow-elsewhere-ram';
    const elsewhere = await otherBackendWorker(other, 1024 * 1024);
    try {
      const id = await cluster.submit({
        kind: 'pretrain',
        name: 'more memory than this worker has',
        dataset: { name: 'synthetic-shapes', imageSize: 16, perClass: 4, testPerClass: 1 },
        model: { type: 'conv-autoencoder', inputShape: [16, 16, 1], filters: [4, 8], latentDim: 8 },
        training: { epochs: 1, batchSize: 8, seed: 1 },
        resources: { memoryGb: 900 },
      });
      expect(await takenTimes(id, 3)).toBeGreaterThanOrEqual(3);
      const givenBack = new RegExp(
        `run ${id} needs 900\\.00 GB on its device \\(the larger of resources\\.memoryGb and its estimate\\), more than this worker has; given back`,
        'g',
      );
      expect(worker.output().match(givenBack)?.length ?? 0).toBe(1);
      expect(await cluster.attempts(id)).toEqual([]);
      expect((await cluster.run(id)).status).toBe('QUEUED');
      expect((await cluster.fetch(`${cluster.baseUrl}/v1/runs/${id}/cancel`, { method: 'POST' })).ok).toBe(true);
    } finally {
      await elsewhere.stop();
    }
  }, 120_000);
});
