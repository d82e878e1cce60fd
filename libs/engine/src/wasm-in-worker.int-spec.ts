import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { WorkerStepReport } from './train-step-in-worker.testing';

// Training runs on a training process's main thread, but the engine keeps its state per thread
// and must hold up inside worker_threads Workers too, two at once. This spawns real workers on the
// compiled entry (Jest's transform does not reach inside a Worker, so it runs from dist/).
const root = resolve(__dirname, '../../..');
const entry = join(root, 'dist/libs/engine/src/train-step-in-worker.testing.js');

function stepInWorker(): Promise<WorkerStepReport> {
  return new Promise((resolvePromise, reject) => {
    const worker = new Worker(entry, { workerData: { backend: 'wasm' } });
    worker.once('message', (msg: WorkerStepReport | { error: string }) => {
      void worker.terminate();
      if ('error' in msg) reject(new Error(`worker failed: ${msg.error}`));
      else resolvePromise(msg);
    });
    worker.once('error', reject);
  });
}

beforeAll(() => {
  execFileSync(process.execPath, ['tools/build.mjs', 'libs/engine'], { cwd: root, stdio: 'pipe' });
});

test('wasm with our kernels trains inside worker threads, two at once', async () => {
  const [a, b] = await Promise.all([stepInWorker(), stepInWorker()]);
  for (const r of [a, b]) {
    expect(r.backend).toBe('wasm');
    expect(r.detail).toContain('single-threaded');
    expect(Number.isFinite(r.loss) && r.loss > 0).toBe(true);
    expect(r.numTensors).toBe(0);
  }
  expect(a.threadId).not.toBe(b.threadId);
  // Same seeds, same data, separate tfjs instances: identical first steps.
  expect(a.loss).toBe(b.loss);
});
