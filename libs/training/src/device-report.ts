import type { BackendName } from '@trainyard/engine';

/** A GPU as the driver lists it. `index` is its nvidia-smi (PCI bus order) index, what CUDA_VISIBLE_DEVICES pins. */
export interface GpuDevice {
  index: number;
  /** `GPU-…`, when the driver said. */
  uuid: string | null;
  model: string;
  /** Total memory in MiB; null when only /proc/driver/nvidia was there to ask. */
  memoryMb: number | null;
}

/** What a worker found at start, in a process of its own (device-probe.child.ts). */
export interface DeviceReport {
  /** The backend the engine chose (or was told to use) and activated. */
  backend: BackendName;
  detail: string;
  /** The GPUs this worker trains on: those the driver lists, when the backend is tensorflow-gpu; none otherwise. */
  gpus: GpuDevice[];
  /** GPUs the driver lists that the backend will not use (a CPU backend on a GPU node), for the log. */
  unusedGpus: GpuDevice[];
}
