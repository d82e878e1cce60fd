import { z } from 'zod';
import { RunLogLineSchema } from '../run-log.contract';
import type { Inferred } from '../named-schema';

const runLogPageSchema = z.strictObject({
  lines: z.array(z.strictObject(RunLogLineSchema.shape)),
  /** Pass as `after` to read on; present even at the end, so a poll later picks up new lines. */
  next: z.string(),
  /** The run has ended and every line it wrote has been returned: nothing more will come. */
  complete: z.boolean(),
});
export interface RunLogPageSchemaType extends Inferred<typeof runLogPageSchema> {}
/** `GET /v1/runs/:id/logs`: lines in order, and where the next page (or a later poll) starts. */
export const RunLogPageSchema: RunLogPageSchemaType = runLogPageSchema;
export type RunLogPage = z.infer<typeof RunLogPageSchema>;
