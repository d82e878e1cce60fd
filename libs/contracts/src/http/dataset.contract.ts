import { z } from 'zod';
import { Id, Timestamp } from './wire';
import type { Inferred } from '../named-schema';

const datasetLocationSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('local'), path: z.string() }),
  z.strictObject({ kind: z.literal('s3'), prefix: z.string() }),
]);
export interface DatasetLocationSchemaType extends Inferred<typeof datasetLocationSchema> {}
/** Where a registered image folder lives: a path the workers share, or a prefix of the configured store. */
export const DatasetLocationSchema: DatasetLocationSchemaType = datasetLocationSchema;
export type DatasetLocation = z.infer<typeof DatasetLocationSchema>;

/**
 * Class folders one dataset may have. A dataset's answer carries its class names, up to 255 bytes
 * each: without a cap one upload of tiny files made a row of hundreds of megabytes (20,000 classes
 * of 148 characters: 3 MB). The list carries the first DATASET_LIST_CLASS_NAMES only.
 */
export const DATASET_MAX_CLASSES = 10_000;

const datasetViewSchema = z.strictObject({
  id: Id,
  name: z.string(),
  /** Names are unique within a project. */
  project: z.string(),
  location: DatasetLocationSchema,
  /** file:///data/flowers/ or s3://bucket/datasets/flowers/ */
  uri: z.string(),
  classNames: z.array(z.string()),
  /** Image files per class at registration, in classNames order. */
  counts: z.array(z.int()),
  /** Their sum. */
  images: z.int(),
  /**
   * Bytes of the images an upload stored, counted against its project's QUOTA_PROJECT_UPLOAD_BYTES;
   * null for a folder registered by path or prefix (the project's own storage) or uploaded before
   * the quota existed.
   */
  uploadedBytes: z.int().min(0).nullable(),
  createdAt: Timestamp,
});
export interface DatasetViewSchemaType extends Inferred<typeof datasetViewSchema> {}
/** A registered image folder (one subfolder per class), as checked at registration. */
export const DatasetViewSchema: DatasetViewSchemaType = datasetViewSchema;
export type DatasetView = z.infer<typeof DatasetViewSchema>;

const skippedUploadEntrySchema = z.strictObject({
  /** The entry's path in the uploaded folder, e.g. `cat/001.png`. */
  entry: z.string(),
  reason: z.string(),
});
export interface SkippedUploadEntrySchemaType extends Inferred<typeof skippedUploadEntrySchema> {}
/** An uploaded file named as an image whose bytes are no PNG, JPEG or WebP: not stored. */
export const SkippedUploadEntrySchema: SkippedUploadEntrySchemaType = skippedUploadEntrySchema;
export type SkippedUploadEntry = z.infer<typeof SkippedUploadEntrySchema>;

const datasetUploadedSchema = DatasetViewSchema.extend({
  /** The first 100 such files, in upload order. */
  skipped: z.array(SkippedUploadEntrySchema),
  /** How many there were in all. */
  skippedCount: z.int(),
});
export interface DatasetUploadedSchemaType extends Inferred<typeof datasetUploadedSchema> {}
/** `POST /v1/datasets/uploads`: the dataset registered, and the files named as images it left out. */
export const DatasetUploadedSchema: DatasetUploadedSchemaType = datasetUploadedSchema;
export type DatasetUploaded = z.infer<typeof DatasetUploadedSchema>;

/**
 * Class names a row of `GET /v1/datasets` carries, the first in classNames order: a dataset may have
 * DATASET_MAX_CLASSES, and a page of 100 rows with every name was tens of MB. `GET /v1/datasets/:id`
 * has them all, with their counts.
 */
export const DATASET_LIST_CLASS_NAMES = 10;

const datasetSummarySchema = DatasetViewSchema.omit({ classNames: true, counts: true }).extend({
  classCount: z.int().min(0),
  /** The first DATASET_LIST_CLASS_NAMES of classNames. */
  firstClassNames: z.array(z.string()).max(DATASET_LIST_CLASS_NAMES),
});
export interface DatasetSummarySchemaType extends Inferred<typeof datasetSummarySchema> {}
/** A row of `GET /v1/datasets`: the dataset with its classes counted and the first few named. */
export const DatasetSummarySchema: DatasetSummarySchemaType = datasetSummarySchema;
export type DatasetSummary = z.infer<typeof DatasetSummarySchema>;

const datasetListSchema = z.strictObject({
  items: z.array(DatasetSummarySchema),
  nextCursor: z.string().nullable(),
});
export interface DatasetListSchemaType extends Inferred<typeof datasetListSchema> {}
/** `GET /v1/datasets`: newest first, a keyset page like the other catalog lists. */
export const DatasetListSchema: DatasetListSchemaType = datasetListSchema;
export type DatasetList = z.infer<typeof DatasetListSchema>;
