import { createHash } from 'node:crypto';
import { InvalidSplitError, keyRank, stratifiedSplit } from './index';

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
    expect(() => stratifiedSplit(labels, { validation: 0.5, test: 0.5 }, 1)).toThrow(InvalidSplitError);
    expect(() => stratifiedSplit(labels, { validation: 0.5, test: 0.5 }, 1)).toThrow(/leave some training data/);
  });

  it('splits by position exactly as runs recorded before key splits were split', () => {
    // The release before key splits gave these (split.assign 'position' keeps them).
    expect(stratifiedSplit(labels, { validation: 0.2, test: 0.2 }, 1)).toEqual({
      train: [10, 15, 3, 13, 6, 14, 5, 7, 1, 2],
      validation: [4, 9, 12],
      test: [0, 8, 11],
    });
  });
});

describe('stratifiedSplit by key', () => {
  const fractions = { validation: 0.2, test: 0.2 };
  /** 3 classes × 20 images: `c<class>/<i>.png`. */
  const folder = (extra: string[] = []) => {
    const keys = [0, 1, 2].flatMap((c) => Array.from({ length: 20 }, (_, i) => `c${c}/${i}.png`)).concat(extra);
    return { keys, labels: keys.map((k) => Number(k[1])) };
  };
  /** Each key's part. */
  const parts = ({ keys, labels }: ReturnType<typeof folder>, seed = 4) => {
    const split = stratifiedSplit(labels, fractions, seed, keys);
    const of = new Map<string, string>();
    for (const part of ['train', 'validation', 'test'] as const) for (const i of split[part]) of.set(keys[i], part);
    return of;
  };

  it('gives each image the part its key and class size decide, whatever order the images come in', () => {
    const listed = folder();
    const before = parts(listed);
    expect([...before.values()].filter((p) => p === 'test')).toHaveLength(12);
    const order = listed.keys.map((_, i) => i).reverse();
    const reversed = { keys: order.map((i) => listed.keys[i]), labels: order.map((i) => listed.labels[i]) };
    expect(parts(reversed)).toEqual(before);
    expect(parts(listed, 5)).not.toEqual(before);
    // The test images of a class are its lowest ranks: sha256("<seed>/<key>")'s first 48 bits.
    const c0 = listed.keys.slice(0, 20).sort((a, b) => keyRank(4, a) - keyRank(4, b));
    expect(c0.slice(0, 4).every((k) => before.get(k) === 'test')).toBe(true);
    const sha256 = createHash('sha256').update('4/c0/0.png').digest('hex');
    expect(keyRank(4, 'c0/0.png')).toBe(Number.parseInt(sha256.slice(0, 12), 16));
  });

  it('moves at most the images at a boundary of its class, never between test and training, as images are added', () => {
    let before = parts(folder());
    const added: string[] = [];
    for (let n = 0; n < 8; n++) {
      added.push(`c1/new-${n}.png`);
      const after = parts(folder(added));
      const moved = [...before].filter(([key, part]) => after.get(key) !== part);
      // Into a neighbouring part only, and only in the class that grew.
      expect(moved.length).toBeLessThanOrEqual(2);
      for (const [key, part] of moved) {
        expect(key.startsWith('c1/')).toBe(true);
        expect([part, after.get(key)].sort()).not.toEqual(['test', 'train']);
      }
      before = after;
    }
  });
});
