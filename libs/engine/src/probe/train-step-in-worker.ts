// Entry point for a worker_threads Worker (compiled to dist/): picks the engine inside the
// worker, runs one training step of a small conv autoencoder and reports back. The trainer
// trains inside a worker thread, so this is the proof that wasm (and our kernels) work there.
import { isMainThread, parentPort, threadId, workerData } from 'node:worker_threads';
import { buildConvAutoencoder, syntheticImages } from '../bench/conv-autoencoder';
import { BackendName } from '../backend-selection';
import { initEngine } from '../init-engine';

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
  const model = buildConvAutoencoder({ encoder: [8, 16], decoder: 8 });
  const optimizer = tf.train.adam(1e-3);
  model.compile({ optimizer, loss: 'meanSquaredError' });
  const images = syntheticImages(4);
  const loss = (await model.trainOnBatch(images, images)) as number;
  images.dispose();
  model.dispose();
  optimizer.dispose();
  const report: WorkerStepReport = { threadId, backend: engine.backend, detail: engine.detail, loss, numTensors: tf.memory().numTensors };
  parentPort.postMessage(report);
}

main().catch((err) => {
  // An uncaught rejection would surface as a bare 'error' event; keep the stack readable.
  parentPort?.postMessage({ error: (err as Error).stack ?? String(err) });
});
