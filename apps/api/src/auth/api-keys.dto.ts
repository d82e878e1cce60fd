import { API_KEY_SCOPES } from '@trainyard/contracts';
import { z } from 'zod';

/** A project name: what keys are confined to and resources are filed under. */
export const ProjectNameSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9_-]{0,62}$/,
    'Expected 1 to 63 lowercase letters, digits, "-" or "_", starting with a letter or digit',
  );

export const ApiKeyCreationSchema = z.strictObject({
  name: z.string().regex(/^[\x20-\x7e]{1,100}$/, 'Expected 1 to 100 printable ASCII characters'),
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
