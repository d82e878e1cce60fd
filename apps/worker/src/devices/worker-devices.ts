import { totalmem } from 'node:os';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import type { ResourceClass } from '@trainyard/contracts';
import { CONFIG } from '@trainyard/infrastructure';
import { probeDevices, type BackendName, type DeviceReport, type GpuDevice } from '@trainyard/training/supervisor';

/** The device one attempt trains on, and the variables that pin its process there. Released when the attempt ends. */
export interface DeviceLease {
  /** For the attempt's log: " on GPU 1 (NVIDIA H100 80GB HBM3)", or "" without a GPU. */
  label: string;
  env: Record<string, string>;
  release(): void;
}

/** A worker pinned to the gpu resource class found no GPU to train on: it does not start. */
export class NoGpuError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoGpuError';
  }
}

/** What the workers table records of a worker's devices. */
export interface DeviceRegistration {
  backend: string | null;
  gpu: string | null;
  gpuCount: number;
  gpuMemoryMb: number | null;
  /** RAM in MiB. */
  memoryMb: number;
}

/**
 * The backend and GPUs this worker trains with, found once at start by a probe process (a broken
 * driver fails the probe, not the worker), and which GPU each attempt's process is pinned to:
 * the one with the fewest trainings, so with the default concurrency (one per GPU) each runs
 * alone on its own.
 */
@Injectable()
export class WorkerDevices {
  private readonly logger = new Logger(WorkerDevices.name);
  private report?: DeviceReport;
  /** Trainings on each GPU, by its index. */
  private readonly load = new Map<number, number>();

  constructor(@Inject(CONFIG) private readonly config: TrainyardConfig) {}

  async detect(): Promise<void> {
    const probe = await probeDevices({
      backend: this.config.engine.backend,
      timeoutMs: this.config.worker.childHeartbeatTimeoutMs,
      onOutput: (line) => this.logger.debug(`device probe ${line.stream}: ${line.text}`),
    });
    if (!probe.ok) {
      this.assertGpuIfPinned(probe.reason);
      // The trainings then choose (or fail to load) their backend themselves, and say so per run.
      this.logger.error(
        `${probe.reason}; training without a device report (backend ${this.config.engine.backend ?? 'chosen by each training'}, no GPU)`,
      );
      return;
    }
    this.report = probe.report;
    if (!probe.report.gpus.length)
      this.assertGpuIfPinned(`the device probe found no GPU (backend ${probe.report.backend}: ${probe.report.detail})`);
    const { backend, detail, gpus, unusedGpus } = probe.report;
    this.logger.log(`devices: ${backend} (${detail}); ${gpus.length ? gpus.map(describeGpu).join(', ') : 'no GPU'}`);
    if (unusedGpus.length)
      this.logger.warn(
        `the driver lists ${unusedGpus.map(describeGpu).join(', ')}, which the ${backend} backend does not use`,
      );
    for (const gpu of gpus) this.load.set(gpu.index, 0);
  }

  /**
   * A worker told to serve the gpu class (WORKER_RESOURCE_CLASSES) that has no GPU would take gpu
   * jobs and train them on the CPU, silently and very slowly: it refuses to start instead, so the
   * pod or container restarts (a slow first CUDA start may succeed the next time) and the failure
   * shows, rather than the queue's gpu jobs. Unless TRAINYARD_BACKEND names a CPU backend: then
   * gpu jobs on the CPU are what was asked for (a stand-in fleet, tests), and it only says so.
   */
  private assertGpuIfPinned(reason: string): void {
    const classes = this.config.worker.resourceClasses;
    if (!classes?.includes('gpu')) return;
    const backend = this.config.engine.backend;
    if (backend !== undefined && backend !== 'tensorflow-gpu') {
      this.logger.warn(
        `WORKER_RESOURCE_CLASSES=${classes.join(',')} includes gpu, but ${reason}: gpu jobs train on the ${backend} backend (TRAINYARD_BACKEND)`,
      );
      return;
    }
    throw new NoGpuError(
      `WORKER_RESOURCE_CLASSES=${classes.join(',')} includes gpu, but ${reason}; ` +
        'refusing to start rather than train gpu jobs on the CPU. Check the NVIDIA driver and the GPU given to ' +
        'this container (nvidia-smi), raise WORKER_CHILD_HEARTBEAT_TIMEOUT_MS if the first CUDA start is slow, ' +
        'or drop gpu from WORKER_RESOURCE_CLASSES.',
    );
  }

