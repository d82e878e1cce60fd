import { z } from 'zod';
import { Id, NullableTimestamp, Timestamp } from './wire';

export const API_KEY_SCOPES = ['read', 'submit', 'admin'] as const;
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

/** `GET /v1/keys` */
export const ApiKeyListSchema = z.strictObject({ items: z.array(ApiKeyViewSchema) });
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
