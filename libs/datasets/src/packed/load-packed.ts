import type { ObjectStore } from '@trainyard/storage';
import type { ImageSplit } from '../dataset.types';
import { decodeImage, type ResizeFit, toUnitFloats } from '../image-decode';
import { type FolderSplit, stratifiedSplit } from '../stratified-split';
import { fetchShard, type ShardSource } from './fetch-shard';
import {
  manifestKeys,
  manifestLabels,
  PACKED_ROOT,
  type PackedManifest,
  PackedManifestSchema,
  packedManifestKey,
  sha256Hex,
  shardStarts,
} from './packed-manifest';
import { BadShardError } from './packed-shard';
import { assertPixelsFit } from './packed-pipeline';
import type { BadImage } from './unusable-images';

/**
 * A version's manifest that is not the version it is named after, not JSON, or not a manifest:
 * the same bytes on every attempt, so a run reading it fails for good, naming it.
 */
export class InvalidPackedManifestError extends Error {}

/** Reads a version's manifest and checks that its bytes are the version named (content addressing). */
export async function readPackedManifest(
  store: ObjectStore,
  version: string,
  root = PACKED_ROOT,
): Promise<PackedManifest> {
  const key = packedManifestKey(version, root);
  const bytes = await store.get(key);
  const sha = sha256Hex(bytes);
  if (sha !== version)
    throw new InvalidPackedManifestError(`manifest ${store.uri(key)} has sha256 ${sha}: altered or truncated`);
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new InvalidPackedManifestError(`manifest ${store.uri(key)} is not JSON: ${(error as Error).message}`);
  }
  const parsed = PackedManifestSchema.safeParse(json);
  if (!parsed.success)
    throw new InvalidPackedManifestError(
      `manifest ${store.uri(key)} is not a packed-dataset manifest: ${parsed.error.message}`,
    );
  return parsed.data;
}

export interface PackedDatasetOptions {
  imageShape: [number, number, number];
  fit: ResizeFit;
  /** The split's own seed (not the training seed): every run of the version holds out the same images. */
  seed: number;
  /** Assigned by key unless `assign` is 'position' (over the manifest's order, which a folder's listing does not share). */
  split: FolderSplit;
  /** Training images decoded up front (in id order), e.g. to calibrate a head's normalisation. */
  sampleSize?: number;
  concurrency?: number;
}

export interface PackedDataset {
  version: string;
  manifest: PackedManifest;
  classNames: string[];
  imageShape: [number, number, number];
  /** Streamed, never held: the ids the pipeline serves. */
  trainIds: Int32Array;
  /** Decoded in memory (the holdouts are a fraction of the data). */
  validation: ImageSplit;
  test: ImageSplit;
  /** A few training images in memory. */
  sample: ImageSplit;
  /**
   * Images of the version found unusable here (holdouts and the sample), by entry id in id order:
   * a run reports them now and counts them against `maxBadFraction` with those the stream meets
   * (`PackedPipelineOptions.unusableBefore`).
   */
  unusable: Map<number, BadImage>;
  /** The files the pack left out (`manifest.skipped`): no images of the version, for the data report. */
  leftOut: BadImage[];
}

/**
 * Opens a packed version for a run: the stratified split over the manifest's labels and keys (by
 * `split.seed`, no bytes read: the folder itself holds out the same images), then one pass over
 * the shards that hold holdout or sample images, one shard at a time, decoding only those.
 * Training images stay in the shards, for the stream.
 */
export async function loadPackedDataset(
  source: ShardSource,
  version: string,
  opts: PackedDatasetOptions,
): Promise<PackedDataset> {
  const manifest = await readPackedManifest(source.store, version, source.root);
  assertPixelsFit(manifest, opts.imageShape, opts.fit);
  const raw = manifest.pixels !== undefined;
  const labels = manifestLabels(manifest);
  const keys = opts.split.assign === 'position' ? undefined : manifestKeys(manifest);
  const split = stratifiedSplit(labels, opts.split, opts.seed, keys);
  const sampleIds = split.train.slice(0, opts.sampleSize ?? 256).sort((a, b) => a - b);
  const wanted = new Map<number, { into: Decoding; at: number }>();
  const unusable: { id: number; bad: BadImage }[] = [];
  const pixels = opts.imageShape[0] * opts.imageShape[1] * opts.imageShape[2];
  const decodings = [split.validation, split.test, sampleIds].map((ids) => {
    const d: Decoding = { ids, ok: new Uint8Array(ids.length), images: new Float32Array(ids.length * pixels) };
    ids.forEach((id, at) => wanted.set(id, { into: d, at }));
    return d;
  });
  const starts = shardStarts(manifest);
  const keyOf = (id: number, s: number) => manifest.shards[s].entries[id - starts[s]].key;
  for (let s = 0; s < manifest.shards.length; s++) {
    const ids: number[] = [];
    for (let id = starts[s]; id < starts[s + 1]; id++) if (wanted.has(id)) ids.push(id);
    if (ids.length === 0) continue;
    let files: Buffer[];
    try {
      files = await fetchShard(source, manifest.shards[s]);
    } catch (error) {
      if (!(error instanceof BadShardError)) throw error;
      for (const id of ids) unusable.push({ id, bad: { file: keyOf(id, s), reason: error.message } });
      continue;
    }
    await Promise.all(
      ids.map(async (id) => {
        const { into, at } = wanted.get(id)!;
        try {
          const file = files[id - starts[s]];
          if (raw && file.length !== pixels)
            throw new Error(`holds ${file.length} bytes of pixels, the shape needs ${pixels}`);
          toUnitFloats(raw ? file : await decodeImage(file, opts.imageShape, opts.fit), into.images, at * pixels);
          into.ok[at] = 1;
        } catch (error) {
          unusable.push({
            id,
            bad: { file: keyOf(id, s), reason: `not a readable image: ${(error as Error).message}` },
          });
        }
      }),
    );
  }
  const [validation, test, sample] = decodings.map((d) => compact(d, labels, pixels));
  return {
    version,
    manifest,
    classNames: manifest.classNames,
    imageShape: opts.imageShape,
    trainIds: Int32Array.from(split.train),
    validation,
    test,
    sample,
    // In id order, whatever order the decodes finished in: the data report is the same every time.
    unusable: new Map(unusable.sort((a, b) => a.id - b.id).map((u) => [u.id, u.bad])),
    leftOut: manifest.skipped ?? [],
  };
}

interface Decoding {
  ids: number[];
  ok: Uint8Array;
  images: Float32Array;
}

/** The decoded images of a holdout without its bad ones. */
function compact(d: Decoding, labels: Int32Array, pixels: number): ImageSplit {
  const keep = d.ids.map((_, i) => i).filter((i) => d.ok[i]);
  if (keep.length === d.ids.length)
    return { images: d.images, labels: Int32Array.from(d.ids, (id) => labels[id]), count: keep.length };
  const images = new Float32Array(keep.length * pixels);
  keep.forEach((i, n) => images.set(d.images.subarray(i * pixels, (i + 1) * pixels), n * pixels));
  return { images, labels: Int32Array.from(keep, (i) => labels[d.ids[i]]), count: keep.length };
}
