import type * as tf from '@tensorflow/tfjs';
import type { RunSpec } from '@trainyard/contracts';
import { notValidJson } from '@trainyard/storage';
import { z } from 'zod';
import { checkpointFiles } from './model-files';
import type { CheckpointMetric, CheckpointReason, TrainingHooks } from './training-hooks';
import type { ValidationTracking } from './validation-tracking';

export const TRAINING_STATE_FILE = 'state.json';

/** Running sums of an epoch trained in part, so its mean loss still covers the whole epoch after a resume. */
export interface EpochTotals {
  /** Per metric name of the loop (loss first): sum of batch value × batch size. */
  sums: number[];
  /** Images those sums cover. */
  seen: number;
}

/** Where training stands: `epoch` completed epochs, `nextBatch` the next batch of epoch `epoch + 1`. */
export interface LoopPosition {
  epoch: number;
  nextBatch: number;
  /** Present when `nextBatch > 0`. */
  epochTotals?: EpochTotals;
}

/** A checkpoint position as the epoch loop hands it over. */
export interface CheckpointAt extends LoopPosition {
  /** Last completed global step: `epoch * stepsPerEpoch + nextBatch - 1`. */
  step: number;
  reason: CheckpointReason;
  metric?: CheckpointMetric;
  tracking: ValidationTracking;
}

/** state.json of every checkpoint. */
export interface TrainingState extends LoopPosition {
  kind: RunSpec['kind'];
  step: number;
  spec: RunSpec;
  metric: CheckpointMetric | null;
  /** The validation rules' memory (best weights, early stopping, reduceOnPlateau); absent in older checkpoints. */
  tracking?: ValidationTracking;
  /**
   * A fine-tune's classes, in the order of its outputs: an evaluation holds a dataset's to them.
   * Absent in pretrain checkpoints and in checkpoints written before they were kept.
   */
  classNames?: string[];
}

// zod's number() refuses NaN and ±Infinity (JSON cannot hold them either).
const Finite = z.number();
const TrackingSchema = z.object({
  best: z
    .object({ value: Finite, epoch: z.int().min(0), step: z.int().min(-1), sequence: z.int().min(0).nullable() })
    .nullable(),
  earlyStopping: z.object({ reference: Finite.nullable(), wait: z.int().min(0) }).nullable(),
  plateau: z
    .object({
      reference: Finite.nullable(),
      wait: z.int().min(0),
      cooldown: z.int().min(0),
      scale: z.number().min(0).max(1),
    })
    .nullable(),
  stoppedEarly: z.object({ epoch: z.int().min(1), step: z.int().min(0) }).nullable(),
});

const TrainingStateSchema = z.object({
  kind: z.enum(['pretrain', 'finetune']),
  epoch: z.number().int().min(0),
  step: z.number().int().min(-1),
  // Checkpoints written before mid-epoch preemption existed were all at epoch boundaries.
  nextBatch: z.number().int().min(0).default(0),
  metric: z.object({ name: z.string(), value: z.number() }).nullable().default(null),
  epochTotals: z.object({ sums: z.array(z.number()), seen: z.number().int().min(0) }).optional(),
  tracking: TrackingSchema.optional(),
  classNames: z.array(z.string()).optional(),
});

/** Parses a checkpoint's state.json; throws with a reason fit for a 'checkpoint-corrupt' event. */
export function parseTrainingState(bytes: Buffer | undefined): Omit<TrainingState, 'spec'> {
  if (!bytes) throw new Error(`${TRAINING_STATE_FILE} is missing`);
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new Error(`${TRAINING_STATE_FILE} is ${notValidJson(error)}`);
  }
  const parsed = TrainingStateSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`${TRAINING_STATE_FILE} is not a training state (${problems})`);
  }
  return parsed.data;
}

/**
 * Serializes `models` (the trained one with its optimizer state) and state.json, and hands them
 * to the hooks. Returns the sequence the checkpoint was stored under.
 */
export async function writeCheckpoint(
  hooks: TrainingHooks,
  spec: RunSpec,
  models: Record<string, tf.LayersModel>,
  at: CheckpointAt,
  classNames?: string[],
): Promise<number> {
  const { epoch, step, nextBatch, reason, metric, epochTotals, tracking } = at;
  const state: TrainingState = {
    kind: spec.kind,
    epoch,
    step,
    nextBatch,
    spec,
    metric: metric ?? null,
    epochTotals,
    tracking,
    classNames,
  };
  const files = await checkpointFiles(models, state as unknown as Record<string, unknown>);
  return hooks.onCheckpoint({
    epoch,
    step,
    nextBatch,
    reason,
    ...(metric ? { metric } : {}),
    files,
    models: Object.keys(models),
    meta: { kind: spec.kind, epoch, step, nextBatch, reason },
  });
}

/** Where a resumed loop starts: a checkpoint's position and tracking, and which checkpoint it is. */
export interface LoopStart extends LoopPosition {
  /** The last completed global step. */
  step: number;
  tracking?: ValidationTracking;
  /** The validation metric of the checkpoint's weights (at an epoch's end). */
  metric?: CheckpointMetric | null;
  /** The checkpoint's sequence, when it is a stored one. */
  sequence?: number;
}

/** A checkpoint to continue from: its position and its verified files. */
export interface ResumeFrom extends LoopStart {
  files: Record<string, Buffer>;
  /** A fine-tune checkpoint's classes, in the order of its outputs (absent in older ones). */
  classNames?: string[];
}
