// Entry point for a worker_threads Worker (compiled to dist/), for wasm-in-worker.int-spec.ts:
// picks the engine inside the worker, runs one training step of the every-kernel model and
// reports back. Trainings ran in worker threads until each attempt got a process of its own; the
// engine bench still trains in them (tools/bench/engine), so this keeps the proof that wasm (and
// our kernels) work off the main thread.
import { isMainThread, parentPort, threadId, workerData } from 'node:worker_threads';
import { BackendName } from './backend-selection';
import { EVERY_KERNEL_INPUT, everyKernelModel } from './every-kernel-model.testing';
import { initEngine } from './init-engine';

export interface WorkerStepReport {
  threadId: number;
  backend: BackendName;
  detail: string;
  loss: number;
  numTensors: number;
}

async function main(): Promise<void> {
  if (isMainThread || !parentPort) throw new Error('train-step-in-worker runs inside a worker thread');
  const requested = (workerData as { backend?: BackendName } | undefined)?.backend ?? 'wasm';
  const engine = await initEngine({ backend: requested });
  const { tf } = engine;
  const model = everyKernelModel();
  const optimizer = tf.train.adam(1e-3);
  model.compile({ optimizer, loss: 'meanSquaredError' });
  const images = tf.randomUniform([4, ...EVERY_KERNEL_INPUT], 0, 1, 'float32', 7);
  const loss = (await model.trainOnBatch(images, images)) as number;
  images.dispose();
  model.dispose();
  optimizer.dispose();
  const report: WorkerStepReport = {
    threadId,
    backend: engine.backend,
    detail: engine.detail,
    loss,
    numTensors: tf.memory().numTensors,
  };
  parentPort.postMessage(report);
}

main().catch((err) => {
  // An uncaught rejection would surface as a bare 'error' event; keep the stack readable.
  parentPort?.postMessage({ error: (err as Error).stack ?? String(err) });
});
