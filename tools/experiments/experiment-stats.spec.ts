import {
  epochsToReach,
  formatInterval,
  formatReach,
  interval95,
  meanStd,
  pairedDifference95,
  studentT975,
} from './experiment-stats';

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

describe('95 % intervals', () => {
  it("uses Student's t quantiles: the table, and the expansion beyond it", () => {
    expect(studentT975(1)).toBe(12.706);
    expect(studentT975(2)).toBe(4.303);
    expect(studentT975(30)).toBe(2.042);
    // Exact values: df 40 → 2.021, 60 → 2.000, 120 → 1.980.
    expect(studentT975(40)).toBeCloseTo(2.021, 3);
    expect(studentT975(60)).toBeCloseTo(2.0, 3);
    expect(studentT975(120)).toBeCloseTo(1.98, 3);
    expect(() => studentT975(0)).toThrow(RangeError);
  });

  it('gives mean ± t · s / √n, and no interval from one value', () => {
    const i = interval95([0.8, 0.9, 1.0]);
    expect(i.mean).toBeCloseTo(0.9, 12);
    // s = 0.1, t(0.975, 2) = 4.303: 4.303 · 0.1 / √3.
    expect(i.halfWidth).toBeCloseTo((4.303 * 0.1) / Math.sqrt(3), 12);
    expect(formatInterval(i)).toBe('0.900 ± 0.248');
    expect(formatInterval(interval95([0.5]))).toBe('0.500 (n = 1)');
    expect(formatInterval(interval95([]))).toBe('-');
    expect(formatInterval(i, 1, 100)).toBe('90.0 ± 24.8');
  });

  it('pairs differences by seed, over the seeds both arms have', () => {
    const pretrained = new Map([
      [1, 0.7],
      [2, 0.8],
      [3, 0.9],
      [4, 0.5],
    ]);
    const scratch = new Map([
      [1, 0.6],
      [2, 0.75],
      [3, 0.8],
    ]);
    const d = pairedDifference95(pretrained, scratch);
    expect(d.n).toBe(3);
    expect(d.mean).toBeCloseTo((0.1 + 0.05 + 0.1) / 3, 12);
    // The seeds' common level cancels: a shift shared by both arms changes nothing.
    const shifted = (m: Map<number, number>) => new Map([...m].map(([k, v]) => [k, v - 0.3 * k]));
    expect(pairedDifference95(shifted(pretrained), shifted(scratch)).halfWidth).toBeCloseTo(d.halfWidth, 12);
  });
});
