import { quoteText } from '@trainyard/contracts';
import {
  imageFileTooLarge,
  isTransientStorageError,
  ObjectNotFoundError,
  type ImageFile,
  type ObjectStore,
  type WalkLimits,
} from '@trainyard/storage';
import { FILES_IN_FLIGHT } from '../decode-pixel-budget';
import { decodeImage, type ResizeFit } from '../image-decode';
import { imageBytesProblem } from '../image-folder-read';
import { type ImageFolderScan, scanImageFolder } from '../image-folder-scan';
import { InvalidImageFolderError } from '../invalid-image-folder.error';
import { deriveSeed, mulberry32, permutation } from '../prng';
import {
  encodeManifest,
  PACKED_FORMAT,
  PACKED_ROOT,
  type PackedManifest,
  packedManifestKey,
  type PackedShard,
  packedShardKey,
  sha256Hex,
} from './packed-manifest';
import { writeShard } from './packed-shard';

export interface PackOptions {
  /** A shard closes once its files reach this many bytes (default 16 MiB). */
  shardBytes?: number;
  /** Where shards and the manifest go in `dest` (default PACKED_ROOT). */
  root?: string;
  /** Files read (and, with `decodeTo`, decoded) at once from the source: FILES_IN_FLIGHT by default. */
  concurrency?: number;
  walkLimits?: WalkLimits;
  /**
   * Decode and resize every image now and store raw pixels: a run then spends no CPU on decoding
   * (the bound of the stream otherwise), at the cost of larger shards (h·w·c bytes per image) and
   * a version usable only at this shape and fit. Undecodable images are left out and listed.
   */
  decodeTo?: { imageShape: [number, number, number]; fit: ResizeFit };
  /**
   * Called once every shard is written, right before the manifest: throwing aborts the pack as a
   * source that changed does (e.g. the dataset packed was deleted meanwhile).
   */
  beforeManifest?: () => Promise<void>;
}

/**
 * A file listed when the pack began was gone when it was read: the folder changed under the pack
 * (deleted, or being rewritten), so what was read is no version of it.
 */
export class PackSourceChangedError extends Error {
  constructor(folder: string, file: string, cause: string) {
    super(
      `${folder} changed while it was packed: ${file} was listed but is gone (${cause}); no version was written: pack it again`,
    );
    this.name = 'PackSourceChangedError';
  }
}

export interface PackedVersion {
  /** sha256 of the manifest's bytes: what a run spec names and a run records. */
  version: string;
  manifest: PackedManifest;
  /**
   * Files left out: unreadable (a local file without permission), empty, over MAX_IMAGE_FILE_BYTES,
   * without a PNG, JPEG or WebP signature, or, with `decodeTo`, undecodable.
   */
  skipped: { file: string; reason: string }[];
}

/**
 * Packs an image folder (local or an S3 prefix) into tar shards of encoded images plus a manifest,
 * written to `dest` under content-addressed names. Files are packed in a fixed shuffled order (so
 * a shard mixes classes and a shuffle buffer sees all of them), with fixed tar metadata: packing
 * the same files again gives the same shards and the same version, and writes nothing new that
 * matters. Without `decodeTo` images are not decoded here, only their signatures checked (a file
 * that is no PNG, JPEG or WebP is left out and listed, as a load of the folder skips it): a picture
 * that does not decode is found (and reported) when a run reads it.
 *
 * A pack that fails writes no manifest and removes the shards it wrote that were not in `dest`
 * before (those were another version's, with the same bytes). A listed file gone when read
 * (PackSourceChangedError) and a store that cannot be reached fail the pack: either would leave a
 * version without files of the folder.
 */
