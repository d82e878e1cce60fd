import type { ImageFile, ObjectStore, WalkLimits } from '@trainyard/storage';
import { type ImageSplit, type LoadedDataset, pixelsPerImage, selectImages } from './dataset.types';
import { type DecodePixelBudget, FILES_IN_FLIGHT } from './decode-pixel-budget';
import { contentHash, ImageCache } from './image-cache';
import { decodeImage, ImageDecodeError, type ResizeFit, toUnitFloats } from './image-decode';
import { readFolderImage } from './image-folder-read';
import { type ImageFolderScan, scanImageFolder } from './image-folder-scan';
import { InvalidImageFolderError } from './invalid-image-folder.error';
import { type FolderSplit, stratifiedSplit } from './stratified-split';

export interface ImageFolderLoadOptions {
  /** Target `[height, width, channels]` (channels 1 or 3). */
  imageShape: [number, number, number];
  fit?: ResizeFit;
  /** Decoded-image cache on local disk (e.g. `$TRAINYARD_HOME/cache/images`); none when absent. */
  cacheDir?: string;
  /** Size cap of that cache (WORKER_IMAGE_CACHE_BYTES); its default when absent. */
  cacheMaxBytes?: number;
  seed: number;
  /** Per-class holdout fractions (default validation 0, test 0.2) and their assignment (default 'key'). */
  split?: Partial<FolderSplit>;
  /**
   * Files fetched and decoded at once (FILES_IN_FLIGHT by default). Each holds at most
   * MAX_IMAGE_FILE_BYTES read: larger files are skipped unread.
   */
  concurrency?: number;
  /**
   * What bounds the pixels decoded at once; without it, the thread's (threadDecodeBudget,
   * DECODE_PIXEL_BUDGET), shared with every other decode of the thread.
   */
  decodeBudget?: DecodePixelBudget;
  /** A scan already made (e.g. at registration), to skip listing again. */
  scan?: ImageFolderScan;
  /** Bounds of the folder listing (config.paths); past them FolderWalkLimitError. */
  walkLimits?: WalkLimits;
}

/** A file left out of the dataset, and why: shown on the run so a person can fix the folder. */
export interface SkippedImage {
  file: string;
  reason: string;
}

export interface ImageFolderDataset extends LoadedDataset {
  validation: ImageSplit;
  /** `store.uri(prefix)`. */
  folder: string;
  skipped: SkippedImage[];
  /** `decoded` counts actual sharp decodes; a warm cache makes it 0. */
  stats: { files: number; decoded: number; cacheHits: number };
}

/** `via` says what produced the outcome: a sharp decode, the cache, or reading the file alone. */
type Via = 'decode' | 'cache' | 'read';
type Outcome = { ok: true; pixels: Uint8Array; via: Via } | { ok: false; reason: string; via: Via };

async function readOne(
  store: ObjectStore,
  file: ImageFile,
  shape: [number, number, number],
  fit: ResizeFit,
  cache: ImageCache | undefined,
  budget: DecodePixelBudget | undefined,
): Promise<Outcome> {
  const read = await readFolderImage(store, file);
  if (!read.ok) return { ok: false, reason: read.reason, via: 'read' };
  const { bytes } = read;
  const hash = contentHash(bytes);
  const hit = await cache?.get(hash, shape, fit);
  if (hit)
    return hit.kind === 'pixels'
      ? { ok: true, pixels: hit.pixels, via: 'cache' }
      : { ok: false, reason: hit.reason, via: 'cache' };
  try {
    const pixels = await decodeImage(bytes, shape, fit, budget);
    await cache?.put(hash, shape, fit, { kind: 'pixels', pixels });
    return { ok: true, pixels, via: 'decode' };
  } catch (error) {
    if (!(error instanceof ImageDecodeError)) throw error;
    const reason = `not a readable image: ${error.message}`;
    await cache?.put(hash, shape, fit, { kind: 'unreadable', reason });
    return { ok: false, reason, via: 'decode' };
  }
}

