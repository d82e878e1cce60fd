import { deriveSeed, mulberry32, permutation } from '../prng';

/** The order one epoch of a packed training set is read and served in. */
export interface EpochStreamPlan {
  /** Shard indices in the order they are read this epoch. */
  shardOrder: Int32Array;
  /** Global entry ids in the order they are served: position p of the epoch is `emission[p]`. */
  emission: Int32Array;
  /** Position of each entry by global id (`positionOf[emission[p]] === p`); -1 for entries not trained on. */
  positionOf: Int32Array;
}

/**
 * The epoch's order from the seed alone, without reading a byte: shards in a seeded order, their
 * training entries through a seeded shuffle buffer of `shuffleBuffer` images (WebDataset's
 * scheme: once full, each entry read evicts a random one to be served). Because the order is a
 * pure function of (manifest, seed, epoch, buffer size), position p of an epoch is the same image
 * in every attempt: a resumed run serves exactly what the preempted one would have, and only the
 * entries still to come are ever held.
 */
export function epochStreamPlan(
  trainIdsByShard: readonly Int32Array[],
  /** Entries in the manifest (ids run 0..idCount-1). */
  idCount: number,
  seed: number,
  epoch: number,
  shuffleBuffer: number,
): EpochStreamPlan {
  if (!Number.isInteger(shuffleBuffer) || shuffleBuffer < 1)
    throw new Error(`shuffleBuffer must be a positive integer, got ${shuffleBuffer}`);
  const shardOrder = permutation(trainIdsByShard.length, mulberry32(deriveSeed(seed, 3000 + epoch)));
  const random = mulberry32(deriveSeed(seed, 4000 + epoch));
  const total = trainIdsByShard.reduce((n, ids) => n + ids.length, 0);
  const emission = new Int32Array(total);
  const buffer: number[] = [];
  let served = 0;
  for (const s of shardOrder) {
    for (const id of trainIdsByShard[s]) {
      if (buffer.length < shuffleBuffer) {
        buffer.push(id);
        continue;
      }
      const j = Math.floor(random() * shuffleBuffer);
      emission[served++] = buffer[j];
      buffer[j] = id;
    }
  }
  // The tail: what is left in the buffer, in a seeded order.
  const tail = permutation(buffer.length, random);
  for (const j of tail) emission[served++] = buffer[j];
  const positionOf = new Int32Array(idCount).fill(-1);
  emission.forEach((id, p) => (positionOf[id] = p));
  return { shardOrder, emission, positionOf };
}
