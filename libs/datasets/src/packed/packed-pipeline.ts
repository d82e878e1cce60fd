import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { AugmentationSpec } from '../augmentation.schema';
import { type Batch, epochAugmentationSeed } from '../batch-assembly';
import type { BatchPipeline } from '../batch-pipeline';
import type { ResizeFit } from '../image-decode';
import { EpochReader, type ServedEntry } from './epoch-reader';
import type { ShardSource } from './fetch-shard';
import { decodeBatch, type DecodedBatch, type EncodedBatch } from './packed-batch';
import type { PackedReply, PackedRequest, PackedThreadData } from './packed-batch.thread';
import { manifestLabels, type PackedManifest, shardStarts } from './packed-manifest';
import { epochStreamPlan, type EpochStreamPlan } from './stream-order';
import { type BadImage, UnusableImages } from './unusable-images';

export class PackedShapeMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PackedShapeMismatchError';
  }
}

/** A version packed as raw pixels serves only the shape and fit it was decoded to. */
export function assertPixelsFit(manifest: PackedManifest, imageShape: readonly number[], fit: ResizeFit): void {
  const pixels = manifest.pixels;
  if (pixels && (pixels.imageShape.join('×') !== imageShape.join('×') || pixels.fit !== fit)) {
    throw new PackedShapeMismatchError(
      `the version holds pixels decoded to ${pixels.imageShape.join('×')} (${pixels.fit}); asked for ${imageShape.join('×')} (${fit})`,
    );
  }
}

export interface PackedPipelineOptions {
  manifest: PackedManifest;
  source: ShardSource;
  /** Global ids of the training entries (any order). */
  trainIds: Int32Array;
  imageShape: [number, number, number];
  fit: ResizeFit;
  batchSize: number;
  augmentation?: AugmentationSpec | null;
  seed: number;
  /** Entries in the shuffle buffer (encoded bytes, a few KB each). */
  shuffleBuffer: number;
  /** Shards fetched beyond the one being served. */
  readAhead: number;
  /** Batches decoded ahead of the consumer. Default 4. */
  prefetch?: number;
  /** Threads decoding and augmenting; 0 does it on the caller's thread (sharp still decodes on libuv's pool). Default 1. */
  threads?: number;
  /**
   * Share of the version's images (`manifest.images`, holdouts included) that may turn out unusable
   * before the stream fails (0: the first one fails it): see UnusableImages.
   */
  maxBadFraction: number;
  /**
   * The version's images found unusable before the stream started (loadPackedDataset's `unusable`:
   * holdouts and the sample), by entry id: they count against the same share, and are not told again.
   */
  unusableBefore?: ReadonlyMap<number, BadImage>;
  /**
   * Told about each distinct bad image once; `failing` when it is the one that fails the stream
   * (the last chance to record it before the batch rejects).
   */
  onBad?(bad: BadImage, failing: boolean): void;
}

export interface PackedPipeline extends BatchPipeline {
  readonly count: number;
  /** Distinct bad training images the stream found so far (not those in `unusableBefore`). */
  badCount(): number;
}

export function packedThreadFile(): string {
  if (!__filename.endsWith('.ts')) return join(__dirname, 'packed-batch.thread.js');
  const built = resolve(__dirname, '../../../../dist/libs/datasets/src/packed/packed-batch.thread.js');
  if (!existsSync(built)) throw new Error(`${built} is missing: run \`node tools/build.mjs libs\` first`);
  return built;
}

interface Pending {
  resolve(batch: DecodedBatch): void;
  reject(error: Error): void;
}

/**
 * Serves a packed dataset's training batches streamed from its shards: the epoch's order from
 * `epochStreamPlan`, batch b of epoch e holding positions [b·batchSize, (b+1)·batchSize), image at
 * position p augmented with draw p of (seed, e) as the in-memory pipeline does. Decoding and
 * augmentation run on worker threads; `prefetch` batches are in the making ahead of the consumer.
 * `batches(from, to, firstStep)` starts mid-epoch without reading what came before: a resume
 * costs the shards still to come, not a replay.
 */
