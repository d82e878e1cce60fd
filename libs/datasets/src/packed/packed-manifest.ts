import { createHash } from 'node:crypto';
import { text } from '@trainyard/contracts';
import { z } from 'zod';

/** Where packed versions live in the configured store: content-addressed, never overwritten. */
export { PACKED_ROOT } from '@trainyard/storage';
export const PACKED_FORMAT = 'trainyard-packed-v1';

/** A manifest's hash (sha256 of its bytes, lowercase hex) names the dataset version. */
export const PackedVersionSchema = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 in lowercase hex (64 characters)');

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);

/**
 * One image of a shard, in tar order: entry j of shard s is the j-th file of the tar. `key` is the
 * object it was packed from (for the data report), `bytes` its encoded length.
 */
const PackedEntrySchema = z
  .object({ key: z.string().max(1024), label: z.int().min(0), bytes: z.int().min(0) })
  .strict();

const PackedShardSchema = z
  .object({
    /** sha256 of the tar's bytes: the shard's name, checked on every read. */
    sha256: Sha256,
    bytes: z.int().min(0),
    entries: z.array(PackedEntrySchema).min(1),
  })
  .strict();

/** Read back from the store, so it is validated like any other input. */
export const PackedManifestSchema = z
  .object({
    format: z.literal(PACKED_FORMAT),
    /** Where the images came from (`store.uri(prefix)`), for people. */
    source: z.string(),
    /**
     * Folder names as scanImageFolder accepted them (text, untrimmed: a folder ' cat' is not 'cat').
     * A manifest is read back from the store, so a crafted one must not bring an escape sequence
     * into metric names, failure reasons and terminals.
     */
    classNames: z.array(text({ max: 1024, trim: false })).min(2),
    images: z.int().min(0),
    shards: z.array(PackedShardSchema).min(1),
    /**
     * Present when the pack decoded the images: every entry is then `h·w·c` raw uint8 pixels at
     * this shape and fit (no decoding when read, only runs of this shape and fit can use it).
     */
    pixels: z
      .object({
        imageShape: z.tuple([z.int().min(1), z.int().min(1), z.int().min(1).max(4)]),
        fit: z.enum(['cover', 'contain', 'fill']),
      })
      .strict()
      .optional(),
    /** Files the pack left out (unreadable; with `pixels`, also undecodable), for the run's data report. */
    skipped: z.array(z.object({ file: z.string(), reason: z.string() }).strict()).optional(),
  })
  .strict();

export type PackedManifest = z.infer<typeof PackedManifestSchema>;
export type PackedShard = z.infer<typeof PackedShardSchema>;
export type PackedEntry = z.infer<typeof PackedEntrySchema>;

export function sha256Hex(bytes: Buffer | Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

// The object layout lives in libs/storage, so the API can check a version without this library.
export { packedManifestKey, packedShardKey } from '@trainyard/storage';

/** The manifest's bytes as stored; their sha256 is the version. */
export function encodeManifest(manifest: PackedManifest): { bytes: Buffer; version: string } {
  const bytes = Buffer.from(JSON.stringify(manifest));
  return { bytes, version: sha256Hex(bytes) };
}

/** Entry ids are global: shard s's entries follow all of shard s-1's. */
export function shardStarts(manifest: PackedManifest): Int32Array {
  const starts = new Int32Array(manifest.shards.length + 1);
  manifest.shards.forEach((s, i) => (starts[i + 1] = starts[i] + s.entries.length));
  return starts;
}

/** Every entry's label, by global id. */
export function manifestLabels(manifest: PackedManifest): Int32Array {
  const labels = new Int32Array(manifest.images);
  let id = 0;
  for (const shard of manifest.shards) for (const e of shard.entries) labels[id++] = e.label;
  return labels;
}

/**
 * Every entry's key relative to the packed folder (`cat/001.png`), by global id: what a key split
 * ranks, as loadImageFolder ranks a scan's. The manifest keeps the keys the pack listed, prefix
 * included, and not the prefix: it is what every listed key (entries and files skipped) shares up
 * to its last `/`, since the listing held two classes or more (a folder scan refuses fewer) and
 * what keys of two classes share ends inside their class names.
 */
export function manifestKeys(manifest: PackedManifest): string[] {
  const keys = manifest.shards.flatMap((shard) => shard.entries.map((e) => e.key));
  const listed = [...keys, ...(manifest.skipped ?? []).map((s) => s.file)];
  let shared = listed[0] ?? '';
  for (const key of listed) {
    let i = 0;
    while (i < shared.length && key.charCodeAt(i) === shared.charCodeAt(i)) i++;
    shared = shared.slice(0, i);
  }
  const prefix = shared.slice(0, shared.lastIndexOf('/') + 1);
  return keys.map((key) => key.slice(prefix.length));
}
