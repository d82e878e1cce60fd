import {
  escapeText,
  MAX_LISTED_SKIPPED_FILES,
  NAME_MAX_LENGTH,
  text,
  textProblem,
  type DataReport,
  type RunProgress,
  type RunResult,
} from '@trainyard/contracts';
import type { BackendName } from '@trainyard/engine';
import { z } from 'zod';
import type { ChildMessage } from './child-messages';
import type { DeviceReport } from './device-report';
import type { TrainingEvent } from './training-job.types';

/**
 * What a supervised process may send over IPC, checked by its supervisor (superviseChild) before
 * anything is done with it: a training runs a user's model and data in code of ours that can have
 * bugs, and what it sends becomes SQL rows, JSON columns and log lines in the worker. Whatever the
 * worker stores under a name or key (metric and model names, URIs, digests, numbers) must be exact
 * or the message is refused; free text it only stores or shows (failure reasons, file names,
 * class names, backend details) is made storable instead (`storable`): refusing it would replace the
 * training's own account of a failure with ours.
 */

const INT4_MAX = 2_147_483_647;
/** Counts and sizes (epochs, images, bytes…). */
const count = z.int().min(0);
/** Epochs and steps as PostgreSQL's int4 columns hold them. */
const epoch = z.int().min(0).max(INT4_MAX);
/** A position's step: the last completed one, -1 before any. */
const position = z.int().min(-1).max(INT4_MAX);
const sequence = z.int().min(1).max(INT4_MAX);
/** A double as training computes it: NaN and ±Infinity included (a metric may be either; float8 stores both). */
const double = z.custom<number>((v) => typeof v === 'number', { message: 'Invalid input: expected a number' });

/**
 * A metric's name: text (no control character, no lone surrogate) of at most NAME_MAX_LENGTH, as
 * names are (a sweep's `metric` names one) and as MetricsRepository checks it before writing.
 */
export const METRIC_NAME = text({ max: NAME_MAX_LENGTH, trim: false });

type WellFormed = { toWellFormed(): string };
function wellFormed(value: string): string {
  // Node 20 has String.prototype.toWellFormed (ES2024); the project's lib is ES2022.
  return (value as unknown as WellFormed).toWellFormed();
}
/** The rest of an escape cut short at the bound (`\u00`): dropped rather than shown half. */
const CUT_ESCAPE = /\\(u[0-9a-f]{0,3})?$/;

/**
 * `value` cut to `max` characters, with NUL (which PostgreSQL's text and jsonb refuse) and lone
 * surrogates (which jsonb refuses, and text stores as U+FFFD) replaced by U+FFFD, and the other
 * characters no text may hold (escapes, C1 controls, bidirectional overrides…) escaped as text
 * (`\u001b`): a skipped file's name is shown in tables and terminals, and stays readable.
 * `lines` keeps newlines and tabs, for an account of several lines (a failure reason).
 */
export function storable(value: string, max: number, lines = false): string {
  // Escaping only lengthens: what lies past `max` before it is past `max` after it.
  const head = value.length > max ? value.slice(0, max) : value;
  const escaped = escapeText(wellFormed(head).replaceAll('\u0000', '\ufffd'), { keepLines: lines });
  if (escaped.length <= max) return head === value ? escaped : `${escaped}…`;
  return `${wellFormed(escaped.slice(0, max).replace(CUT_ESCAPE, ''))}…`;
}
/** Names (files, folders, classes, devices): one line. */
const freeText = (max: number) => z.string().transform((value) => storable(value, max));
/** A training's own account of what happened (a failure, a corrupt checkpoint): lines kept. */
const freeLines = (max: number) => z.string().transform((value) => storable(value, max, true));

const progress = z.object({
  phase: z.enum(['loading', 'training', 'evaluating', 'checkpointing', 'done']),
  epoch,
  epochs: epoch,
  step: position,
  stepsPerEpoch: count,
  totalSteps: count.optional(),
  loss: double.optional(),
  imagesPerSec: double.optional(),
  etaSeconds: double.optional(),
  updatedAt: z.iso.datetime(),
});

/** At most this many points in one metrics event: an epoch's metrics are a handful, a batch's sample one. */
export const MAX_POINTS_PER_EVENT = 1000;
const metricPoint = z.object({
  name: METRIC_NAME,
  step: z.int().min(0).max(INT4_MAX),
  epoch,
  value: double,
  wallTime: z.iso.datetime(),
});

const dataReport = z.object({
  folder: freeText(4096).optional(),
  classNames: z.array(freeText(1000)).max(1_000_000),
  files: count,
  splits: z.object({ train: count, validation: count, test: count }),
  skippedCount: count,
  skipped: z.array(z.object({ file: freeText(4096), reason: freeText(1000) })).max(MAX_LISTED_SKIPPED_FILES),
  decoded: count,
  cacheHits: count,
  packedVersion: text({ max: 128, trim: false }).optional(),
});

/** How deep a result's JSON may nest (a fine-tune's is four levels deep). */
const MAX_RESULT_DEPTH = 16;

