import { epochsToReach, formatReach, meanStd } from './experiment-stats';

describe('experiment statistics', () => {
  it('takes the sample standard deviation', () => {
    expect(meanStd([1, 2, 3])).toEqual({ mean: 2, std: 1, n: 3 });
    expect(meanStd([5])).toEqual({ mean: 5, std: 0, n: 1 });
    expect(meanStd([]).mean).toBeNaN();
  });

  it('finds the first epoch at or above the threshold, in epoch order', () => {
    const points = [
      { epoch: 3, value: 0.95 },
      { epoch: 1, value: 0.5 },
      { epoch: 2, value: 0.9 },
    ];
    expect(epochsToReach(points, 0.9)).toBe(2);
    expect(epochsToReach(points, 0.99)).toBeNull();
  });

  it('says how many runs reached it', () => {
    expect(formatReach([2, 4, null])).toBe('3.0 ± 1.4 (2/3 reached)');
    expect(formatReach([null])).toBe('not reached (0/1)');
  });
});
