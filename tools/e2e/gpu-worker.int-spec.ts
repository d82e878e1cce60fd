import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Cluster, tinyPretrain, trainingProcesses } from './cluster';

/**
 * The GPU worker's path, end to end, where CI has no GPU: an `nvidia-smi` of the test's own lists
 * two GPUs, and the test-only fake tfjs-node-gpu (TRAINYARD_TEST_FAKE_TFJS_NODE_GPU, honoured under
 * NODE_ENV=test) stands in for the binding. Like the real one it loads once per process, so a
 * worker that trained two jobs in one process would fail the second. What this does not show:
 * that real CUDA memory goes back to the driver, or real kernels on a real device (see
 * docs/operations.md, "GPU workers").
 */
describe('a GPU worker (fake driver and binding; real processes, Redis, PostgreSQL, S3)', () => {
  let cluster: Cluster;
  let driver: string;

  beforeAll(async () => {
    driver = await mkdtemp(join(tmpdir(), 'trainyard-fake-driver-'));
    const gpus = ['0, GPU-fake-0000, Fake GPU, 16384', '1, GPU-fake-0001, Fake GPU, 16384'];
    await writeFile(join(driver, 'nvidia-smi'), `#!/bin/sh\nprintf '%s\\n' ${gpus.map((g) => `'${g}'`).join(' ')}\n`);
    await chmod(join(driver, 'nvidia-smi'), 0o755);
    cluster = await Cluster.start();
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
    await rm(driver, { recursive: true, force: true });
  });

  it('registers its GPUs, trains one job per GPU at once, each in a fresh process pinned with CUDA_VISIBLE_DEVICES', async () => {
    const worker = await cluster.startWorker({
      NODE_ENV: 'test',
      TRAINYARD_TEST_FAKE_TFJS_NODE_GPU: '1',
      PATH: `${driver}${delimiter}${process.env['PATH']}`,
      // Unset (the cluster's default is wasm): the device probe picks the backend, and the GPU count the concurrency.
      TRAINYARD_BACKEND: '',
    });
    expect(worker.output()).toMatch(
      /devices: tensorflow-gpu .*GPU 0 \(Fake GPU, 16384 MiB\), GPU 1 \(Fake GPU, 16384 MiB\)/,
    );
    expect(worker.output()).toMatch(/consuming "[^"]+" for resource classes gpu, any \(concurrency 2\)/);
    const {
      rows: [registered],
    } = await cluster.pg.query(
      `SELECT backend, gpu, gpu_count, gpu_memory_mb, resource_classes, concurrency FROM workers WHERE stopped_at IS NULL`,
    );
    expect(registered).toEqual({
      backend: 'tensorflow-gpu',
      gpu: 'Fake GPU',
      gpu_count: 2,
      gpu_memory_mb: 16384,
      // A worker with GPUs consumes the gpu class's queue and the any class's.
      resource_classes: ['gpu', 'any'],
      concurrency: 2,
    });

    const runs = [
      await cluster.submit(tinyPretrain('gpu a', 2, 16)),
      await cluster.submit(tinyPretrain('gpu b', 2, 16)),
    ];
    for (const id of runs) expect((await cluster.waitForStatus(id, ['SUCCEEDED', 'FAILED'])).status).toBe('SUCCEEDED');
    const started = runs.map((id) => trainingProcesses(worker.output(), id));
    expect(started.map((p) => p.length)).toEqual([1, 1]);
    const [a, b] = [started[0]![0]!, started[1]![0]!];
    // One per GPU, at the same time.
    expect([a.gpu, b.gpu].sort()).toEqual([0, 1]);
    const { rows: spans } = await cluster.pg.query(
      `SELECT started_at, ended_at, backend FROM attempts WHERE run_id = ANY($1) ORDER BY started_at`,
      [runs],
    );
    expect(spans[1].started_at.getTime()).toBeLessThan(spans[0].ended_at.getTime());
    expect(spans.map((s) => s.backend)).toEqual(['tensorflow-gpu', 'tensorflow-gpu']);
    // What each process itself saw: its own pin, and memory growth on.
    for (const p of [a, b]) {
      expect(worker.output()).toContain(
        `fake tfjs-node-gpu: loaded in process ${p.pid} with CUDA_VISIBLE_DEVICES=${p.gpu} TF_FORCE_GPU_ALLOW_GROWTH=true`,
      );
    }

    // A later job gets a process of its own again: the fake binding would refuse a second load in one.
    const later = await cluster.submit(tinyPretrain('gpu c', 1, 16));
    expect((await cluster.waitForStatus(later, ['SUCCEEDED', 'FAILED'])).status).toBe('SUCCEEDED');
    // In a process prestarted for the free slot, pinned to its GPU before the job came.
    expect(worker.output()).toMatch(
      new RegExp(`run ${later} attempt 1 trains in process \\d+ on GPU \\d .*\\(prestarted\\)`),
    );
    const [c] = trainingProcesses(worker.output(), later);
    expect([a.pid, b.pid]).not.toContain(c!.pid);
    expect(worker.output()).toContain(
      `fake tfjs-node-gpu: loaded in process ${c!.pid} with CUDA_VISIBLE_DEVICES=${c!.gpu}`,
    );
  }, 240_000);
});
