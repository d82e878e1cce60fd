/**
 * The one seeded generator everything reproducible draws from (dataset shuffles, sweep draws,
 * chaos schedules): `Math.random` cannot be seeded, and a spec's seed must replay the same draws.
 */
export type Random = () => number;

/** mulberry32: a 32-bit state generator, uniform in [0, 1). Good enough for shuffling and drawing. */
export function mulberry32(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
