import * as tf from '@tensorflow/tfjs';

/**
 * Times every kernel of a backend by wrapping its registered kernelFunc. The wasm backend is
 * synchronous, so wall time around the call is the kernel's time (tf.profile would also work
 * but reads back every output, which perturbs what it measures). Only the outermost kernel is
 * charged: kernels such as ours that run other kernels inside (through tf ops) would otherwise
 * be counted twice. `inner` records those nested calls separately, by parent.
 */
export interface KernelStat {
  name: string;
  calls: number;
  ms: number;
}

export class KernelTimer {
  private readonly originals: tf.KernelConfig[] = [];
  private readonly outer = new Map<string, KernelStat>();
  private readonly inner = new Map<string, KernelStat>();
  private stack: string[] = [];

  constructor(private readonly backendName: string) {}

  start(): void {
    if (this.originals.length) throw new Error('KernelTimer already started');
    for (const config of tf.getKernelsForBackend(this.backendName)) {
      this.originals.push(config);
      const run = config.kernelFunc;
      const name = config.kernelName;
      tf.unregisterKernel(name, this.backendName);
      tf.registerKernel({
        ...config,
        kernelFunc: (args) => {
          const parent = this.stack[this.stack.length - 1];
          this.stack.push(name);
          const t0 = performance.now();
          try {
            return run(args);
          } finally {
            const ms = performance.now() - t0;
            this.stack.pop();
            if (parent === undefined) add(this.outer, name, ms);
            else if (this.stack.length === 1) add(this.inner, `${parent} > ${name}`, ms);
          }
        },
      });
    }
  }

  /** Restores the unwrapped kernels (configs registered meanwhile by others are dropped). */
  stop(): void {
    for (const config of this.originals) {
      tf.unregisterKernel(config.kernelName, this.backendName);
      tf.registerKernel(config);
    }
    this.originals.length = 0;
  }

  reset(): void {
    this.outer.clear();
    this.inner.clear();
  }

  /** Outermost kernels, most expensive first. */
  top(n: number): KernelStat[] {
    return [...this.outer.values()].sort((a, b) => b.ms - a.ms).slice(0, n);
  }

  /** Kernels run inside composite kernels, as 'Parent > Child', most expensive first. */
  topInner(n: number): KernelStat[] {
    return [...this.inner.values()].sort((a, b) => b.ms - a.ms).slice(0, n);
  }

  totalMs(): number {
    let ms = 0;
    for (const s of this.outer.values()) ms += s.ms;
    return ms;
  }
}

function add(map: Map<string, KernelStat>, name: string, ms: number): void {
  const s = map.get(name) ?? { name, calls: 0, ms: 0 };
  s.calls++;
  s.ms += ms;
  map.set(name, s);
}
