import { API_KEY_SCOPES, ApiKeyNameSchema, ProjectNameSchema } from '@trainyard/contracts';
import { z } from 'zod';
import { CatalogPageQuerySchema } from '../catalog/catalog-page-query';

export const ApiKeyCreationSchema = z.strictObject({
  name: ApiKeyNameSchema,
  scopes: z
    .array(z.enum(API_KEY_SCOPES))
    .min(1, 'Give at least one scope')
    .max(API_KEY_SCOPES.length)
    .refine((scopes) => new Set(scopes).size === scopes.length, 'Each scope once'),
  /** Omitted: the key sees every project (give that only to operators). */
  project: ProjectNameSchema.optional(),
});
export type ApiKeyCreationBody = z.output<typeof ApiKeyCreationSchema>;

export const ApiKeyIdSchema = z.guid({ message: 'Expected a key id (a UUID)' }).toLowerCase();

export const SessionSchema = z.strictObject({ key: z.string().regex(/^[\x21-\x7e]{32,512}$/, 'Expected an API key') });

/** `GET /v1/keys`: a page, and `revoked=true|false` for only revoked or only live keys. */
export const ApiKeyListQuerySchema = CatalogPageQuerySchema.extend({
  revoked: z
    .enum(['true', 'false'], { message: 'Expected true (only revoked keys) or false (only live ones)' })
    .transform((value) => value === 'true')
    .optional(),
});
export type ApiKeyListQuery = z.output<typeof ApiKeyListQuerySchema>;
