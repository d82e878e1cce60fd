import { z } from 'zod';

/** `GET /healthz`: the process is up and serving HTTP. */
export const LivenessSchema = z.strictObject({ status: z.literal('ok') });
export type Liveness = z.infer<typeof LivenessSchema>;

export const DependencyCheckSchema = z.strictObject({
  ok: z.boolean(),
  ms: z.number(),
  /** Why it failed. */
  error: z.string().optional(),
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
