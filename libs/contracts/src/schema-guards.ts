import type { z } from 'zod';

/**
 * Params for a cross-field check (`superRefine`) that must only see a fully valid object. Zod 4
 * runs object-level refinements after continuable issues (a `max` that failed is one), so without
 * this a check reads the invalid field anyway: a sweep with `maxRuns: 1e9` was expanded after its
 * `maxRuns` had been refused, blocking the event loop and exhausting the heap.
 */
export const ONLY_WHEN_VALID = {
  when: (payload: z.core.ParsePayload) => payload.issues.length === 0,
} as const;

/** A JSON object (not an array, not null): what a preprocess may read keys of. */
export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A preprocess giving an object its `kind` where the request leaves it out (a pipeline's steps, a sweep's base). */
export const withKind = (kind: string) => (v: unknown) => (isObject(v) ? { kind, ...v } : v);

/**
 * The product of `factors`, or `cap + 1` as soon as it passes `cap`: a grid's size is known to be
 * too large without multiplying 50⁹ (or overflowing) and without expanding anything.
 */
export function cappedProduct(factors: Iterable<number>, cap: number): number {
  let product = 1;
  for (const factor of factors) {
    if (!Number.isSafeInteger(factor) || factor < 0) throw new RangeError(`Expected a count, got ${factor}`);
    product *= factor;
    if (product > cap) return cap + 1;
  }
  return product;
}

/**
 * Keys that reach an object's prototype machinery when assigned (`obj['__proto__'] = …` replaces
 * the prototype; `constructor` and `prototype` lead to Object's own). A key from a request that is
 * one of these is refused, never assigned or looked up.
 */
export const FORBIDDEN_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

export function isForbiddenKey(key: string): boolean {
  return FORBIDDEN_KEYS.includes(key);
}
