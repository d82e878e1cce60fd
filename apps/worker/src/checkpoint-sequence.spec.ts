import {
  CHECKPOINT_SEQUENCE_BLOCK,
  firstCheckpointSequence,
  UNRECORDED_CHECKPOINTS_MARGIN,
} from './orphan-checkpoints.sweeper';

describe("an attempt's first checkpoint sequence", () => {
  it('starts each attempt at its own block, above what earlier attempts recorded', () => {
    expect(firstCheckpointSequence(1, 0)).toBe(1);
    expect(firstCheckpointSequence(2, 0)).toBe(CHECKPOINT_SEQUENCE_BLOCK + 1);
    expect(firstCheckpointSequence(2, 7)).toBe(1001);
    expect(firstCheckpointSequence(3, 1004)).toBe(2001);
    // A run resumed many times keeps numbering within each attempt's block.
    expect(firstCheckpointSequence(5, 3999)).toBe(4001);
  });

  it('never starts on the folders an earlier attempt that outgrew its block may be uploading', () => {
    // Attempt 1 recorded 1000 (its block full) or more: if it still runs, it may be writing the
    // next ones, unrecorded; attempt 2 starts past them.
    const past = (last: number) => last + 1 + UNRECORDED_CHECKPOINTS_MARGIN;
    expect(firstCheckpointSequence(2, 1000)).toBe(past(1000));
    expect(firstCheckpointSequence(2, 1500)).toBe(past(1500));
    expect(firstCheckpointSequence(3, 2000)).toBe(past(2000));
    expect(UNRECORDED_CHECKPOINTS_MARGIN).toBeGreaterThanOrEqual(1);
    // One short of the block's end: what it may be uploading is its own block's last.
    expect(firstCheckpointSequence(2, 999)).toBe(1001);
  });
});
