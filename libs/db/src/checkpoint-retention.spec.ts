import { retentionVictims, type RetainedCheckpoint } from './checkpoint-retention';

const cp = (sequence: number, metricValue: number | null = null, metricName: string | null = 'val_loss'): RetainedCheckpoint => ({
  id: `c${sequence}`,
  sequence,
  metricName: metricValue === null ? null : metricName,
  metricValue,
});
const ids = (cs: RetainedCheckpoint[]) => cs.map((c) => c.id);

describe('retentionVictims', () => {
  it('keeps the newest K', () => {
    expect(ids(retentionVictims([cp(3), cp(1), cp(5), cp(4), cp(2)], 3, new Set()))).toEqual(['c1', 'c2']);
  });

  it('keeps the best by the checkpoint metric (lower loss, higher accuracy), never NaN', () => {
    const losses = [cp(1, 0.9), cp(2, 0.2), cp(3, NaN), cp(4, 0.5), cp(5, 0.6), cp(6, 0.7)];
    expect(ids(retentionVictims(losses, 2, new Set()))).toEqual(['c1', 'c3', 'c4']);
    const accuracy = [cp(1, 0.5, 'val_accuracy'), cp(2, 0.9, 'val_accuracy'), cp(3, 0.4, 'val_accuracy'), cp(4, 0.6, 'val_accuracy')];
    expect(ids(retentionVictims(accuracy, 1, new Set()))).toEqual(['c1', 'c3']);
  });

  it('never deletes a pinned checkpoint, and keeps at least the newest one', () => {
    expect(ids(retentionVictims([cp(1), cp(2), cp(3)], 0, new Set(['c1'])))).toEqual(['c2']);
  });
});
