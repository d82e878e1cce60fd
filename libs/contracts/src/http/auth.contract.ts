import { z } from 'zod';
import { Id, NullableTimestamp, Timestamp } from './wire';
import type { Inferred } from '../named-schema';

export const API_KEY_SCOPES = ['read', 'submit', 'admin'] as const;

const projectNameSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9_-]{0,62}$/,
    'Expected 1 to 63 lowercase letters, digits, "-" or "_", starting with a letter or digit',
  );
export interface ProjectNameSchemaType extends Inferred<typeof projectNameSchema> {}
/** A project name: what keys are confined to and resources are filed under. */
export const ProjectNameSchema: ProjectNameSchemaType = projectNameSchema;

const apiKeyNameSchema = z.string().regex(/^[\x20-\x7e]{1,100}$/, 'Expected 1 to 100 printable ASCII characters');
export interface ApiKeyNameSchemaType extends Inferred<typeof apiKeyNameSchema> {}
/** What a key is for, as its creator names it. */
export const ApiKeyNameSchema: ApiKeyNameSchemaType = apiKeyNameSchema;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

const apiKeyViewSchema = z.strictObject({
  id: Id,
  name: z.string(),
  scopes: z.array(z.enum(API_KEY_SCOPES)),
  /** null: every project (an operator's key). */
  project: z.string().nullable(),
  createdAt: Timestamp,
  lastUsedAt: NullableTimestamp,
  revokedAt: NullableTimestamp,
});
export interface ApiKeyViewSchemaType extends Inferred<typeof apiKeyViewSchema> {}
/** A key as the API shows it: never its token or hash. */
export const ApiKeyViewSchema: ApiKeyViewSchemaType = apiKeyViewSchema;
export type ApiKeyView = z.infer<typeof ApiKeyViewSchema>;

const apiKeyCreatedSchema = z.strictObject({ key: ApiKeyViewSchema, token: z.string() });
export interface ApiKeyCreatedSchemaType extends Inferred<typeof apiKeyCreatedSchema> {}
/** `POST /v1/keys`: the only answer that holds the token. */
export const ApiKeyCreatedSchema: ApiKeyCreatedSchemaType = apiKeyCreatedSchema;
export type ApiKeyCreated = z.infer<typeof ApiKeyCreatedSchema>;

const apiKeyListSchema = z.strictObject({ items: z.array(ApiKeyViewSchema), nextCursor: z.string().nullable() });
export interface ApiKeyListSchemaType extends Inferred<typeof apiKeyListSchema> {}
/** `GET /v1/keys`: newest first, a page at a time (`nextCursor` null on the last). */
export const ApiKeyListSchema: ApiKeyListSchemaType = apiKeyListSchema;
export type ApiKeyList = z.infer<typeof ApiKeyListSchema>;

const sessionViewSchema = z.strictObject({
  name: z.string(),
  scopes: z.array(z.enum(API_KEY_SCOPES)),
  project: z.string().nullable(),
});
export interface SessionViewSchemaType extends Inferred<typeof sessionViewSchema> {}
/** `POST /v1/session`: who the session cookie now signs in as. */
export const SessionViewSchema: SessionViewSchemaType = sessionViewSchema;
export type SessionView = z.infer<typeof SessionViewSchema>;

const whoamiSchema = SessionViewSchema.extend({ keyId: z.string() });
export interface WhoamiSchemaType extends Inferred<typeof whoamiSchema> {}
/** `GET /v1/whoami`: the key the request was made with. */
export const WhoamiSchema: WhoamiSchemaType = whoamiSchema;
export type Whoami = z.infer<typeof WhoamiSchema>;
