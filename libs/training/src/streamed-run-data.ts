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
  runId: string;
  storage: TrainyardConfig['storage'];
  cacheDir?: string;
  shardCacheBytes?: number;
}

/**
 * Opens a run's packed version from the configured store (shards cached on the node's disk): the
 * holdouts and a training sample decoded now, the training images streamed later. Every unusable
 * image (a bad picture, a truncated or missing shard) lands in the data report, holdouts' now and
 * training images' as the stream meets them (`onReport` gets the updated report); past
 * `maxBadFraction` of the images the run fails, naming the last one.
 */
export async function loadStreamedRunData(
  spec: ImageFolderDatasetSpec,
  stream: StreamSpec,
  ctx: StreamContext,
  opts: { labeled: boolean; onReport?: (report: DataReport) => void },
): Promise<{ data: LoadedDataset & { validation: ImageSplit; stream: StreamedTrain }; report: DataReport }> {
  if (!opts.labeled)
    throw new InvalidTrainingInputError(
      `run ${ctx.runId}: dataset.stream is for fine-tuning and evaluation; pretrain on the folder itself`,
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
      throw new InvalidTrainingInputError(`run ${ctx.runId}: dataset.imageShape / dataset.fit: ${error.message}`);
    if (error instanceof ObjectNotFoundError)
      throw new InvalidTrainingInputError(
        `run ${ctx.runId}: dataset.stream.version ${stream.version} is not a packed version in ${store.description}`,
      );
    throw error;
  }
  const skipped: BadImage[] = [...packed.bad];
  const report: DataReport = {
    folder: packed.manifest.source,
    classNames: packed.classNames,
    files: packed.manifest.images,
    splits: { train: packed.trainIds.length, validation: packed.validation.count, test: packed.test.count },
    skippedCount: skipped.length,
    skipped: skipped.slice(0, MAX_LISTED_SKIPPED_FILES),
    decoded: packed.validation.count + packed.test.count + packed.sample.count,
    cacheHits: 0,
    packedVersion: packed.version,
  };
  const tooMany = skipped.length > stream.maxBadFraction * packed.manifest.images;
  if (tooMany) {
    const last = skipped[skipped.length - 1];
    throw new InvalidTrainingInputError(
      `run ${ctx.runId}: ${skipped.length} of ${packed.manifest.images} images of version ${packed.version} are unusable, more than dataset.stream.maxBadFraction ${stream.maxBadFraction} allows (the last: ${last.file}: ${last.reason})`,
    );
  }
  const onBad = (bad: BadImage) => {
    skipped.push(bad);
    report.skippedCount = skipped.length;
    if (skipped.length <= MAX_LISTED_SKIPPED_FILES) report.skipped = skipped.slice();
    if (skipped.length <= MAX_LISTED_SKIPPED_FILES || skipped.length % 100 === 0) opts.onReport?.({ ...report });
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
        // The stream's share is over its training images; the holdouts' bad ones were counted above.
        maxBadFraction: stream.maxBadFraction,
        onBad,
      }),
  };
  const { classNames, imageShape, validation, test, sample } = packed;
  return { data: { classNames, imageShape, train: sample, validation, test, stream: streamed }, report };
}
