import { cappedProduct, isForbiddenKey } from './schema-guards';

describe('schema guards', () => {
  it('cappedProduct stops at the cap instead of overflowing', () => {
    expect(cappedProduct([2, 3, 4], 200)).toBe(24);
    expect(
      cappedProduct(
        Array.from({ length: 9 }, () => 50),
        200,
      ),
    ).toBe(201);
    expect(
      cappedProduct(
        Array.from({ length: 1000 }, () => Number.MAX_SAFE_INTEGER),
        200,
      ),
    ).toBe(201);
    expect(cappedProduct([], 200)).toBe(1);
    expect(() => cappedProduct([Number.NaN], 200)).toThrow(RangeError);
  });

  it('names the keys that reach prototype machinery', () => {
    expect(['__proto__', 'constructor', 'prototype'].every(isForbiddenKey)).toBe(true);
    expect(isForbiddenKey('training')).toBe(false);
  });
});
