import { z } from 'zod';
import type { Inferred } from '../named-schema';

const livenessSchema = z.strictObject({ status: z.literal('ok') });
export interface LivenessSchemaType extends Inferred<typeof livenessSchema> {}
/** `GET /healthz`: the process is up and serving HTTP. */
export const LivenessSchema: LivenessSchemaType = livenessSchema;
export type Liveness = z.infer<typeof LivenessSchema>;

const dependencyFailureSchema = z.union([
  z.enum(['unreachable', 'full', 'failed']),
  z.string().regex(/^timed out after \d+ ms$/),
]);
export interface DependencyFailureSchemaType extends Inferred<typeof dependencyFailureSchema> {}
/**
 * Why a dependency failed its check, in a few words anyone may read: `/readyz` is public, so never
 * the dependency's own error text (addresses, queries, a driver's messages), which the API logs.
 */
export const DependencyFailureSchema: DependencyFailureSchemaType = dependencyFailureSchema;
export type DependencyFailure = z.infer<typeof DependencyFailureSchema>;

const dependencyCheckSchema = z.strictObject({
  ok: z.boolean(),
  ms: z.number(),
  /**
   * Why it failed: `unreachable` (refused or lost connection), `full` (it refuses new connections:
   * it has as many as it allows), `timed out after N ms`, `failed` (anything else).
   */
  error: DependencyFailureSchema.optional(),
});
export interface DependencyCheckSchemaType extends Inferred<typeof dependencyCheckSchema> {}
export const DependencyCheckSchema: DependencyCheckSchemaType = dependencyCheckSchema;
export type DependencyCheck = z.infer<typeof DependencyCheckSchema>;

const readinessSchema = z.strictObject({
  status: z.enum(['ok', 'unavailable']),
  checks: z.strictObject({
    redis: DependencyCheckSchema,
    database: DependencyCheckSchema,
    objectStore: DependencyCheckSchema,
  }),
});
export interface ReadinessSchemaType extends Inferred<typeof readinessSchema> {}
/** `GET /readyz`: every dependency answered in time (a 503 carries the same report). */
export const ReadinessSchema: ReadinessSchemaType = readinessSchema;
export type Readiness = z.infer<typeof ReadinessSchema>;
