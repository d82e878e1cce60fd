import { z } from 'zod';
import { RUN_STATUSES } from '../run-state';
import type { SweepValues } from '../sweep-parameters';
import type { SweepSpec } from '../sweep-spec.schema';
import { Id, recorded, Timestamp } from './wire';
import type { Inferred } from '../named-schema';

const leaderboardEntrySchema = z.strictObject({
  /** 1 for the best; null for a run without a value yet. */
  rank: z.int().nullable(),
  runId: Id,
  name: z.string(),
  status: z.enum(RUN_STATUSES),
  failureReason: z.string().nullable(),
  params: recorded<SweepValues>('The values the sweep chose for this run, by parameter path'),
  /** The sweep's metric for this run; null until the run has it. */
  value: z.number().nullable(),
});
export interface LeaderboardEntrySchemaType extends Inferred<typeof leaderboardEntrySchema> {}
/** A run of a sweep, ranked by the sweep's metric. */
export const LeaderboardEntrySchema: LeaderboardEntrySchemaType = leaderboardEntrySchema;
export type LeaderboardEntry = z.infer<typeof LeaderboardEntrySchema>;

const sweepViewSchema = z.strictObject({
  id: Id,
  name: z.string(),
  createdAt: Timestamp,
  spec: recorded<SweepSpec>('The SweepSpec as submitted, defaults filled in'),
  metric: z.string(),
  goal: z.enum(['max', 'min']),
  /** Runs by status (statuses with none left out). */
  counts: z.partialRecord(z.enum(RUN_STATUSES), z.int()),
  /** Best first; runs without a value last, unranked. */
  leaderboard: z.array(LeaderboardEntrySchema),
});
export interface SweepViewSchemaType extends Inferred<typeof sweepViewSchema> {}
/** `GET /v1/sweeps/:id` */
export const SweepViewSchema: SweepViewSchemaType = sweepViewSchema;
export type SweepView = z.infer<typeof SweepViewSchema>;

const sweepCreatedSchema = z.strictObject({ id: Id, runs: z.int() });
export interface SweepCreatedSchemaType extends Inferred<typeof sweepCreatedSchema> {}
/** `POST /v1/sweeps` */
export const SweepCreatedSchema: SweepCreatedSchemaType = sweepCreatedSchema;
export type SweepCreated = z.infer<typeof SweepCreatedSchema>;
