import { CATALOG_LIST_DEFAULT_LIMIT, CATALOG_LIST_MAX_LIMIT, decimalInt } from '@trainyard/contracts';
import { z } from 'zod';

/**
 * Query of `GET /v1/pipelines`, `/v1/sweeps`, `/v1/models` and `/v1/datasets`: `limit` (1 to 100) and the
 * `cursor` a previous page returned. Anything else is refused, naming the parameter, so a typo
 * (or `__proto__`) is a 400, not ignored.
 */
export const CatalogPageQuerySchema = z.strictObject({
  limit: decimalInt({ min: 1, max: CATALOG_LIST_MAX_LIMIT }).default(CATALOG_LIST_DEFAULT_LIMIT),
  // Cursors are base64url (libs/db catalog-page.ts); anything else is refused here, naming `cursor`.
  cursor: z
    .string()
    .max(1000)
    .regex(/^[A-Za-z0-9_-]+$/, 'Expected the nextCursor of a previous page')
    .optional(),
});
export type CatalogPageQueryParams = z.infer<typeof CatalogPageQuerySchema>;
