/**
 * Where packed dataset versions live in the object store (libs/datasets writes and reads them;
 * the API checks at submit that a version a spec names exists).
 */
export const PACKED_ROOT = 'datasets/packed/';

/** A version's manifest: its name is the version, the sha256 of its bytes. */
export function packedManifestKey(version: string, root = PACKED_ROOT): string {
  return `${root}manifests/${version}.json`;
}

/** A shard, named by the sha256 of its bytes. */
export function packedShardKey(sha256: string, root = PACKED_ROOT): string {
  return `${root}shards/${sha256}.tar`;
}
