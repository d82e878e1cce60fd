import { parseNvidiaSmi, withinVisibleDevices } from './nvidia-gpus';

describe('nvidia-smi GPUs', () => {
  const csv = [
    '0, GPU-aaaa-1111, NVIDIA H100 80GB HBM3, 81559',
    '1, GPU-bbbb-2222, NVIDIA H100 80GB HBM3, 81559',
    '2, GPU-cccc-3333, Tesla T4, [N/A]',
    '',
  ].join('\n');

  it('reads index, uuid, model and memory per line', () => {
    expect(parseNvidiaSmi(csv)).toEqual([
      { index: 0, uuid: 'GPU-aaaa-1111', model: 'NVIDIA H100 80GB HBM3', memoryMb: 81559 },
      { index: 1, uuid: 'GPU-bbbb-2222', model: 'NVIDIA H100 80GB HBM3', memoryMb: 81559 },
      { index: 2, uuid: 'GPU-cccc-3333', model: 'Tesla T4', memoryMb: null },
    ]);
    expect(parseNvidiaSmi('No devices were found\n')).toEqual([]);
  });

  it('keeps what CUDA_VISIBLE_DEVICES shows, in its order, by index or UUID', () => {
    const gpus = parseNvidiaSmi(csv);
    expect(withinVisibleDevices(gpus, undefined)).toHaveLength(3);
    expect(withinVisibleDevices(gpus, '2,0').map((g) => g.index)).toEqual([2, 0]);
    expect(withinVisibleDevices(gpus, 'GPU-bbbb').map((g) => g.index)).toEqual([1]);
    // As in CUDA: an empty list, or an entry naming no device, hides it and every later one.
    expect(withinVisibleDevices(gpus, '')).toEqual([]);
    expect(withinVisibleDevices(gpus, '1,-1,0').map((g) => g.index)).toEqual([1]);
  });
});
