import { Logger } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import { probeDevices, type DeviceProbe } from '@trainyard/training/supervisor';
import { NoGpuError, WorkerDevices } from './worker-devices';

jest.mock('@trainyard/training/supervisor', () => ({ probeDevices: jest.fn() }));
const probe = jest.mocked(probeDevices);

const h100 = { index: 0, uuid: 'GPU-1', model: 'NVIDIA H100 80GB HBM3', memoryMb: 81_559 };
const found = (gpus: (typeof h100)[]): DeviceProbe => ({
  ok: true,
  report: { backend: 'tensorflow-gpu', detail: 'libtensorflow 2.9', gpus, unusedGpus: [] },
});
const failed: DeviceProbe = { ok: false, reason: 'the device probe sent nothing for 300 s and was killed' };

function devices(resourceClasses?: ('any' | 'cpu' | 'gpu')[], backend: string | undefined = 'tensorflow-gpu') {
  const config = {
    engine: { backend },
    worker: { childHeartbeatTimeoutMs: 300_000, resourceClasses },
  } as unknown as TrainyardConfig;
  return new WorkerDevices(config);
}

describe('WorkerDevices.detect', () => {
  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(() => probe.mockReset());

  it.each([
    ['fails or times out', failed, /the device probe sent nothing for 300 s/],
    ['finds no GPU', found([]), /the device probe found no GPU \(backend tensorflow-gpu/],
  ])(
    'refuses to start a worker pinned to gpu whose probe %s, rather than train gpu jobs on the CPU',
    async (_what, result, reason) => {
      probe.mockResolvedValue(result);
      const pinned = devices(['gpu', 'any']);
      const start = pinned.detect();
      await expect(start).rejects.toThrow(NoGpuError);
      await expect(start).rejects.toThrow(reason);
      await expect(start).rejects.toThrow(/WORKER_RESOURCE_CLASSES=gpu,any includes gpu.*refusing to start/);
    },
  );

  it('starts a pinned GPU worker that found its GPU, one training per GPU', async () => {
    probe.mockResolvedValue(found([h100, { ...h100, index: 1, uuid: 'GPU-2' }]));
    const gpu = devices(['gpu', 'any']);
    await gpu.detect();
    expect(gpu.resourceClasses).toEqual(['gpu', 'any']);
    expect(gpu.concurrency).toBe(2);
  });

  it.each([[undefined], [['cpu', 'any'] as ('any' | 'cpu' | 'gpu')[]]])(
    'starts a worker not pinned to gpu (%p) without a GPU, serving cpu work',
    async (classes) => {
      probe.mockResolvedValue(failed);
      const worker = devices(classes);
      await worker.detect();
      expect(worker.resourceClasses).toEqual(['cpu', 'any']);
      expect(worker.concurrency).toBe(1);
    },
  );

  it('refuses the same with the backend left to the probe', async () => {
    probe.mockResolvedValue(failed);
    await expect(devices(['gpu'], undefined).detect()).rejects.toThrow(NoGpuError);
  });

  it('lets a worker told to train gpu jobs on a CPU backend (TRAINYARD_BACKEND=wasm) start, as asked', async () => {
    probe.mockResolvedValue({
      ok: true,
      report: { backend: 'wasm', detail: 'XNNPACK', gpus: [], unusedGpus: [] },
    });
    const standIn = devices(['gpu'], 'wasm');
    await standIn.detect();
    expect(standIn.resourceClasses).toEqual(['gpu']);
  });
});
