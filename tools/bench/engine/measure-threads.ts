import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ThreadJob, ThreadReply } from './train-in-thread';

export interface ThreadMeasurement {
  /** One training thread, single-threaded wasm (what a worker with concurrency 1 runs). */
  one: number;
  /** Two training threads at once, each single-threaded: their images/s, and the sum. */
  two: [number, number];
  aggregate: number;
  /** One training thread on the threaded wasm build with 2 threads, or why it did not run. */
  threaded: { imagesPerSecond: number; threads: number } | { error: string };
}

const entry = join(__dirname, 'train-in-thread.js');

function runThread(job: ThreadJob): Promise<ThreadReply> {
  return new Promise((resolve) => {
    const worker = new Worker(entry, { workerData: job });
    worker.once('message', (reply: ThreadReply) => {
      // The threaded build keeps pthread workers alive; end them with this thread.
      void worker.terminate();
      resolve(reply);
    });
    worker.once('error', (err) => resolve({ error: err.stack ?? String(err) }));
  });
}

function rate(reply: ThreadReply): number {
  if ('error' in reply) throw new Error(`training thread failed: ${reply.error}`);
  return reply.imagesPerSecond;
}

/** Worker-thread scaling of the MNIST autoencoder on this machine (runs from dist/). */
export async function measureThreads(base: Omit<ThreadJob, 'wasmThreads'>): Promise<ThreadMeasurement> {
  const job: ThreadJob = { ...base, wasmThreads: 0 };
  const one = rate(await runThread(job));
  const [a, b] = await Promise.all([runThread(job), runThread(job)]);
  const two: [number, number] = [rate(a), rate(b)];
  const threadedReply = await runThread({ ...job, wasmThreads: 2 });
  return { one, two, aggregate: two[0] + two[1], threaded: threadedReply };
}
