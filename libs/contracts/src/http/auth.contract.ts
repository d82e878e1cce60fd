import { z } from 'zod';
import { Id, NullableTimestamp, Timestamp } from './wire';

export const API_KEY_SCOPES = ['read', 'submit', 'admin'] as const;

/** A project name: what keys are confined to and resources are filed under. */
export const ProjectNameSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9_-]{0,62}$/,
    'Expected 1 to 63 lowercase letters, digits, "-" or "_", starting with a letter or digit',
  );

/** What a key is for, as its creator names it. */
export const ApiKeyNameSchema = z
  .string()
  .regex(/^[\x20-\x7e]{1,100}$/, 'Expected 1 to 100 printable ASCII characters');
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** A key as the API shows it: never its token or hash. */
export const ApiKeyViewSchema = z.strictObject({
  id: Id,
  name: z.string(),
  scopes: z.array(z.enum(API_KEY_SCOPES)),
  /** null: every project (an operator's key). */
  project: z.string().nullable(),
  createdAt: Timestamp,
  lastUsedAt: NullableTimestamp,
  revokedAt: NullableTimestamp,
});
export type ApiKeyView = z.infer<typeof ApiKeyViewSchema>;

/** `POST /v1/keys`: the only answer that holds the token. */
export const ApiKeyCreatedSchema = z.strictObject({ key: ApiKeyViewSchema, token: z.string() });
export type ApiKeyCreated = z.infer<typeof ApiKeyCreatedSchema>;

/** `GET /v1/keys`: newest first, a page at a time (`nextCursor` null on the last). */
export const ApiKeyListSchema = z.strictObject({ items: z.array(ApiKeyViewSchema), nextCursor: z.string().nullable() });
export type ApiKeyList = z.infer<typeof ApiKeyListSchema>;

/** `POST /v1/session`: who the session cookie now signs in as. */
export const SessionViewSchema = z.strictObject({
  name: z.string(),
  scopes: z.array(z.enum(API_KEY_SCOPES)),
  project: z.string().nullable(),
});
export type SessionView = z.infer<typeof SessionViewSchema>;

/** `GET /v1/whoami`: the key the request was made with. */
export const WhoamiSchema = SessionViewSchema.extend({ keyId: z.string() });
export type Whoami = z.infer<typeof WhoamiSchema>;
