import type { RunProgress } from '@trainyard/contracts';
import { ProgressLines } from './progress-lines';

const progress = (phase: RunProgress['phase'], imagesPerSec?: number): RunProgress => ({
  phase,
  epoch: 1,
  epochs: 3,
  step: 0,
  stepsPerEpoch: 9,
  imagesPerSec,
  updatedAt: '',
});
const point = (name: string, value: number, epoch = 2) => ({ name, step: 17, epoch, value, wallTime: '' });

describe('ProgressLines', () => {
  it('prints one line per epoch with its metrics and the last throughput, none for batch samples', () => {
    const lines = new ProgressLines();
    expect(lines.describe({ type: 'progress', progress: progress('loading') })).toEqual({
      stream: 'stdout',
      text: 'loading data',
    });
    expect(lines.describe({ type: 'progress', progress: progress('training', 811.6) })).toBeUndefined();
    expect(lines.describe({ type: 'metrics', points: [point('batch_loss', 0.5)] })).toBeUndefined();
    // The test scores, printed with the result in words, are no epoch line.
    expect(lines.describe({ type: 'metrics', points: [point('test/accuracy', 0.9)] })).toBeUndefined();
    expect(lines.describe({ type: 'metrics', points: [point('loss', 0.012345), point('val_loss', 0.015)] })).toEqual({
      stream: 'stdout',
      text: 'epoch 2/3 loss 0.01235 val_loss 0.01500 (812 img/s)',
    });
  });

  it('says what the data holds, and leaves to the worker what it logs itself (backend, resume, unusable checkpoints)', () => {
    const lines = new ProgressLines();
    const report = {
      classNames: ['a', 'b'],
      files: 10,
      splits: { train: 6, validation: 2, test: 2 },
      skippedCount: 0,
      skipped: [],
      decoded: 10,
      cacheHits: 0,
    };
    expect(lines.describe({ type: 'data-report', report })).toEqual({
      stream: 'stdout',
      text: '2 classes; 6 training, 2 validation, 2 test images',
    });
    expect(lines.describe({ type: 'backend', backend: 'wasm', detail: 'SIMD' })).toBeUndefined();
    expect(lines.describe({ type: 'resumed', sequence: 2, epoch: 1, step: 8 })).toBeUndefined();
    expect(lines.describe({ type: 'checkpoint-corrupt', sequence: 3, reason: 'sha256 mismatch' })).toBeUndefined();
  });
});