export async function packImageFolder(
  source: ObjectStore,
  prefix: string,
  dest: ObjectStore,
  opts: PackOptions = {},
): Promise<PackedVersion> {
  const shardBytes = opts.shardBytes ?? 16 * 1024 * 1024;
  const root = opts.root ?? PACKED_ROOT;
  const concurrency = opts.concurrency ?? FILES_IN_FLIGHT;
  const scan = await scanImageFolder(source, prefix, opts.walkLimits);
  const order = permutation(scan.files.length, mulberry32(deriveSeed(0, 41)));
  // Files whose names no image may have (imageNameProblem), left out by the listing, unread.
  const skipped: PackedVersion['skipped'] = [...scan.leftOut];
  const shards: PackedShard[] = [];
  /** Per class, the entries packed: decoded ones, or (encoded) files with an image's signature. */
  const imageEntries = new Int32Array(scan.classNames.length);
  /** Shards this pack added to `dest`: removed if it fails. */
  const added: string[] = [];
  let pending: { key: string; label: number; bytes: Buffer }[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (pending.length === 0) return;
    const tar = await writeShard(pending, opts.decodeTo !== undefined);
    const sha256 = sha256Hex(tar);
    const key = packedShardKey(sha256, root);
    const existed = (await dest.list(key)).some((o) => o.key === key);
    await dest.put(key, tar);
    if (!existed) added.push(key);
    shards.push({
      sha256,
      bytes: tar.length,
      entries: pending.map((f) => ({ key: f.key, label: f.label, bytes: f.bytes.length })),
    });
    pending = [];
    pendingBytes = 0;
  };
  const folder = source.uri(prefix);
  try {
    for (let start = 0; start < order.length; start += concurrency) {
      const files = Array.from(order.subarray(start, start + concurrency), (i) => scan.files[i]);
      const read = await Promise.all(files.map((f) => readForPack(source, f, opts.decodeTo)));
      for (let i = 0; i < files.length; i++) {
        const r = read[i];
        if (r.ok === 'gone') throw new PackSourceChangedError(folder, source.uri(files[i].key), r.reason);
        if (!r.ok) {
          skipped.push({ file: files[i].key, reason: r.reason });
          continue;
        }
        imageEntries[files[i].label]++;
        pending.push({ key: files[i].key, label: files[i].label, bytes: r.bytes });
        pendingBytes += r.bytes.length;
        if (pendingBytes >= shardBytes) await flush();
      }
    }
    await flush();
    if (shards.length === 0) throw new Error(`${folder}: no image could be read, nothing to pack`);
    const unreadable = classesWithoutImages(scan, opts.decodeTo !== undefined, imageEntries);
    if (unreadable) throw new InvalidImageFolderError(folder, unreadable);
    await opts.beforeManifest?.();
    // The head (format, source, classNames, images) before the shards, which list every image: the
    // API and the worker check a version by parsing only what comes before `"shards"` (run-references.resolver.ts).
    const manifest: PackedManifest = {
      format: PACKED_FORMAT,
      source: folder,
      classNames: scan.classNames,
      images: shards.reduce((n, s) => n + s.entries.length, 0),
      shards,
      ...(opts.decodeTo ? { pixels: opts.decodeTo } : {}),
      ...(skipped.length > 0 ? { skipped } : {}),
    };
    const { bytes, version } = encodeManifest(manifest);
    await dest.put(packedManifestKey(version, root), bytes);
    return { version, manifest, skipped };
  } catch (error) {
    throw await withoutShards(dest, added, error);
  }
}

/**
 * Why the version would hold a class no run can learn, or null: a class none of whose files
 * decoded, or (an encoded pack, which decodes nothing) none of whose files starts as a PNG, JPEG
 * or WebP. The in-memory load of the folder refuses such a class too.
 */
function classesWithoutImages(scan: ImageFolderScan, decoded: boolean, imageEntries: Int32Array): string | null {
  const listed = new Int32Array(scan.classNames.length);
  for (const f of scan.files) listed[f.label]++;
  const lost = scan.classNames.flatMap((name, c) => {
    if (imageEntries[c] > 0) return [];
    const one = listed[c] === 1;
    return decoded
      ? [
          `class ${quoteText(name)} has no readable image: ${one ? 'its file was' : `its ${listed[c]} files were`} left out`,
        ]
      : [
          `class ${quoteText(name)} has no PNG, JPEG or WebP image: ${one ? 'its file does not start' : `none of its ${listed[c]} files starts`} as one`,
        ];
  });
  return lost.length === 0 ? null : `${lost.join('; ')} (a run could not learn it)`;
}

/** `error`, once the shards the failed pack added are removed (or saying they could not be). */
async function withoutShards(dest: ObjectStore, added: string[], error: unknown): Promise<unknown> {
  const left = await dest.delete(added).then(
    () => null,
    (e: unknown) => e as Error,
  );
  if (left && error instanceof Error)
    error.message += ` (the ${added.length} shards it wrote could not be removed: ${left.message})`;
  return error;
}

type Read = { ok: true; bytes: Buffer } | { ok: false; reason: string } | { ok: 'gone'; reason: string };

async function readForPack(
  source: ObjectStore,
  { key, size }: Pick<ImageFile, 'key' | 'size'>,
  decodeTo: PackOptions['decodeTo'],
): Promise<Read> {
  // Not read at all past the cap, as a folder's load skips it (readFolderImage): one 1.2 GB file
  // named .jpg was read whole, and packed into one shard of its own.
  const tooLarge = imageFileTooLarge(size);
  if (tooLarge) return { ok: false, reason: `${tooLarge}; it was not read` };
  let bytes: Buffer;
  try {
    bytes = await source.get(key);
  } catch (error) {
    if (error instanceof ObjectNotFoundError) return { ok: 'gone', reason: error.message };
    // Not the file's fault: packing on would leave it out of the version.
    if (isTransientStorageError(error)) throw error;
    return { ok: false, reason: `cannot be read: ${(error as Error).message}` };
  }
  // Encoded, the bytes are packed as they are: what has no image's signature (a page saved as
  // .jpg, a TIFF) is left out and listed now, not stored in a version every run then skips.
  const problem = imageBytesProblem(bytes);
  if (problem) return { ok: false, reason: problem };
  if (!decodeTo) return { ok: true, bytes };
  try {
    const pixels = await decodeImage(bytes, decodeTo.imageShape, decodeTo.fit);
    return { ok: true, bytes: Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength) };
  } catch (error) {
    return { ok: false, reason: `not a readable image: ${(error as Error).message}` };
  }
}
