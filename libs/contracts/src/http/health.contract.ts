import { z } from 'zod';

/** `GET /healthz`: the process is up and serving HTTP. */
export const LivenessSchema = z.strictObject({ status: z.literal('ok') });
export type Liveness = z.infer<typeof LivenessSchema>;

/**
 * Why a dependency failed its check, in a few words anyone may read: `/readyz` is public, so never
 * the dependency's own error text (addresses, queries, a driver's messages), which the API logs.
 */
export const DependencyFailureSchema = z.union([
  z.enum(['unreachable', 'failed']),
  z.string().regex(/^timed out after \d+ ms$/),
]);
export type DependencyFailure = z.infer<typeof DependencyFailureSchema>;

export const DependencyCheckSchema = z.strictObject({
  ok: z.boolean(),
  ms: z.number(),
  /** Why it failed: `unreachable` (refused or lost connection), `timed out after N ms`, `failed` (anything else). */
  error: DependencyFailureSchema.optional(),
});
export type DependencyCheck = z.infer<typeof DependencyCheckSchema>;

/** `GET /readyz`: every dependency answered in time (a 503 carries the same report). */
export const ReadinessSchema = z.strictObject({
  status: z.enum(['ok', 'unavailable']),
  checks: z.strictObject({
    redis: DependencyCheckSchema,
    database: DependencyCheckSchema,
    objectStore: DependencyCheckSchema,
  }),
});
export type Readiness = z.infer<typeof ReadinessSchema>;
