import type { TrainyardConfig } from '@trainyard/config';
import { type DataReport, type DatasetSpec, MAX_LISTED_SKIPPED_FILES } from '@trainyard/contracts';
import {
  type ImageSplit,
  type LoadedDataset,
  loadDataset,
  loadImageFolder,
  type SkippedImage,
  UnreadableClassesError,
} from '@trainyard/datasets';
import {
  createObjectStore,
  FolderWalkLimitError,
  LocalObjectStore,
  LocalPathRefusedError,
  resolveUnderRoots,
  walkLimitsOf,
} from '@trainyard/storage';
import { InvalidTrainingInputError } from './invalid-training-input.error';
import { loadStreamedRunData, type StreamedTrain } from './streamed-run-data';
import type { ImageFolderLocation } from './training-job.types';

/** A run's data: built-in datasets carry train/test; image folders bring their own validation split. */
export interface RunData extends LoadedDataset {
  /** Present for image folders (their own stratified split); otherwise carved from train by the loop. */
  validation?: ImageSplit;
  /**
   * A streamed (packed) dataset: its training images are served by `open`'s pipeline, and `train`
   * holds only a sample of them in memory (head calibration, the augmentation grid).
   */
  stream?: StreamedTrain;
}

export interface RunDataContext {
  runId: string;
  storage: TrainyardConfig['storage'];
  imageFolder?: ImageFolderLocation;
  cacheDir?: string;
  /** Size cap of the decoded-image cache in `cacheDir` (WORKER_IMAGE_CACHE_BYTES); its default when absent. */
  imageCacheBytes?: number;
  /** Local roots and walk bounds (the worker's config); without them no local folder is read. */
  paths?: TrainyardConfig['paths'];
  /** Size cap of the node's shard cache (`cacheDir`/packed-shards); DEFAULT_SHARD_CACHE_BYTES when absent. */
  shardCacheBytes?: number;
}

/** The real path of a local dataset, checked against the worker's roots right before it is read. */
async function underRoots(ctx: RunDataContext, path: string, datasetId: string): Promise<string> {
  try {
    return await resolveUnderRoots(path, ctx.paths?.localRoots ?? []);
  } catch (error) {
    if (error instanceof LocalPathRefusedError)
      throw new InvalidTrainingInputError(`run ${ctx.runId}: dataset ${datasetId} location.path ${error.message}`);
    throw error;
  }
}

/**
 * Loads a run's dataset. Built-in datasets are seeded by the training seed (`seed`); an image
 * folder is split by its own `split.seed`, so every run of the folder holds out the same images.
 * Image folders also return what the load found, for the run's data report.
 */
export async function loadRunData(
  spec: DatasetSpec,
  ctx: RunDataContext,
  opts: { seed: number; labeled: boolean; onReport?: (report: DataReport) => void },
): Promise<{ data: RunData; report?: DataReport }> {
  if (spec.name !== 'image-folder') return { data: loadDataset(spec, opts) };
  if (spec.stream) return loadStreamedRunData(spec, spec.stream, ctx, opts);
  if (!ctx.imageFolder) {
    throw new InvalidTrainingInputError(
      `run ${ctx.runId}: dataset ${spec.datasetId} was not resolved to a location (is it registered?)`,
    );
  }
  const { store, prefix } =
    ctx.imageFolder.kind === 'local'
      ? { store: new LocalObjectStore(await underRoots(ctx, ctx.imageFolder.path, spec.datasetId)), prefix: '' }
      : { store: await createObjectStore(ctx.storage), prefix: ctx.imageFolder.prefix };
  let loaded;
  try {
    loaded = await loadImageFolder(store, prefix, {
      imageShape: spec.imageShape,
      fit: spec.fit,
      cacheDir: ctx.cacheDir,
      cacheMaxBytes: ctx.imageCacheBytes,
      seed: spec.split.seed,
      split: { validation: spec.split.validation, test: spec.split.test, assign: spec.split.assign },
      walkLimits: ctx.paths ? walkLimitsOf(ctx.paths) : undefined,
    });
  } catch (error) {
    if (error instanceof FolderWalkLimitError)
      throw new InvalidTrainingInputError(`run ${ctx.runId}: dataset ${spec.datasetId}: ${error.message}`);
    // The run fails, but its report still names each file skipped and why: what the person needs.
    if (error instanceof UnreadableClassesError)
      opts.onReport?.(folderReport(error.folder, error.classNames, error.skipped, error.stats, null));
    throw error;
  }
  const report = folderReport(loaded.folder, loaded.classNames, loaded.skipped, loaded.stats, {
    train: loaded.train.count,
    validation: loaded.validation.count,
    test: loaded.test.count,
  });
  const { classNames, imageShape, train, validation, test } = loaded;
  return { data: { classNames, imageShape, train, validation, test }, report };
}

/**
 * A training run reports its scores on its test split: one with none (a small folder whose
 * classes each round `dataset.split.test` down to no image) fails before training, naming the
 * field, rather than publishing a 0 % accuracy measured on nothing.
 */
export function assertTestImages(spec: DatasetSpec, data: RunData): void {
  if (spec.name !== 'image-folder' || data.test.count > 0) return;
  const classes = data.classNames.length;
  throw new InvalidTrainingInputError(
    `dataset.split.test ${spec.split.test} holds out no test image: each of the ${classes} classes rounds its share down to none (${data.train.count} training and ${data.validation?.count ?? 0} validation images in all); raise dataset.split.test or add images`,
  );
}

/** The data report of a folder's load; `splits` null when it was refused (no image split): all zero. */
function folderReport(
  folder: string,
  classNames: string[],
  skipped: SkippedImage[],
  stats: { files: number; decoded: number; cacheHits: number },
  splits: DataReport['splits'] | null,
): DataReport {
  return {
    folder,
    classNames,
    files: stats.files,
    splits: splits ?? { train: 0, validation: 0, test: 0 },
    skippedCount: skipped.length,
    skipped: skipped.slice(0, MAX_LISTED_SKIPPED_FILES),
    decoded: stats.decoded,
    cacheHits: stats.cacheHits,
  };
}
