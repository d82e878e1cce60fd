import {
  orphanCheckpointSequences,
  retentionVictims,
  type CheckpointFolderAge,
  type CheckpointSweepRecord,
  type RetainedCheckpoint,
} from './checkpoint-retention';

const cp = (
  sequence: number,
  metricValue: number | null = null,
  metricName: string | null = 'val_loss',
): RetainedCheckpoint => ({
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
    const accuracy = [
      cp(1, 0.5, 'val_accuracy'),
      cp(2, 0.9, 'val_accuracy'),
      cp(3, 0.4, 'val_accuracy'),
      cp(4, 0.6, 'val_accuracy'),
    ];
    expect(ids(retentionVictims(accuracy, 1, new Set()))).toEqual(['c1', 'c3']);
  });

  it('never deletes a pinned checkpoint, and keeps at least the newest one', () => {
    expect(ids(retentionVictims([cp(1), cp(2), cp(3)], 0, new Set(['c1'])))).toEqual(['c2']);
  });
});

describe('orphanCheckpointSequences', () => {
  const now = new Date('2030-01-01T12:00:00Z');
  const rules = { now, graceMs: 15 * 60_000, sequenceBlock: 1000 };
  const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000);
  const folder = (sequence: number, ageMinutes = 60): CheckpointFolderAge => ({
    sequence,
    lastModified: minutesAgo(ageMinutes),
  });
  const record = (over: Partial<CheckpointSweepRecord>): CheckpointSweepRecord => ({
    runId: 'r1',
    terminal: false,
    latestAttempt: 1,
    rows: [],
    ...over,
  });
  const row = (sequence: number, status = 'COMPLETE', uri = `s3://b/runs/r1/checkpoints/${sequence}/`) => ({
    sequence,
    status,
    uri,
  });

  it("takes unrecorded folders below the latest attempt's block, never the latest attempt's own", () => {
    const folders = [folder(1), folder(2), folder(999), folder(1001), folder(2001), folder(2002)];
    const rec = record({ latestAttempt: 3, rows: [row(1), row(2001)] });
    // 2, 999 and 1001 were written by attempts 1 and 2, which can never record them now; 2002 may be attempt 3's upload.
    expect(orphanCheckpointSequences(folders, rec, rules)).toEqual([2, 999, 1001]);
    expect(orphanCheckpointSequences(folders, record({ latestAttempt: 1 }), rules)).toEqual([]);
    expect(orphanCheckpointSequences(folders, record({ latestAttempt: null }), rules)).toEqual([]);
  });

  it('takes every unrecorded folder of an ended run, and the leftovers of DELETED rows at any sequence', () => {
    const folders = [folder(1), folder(2), folder(3), folder(4)];
    expect(
      orphanCheckpointSequences(folders, record({ terminal: true, rows: [row(1), row(3, 'CORRUPT')] }), rules),
    ).toEqual([2, 4]);
    expect(
      orphanCheckpointSequences(folders, record({ rows: [row(1), row(2, 'DELETED'), row(3, 'WRITING')] }), rules),
    ).toEqual([2]);
  });

  it('never takes a folder written within the grace period, or one a live row points to by its uri', () => {
    const rec = record({
      terminal: true,
      rows: [row(9, 'COMPLETE', 'file:///data/runs/r1/checkpoints/5/'), row(6, 'DELETED')],
    });
    expect(orphanCheckpointSequences([folder(4, 14), folder(5), folder(6, 1), folder(7, 16)], rec, rules)).toEqual([7]);
    // A row of another run with a similar path does not protect anything here.
    const other = record({ terminal: true, rows: [row(9, 'COMPLETE', 's3://b/runs/r10/checkpoints/7/')] });
    expect(orphanCheckpointSequences([folder(7)], other, rules)).toEqual([7]);
  });
});