export function createPackedPipeline(opts: PackedPipelineOptions): PackedPipeline {
  const { manifest, batchSize, seed } = opts;
  const augmentation = opts.augmentation ?? null;
  const prefetch = Math.max(1, opts.prefetch ?? 4);
  const threads = opts.threads ?? 1;
  const count = opts.trainIds.length;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  if (count < 1) throw new Error('the packed pipeline needs at least one training image');
  const stepsPerEpoch = Math.ceil(count / batchSize);
  const raw = manifest.pixels !== undefined;
  assertPixelsFit(manifest, opts.imageShape, opts.fit);
  const starts = shardStarts(manifest);
  const labels = manifestLabels(manifest);
  const keys = manifest.shards.flatMap((shard) => shard.entries.map((e) => e.key));
  const isTrain = new Uint8Array(manifest.images);
  opts.trainIds.forEach((i) => (isTrain[i] = 1));
  const trainIdsByShard = manifest.shards.map((_, s) => {
    const ids: number[] = [];
    for (let i = starts[s]; i < starts[s + 1]; i++) if (isTrain[i]) ids.push(i);
    return Int32Array.from(ids);
  });

  const unusable = new UnusableImages(manifest, opts.maxBadFraction);
  for (const [id, found] of opts.unusableBefore ?? []) unusable.add(id, found);
  let badFound = 0;
  const noteBad = (entryId: number, reason: string) => {
    const found = { file: keys[entryId], reason };
    if (!unusable.add(entryId, found)) return;
    badFound++;
    const problem = unusable.problem();
    opts.onBad?.(found, problem !== null);
    if (problem) throw problem;
  };

  const pending = new Map<number, Pending>();
  let nextId = 0;
  let failure: Error | undefined;
  let live: unknown[] | undefined;
  const workers: Worker[] = [];
  const failAll = (error: Error) => {
    failure ??= error;
    for (const p of pending.values()) p.reject(failure);
    pending.clear();
    return Promise.all(workers.map((w) => w.terminate())).then(() => undefined);
  };
  const holdProcess = (hold: boolean) => workers.forEach((w) => (hold ? w.ref() : w.unref()));
  if (threads > 0) {
    const data: PackedThreadData = { imageShape: opts.imageShape, fit: opts.fit, augmentation, raw };
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(packedThreadFile(), { workerData: data, name: `packed-pipeline-${i}` });
      worker.on('message', (reply: PackedReply) => {
        const p = pending.get(reply.id);
        if (!p) return;
        pending.delete(reply.id);
        if (pending.size === 0) holdProcess(false);
        if ('error' in reply) p.reject(new Error(`packed pipeline thread failed: ${reply.error}`));
        else p.resolve(reply);
      });
      worker.on('error', (error) => void failAll(new Error(`packed pipeline thread ${i} crashed: ${error.message}`)));
      worker.on('exit', (code) => void failAll(new Error(`packed pipeline thread ${i} exited (code ${code})`)));
      workers.push(worker);
    }
    holdProcess(false);
  }

  function decode(batch: EncodedBatch): Promise<DecodedBatch> {
    if (workers.length === 0) return decodeBatch(batch, opts.imageShape, opts.fit, augmentation, raw);
    if (failure) return Promise.reject(failure);
    const requestId = nextId++;
    return new Promise((resolveBatch, reject) => {
      if (pending.size === 0) holdProcess(true);
      pending.set(requestId, { resolve: resolveBatch, reject });
      workers[requestId % workers.length].postMessage({ id: requestId, batch } satisfies PackedRequest);
    });
  }

  /** The batch's entries, in position order (the reader serves each position once). */
  async function take(reader: EpochReader, step: number): Promise<ServedEntry[]> {
    const entries: ServedEntry[] = [];
    for (let p = step * batchSize; p < Math.min((step + 1) * batchSize, count); p++) entries.push(await reader.take(p));
    return entries;
  }

  async function make(entries: ServedEntry[], epoch: number, step: number): Promise<DecodedBatch> {
    const batch: EncodedBatch = {
      files: entries.map((e) => ('bad' in e ? e.bad : e.bytes)),
      labels: Int32Array.from(entries, (e) => labels[e.id]),
      firstDraw: step * batchSize,
      augmentationSeed: epochAugmentationSeed(seed, epoch),
    };
    const decoded = await decode(batch);
    for (const b of decoded.bad) noteBad(entries[b.index].id, b.reason);
    return decoded;
  }

  async function* batches(from: number, to = from + 1, firstStep = 0): AsyncGenerator<Batch> {
    const plans = new Map<number, { plan: EpochStreamPlan; reader: EpochReader }>();
    const readerOf = (epoch: number, step: number) => {
      let entry = plans.get(epoch);
      if (!entry) {
        const plan = epochStreamPlan(trainIdsByShard, manifest.images, seed, epoch, opts.shuffleBuffer);
        const reader = new EpochReader(manifest, starts, plan, step * batchSize, opts.source, opts.readAhead);
        plans.set(epoch, (entry = { plan, reader }));
      }
      return entry.reader;
    };
    const total = (to - from) * stepsPerEpoch;
    const queue: { epoch: number; step: number; ready: Promise<DecodedBatch> }[] = [];
    let chain: Promise<unknown> = Promise.resolve();
    let issued = Math.min(firstStep, stepsPerEpoch);
    const fill = () => {
      while (issued < total && queue.length < prefetch) {
        const epoch = from + Math.floor(issued / stepsPerEpoch);
        const step = issued % stepsPerEpoch;
        const reader = readerOf(epoch, step);
        // Entries are taken batch after batch; decoding overlaps across threads.
        const taken = chain.then(() => take(reader, step));
        chain = taken.catch(() => undefined);
        const ready = taken.then((entries) => make(entries, epoch, step));
        ready.catch(() => undefined);
        queue.push({ epoch, step, ready });
        issued++;
        if (step === stepsPerEpoch - 1) plans.delete(epoch);
      }
    };
    live = queue;
    try {
      fill();
      while (queue.length > 0) {
        const head = queue.shift()!;
        const { x, y } = await head.ready;
        fill();
        yield { x, y, count: y.length, epoch: head.epoch, step: head.step };
      }
    } finally {
      if (live === queue) live = undefined;
    }
  }

  let closing: Promise<void> | undefined;
  return {
    count,
    stepsPerEpoch,
    batches,
    ahead: () => live?.length ?? 0,
    badCount: () => badFound,
    close() {
      closing ??= failAll(new Error('the packed pipeline was closed'));
      return closing;
    },
  };
}
