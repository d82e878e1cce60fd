import { z } from 'zod';

/** The most runs one project may be allowed to train at once (PROJECT_MAX_RUNNING's bound too). */
export const PROJECT_MAX_RUNNING_BOUND = 100_000;

/**
 * `GET /v1/projects/:project/limits` and `PUT` to it: how many of a project's runs may train at
 * once across the fleet, where that number comes from, and the project's load now.
 */
export const ProjectLimitsViewSchema = z.strictObject({
  project: z.string(),
  /** Its own limit, set by an admin; null: none, the default applies. */
  maxRunning: z.int().min(1).nullable(),
  /**
   * The default of projects without a limit of their own: PROJECT_MAX_RUNNING as the API is
   * configured when it is, else what the live workers apply when they agree; null when neither
   * gives one (no live worker limits, or they disagree: see `workersMaxRunning`).
   */
  defaultMaxRunning: z.int().min(1).nullable(),
  /** The PROJECT_MAX_RUNNING values the live workers apply, each once (null: a worker with none); two or more: they disagree. */
  workersMaxRunning: z.array(z.int().min(1).nullable()),
  /** What holds the project: its own limit, else the default; null: nothing does. */
  effectiveMaxRunning: z.int().min(1).nullable(),
  /** Its runs training now: what the limit counts. */
  running: z.int().min(0),
  /** Its runs waiting for a worker (QUEUED or PREEMPTED). */
  waiting: z.int().min(0),
});
export type ProjectLimitsView = z.infer<typeof ProjectLimitsViewSchema>;

/** `GET /v1/projects/limits`: every project with a limit of its own, by name. */
export const ProjectLimitsListSchema = z.strictObject({
  /** The limit of every project not listed (as in ProjectLimitsView). */
  defaultMaxRunning: z.int().min(1).nullable(),
  workersMaxRunning: z.array(z.int().min(1).nullable()),
  items: z.array(ProjectLimitsViewSchema),
});
export type ProjectLimitsList = z.infer<typeof ProjectLimitsListSchema>;

/** `PUT /v1/projects/:project/limits`: its own limit, or null to go back to the default. */
export const ProjectLimitsUpdateSchema = z.strictObject({
  maxRunning: z
    .int('Expected a whole number of runs, or null for the default')
    .min(1, 'Expected at least 1 (null: the default)')
    .max(PROJECT_MAX_RUNNING_BOUND, `Expected at most ${PROJECT_MAX_RUNNING_BOUND}`)
    .nullable(),
});
export type ProjectLimitsUpdate = z.infer<typeof ProjectLimitsUpdateSchema>;
