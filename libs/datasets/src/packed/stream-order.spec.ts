import { epochStreamPlan } from './stream-order';

/** Shard s holds ids [10s, 10s + 10), of which the odd ones train. */
const shards = Array.from({ length: 8 }, (_, s) => Int32Array.from({ length: 5 }, (_, j) => 10 * s + 2 * j + 1));
const trainIds = shards.flatMap((ids) => Array.from(ids));

describe('epochStreamPlan', () => {
  it('serves every training entry once per epoch, the same for the same seed and epoch', () => {
    const a = epochStreamPlan(shards, 80, 7, 3, 6);
    expect([...a.emission].sort((x, y) => x - y)).toEqual(trainIds);
    expect(epochStreamPlan(shards, 80, 7, 3, 6).emission).toEqual(a.emission);
    a.emission.forEach((id, p) => expect(a.positionOf[id]).toBe(p));
    expect(a.positionOf[0]).toBe(-1); // not a training entry
  });

  it('changes the shard order and the mix from epoch to epoch and seed to seed', () => {
    const base = epochStreamPlan(shards, 80, 7, 0, 6);
    expect(epochStreamPlan(shards, 80, 7, 1, 6).emission).not.toEqual(base.emission);
    expect(epochStreamPlan(shards, 80, 8, 0, 6).emission).not.toEqual(base.emission);
    expect(epochStreamPlan(shards, 80, 7, 1, 6).shardOrder).not.toEqual(base.shardOrder);
  });

  it('never serves an entry more than the buffer size ahead of where it was read', () => {
    const buffer = 6;
    const plan = epochStreamPlan(shards, 80, 3, 2, buffer);
    const readOrder = Array.from(plan.shardOrder).flatMap((s) => Array.from(shards[s]));
    readOrder.forEach((id, readIndex) => expect(plan.positionOf[id]).toBeGreaterThanOrEqual(readIndex - buffer));
    // …and it does mix: some entry leaves its read position.
    expect(readOrder.some((id, i) => plan.positionOf[id] !== i)).toBe(true);
  });

  it('with a buffer of 1 serves shards whole in the seeded shard order', () => {
    const plan = epochStreamPlan(shards, 80, 3, 2, 1);
    expect(Array.from(plan.emission)).toEqual(Array.from(plan.shardOrder).flatMap((s) => Array.from(shards[s])));
  });

  it('refuses a buffer that is not a positive integer', () => {
    expect(() => epochStreamPlan(shards, 80, 3, 2, 0)).toThrow(/shuffleBuffer/);
  });
});
