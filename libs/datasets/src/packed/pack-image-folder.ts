import type { ObjectStore, WalkLimits } from '@trainyard/storage';
import { decodeImage, type ResizeFit } from '../image-decode';
import { scanImageFolder } from '../image-folder-scan';
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
  /** Files read at once from the source. */
  concurrency?: number;
  walkLimits?: WalkLimits;
  /**
   * Decode and resize every image now and store raw pixels: a run then spends no CPU on decoding
   * (the bound of the stream otherwise), at the cost of larger shards (h·w·c bytes per image) and
   * a version usable only at this shape and fit. Undecodable images are left out and listed.
   */
  decodeTo?: { imageShape: [number, number, number]; fit: ResizeFit };
}

export interface PackedVersion {
  /** sha256 of the manifest's bytes: what a run spec names and a run records. */
  version: string;
  manifest: PackedManifest;
  /** Files that could not be read while packing (deleted since the listing, unreadable). */
  skipped: { file: string; reason: string }[];
}

/**
 * Packs an image folder (local or an S3 prefix) into tar shards of encoded images plus a manifest,
 * written to `dest` under content-addressed names. Files are packed in a fixed shuffled order (so
 * a shard mixes classes and a shuffle buffer sees all of them), with fixed tar metadata: packing
 * the same files again gives the same shards and the same version, and writes nothing new that
 * matters. Images are not decoded here: a bad picture is found (and reported) when a run reads it.
 */
export async function packImageFolder(
  source: ObjectStore,
  prefix: string,
  dest: ObjectStore,
  opts: PackOptions = {},
): Promise<PackedVersion> {
  const shardBytes = opts.shardBytes ?? 16 * 1024 * 1024;
  const root = opts.root ?? PACKED_ROOT;
  const concurrency = opts.concurrency ?? 8;
  const scan = await scanImageFolder(source, prefix, opts.walkLimits);
  const order = permutation(scan.files.length, mulberry32(deriveSeed(0, 41)));
  const skipped: PackedVersion['skipped'] = [];
  const shards: PackedShard[] = [];
  let pending: { key: string; label: number; bytes: Buffer }[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (pending.length === 0) return;
    const tar = await writeShard(pending, opts.decodeTo !== undefined);
    const sha256 = sha256Hex(tar);
    await dest.put(packedShardKey(sha256, root), tar);
    shards.push({
      sha256,
      bytes: tar.length,
      entries: pending.map((f) => ({ key: f.key, label: f.label, bytes: f.bytes.length })),
    });
    pending = [];
    pendingBytes = 0;
  };
  for (let start = 0; start < order.length; start += concurrency) {
    const files = Array.from(order.subarray(start, start + concurrency), (i) => scan.files[i]);
    const read = await Promise.all(files.map((f) => readForPack(source, f.key, opts.decodeTo)));
    for (let i = 0; i < files.length; i++) {
      const r = read[i];
      if (!r.ok) {
        skipped.push({ file: files[i].key, reason: r.reason });
        continue;
      }
      pending.push({ key: files[i].key, label: files[i].label, bytes: r.bytes });
      pendingBytes += r.bytes.length;
      if (pendingBytes >= shardBytes) await flush();
    }
  }
  await flush();
  if (shards.length === 0) throw new Error(`${source.uri(prefix)}: no image could be read, nothing to pack`);
  const manifest: PackedManifest = {
    format: PACKED_FORMAT,
    source: source.uri(prefix),
    classNames: scan.classNames,
    images: shards.reduce((n, s) => n + s.entries.length, 0),
    shards,
    ...(opts.decodeTo ? { pixels: opts.decodeTo } : {}),
    ...(skipped.length > 0 ? { skipped } : {}),
  };
  const { bytes, version } = encodeManifest(manifest);
  await dest.put(packedManifestKey(version, root), bytes);
  return { version, manifest, skipped };
}

type Read = { ok: true; bytes: Buffer } | { ok: false; reason: string };

async function readForPack(source: ObjectStore, key: string, decodeTo: PackOptions['decodeTo']): Promise<Read> {
  let bytes: Buffer;
  try {
    bytes = await source.get(key);
  } catch (error) {
    return { ok: false, reason: `cannot be read: ${(error as Error).message}` };
  }
  if (!decodeTo) return { ok: true, bytes };
  try {
    const pixels = await decodeImage(bytes, decodeTo.imageShape, decodeTo.fit);
    return { ok: true, bytes: Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength) };
  } catch (error) {
    return { ok: false, reason: `not a readable image: ${(error as Error).message}` };
  }
}
