import * as tf from '@tensorflow/tfjs';
import { registerWasmTrainingKernels } from './kernels/register-wasm-kernels';
import { simdKernels } from './kernels/simd';

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

export interface Engine {
  /** What we chose, in our words (recorded on runs and attempts). */
  backend: BackendName;
  /** The tfjs backend name actually active: 'tensorflow', 'wasm' or 'cpu'. */
  tfBackend: string;
  /** One line a person can read: why this backend, and what was skipped. */
  detail: string;
  tf: typeof tf;
}

export interface InitEngineOptions {
  /** Use exactly this backend, or throw saying why it is unavailable. */
  backend?: BackendName;
  log?: (msg: string) => void;
}

/** Loads a package by name; injectable so tests can simulate installed tfjs-node packages. */
export type ModuleLoader = (name: string) => unknown;

export class BackendUnavailableError extends Error {
  constructor(
    readonly backend: BackendName,
    reason: string,
  ) {
    super(`backend '${backend}' is unavailable: ${reason}`);
    this.name = 'BackendUnavailableError';
  }
}

/** The order tried without an override: fastest first. */
export const BACKEND_ORDER: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

const NODE_PACKAGES = {
  'tensorflow-gpu': {
    pkg: '@tensorflow/tfjs-node-gpu',
    notInstalled: 'tfjs-node-gpu is not installed: install it on GPU nodes (needs CUDA 11.2/cuDNN 8.1)',
  },
  tensorflow: {
    pkg: '@tensorflow/tfjs-node',
    notInstalled: 'tfjs-node is not installed: its install downloads libtensorflow, which needs network access',
  },
} as const;

function isModuleMissing(err: unknown, pkg: string): boolean {
  const e = err as { code?: string; message?: string };
  // A missing *dependency* of an installed package (e.g. a broken libtensorflow addon) has the
  // same code but names another module: that is a load failure, not "not installed".
  return e?.code === 'MODULE_NOT_FOUND' && typeof e.message === 'string' && e.message.includes(`'${pkg}'`);
}

/** Facts the tfjs-node backend exposes about device placement (not in tfjs's public types). */
interface NodeBackendFacts {
  isGPUPackage?: boolean;
  isUsingGpuDevice?: boolean;
}

async function tryTensorflow(name: 'tensorflow-gpu' | 'tensorflow', load: ModuleLoader): Promise<Omit<Engine, 'tf'>> {
  const { pkg, notInstalled } = NODE_PACKAGES[name];
  let mod: { Tensor?: unknown };
  try {
    mod = load(pkg) as { Tensor?: unknown };
  } catch (err) {
    if (isModuleMissing(err, pkg)) throw new BackendUnavailableError(name, notInstalled);
    throw new BackendUnavailableError(name, `${pkg} failed to load: ${(err as Error).message}`);
  }
  // tfjs-node re-exports @tensorflow/tfjs; a second copy would make tensors of one library
  // fail `instanceof` checks in another. npm dedupes this unless versions disagree.
  if (mod.Tensor !== undefined && mod.Tensor !== tf.Tensor) {
    throw new BackendUnavailableError(name, `${pkg} loaded a different @tensorflow/tfjs copy; align their versions`);
  }
  if (!(await tf.setBackend('tensorflow'))) {
    throw new BackendUnavailableError(name, `${pkg} loaded but the 'tensorflow' backend failed to initialise`);
  }
  const facts = tf.backend() as unknown as NodeBackendFacts;
  if (name === 'tensorflow') return { backend: name, tfBackend: 'tensorflow', detail: `${pkg} (libtensorflow, CPU)` };
  if (facts.isUsingGpuDevice === true) {
    return { backend: name, tfBackend: 'tensorflow', detail: `${pkg}: TensorFlow reports a GPU device in use` };
  }
  if (facts.isUsingGpuDevice === false) {
    // libtensorflow quietly falls back to the CPU when CUDA is missing; say so rather than
    // record runs as GPU runs.
    throw new BackendUnavailableError(
      name,
      `${pkg} loaded but TensorFlow found no usable GPU (CUDA 11.2/cuDNN 8.1 visible?)`,
    );
  }
  return { backend: name, tfBackend: 'tensorflow', detail: `${pkg}: GPU use not reported by this tfjs-node version` };
}

