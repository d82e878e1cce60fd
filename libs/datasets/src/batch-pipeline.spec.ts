import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { AugmentationSpecSchema, type Batch, type BatchSource, createBatchPipeline, pipelineEpochOrder } from './index';

// Threads load the compiled dist/libs/datasets/src/batch-pipeline.thread.js: `node tools/build.mjs libs` first.
const shape: [number, number, number] = [6, 5, 2];
const pixels = 6 * 5 * 2;
const count = 23;

/** Image i is filled with i / 100 (plus a ramp), so each batch row can be traced back to its image. */
function source(): BatchSource {
  const images = new Float32Array(count * pixels);
  for (let i = 0; i < count; i++) for (let p = 0; p < pixels; p++) images[i * pixels + p] = i / 100 + p / 10000;
  return { images, labels: Int32Array.from({ length: count }, (_, i) => i % 3), count, imageShape: shape };
}

async function collect(gen: AsyncGenerator<Batch>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of gen) out.push(b);
  return out;
}

const augmentation = AugmentationSpecSchema.parse({
  rotationRange: 20,
  zoomRange: 0.2,
  horizontalFlip: true,
  brightnessRange: [0.8, 1.2],
});

describe('createBatchPipeline', () => {
  it('serves every image once per epoch in the seeded order, the last batch partial', async () => {
    const pipeline = createBatchPipeline({ dataset: source(), batchSize: 5, seed: 9, threads: 1 });
    try {
      const batches = await collect(pipeline.batches(0, 2));
      expect(pipeline.stepsPerEpoch).toBe(5);
      expect(batches.map((b) => [b.epoch, b.step, b.count])).toEqual([
        ...[0, 1, 2, 3, 4].map((s) => [0, s, s < 4 ? 5 : 3]),
        ...[0, 1, 2, 3, 4].map((s) => [1, s, s < 4 ? 5 : 3]),
      ]);
      for (const epoch of [0, 1]) {
        const served = batches
          .filter((b) => b.epoch === epoch)
          .flatMap((b) => Array.from({ length: b.count }, (_, i) => Math.round(b.x[i * pixels] * 100)));
        expect(served).toEqual(Array.from(pipelineEpochOrder(count, 9, epoch)));
        const labels = batches.filter((b) => b.epoch === epoch).flatMap((b) => Array.from(b.y));
        expect(labels).toEqual(served.map((i) => i % 3));
      }
      const first = pipelineEpochOrder(count, 9, 0)[0];
      expect(batches[0].x.subarray(0, pixels)).toEqual(source().images.subarray(first * pixels, (first + 1) * pixels));
    } finally {
      await pipeline.close();
    }
  });

  it('starts an epoch at firstStep (a resume) with the batches an uninterrupted run serves there', async () => {
    const pipeline = createBatchPipeline({ dataset: source(), batchSize: 5, seed: 9, augmentation, threads: 1 });
    try {
      const whole = await collect(pipeline.batches(1, 3));
      const resumed = await collect(pipeline.batches(1, 3, 3));
      expect(resumed.map((b) => [b.epoch, b.step])[0]).toEqual([1, 3]);
      expect(resumed).toEqual(whole.slice(3));
    } finally {
      await pipeline.close();
    }
  });

  it('gives the same augmented batches for a seed with 0, 1 or 2 threads and any prefetch', async () => {
    const run = async (threads: number, prefetch: number, seed = 4) => {
      const pipeline = createBatchPipeline({ dataset: source(), batchSize: 4, seed, augmentation, threads, prefetch });
      try {
        return await collect(pipeline.batches(2, 3));
      } finally {
        await pipeline.close();
      }
    };
    const inline = await run(0, 1);
    expect(await run(1, 3)).toEqual(inline);
    expect(await run(2, 5)).toEqual(inline);
    expect(await run(2, 5, 5)).not.toEqual(inline);
    // Augmented, not copied.
    const plain = createBatchPipeline({ dataset: source(), batchSize: 4, seed: 4, threads: 0 });
    expect((await collect(plain.batches(2, 3)))[0].x).not.toEqual(inline[0].x);
  });

  it('keeps at most `prefetch` batches ahead of a slow consumer, and can be left mid-epoch', async () => {
    const pipeline = createBatchPipeline({
      dataset: source(),
      batchSize: 2,
      seed: 1,
      augmentation,
      threads: 2,
      prefetch: 3,
    });
    try {
      let seen = 0;
      for await (const _batch of pipeline.batches(0, 10)) {
        await new Promise((r) => setTimeout(r, 5)); // "training"
        expect(pipeline.ahead()).toBeLessThanOrEqual(3);
        if (++seen === 4) break;
      }
      expect(pipeline.ahead()).toBe(0);
      // A fresh iteration after a break starts cleanly at its epoch.
      const again = await collect(pipeline.batches(0));
      expect(again.map((b) => b.step)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    } finally {
      await pipeline.close();
    }
    await expect(collect(pipeline.batches(0))).rejects.toThrow(/closed/);
  });

  it('lets a plain Node process finish: close() resolves with several threads, idle threads hold nothing', () => {
    // In a bare process (no Jest, no server) only the threads keep the event loop alive: awaiting a
    // batch must hold it, close() must resolve for every thread, and then the process exits by itself.
    const built = resolve(__dirname, '../../../dist/libs/datasets/src/index.js');
    const script = `
      const { createBatchPipeline } = require(${JSON.stringify(built)});
      const source = { images: new Float32Array(40 * 12), labels: new Int32Array(40), count: 40, imageShape: [2, 2, 3] };
      (async () => {
        const p = createBatchPipeline({ dataset: source, batchSize: 8, seed: 1, threads: 2, prefetch: 3 });
        let n = 0;
        for await (const b of p.batches(0, 2)) n += b.count;
        await p.close();
        console.log('served ' + n + ', closed');
        createBatchPipeline({ dataset: source, batchSize: 8, seed: 1, threads: 2 }); // never closed, idle
      })();`;
    expect(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10000 }).trim()).toBe(
      'served 80, closed',
    );
  });
});
