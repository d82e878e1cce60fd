import * as tf from '@tensorflow/tfjs';
import { BackendUnavailableError, Engine, ModuleLoader, selectBackend } from './backend-selection';
import { initEngine, resetEngineForTests } from './init-engine';
import { requireSimdKernels } from './kernels/kernel-check.testing';
import { useSimdKernels } from './kernels/simd';

// tfjs-node(-gpu) are not installed here (their install downloads libtensorflow), so the real
// loader exercises the fall-through; fake loaders stand in for machines where they are.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const realRequire: ModuleLoader = (name) => require(name);

/** A loader where `pkg` "installs" a 'tensorflow' backend (the cpu one, with GPU facts attached). */
function withFakeTensorflow(pkg: string, facts: { isUsingGpuDevice?: boolean } = {}): ModuleLoader {
  return (name) => {
    if (name !== pkg) return realRequire(name);
    const cpu = tf.findBackendFactory('cpu');
    if (!cpu) throw new Error('cpu backend factory missing');
    tf.registerBackend('tensorflow', () => Object.assign(cpu() as object, facts) as tf.KernelBackend);
    return { Tensor: tf.Tensor };
  };
}

// Only the plain fields: a failing matcher would otherwise print all of `engine.tf`.
const brief = (e: Engine) => ({ backend: e.backend, tfBackend: e.tfBackend });

afterEach(() => {
  resetEngineForTests();
  if (tf.findBackend('tensorflow') || tf.findBackendFactory('tensorflow')) tf.removeBackend('tensorflow');
});

describe('selectBackend', () => {
  beforeAll(() => requireSimdKernels());

  it('falls through the missing tfjs-node packages to wasm and says why', async () => {
    const lines: string[] = [];
    const engine = await selectBackend({ log: (m) => lines.push(m) }, realRequire);
    expect(brief(engine)).toEqual({ backend: 'wasm', tfBackend: 'wasm' });
    expect(tf.getBackend()).toBe('wasm');
    expect(engine.detail).toContain('tfjs-node-gpu is not installed');
    expect(engine.detail).toContain('tfjs-node is not installed');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^engine: using wasm: XNNPACK.*skipped tensorflow-gpu/);
    expect(tf.getKernel(tf.Conv2DBackpropFilter, 'wasm')).toBeDefined();
    expect(engine.detail).toContain('wasm SIMD kernels on');
    // Same tfjs module underneath (each importer gets its own namespace wrapper from the
    // CommonJS interop, so compare what matters: the engine and the Tensor class).
    expect(engine.tf.engine() === tf.engine() && engine.tf.Tensor === tf.Tensor).toBe(true);
  });

  it('says on the attempt when the wasm SIMD kernels are off', async () => {
    useSimdKernels(false);
    try {
      const engine = await selectBackend({ backend: 'wasm', log: () => undefined }, realRequire);
      expect(engine.detail).toContain('wasm SIMD kernels off');
    } finally {
      useSimdKernels(true);
    }
  });

  it('names the reason when an override is unavailable', async () => {
    await expect(selectBackend({ backend: 'tensorflow-gpu' }, realRequire)).rejects.toThrow(
      "backend 'tensorflow-gpu' is unavailable: tfjs-node-gpu is not installed: install it on GPU nodes (needs CUDA 11.2/cuDNN 8.1)",
    );
    await expect(selectBackend({ backend: 'tensorflow' }, realRequire)).rejects.toThrow(BackendUnavailableError);
  });

  it('uses exactly the requested backend', async () => {
    const engine = await selectBackend({ backend: 'cpu' }, realRequire);
    expect(brief(engine)).toEqual({ backend: 'cpu', tfBackend: 'cpu' });
    expect(tf.getBackend()).toBe('cpu');
  });

  it('prefers tfjs-node when it loads', async () => {
    const engine = await selectBackend({}, withFakeTensorflow('@tensorflow/tfjs-node'));
    expect(brief(engine)).toEqual({ backend: 'tensorflow', tfBackend: 'tensorflow' });
    expect(engine.detail).toContain('tfjs-node-gpu is not installed');
  });

  it('does not record a GPU run when tfjs-node-gpu finds no GPU', async () => {
    const load = withFakeTensorflow('@tensorflow/tfjs-node-gpu', { isUsingGpuDevice: false });
    await expect(selectBackend({ backend: 'tensorflow-gpu' }, load)).rejects.toThrow(/found no usable GPU/);
  });

  it('accepts tfjs-node-gpu when TensorFlow reports a GPU device', async () => {
    const load = withFakeTensorflow('@tensorflow/tfjs-node-gpu', { isUsingGpuDevice: true });
    const engine = await selectBackend({}, load);
    expect(brief(engine)).toEqual({ backend: 'tensorflow-gpu', tfBackend: 'tensorflow' });
  });

  it('tells an installed-but-broken package from a missing one', async () => {
    const load: ModuleLoader = (name) => {
      if (name === '@tensorflow/tfjs-node') throw new Error('libtensorflow.so.2: cannot open shared object file');
      return realRequire(name);
    };
    await expect(selectBackend({ backend: 'tensorflow' }, load)).rejects.toThrow(
      /@tensorflow\/tfjs-node failed to load: libtensorflow\.so\.2/,
    );
  });
});

describe('initEngine', () => {
  it('is idempotent and re-activates its backend', async () => {
    const first = await initEngine({ backend: 'wasm' });
    await tf.setBackend('cpu');
    const second = await initEngine();
    expect(second).toBe(first);
    expect(tf.getBackend()).toBe('wasm');
  });

  it('refuses a different backend once one is chosen', async () => {
    await initEngine({ backend: 'wasm' });
    await expect(initEngine({ backend: 'cpu' })).rejects.toThrow(/already initialised with 'wasm'/);
  });

  it('does not cache a failure', async () => {
    await expect(initEngine({ backend: 'tensorflow-gpu' })).rejects.toThrow(/not installed/);
    await expect(initEngine({ backend: 'cpu' }).then(brief)).resolves.toMatchObject({ backend: 'cpu' });
  });
});