async function tryWasm(load: ModuleLoader): Promise<Omit<Engine, 'tf'>> {
  try {
    // Importing registers the backend and its stock kernels; ours must replace them after.
    load('@tensorflow/tfjs-backend-wasm');
  } catch (err) {
    throw new BackendUnavailableError(
      'wasm',
      `@tensorflow/tfjs-backend-wasm failed to load: ${(err as Error).message}`,
    );
  }
  registerWasmTrainingKernels();
  // In Node the backend reads its .wasm files next to its own dist/ with fs; no setWasmPaths needed.
  if (!(await tf.setBackend('wasm'))) {
    throw new BackendUnavailableError('wasm', 'the wasm backend failed to initialise (see the warning tfjs printed)');
  }
  const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'SIMD' : 'no SIMD';
  const threads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') ? 'multi-threaded' : 'single-threaded';
  // Said in the worker's log for every run: without the built module (npm run build) or on
  // the threaded build, the gradients take the slower JS and XNNPACK paths.
  const ours = simdKernels(tf.backend())
    ? "Trainyard's backprop kernels (wasm SIMD kernels on)"
    : "Trainyard's backprop kernels (wasm SIMD kernels off: not built, turned off or the threaded build; slower JS and XNNPACK paths)";
  return { backend: 'wasm', tfBackend: 'wasm', detail: `XNNPACK, ${simd}, ${threads}, with ${ours}` };
}

async function tryCpu(): Promise<Omit<Engine, 'tf'>> {
  if (!(await tf.setBackend('cpu'))) throw new BackendUnavailableError('cpu', 'the cpu backend failed to initialise');
  return {
    backend: 'cpu',
    tfBackend: 'cpu',
    detail: 'plain JavaScript kernels (slow: about 0.7 images/s on a conv autoencoder)',
  };
}

export function tryBackend(name: BackendName, load: ModuleLoader): Promise<Omit<Engine, 'tf'>> {
  switch (name) {
    case 'tensorflow-gpu':
    case 'tensorflow':
      return tryTensorflow(name, load);
    case 'wasm':
      return tryWasm(load);
    case 'cpu':
      return tryCpu();
  }
}

/**
 * Picks and activates a backend: the override exactly, or the first of BACKEND_ORDER that
 * works. Not memoised; `initEngine` is the idempotent entry point.
 */
export async function selectBackend(opts: InitEngineOptions, load: ModuleLoader): Promise<Engine> {
  const log = opts.log ?? (() => undefined);
  if (opts.backend) {
    if (!BACKEND_ORDER.includes(opts.backend)) {
      throw new Error(`unknown backend '${opts.backend}': expected one of ${BACKEND_ORDER.join(', ')}`);
    }
    const chosen = await tryBackend(opts.backend, load);
    log(`engine: using ${chosen.backend} (requested): ${chosen.detail}`);
    return { ...chosen, tf };
  }
  const skipped: string[] = [];
  for (const name of BACKEND_ORDER) {
    try {
      const chosen = await tryBackend(name, load);
      const why = skipped.length ? `; skipped ${skipped.join('; ')}` : '';
      log(`engine: using ${chosen.backend}: ${chosen.detail}${why}`);
      return { ...chosen, detail: chosen.detail + why, tf };
    } catch (err) {
      if (!(err instanceof BackendUnavailableError)) throw err;
      skipped.push(`${name} (${err.message.replace(/^backend '[^']+' is unavailable: /, '')})`);
    }
  }
  throw new Error(`no TensorFlow.js backend could be initialised: ${skipped.join('; ')}`);
}
