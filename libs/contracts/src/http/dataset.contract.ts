import { z } from 'zod';
import { Id, Timestamp } from './wire';

/** Where a registered image folder lives: a path the workers share, or a prefix of the configured store. */
export const DatasetLocationSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('local'), path: z.string() }),
  z.strictObject({ kind: z.literal('s3'), prefix: z.string() }),
]);
export type DatasetLocation = z.infer<typeof DatasetLocationSchema>;

/** A registered image folder (one subfolder per class), as checked at registration. */
export const DatasetViewSchema = z.strictObject({
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
  createdAt: Timestamp,
});
export type DatasetView = z.infer<typeof DatasetViewSchema>;

/** `GET /v1/datasets`, newest first. */
export const DatasetListSchema = z.strictObject({ items: z.array(DatasetViewSchema) });
export type DatasetList = z.infer<typeof DatasetListSchema>;
