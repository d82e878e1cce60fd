import { z } from 'zod';
import { NameSchema, textProblem } from '../text.schema';
import { Id } from './wire';
import type { Inferred } from '../named-schema';

export const RUN_TAGS_MAX = 32;
export const RUN_NOTES_MAX_LENGTH = 20_000;
/** Lowercase, starts with a letter or digit, then letters, digits and `. _ : -`; 63 characters at most. */
export const RUN_TAG_PATTERN = /^[a-z0-9][a-z0-9._:-]{0,62}$/;

const runTagSchema = z
  .string()
  .regex(RUN_TAG_PATTERN, 'Expected a lowercase tag of a-z, 0-9 and . _ : - (up to 63 characters)');
export interface RunTagSchemaType extends Inferred<typeof runTagSchema> {}
export const RunTagSchema: RunTagSchemaType = runTagSchema;

const runTagsSchema = z
  .array(RunTagSchema)
  .max(RUN_TAGS_MAX)
  .refine((tags) => new Set(tags).size === tags.length, 'Each tag once');
export interface RunTagsSchemaType extends Inferred<typeof runTagsSchema> {}
export const RunTagsSchema: RunTagsSchemaType = runTagsSchema;

const runNotesSchema = z
  .string()
  .max(RUN_NOTES_MAX_LENGTH)
  .superRefine((value, ctx) => {
    const problem = textProblem(value.replace(/\r\n|[\n\t]/g, ' '));
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
export interface RunNotesSchemaType extends Inferred<typeof runNotesSchema> {}
/**
 * Markdown notes: several lines, so newlines and tabs are allowed, but every other character that
 * `text` refuses (NUL, escapes, lone surrogates) is refused here too, by the same rule.
 */
export const RunNotesSchema: RunNotesSchemaType = runNotesSchema;

const runUpdateSchema = z
  .strictObject({
    name: NameSchema.optional(),
    tags: RunTagsSchema.optional(),
    addTags: RunTagsSchema.optional(),
    removeTags: RunTagsSchema.optional(),
    notes: RunNotesSchema.nullable().optional(),
  })
  .refine((update) => Object.keys(update).length > 0, 'Give at least one of name, tags, addTags, removeTags, notes')
  .refine((update) => update.tags === undefined || (update.addTags === undefined && update.removeTags === undefined), {
    message: 'tags replaces the whole list: give it, or addTags and removeTags, not both',
    path: ['tags'],
  })
  .refine((update) => !update.addTags?.some((tag) => update.removeTags?.includes(tag)), {
    message: 'A tag is both added and removed',
    path: ['removeTags'],
  });
export interface RunUpdateSchemaType extends Inferred<typeof runUpdateSchema> {}
/**
 * `PATCH /v1/runs/:id`: what a person may change on a run. `notes: null` (or "") clears the notes.
 * `tags` replaces the run's tags; `addTags` and `removeTags` change them under the run's row lock,
 * so that two people (or scripts) tagging a run at once both land.
 */
export const RunUpdateSchema: RunUpdateSchemaType = runUpdateSchema;
export type RunUpdate = z.infer<typeof RunUpdateSchema>;

const runDeletionBlockerSchema = z.strictObject({
  reason: z.enum(['active', 'registered-model', 'base-of-run', 'running-pipeline']),
  message: z.string(),
  /** The model version, run or pipeline in the way. */
  id: z.string().nullable(),
});
export interface RunDeletionBlockerSchemaType extends Inferred<typeof runDeletionBlockerSchema> {}
/** Why a run cannot be deleted: one entry per thing in the way, naming it. */
export const RunDeletionBlockerSchema: RunDeletionBlockerSchemaType = runDeletionBlockerSchema;
export type RunDeletionBlocker = z.infer<typeof RunDeletionBlockerSchema>;

const runDeletionSchema = z.strictObject({
  runId: Id,
  dryRun: z.boolean(),
  metricPoints: z.int().min(0),
  attempts: z.int().min(0),
  checkpoints: z.strictObject({ count: z.int().min(0), bytes: z.number().min(0) }),
  /** Objects under `runs/<id>/` in the store: checkpoints, logs, samples. */
  objects: z.strictObject({
    prefix: z.string(),
    count: z.int().min(0),
    bytes: z.number().min(0),
    /** The first keys (at most 100), for a person to look at. */
    sample: z.array(z.string()),
  }),
  /** The sweep the run is one of: deleting it takes it off the sweep's leaderboard. */
  sweep: z.strictObject({ id: Id, name: z.string() }).nullable(),
  /** The (ended) pipeline the run is a step of: deleting it leaves that step without its run. */
  pipeline: z.strictObject({ id: Id, name: z.string() }).nullable(),
});
export interface RunDeletionSchemaType extends Inferred<typeof runDeletionSchema> {}
/** `DELETE /v1/runs/:id` (with `dryRun=true`: what would go). */
export const RunDeletionSchema: RunDeletionSchemaType = runDeletionSchema;
export type RunDeletion = z.infer<typeof RunDeletionSchema>;
