import { formatDuration, formatProgress, formatTable } from './progress-line';

describe('progress line', () => {
  it('shows epoch, step, loss, throughput and ETA', () => {
    const line = formatProgress('pretrain', 'RUNNING', {
      phase: 'training',
      epoch: 2,
      epochs: 5,
      step: 130,
      stepsPerEpoch: 100,
      loss: 0.012345,
      imagesPerSec: 612.4,
      etaSeconds: 95,
      updatedAt: new Date().toISOString(),
    });
    expect(line).toBe('pretrain  training  epoch 2/5  step 130  loss 0.0123  612 img/s  ETA 1m35s');
  });

  it('shows the status until the worker reports progress', () => {
    expect(formatProgress('scratch', 'QUEUED', null)).toBe('scratch  queued');
  });

  it('formats durations and tables', () => {
    expect(formatDuration(42.4)).toBe('42s');
    expect(formatDuration(Number.NaN)).toBe('?');
    expect(formatTable(['a', 'bb'], [['xyz', '1']]).split('\n')).toEqual(['a    bb', '---  --', 'xyz  1 ']);
  });
});
