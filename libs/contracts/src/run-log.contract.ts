import { z } from 'zod';
import type { Inferred } from './named-schema';

/**
 * Where a line of a run's log came from: the worker's own lines about the run (started, resumed,
 * concluded…), or what the training process printed.
 */
export const RUN_LOG_SOURCES = ['worker', 'stdout', 'stderr'] as const;
export type RunLogSource = (typeof RUN_LOG_SOURCES)[number];

export const RUN_LOG_LEVELS = ['error', 'warn', 'log', 'debug'] as const;
export type RunLogLevel = (typeof RUN_LOG_LEVELS)[number];

/**
 * Longest `msg` a stored line keeps, in UTF-16 units; longer text is cut and says so. Bounds a
 * chunk's line count from below, and what one line can cost a reader.
 */
export const RUN_LOG_MAX_LINE_LENGTH = 8192;

const runLogLineSchema = z.object({
  /** When the worker saw the line (ISO 8601). */
  t: z.string(),
  level: z.enum(RUN_LOG_LEVELS),
  source: z.enum(RUN_LOG_SOURCES),
  attempt: z.number().int().min(1),
  jobId: z.string(),
  msg: z.string(),
});
export interface RunLogLineSchemaType extends Inferred<typeof runLogLineSchema> {}
/**
 * One line of a run's log, as the worker stores it (one JSON object per line in the chunks under
 * `runs/<runId>/logs/`) and the API serves it. `msg` is redacted and has its control characters
 * escaped before it is stored.
 */
export const RunLogLineSchema: RunLogLineSchemaType = runLogLineSchema;
export type RunLogLine = z.infer<typeof RunLogLineSchema>;
