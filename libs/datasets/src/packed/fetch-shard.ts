import { ObjectNotFoundError, type ObjectStore } from '@trainyard/storage';
import { type PackedShard, packedShardKey, sha256Hex } from './packed-manifest';
import { BadShardError, parseShard } from './packed-shard';
import type { ShardCache } from './shard-cache';

export interface ShardSource {
  store: ObjectStore;
  /** Where the version's shards live (PACKED_ROOT unless packed elsewhere). */
  root: string;
  cache?: ShardCache;
}

/**
 * A shard's files, from the node cache when it holds them, else from the store (then cached).
 * Every read is checked against the shard's sha256, so a truncated or altered object (or cache
 * file) is never trained on: a bad cache file falls back to the store, a bad object is a BadShardError.
 */
export async function fetchShard(source: ShardSource, shard: PackedShard): Promise<Buffer[]> {
  const key = packedShardKey(shard.sha256, source.root);
  const cached = await source.cache?.get(shard.sha256);
  if (cached && sha256Hex(cached) === shard.sha256) return parseShard(cached, shard, key);
  let bytes: Buffer;
  try {
    bytes = await source.store.get(key);
  } catch (error) {
    if (error instanceof ObjectNotFoundError) throw new BadShardError(key, 'the object is missing');
    throw error;
  }
  const sha = sha256Hex(bytes);
  if (sha !== shard.sha256) {
    throw new BadShardError(
      key,
      `${bytes.length} bytes with sha256 ${sha.slice(0, 12)}…, the manifest says ${shard.bytes} bytes with ${shard.sha256.slice(0, 12)}… (truncated or altered)`,
    );
  }
  const files = await parseShard(bytes, shard, key);
  await source.cache?.put(shard.sha256, bytes);
  return files;
}
