import { type ShardSource, fetchShard } from './fetch-shard';
import type { PackedManifest } from './packed-manifest';
import { BadShardError } from './packed-shard';
import type { EpochStreamPlan } from './stream-order';

/** An entry as served: its encoded bytes, or why it cannot be (its shard is missing or corrupt). */
export type ServedEntry = { id: number; bytes: Buffer } | { id: number; bad: string };

/**
 * Reads one epoch's entries from position `from` on, shard by shard in the plan's order, holding
 * only entries still to be served: those served before `from` (by the attempt that was preempted)
 * are dropped as their shard is read, and shards holding none still to come are not read at all.
 * At most `readAhead` shards beyond the one the next entry needs are fetched ahead, so memory is
 * bounded by the shuffle buffer plus `readAhead + 1` shards, whatever the dataset's size.
 */
export class EpochReader {
  private readonly shardOf: Int32Array;
  /** Shard order index → its entries still to be served (id → bytes or reason). */
  private readonly loads = new Map<number, Promise<Map<number, Buffer | string>>>();
  /** Order indices whose shard holds nothing still to serve (all of it before `from`). */
  private readonly spent: boolean[];
  private requested = -1;

  constructor(
    private readonly manifest: PackedManifest,
    private readonly starts: Int32Array,
    private readonly plan: EpochStreamPlan,
    private readonly from: number,
    private readonly source: ShardSource,
    private readonly readAhead: number,
  ) {
    this.shardOf = new Int32Array(manifest.images);
    const orderIndex = new Int32Array(manifest.shards.length);
    plan.shardOrder.forEach((s, k) => (orderIndex[s] = k));
    for (let s = 0; s < manifest.shards.length; s++) this.shardOf.fill(orderIndex[s], starts[s], starts[s + 1]);
    this.spent = Array.from(plan.shardOrder, (s) => {
      for (let id = starts[s]; id < starts[s + 1]; id++) if (plan.positionOf[id] >= from) return false;
      return true;
    });
  }

  /** The entry served at position `pos` (≥ from), each position taken once. */
  async take(pos: number): Promise<ServedEntry> {
    const id = this.plan.emission[pos];
    const k = this.shardOf[id];
    this.requestThrough(Math.min(k + this.readAhead, this.plan.shardOrder.length - 1));
    const held = await this.loads.get(k)!;
    const value = held.get(id);
    held.delete(id);
    if (held.size === 0) this.loads.delete(k);
    if (value === undefined) throw new Error(`entry ${id} at position ${pos} was served twice or never read`);
    return typeof value === 'string' ? { id, bad: value } : { id, bytes: value };
  }

  /** Entries held now (read, not yet served): what the memory bound is about. */
  held(): Promise<number> {
    return Promise.all(this.loads.values()).then((maps) => maps.reduce((n, m) => n + m.size, 0));
  }

  private requestThrough(k: number): void {
    for (let next = this.requested + 1; next <= k; next++) {
      this.requested = next;
      if (this.spent[next]) continue;
      const load = this.load(this.plan.shardOrder[next]);
      load.catch(() => undefined); // observed by take()
      this.loads.set(next, load);
    }
  }

  private async load(s: number): Promise<Map<number, Buffer | string>> {
    const held = new Map<number, Buffer | string>();
    const keep = (id: number) => this.plan.positionOf[id] >= this.from;
    const first = this.starts[s];
    try {
      const files = await fetchShard(this.source, this.manifest.shards[s]);
      files.forEach((bytes, j) => keep(first + j) && held.set(first + j, bytes));
    } catch (error) {
      if (!(error instanceof BadShardError)) throw error;
      for (let j = 0; j < this.manifest.shards[s].entries.length; j++)
        if (keep(first + j)) held.set(first + j, error.message);
    }
    return held;
  }
}
