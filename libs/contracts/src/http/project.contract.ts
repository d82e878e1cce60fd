import { z } from 'zod';
import { MAX_PRIORITY } from '../resources.schema';
import type { Inferred } from '../named-schema';

/** The most runs one project may be allowed to train at once (PROJECT_MAX_RUNNING's bound too). */
export const PROJECT_MAX_RUNNING_BOUND = 100_000;
/** The most runs one project may be allowed to have waiting (QUOTA_QUEUED_RUNS's bound too). */
export const PROJECT_MAX_QUEUED_BOUND = 1_000_000;
/** The most bytes one project's uploads may be allowed to hold: 1 PiB (a whole number of bytes JSON and PostgreSQL carry exactly). */
export const PROJECT_MAX_UPLOAD_BYTES_BOUND = 1024 ** 5;

const projectLimitsViewSchema = z.strictObject({
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
  /** Its own quota of runs waiting at once, set by an operator; null: none, the default applies. */
  maxQueued: z.int().min(1).nullable(),
  /** QUOTA_QUEUED_RUNS as the API is configured: the quota of projects without their own. */
  defaultMaxQueued: z.int().min(1),
  /** What holds its submits: its own quota, else the default (`429` past it). */
  effectiveMaxQueued: z.int().min(1),
  /** Its own cap on the `priority` its specs may name, set by an operator; null: none, the default applies. */
  maxPriority: z.int().min(0).max(MAX_PRIORITY).nullable(),
  /** QUOTA_MAX_PRIORITY as the API is configured: the cap of projects without their own. */
  defaultMaxPriority: z.int().min(0).max(MAX_PRIORITY),
  /** What holds its specs' `priority`: its own cap, else the default (`422` naming `priority` past it). */
  effectiveMaxPriority: z.int().min(0).max(MAX_PRIORITY),
  /** Its own quota of bytes its uploaded datasets may hold, set by an operator; null: none, the default applies. */
  maxUploadBytes: z.int().min(0).nullable(),
  /** QUOTA_PROJECT_UPLOAD_BYTES as the API is configured: the quota of projects without their own. */
  defaultMaxUploadBytes: z.int().min(0),
  /** What holds its uploads: its own quota, else the default (`413` past it). */
  effectiveMaxUploadBytes: z.int().min(0),
  /** Bytes of images its uploaded datasets hold: what the quota counts. */
  uploadedBytes: z.int().min(0),
  /** Bytes its uploads in progress have set aside: counted too until they end. */
  uploadsInProgressBytes: z.int().min(0),
  /** Bytes its runs' checkpoints hold in the store (not DELETED): freed by deleting runs. */
  checkpointBytes: z.int().min(0),
  /** Its runs training now: what the limit counts. */
  running: z.int().min(0),
  /** Its runs waiting for a worker (QUEUED or PREEMPTED). */
  waiting: z.int().min(0),
});
export interface ProjectLimitsViewSchemaType extends Inferred<typeof projectLimitsViewSchema> {}
/**
 * `GET /v1/projects/:project/limits` and `PATCH` to it: how many of a project's runs may train at
 * once across the fleet and wait at once, the highest priority its specs may name, the bytes its
 * uploads may hold, where those numbers come from, and the project's load and uploads.
 */
export const ProjectLimitsViewSchema: ProjectLimitsViewSchemaType = projectLimitsViewSchema;
export type ProjectLimitsView = z.infer<typeof ProjectLimitsViewSchema>;

const projectLimitsListSchema = z.strictObject({
  /** The limit of every project not listed (as in ProjectLimitsView). */
  defaultMaxRunning: z.int().min(1).nullable(),
  workersMaxRunning: z.array(z.int().min(1).nullable()),
  /** QUOTA_QUEUED_RUNS as the API is configured (the quota of every project not listed). */
  defaultMaxQueued: z.int().min(1),
  /** QUOTA_MAX_PRIORITY as the API is configured (the cap of every project not listed). */
  defaultMaxPriority: z.int().min(0).max(MAX_PRIORITY),
  /** QUOTA_PROJECT_UPLOAD_BYTES as the API is configured (the quota of every project not listed). */
  defaultMaxUploadBytes: z.int().min(0),
  items: z.array(ProjectLimitsViewSchema),
});
export interface ProjectLimitsListSchemaType extends Inferred<typeof projectLimitsListSchema> {}
/** `GET /v1/projects/limits`: every project with a limit of its own, by name. */
export const ProjectLimitsListSchema: ProjectLimitsListSchemaType = projectLimitsListSchema;
export type ProjectLimitsList = z.infer<typeof ProjectLimitsListSchema>;

const projectLimitsUpdateSchema = z
  .strictObject({
    maxRunning: z
      .int('Expected a whole number of runs, or null for the default')
      .min(1, 'Expected at least 1 (null: the default)')
      .max(PROJECT_MAX_RUNNING_BOUND, `Expected at most ${PROJECT_MAX_RUNNING_BOUND}`)
      .nullable()
      .optional(),
    maxQueued: z
      .int('Expected a whole number of runs, or null for the default')
      .min(1, 'Expected at least 1 (null: the default)')
      .max(PROJECT_MAX_QUEUED_BOUND, `Expected at most ${PROJECT_MAX_QUEUED_BOUND}`)
      .nullable()
      .optional(),
    maxPriority: z
      .int('Expected a whole number, or null for the default')
      .min(0, 'Expected at least 0: runs without a priority have 0 (null: the default)')
      .max(MAX_PRIORITY, `Expected at most ${MAX_PRIORITY}`)
      .nullable()
      .optional(),
    maxUploadBytes: z
      .int('Expected a whole number of bytes, or null for the default')
      .min(0, 'Expected at least 0: 0 lets the project upload nothing (null: the default)')
      .max(PROJECT_MAX_UPLOAD_BYTES_BOUND, `Expected at most ${PROJECT_MAX_UPLOAD_BYTES_BOUND} (1 PiB)`)
      .nullable()
      .optional(),
  })
  .refine(
    (change) =>
      change.maxRunning !== undefined ||
      change.maxQueued !== undefined ||
      change.maxPriority !== undefined ||
      change.maxUploadBytes !== undefined,
    {
      message: 'Give maxRunning, maxQueued, maxPriority, maxUploadBytes or several (null: back to the default)',
      path: ['maxRunning'],
    },
  );
export interface ProjectLimitsUpdateSchemaType extends Inferred<typeof projectLimitsUpdateSchema> {}
/**
 * `PATCH /v1/projects/:project/limits`: a number sets one of the project's own limits, null removes
 * it (back to the default), a field left out stays as it is; at least one field. A priority cap
 * of at least 0 keeps every spec that names none (0) and every sweep run (−10) acceptable.
 */
export const ProjectLimitsUpdateSchema: ProjectLimitsUpdateSchemaType = projectLimitsUpdateSchema;
export type ProjectLimitsUpdate = z.infer<typeof ProjectLimitsUpdateSchema>;
