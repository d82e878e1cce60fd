import * as tf from '@tensorflow/tfjs';
import { testOnlySetting } from '@trainyard/config';
import { Engine, InitEngineOptions, ModuleLoader, selectBackend } from './backend-selection';

// The default loader is Node's own require, so optional packages are resolved at run time
// (tsc and bundlers never see a static import of a package that may be absent).
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a dynamic require is the point
const nodeRequire: ModuleLoader = (name) => require(name);

/**
 * Node's require; under the test-only TRAINYARD_TEST_FAKE_TFJS_NODE_GPU=1, `@tensorflow/tfjs-node-gpu`
 * is the fake of fake-tfjs-node-gpu.testing.ts, so CI (no GPU) runs the GPU path end to end.
 */
function defaultLoader(): ModuleLoader {
  if (testOnlySetting('fakeTfjsNodeGpu') !== '1') return nodeRequire;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when a test asks for it
  return (name) => (name === '@tensorflow/tfjs-node-gpu' ? require('./fake-tfjs-node-gpu.testing') : nodeRequire(name));
}

let chosen: Promise<Engine> | undefined;

/**
 * Chooses the TensorFlow.js backend once per process (per worker thread): tfjs-node-gpu,
 * tfjs-node, wasm (with our training kernels), then cpu; or exactly `opts.backend`.
 * A second call returns the same engine, re-activating its backend if something (a test,
 * a benchmark) switched tfjs to another one meanwhile. `load` exists for tests.
 */
export async function initEngine(opts: InitEngineOptions = {}, load: ModuleLoader = defaultLoader()): Promise<Engine> {
  if (!chosen) {
    const attempt = selectBackend(opts, load);
    chosen = attempt;
    // A failure is not cached: the caller may fix the cause or ask for another backend.
    attempt.catch(() => {
      if (chosen === attempt) chosen = undefined;
    });
  }
  const engine = await chosen;
  if (opts.backend && opts.backend !== engine.backend) {
    // tfjs has one global engine per thread; two backends would silently share it.
    throw new Error(
      `engine already initialised with '${engine.backend}' in this thread; cannot also use '${opts.backend}'`,
    );
  }
  if (tf.getBackend() !== engine.tfBackend) await tf.setBackend(engine.tfBackend);
  return engine;
}

/** Forgets the chosen engine (tests only): the next initEngine selects again. */
export function resetEngineForTests(): void {
  chosen = undefined;
}
