import { stratifiedSplit } from './index';

describe('stratifiedSplit', () => {
  const labels = [...new Array(10).fill(0), ...new Array(5).fill(1), 2];

  it('holds out the same share of every class, disjoint and complete, by seed', () => {
    const a = stratifiedSplit(labels, { validation: 0.2, test: 0.2 }, 1);
    const count = (idx: number[], c: number) => idx.filter((i) => labels[i] === c).length;
    expect([0, 1, 2].map((c) => count(a.test, c))).toEqual([2, 1, 0]);
    expect([0, 1, 2].map((c) => count(a.validation, c))).toEqual([2, 1, 0]);
    expect([0, 1, 2].map((c) => count(a.train, c))).toEqual([6, 3, 1]); // a one-image class still trains
    expect([...a.train, ...a.validation, ...a.test].sort((x, y) => x - y)).toEqual(labels.map((_, i) => i));
    expect(stratifiedSplit(labels, { validation: 0.2, test: 0.2 }, 1)).toEqual(a);
    expect(stratifiedSplit(labels, { validation: 0.2, test: 0.2 }, 2).test).not.toEqual(a.test);
  });

  it('gives way to training first in tiny classes and refuses fractions that leave nothing', () => {
    const two = stratifiedSplit([0, 0, 1, 1], { validation: 0.5, test: 0.5 - 1e-9 }, 3);
    expect(two.train).toHaveLength(2);
    expect(() => stratifiedSplit(labels, { validation: 0.5, test: 0.5 }, 1)).toThrow(/leave some training data/);
  });
});
