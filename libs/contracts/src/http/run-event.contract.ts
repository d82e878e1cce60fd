import { z } from 'zod';
import type { RunProgress } from '../queue.contract';
import { MetricPointViewSchema } from './metric.contract';
import { RunLiveStateSchema } from './run.contract';
import { Id, recorded } from './wire';
import type { Inferred } from '../named-schema';

const runEventSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('progress'),
    runId: Id,
    progress: recorded<RunProgress>('The RunProgress the worker reported'),
  }),
  z.strictObject({ type: z.literal('metrics'), runId: Id, points: z.array(MetricPointViewSchema) }),
  RunLiveStateSchema.extend({ type: z.literal('status'), runId: Id }),
]);
export interface RunEventSchemaType extends Inferred<typeof runEventSchema> {}
/**
 * The `data` of each server-sent event of `GET /v1/runs/:id/events`, named by its `event:` field:
 * `status` first (a snapshot) and whenever the run starts or ends, `progress` at each worker
 * report, `metrics` with the points written since the last.
 */
export const RunEventSchema: RunEventSchemaType = runEventSchema;
export type RunEvent = z.infer<typeof RunEventSchema>;