/**
 * Why `value` cannot be stored as a JSON column (jsonb), or null: only plain objects, arrays,
 * strings without NUL or lone surrogates, numbers, booleans and null (undefined, as JSON.stringify
 * drops it), nested at most MAX_RESULT_DEPTH deep. `at` is the path so far, for the message.
 */
function jsonProblem(value: unknown, at: string, depth = 0): string | null {
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean') return null;
  if (typeof value === 'string') {
    if (value.includes('\u0000') || !(value as unknown as { isWellFormed(): boolean }).isWellFormed())
      return `${at}: a NUL or a lone UTF-16 surrogate cannot be stored`;
    return null;
  }
  if (depth >= MAX_RESULT_DEPTH) return `${at}: nested more than ${MAX_RESULT_DEPTH} levels deep`;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = jsonProblem(value[i], `${at}[${i}]`, depth + 1);
      if (problem) return problem;
    }
    return null;
  }
  // A plain object of any realm (IPC deserialises into the main one, a Jest sandbox has its own).
  const prototype = typeof value === 'object' ? (Object.getPrototypeOf(value) as object | null) : undefined;
  if (prototype === undefined || (prototype !== null && Object.getPrototypeOf(prototype) !== null))
    return `${at}: a ${typeof value === 'object' ? value.constructor?.name : typeof value} is not JSON`;
  for (const [key, inner] of Object.entries(value)) {
    const problem = jsonProblem(key, `${at} key`, depth) ?? jsonProblem(inner, `${at}.${key}`, depth + 1);
    if (problem) return problem;
  }
  return null;
}
const result = z.custom<RunResult>().superRefine((value, ctx) => {
  const problem =
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? jsonProblem(value, 'result')
      : 'result: expected an object';
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const trainingEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('backend'), backend: text({ max: 64, trim: false }), detail: freeLines(2000) }),
  z.object({ type: z.literal('progress'), progress }),
  z.object({ type: z.literal('metrics'), points: z.array(metricPoint).max(MAX_POINTS_PER_EVENT) }),
  z.object({
    type: z.literal('checkpoint'),
    sequence,
    epoch,
    step: position,
    uri: text({ max: 4096, trim: false }),
    bytes: count,
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'Invalid input: expected a lowercase hex sha256'),
    models: z.array(text({ max: 64, trim: false })).max(16),
    reason: z.enum(['interval', 'final', 'preempt', 'best']),
    metric: z.object({ name: METRIC_NAME, value: double }).optional(),
  }),
  z.object({ type: z.literal('checkpoint-corrupt'), sequence, reason: freeLines(2000) }),
  z.object({ type: z.literal('resumed'), sequence, epoch, step: position }),
  z.object({ type: z.literal('result'), result }),
  z.object({ type: z.literal('data-report'), report: dataReport }),
]);

const outcome = z.discriminatedUnion('status', [
  z.object({ status: z.literal('succeeded') }),
  z.object({ status: z.literal('cancelled') }),
  z.object({ status: z.literal('preempted') }),
  // `crash` is the supervisor's to add, never the process's own: dropped here like any unknown key.
  z.object({
    status: z.literal('failed'),
    reason: freeLines(8000),
    retryable: z.boolean(),
    storeUnavailable: z.boolean().optional(),
  }),
]);

const gpu = z.object({
  index: count,
  uuid: freeText(128).nullable(),
  model: freeText(256),
  memoryMb: z.number().min(0).nullable(),
});
const deviceReport = z.object({
  backend: z.custom<BackendName>((v) => typeof v === 'string' && v.length > 0 && v.length <= 64 && !textProblem(v), {
    message: 'Invalid input: expected a backend name',
  }),
  detail: freeLines(2000),
  gpus: z.array(gpu).max(1024),
  unusedGpus: z.array(gpu).max(1024),
});

/** Unknown keys are dropped: the worker reads only what the types declare (checked below). */
export const ChildMessageSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('ready') }),
  z.object({ kind: z.literal('heartbeat') }),
  z.object({ kind: z.literal('event'), event: trainingEvent }),
  z.object({ kind: z.literal('outcome'), outcome }),
  z.object({ kind: z.literal('devices'), report: deviceReport }),
]);

// The schema and the types the child and the worker are written against must say the same, key
// for key (optional ones too): a field the schema lacked would be dropped without a word.
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Assert<T extends true> = T;
export type _SchemaMatchesTypes = [
  Assert<Same<z.output<typeof ChildMessageSchema>, ChildMessage>>,
  Assert<Same<z.output<typeof trainingEvent>, TrainingEvent>>,
  Assert<Same<z.output<typeof progress>, RunProgress>>,
  Assert<Same<z.output<typeof dataReport>, DataReport>>,
  Assert<Same<z.output<typeof deviceReport>, DeviceReport>>,
];

/** The first few problems of a refused message, each with where it is: `event.points[3].name: …`. */
export function describeInvalidMessage(error: z.ZodError): string {
  const shown = error.issues.slice(0, 3).map((issue) => {
    const path = issue.path
      .map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i > 0 ? '.' : ''}${String(key)}`))
      .join('');
    return `${path || 'the message'}: ${issue.message}`;
  });
  const more = error.issues.length > 3 ? ` (and ${error.issues.length - 3} more)` : '';
  return `${shown.join('; ')}${more}`;
}