/** Runs `task` over 0..n-1 with at most `limit` in flight; results by index. */
async function mapLimited<T>(n: number, limit: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(n);
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const i = next++;
      out[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, lane));
  return out;
}

/**
 * A folder refused because a class has no readable image left: with what the load found, so the
 * run's data report can name every file skipped and why (the reasons a person needs here most).
 */
export class UnreadableClassesError extends InvalidImageFolderError {
  constructor(
    folder: string,
    reason: string,
    readonly classNames: string[],
    readonly skipped: SkippedImage[],
    readonly stats: ImageFolderDataset['stats'],
  ) {
    super(folder, reason);
    this.name = 'UnreadableClassesError';
  }
}

/**
 * An image-folder dataset (see scanImageFolder), decoded and resized to `imageShape` with pixels
 * in [0, 1], split per class into train/validation/test by seed. Unreadable files are skipped and
 * listed; a class left without a readable image refuses the folder. Deterministic for a seed and
 * the folder's contents, whatever order the files finish decoding in.
 */
export async function loadImageFolder(
  store: ObjectStore,
  prefix: string,
  opts: ImageFolderLoadOptions,
): Promise<ImageFolderDataset> {
  const scan = opts.scan ?? (await scanImageFolder(store, prefix, opts.walkLimits));
  const shape = opts.imageShape;
  const fit = opts.fit ?? 'cover';
  const cache = opts.cacheDir ? new ImageCache(opts.cacheDir, { maxBytes: opts.cacheMaxBytes }) : undefined;
  const pixels = pixelsPerImage(shape);
  const outcomes = await mapLimited(scan.files.length, opts.concurrency ?? FILES_IN_FLIGHT, (i) =>
    readOne(store, scan.files[i], shape, fit, cache, opts.decodeBudget),
  );

  // Files whose names no image may have (imageNameProblem) were left out by the listing, unread.
  const skipped: SkippedImage[] = [...scan.leftOut];
  const kept: number[] = [];
  outcomes.forEach((o, i) => (o.ok ? kept.push(i) : skipped.push({ file: scan.files[i].key, reason: o.reason })));
  const all: ImageSplit = {
    images: new Float32Array(kept.length * pixels),
    labels: new Int32Array(kept.length),
    count: kept.length,
  };
  kept.forEach((fileIndex, i) => {
    const o = outcomes[fileIndex];
    if (o.ok) toUnitFloats(o.pixels, all.images, i * pixels);
    all.labels[i] = scan.files[fileIndex].label;
  });
  const readable = scan.classNames.map((_, c) => kept.filter((i) => scan.files[i].label === c).length);
  const lost = scan.classNames.filter((_, c) => readable[c] === 0);
  const count = (via: Via) => outcomes.filter((o) => o.via === via).length;
  const stats = { files: scan.files.length + scan.leftOut.length, decoded: count('decode'), cacheHits: count('cache') };
  if (lost.length > 0) {
    const list = lost.map((c) => `'${c}'`).join(', ');
    const what = lost.length === 1 ? `class ${list} has` : `classes ${list} have`;
    throw new UnreadableClassesError(
      scan.folder,
      `${what} no readable image (${skipped.length} file(s) skipped)`,
      scan.classNames,
      skipped,
      stats,
    );
  }

  // An image's key is its path in the folder: the same in every listing of it, and in a packed version.
  const keys =
    opts.split?.assign === 'position' ? undefined : kept.map((i) => scan.files[i].key.slice(scan.prefix.length));
  const parts = stratifiedSplit(
    all.labels,
    { validation: opts.split?.validation ?? 0, test: opts.split?.test ?? 0.2 },
    opts.seed,
    keys,
  );
  return {
    classNames: scan.classNames,
    imageShape: [...shape],
    train: selectImages(all, parts.train, pixels),
    validation: selectImages(all, parts.validation, pixels),
    test: selectImages(all, parts.test, pixels),
    folder: scan.folder,
    skipped,
    stats,
  };
}
