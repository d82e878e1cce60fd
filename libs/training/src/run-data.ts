import type { TrainyardConfig } from '@trainyard/config';
import { type DataReport, type DatasetSpec, MAX_LISTED_SKIPPED_FILES } from '@trainyard/contracts';
import { type ImageSplit, type LoadedDataset, loadDataset, loadImageFolder } from '@trainyard/datasets';
import { createObjectStore, LocalObjectStore } from '@trainyard/storage';
import { InvalidTrainingInputError } from './invalid-training-input.error';
import type { ImageFolderLocation } from './training-job.types';

/** A run's data: built-in datasets carry train/test; image folders bring their own validation split. */
export interface RunData extends LoadedDataset {
  /** Present for image folders (their own stratified split); otherwise carved from train by the loop. */
  validation?: ImageSplit;
}

export interface RunDataContext {
  runId: string;
  storage: TrainyardConfig['storage'];
  imageFolder?: ImageFolderLocation;
  cacheDir?: string;
}

/**
 * Loads a run's dataset. Built-in datasets are seeded by the training seed (`seed`); an image
 * folder is split by its own `split.seed`, so every run of the folder holds out the same images.
 * Image folders also return what the load found, for the run's data report.
 */
export async function loadRunData(
  spec: DatasetSpec,
  ctx: RunDataContext,
  opts: { seed: number; labeled: boolean },
): Promise<{ data: RunData; report?: DataReport }> {
  if (spec.name !== 'image-folder') return { data: loadDataset(spec, opts) };
  if (!ctx.imageFolder) {
    throw new InvalidTrainingInputError(`run ${ctx.runId}: dataset ${spec.datasetId} was not resolved to a location (is it registered?)`);
  }
  const { store, prefix } =
    ctx.imageFolder.kind === 'local'
      ? { store: new LocalObjectStore(ctx.imageFolder.path), prefix: '' }
      : { store: await createObjectStore(ctx.storage), prefix: ctx.imageFolder.prefix };
  const loaded = await loadImageFolder(store, prefix, {
    imageShape: spec.imageShape,
    fit: spec.fit,
    cacheDir: ctx.cacheDir,
    seed: spec.split.seed,
    split: { validation: spec.split.validation, test: spec.split.test },
  });
  const report: DataReport = {
    folder: loaded.folder,
    classNames: loaded.classNames,
    files: loaded.stats.files,
    splits: { train: loaded.train.count, validation: loaded.validation.count, test: loaded.test.count },
    skippedCount: loaded.skipped.length,
    skipped: loaded.skipped.slice(0, MAX_LISTED_SKIPPED_FILES),
    decoded: loaded.stats.decoded,
    cacheHits: loaded.stats.cacheHits,
  };
  const { classNames, imageShape, train, validation, test } = loaded;
  return { data: { classNames, imageShape, train, validation, test }, report };
}