  /** What each training is told to use: TRAINYARD_BACKEND, else what the probe activated. */
  get backend(): BackendName | undefined {
    return this.config.engine.backend ?? this.report?.backend;
  }

  get gpus(): GpuDevice[] {
    return this.report?.gpus ?? [];
  }

  /** WORKER_CONCURRENCY, else one training per GPU, else one. */
  get concurrency(): number {
    return this.config.worker.concurrency ?? Math.max(1, this.gpus.length);
  }

  /** WORKER_RESOURCE_CLASSES, else gpu and any with GPUs, cpu and any without. */
  get resourceClasses(): ResourceClass[] {
    return this.config.worker.resourceClasses ?? (this.gpus.length ? ['gpu', 'any'] : ['cpu', 'any']);
  }

  /**
   * Whether a training that needs `memoryGb` fits on the device it would train on here: one GPU
   * (the smallest) on a worker with GPUs, the RAM otherwise. Unknown GPU memory fits.
   */
  fits(memoryGb: number | undefined): boolean {
    if (memoryGb === undefined) return true;
    const { gpuMemoryMb, memoryMb } = this.registration();
    const available = this.gpus.length ? gpuMemoryMb : memoryMb;
    return available === null || memoryGb * 1024 <= available;
  }

  registration(): DeviceRegistration {
    const models = [...new Set(this.gpus.map((g) => g.model))];
    const memories = this.gpus.map((g) => g.memoryMb).filter((m): m is number => m !== null);
    return {
      backend: this.backend ?? null,
      gpu: models.length ? models.join(' + ') : null,
      gpuCount: this.gpus.length,
      // Per GPU; the smallest when they differ, since any of them may get a given job.
      gpuMemoryMb: memories.length === this.gpus.length && memories.length > 0 ? Math.min(...memories) : null,
      memoryMb: Math.round(totalmem() / 2 ** 20),
    };
  }

  /**
   * Pins an attempt's process to the least busy GPU: CUDA_VISIBLE_DEVICES in nvidia-smi's order
   * (CUDA_DEVICE_ORDER=PCI_BUS_ID makes CUDA count the same way), and memory taken as needed
   * rather than all of it at once, in case WORKER_CONCURRENCY puts two trainings on one GPU.
   */
  lease(): DeviceLease {
    const gpu = [...this.gpus].sort(
      (a, b) => this.load.get(a.index)! - this.load.get(b.index)! || a.index - b.index,
    )[0];
    if (!gpu) return { label: '', env: {}, release: () => undefined };
    this.load.set(gpu.index, this.load.get(gpu.index)! + 1);
    let released = false;
    return {
      label: ` on ${describeGpu(gpu)}`,
      env: {
        CUDA_VISIBLE_DEVICES: String(gpu.index),
        CUDA_DEVICE_ORDER: 'PCI_BUS_ID',
        TF_FORCE_GPU_ALLOW_GROWTH: 'true',
      },
      release: () => {
        if (released) return;
        released = true;
        this.load.set(gpu.index, this.load.get(gpu.index)! - 1);
      },
    };
  }
}

function describeGpu(gpu: GpuDevice): string {
  return `GPU ${gpu.index} (${gpu.model}${gpu.memoryMb === null ? '' : `, ${gpu.memoryMb} MiB`})`;
}
