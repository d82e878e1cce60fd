import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

/**
 * Loads tfjs-backend-wasm's threaded SIMD build in Node, which tfjs 4.22 refuses (issue #3830:
 * WASM_HAS_MULTITHREAD_SUPPORT is false when IS_NODE). Forcing the flag is not enough; three
 * things stand in the way, each worked around here for the duration of the backend's init:
 *  1. the pthread worker script is handed to `new Worker` as a blob: URL, which Node's
 *     worker_threads refuses (ERR_WORKER_PATH) → we write it to a file and return its path;
 *  2. inside the worker, the main script also arrives as a Blob and is loaded with
 *     fs.readFileSync(blob URL) → the file we write swaps it for a file that requires the
 *     package's own threaded factory;
 *  3. the C++ side caps the pool at emscripten_num_logical_cores() / 2 (it assumes
 *     hyper-threading), i.e. at 1 thread on a 2-vCPU machine → os.cpus() reports double.
 * Measurement only (the benchmark's thread probe): it leans on emscripten internals.
 */
export async function initThreadedWasm(threads: number): Promise<number> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the backend's own module, loaded after tfjs
  const wasm = require('@tensorflow/tfjs-backend-wasm') as {
    setThreadsCount(n: number): void;
    getThreadsCount(): number;
  };
  const factory = require.resolve('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js');
  const workerModule = '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js';
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a file of the package, not an entry point
  const { wasmWorkerContents } = require(workerModule) as { wasmWorkerContents: string };
  const dir = mkdtempSync(join(os.tmpdir(), 'trainyard-wasm-threads-'));
  const mainScript = join(dir, 'main.js');
  const workerScript = join(dir, 'pthread-worker.js');
  writeFileSync(mainScript, `var WasmBackendModuleThreadedSimd = require(${JSON.stringify(factory)});\n`);
  // tfjs escapes the newlines of the contents the same way before making its Blob.
  const swapMainScript = `;(() => { const original = self.onmessage; self.onmessage = (e) => {
    if (e.data && e.data.cmd === 'load' && typeof e.data.urlOrBlob !== 'string') e.data.urlOrBlob = ${JSON.stringify(mainScript)};
    return original(e); }; })();\n`;
  writeFileSync(workerScript, wasmWorkerContents.replace(/\n/g, '\\n') + swapMainScript);

  const createObjectURL = URL.createObjectURL;
  const cpus = os.cpus;
  URL.createObjectURL = (obj: Blob) => (obj?.type === 'application/javascript' ? workerScript : createObjectURL(obj));
  os.cpus = () => [...cpus(), ...cpus()];
  try {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
    wasm.setThreadsCount(threads);
    if (!(await tf.setBackend('wasm'))) throw new Error('the threaded wasm backend failed to initialise');
  } finally {
    URL.createObjectURL = createObjectURL;
    os.cpus = cpus;
  }
  return wasm.getThreadsCount();
}
