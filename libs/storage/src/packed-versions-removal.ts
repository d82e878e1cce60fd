import { z } from 'zod';
import type { ObjectStore } from './object-store';
import { PACKED_ROOT, packedShardKey } from './packed-keys';

/** What removing a folder's packed versions needs of a manifest (libs/datasets' PackedManifestSchema, read leniently). */
const ManifestRefsSchema = z.object({
  source: z.string(),
  shards: z.array(z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/) })),
});

/** What removePackedVersionsOf deleted. */
export interface RemovedPackedVersions {
  versions: number;
  /** Shards no other version uses, deleted with them. */
  shards: number;
}

const asFolder = (uri: string) => (uri.endsWith('/') ? uri : `${uri}/`);

/**
 * Deletes the packed versions made from the folder at `folderUri` (`store.uri(prefix)`, as
 * `npm run dataset:pack` records a manifest's `source`) and the shards no other version uses:
 * what an upload leaves in the store once its dataset is deleted (no dataset can name its
 * folder again, so no run could stream them). Manifests go first, then their shards, so a
 * reader never finds a version missing a shard. A manifest that does not read is left alone.
 */
export async function removePackedVersionsOf(store: ObjectStore, folderUri: string): Promise<RemovedPackedVersions> {
  const folder = asFolder(folderUri);
  const manifests = (await store.list(`${PACKED_ROOT}manifests/`)).filter((o) => o.key.endsWith('.json'));
  const going: { key: string; shards: string[] }[] = [];
  const kept = new Set<string>();
  for (const manifest of manifests) {
    let refs: z.infer<typeof ManifestRefsSchema>;
    try {
      refs = ManifestRefsSchema.parse(JSON.parse((await store.get(manifest.key)).toString('utf8')));
    } catch {
      continue; // not ours to judge: left as it is, and its shards kept
    }
    const shards = refs.shards.map((shard) => shard.sha256);
    if (asFolder(refs.source) === folder) going.push({ key: manifest.key, shards });
    else for (const shard of shards) kept.add(shard);
  }
  if (going.length === 0) return { versions: 0, shards: 0 };
  await store.delete(going.map((version) => version.key));
  const orphanShards = [...new Set(going.flatMap((version) => version.shards))].filter((shard) => !kept.has(shard));
  // By key, without listing every shard of the store; one already gone is no error.
  await store.delete(orphanShards.map((shard) => packedShardKey(shard)));
  return { versions: going.length, shards: orphanShards.length };
}
