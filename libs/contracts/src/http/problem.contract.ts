import { z } from 'zod';
import type { FieldError } from '../field-errors';
import type { Inferred } from '../named-schema';

const fieldErrorSchema = z.strictObject({
  field: z.string().meta({ example: 'training.learningRate' }),
  message: z.string().meta({ example: 'Too big: expected number to be <=1' }),
}) satisfies z.ZodType<FieldError>;
export interface FieldErrorSchemaType extends Inferred<typeof fieldErrorSchema> {}
/** One bad field of a request: its dotted path (`training.learningRate`, `Idempotency-Key`) and what is wrong. */
export const FieldErrorSchema: FieldErrorSchemaType = fieldErrorSchema;

const problemDetailsSchema = z.looseObject({
  type: z.string(),
  title: z.string(),
  status: z.int().min(400).max(599),
  detail: z.string(),
  statusCode: z.int().min(400).max(599),
  error: z.string(),
  message: z.string(),
  errors: z.array(FieldErrorSchema).optional(),
  /** The X-Request-Id of the request, also on its log lines. */
  requestId: z.string().optional(),
});
export interface ProblemDetailsSchemaType extends Inferred<typeof problemDetailsSchema> {}
/**
 * Every error answer (`application/problem+json`): RFC 9457 problem details (`type`, `title`,
 * `status`, `detail`), the fields this API has always sent (`statusCode`, `error`, `message`,
 * `errors`) and the request id. Extension members are allowed, as RFC 9457 allows them: a 503 of
 * a submit names the `runId` it marked FAILED and the `reason`.
 */
export const ProblemDetailsSchema: ProblemDetailsSchemaType = problemDetailsSchema;
export type ProblemDetails = z.infer<typeof ProblemDetailsSchema>;
