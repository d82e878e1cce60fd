import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { type DataReport, type ImageFolderDatasetSpec, MAX_LISTED_SKIPPED_FILES } from '@trainyard/contracts';
import {
  type AugmentationSpec,
  type BadImage,
  createPackedPipeline,
  type ImageSplit,
  type LoadedDataset,
  loadPackedDataset,
  PACKED_ROOT,
  type PackedPipeline,
  PackedShapeMismatchError,
  ShardCache,
  UnusableImages,
} from '@trainyard/datasets';
import { DEFAULT_SHARD_CACHE_BYTES, type TrainyardConfig } from '@trainyard/config';
import { createObjectStore, ObjectNotFoundError } from '@trainyard/storage';
import { InvalidTrainingInputError } from './invalid-training-input.error';

/** A packed dataset's training set: its size, and the pipeline that streams it. */
export interface StreamedTrain {
  version: string;
  count: number;
  open(opts: { batchSize: number; augmentation: AugmentationSpec | null; seed: number }): PackedPipeline;
}

type StreamSpec = NonNullable<ImageFolderDatasetSpec['stream']>;

/** What of a run's context the stream needs (RunDataContext's fields). */
export interface StreamContext {
  storage: TrainyardConfig['storage'];
  cacheDir?: string;
  shardCacheBytes?: number;
}

/**
 * Opens a run's packed version from the configured store (shards cached on the node's disk): the
 * holdouts and a training sample decoded now, the training images streamed later. The data report
 * lists the files the pack left out (no images of the version) and every image of the version
 * that turns out unusable (a bad picture, a truncated or missing shard): those decoded now at
 * once, the others as the stream meets them (`onReport` gets the updated report). Past
 * `maxBadFraction` of the version's images unusable, counted together wherever they were found,
 * the run fails naming the last one, its report recorded first (`onReport`).
 */
export async function loadStreamedRunData(
  spec: ImageFolderDatasetSpec,
  stream: StreamSpec,
  ctx: StreamContext,
  opts: { labeled: boolean; onReport?: (report: DataReport) => void },
): Promise<{ data: LoadedDataset & { validation: ImageSplit; stream: StreamedTrain }; report: DataReport }> {
  // Messages do not name the run: the failure reason says it once (trainingFailure).
  if (!opts.labeled)
    throw new InvalidTrainingInputError(
      'dataset.stream is for fine-tuning and evaluation; pretrain on the folder itself',
    );
  const store = await createObjectStore(ctx.storage);
  const cache = ctx.cacheDir
    ? new ShardCache({
        dir: join(ctx.cacheDir, 'packed-shards'),
        maxBytes: ctx.shardCacheBytes ?? DEFAULT_SHARD_CACHE_BYTES,
      })
    : undefined;
  const source = { store, root: PACKED_ROOT, cache };
  let packed;
  try {
    packed = await loadPackedDataset(source, stream.version, {
      imageShape: spec.imageShape,
      fit: spec.fit,
      seed: spec.split.seed,
      split: { validation: spec.split.validation, test: spec.split.test, assign: spec.split.assign },
    });
  } catch (error) {
    if (error instanceof PackedShapeMismatchError)
      throw new InvalidTrainingInputError(`dataset.imageShape / dataset.fit: ${error.message}`);
    if (error instanceof ObjectNotFoundError)
      throw new InvalidTrainingInputError(
        `dataset.stream.version ${stream.version} is not a packed version in ${store.description}`,
      );
    throw error;
  }
  const leftOut = packed.leftOut.map((s) => ({ file: s.file, reason: `left out by the pack: ${s.reason}` }));
  const skipped: BadImage[] = [...leftOut, ...packed.unusable.values()];
  const report: DataReport = {
    folder: packed.manifest.source,
    classNames: packed.classNames,
    // Every file of the folder the pack found: those it packed and those it left out (listed in `skipped`).
    files: packed.manifest.images + packed.leftOut.length,
    splits: { train: packed.trainIds.length, validation: packed.validation.count, test: packed.test.count },
    skippedCount: skipped.length,
    skipped: skipped.slice(0, MAX_LISTED_SKIPPED_FILES),
    decoded: packed.validation.count + packed.test.count + packed.sample.count,
    cacheHits: 0,
    packedVersion: packed.version,
  };
  // The rule the stream applies, to what was found here: it fails the run before training.
  const unusable = new UnusableImages(packed.manifest, stream.maxBadFraction);
  for (const [id, bad] of packed.unusable) unusable.add(id, bad);
  const problem = unusable.problem();
  if (problem) {
    // The run fails, but its report still names each file and why: what the person needs.
    opts.onReport?.({ ...report });
    throw problem;
  }
  const onBad = (bad: BadImage, failing: boolean) => {
    skipped.push(bad);
    report.skippedCount = skipped.length;
    if (skipped.length <= MAX_LISTED_SKIPPED_FILES) report.skipped = skipped.slice();
    if (failing || skipped.length <= MAX_LISTED_SKIPPED_FILES || skipped.length % 100 === 0)
      opts.onReport?.({ ...report });
  };
  const streamed: StreamedTrain = {
    version: packed.version,
    count: packed.trainIds.length,
    open: ({ batchSize, augmentation, seed }) =>
      createPackedPipeline({
        manifest: packed.manifest,
        source,
        trainIds: packed.trainIds,
        imageShape: spec.imageShape,
        fit: spec.fit,
        batchSize,
        augmentation,
        seed,
        shuffleBuffer: stream.shuffleBuffer,
        readAhead: stream.readAheadShards,
        // One thread per core but the one the training step runs on, unless the spec says.
        threads: stream.threads ?? Math.max(1, availableParallelism() - 1),
        maxBadFraction: stream.maxBadFraction,
        // Counted with the images the stream meets, and not reported twice.
        unusableBefore: packed.unusable,
        onBad,
      }),
  };
  const { classNames, imageShape, validation, test, sample } = packed;
  return { data: { classNames, imageShape, train: sample, validation, test, stream: streamed }, report };
}
