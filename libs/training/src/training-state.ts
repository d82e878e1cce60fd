import type * as tf from '@tensorflow/tfjs';
import type { RunSpec } from '@trainyard/contracts';
import { notValidJson } from '@trainyard/storage';
import { z } from 'zod';
import { checkpointFiles } from './model-files';
import type { CheckpointMetric, CheckpointReason, TrainingHooks } from './training-hooks';

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
}

/** state.json of every checkpoint. */
export interface TrainingState extends LoopPosition {
  kind: RunSpec['kind'];
  step: number;
  spec: RunSpec;
  metric: CheckpointMetric | null;
}

const TrainingStateSchema = z.object({
  kind: z.enum(['pretrain', 'finetune']),
  epoch: z.number().int().min(0),
  step: z.number().int().min(-1),
  // Checkpoints written before mid-epoch preemption existed were all at epoch boundaries.
  nextBatch: z.number().int().min(0).default(0),
  metric: z.object({ name: z.string(), value: z.number() }).nullable().default(null),
  epochTotals: z.object({ sums: z.array(z.number()), seen: z.number().int().min(0) }).optional(),
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

/** Serializes `models` (the trained one with its optimizer state) and state.json, and hands them to the hooks. */
export async function writeCheckpoint(
  hooks: TrainingHooks,
  spec: RunSpec,
  models: Record<string, tf.LayersModel>,
  at: CheckpointAt,
): Promise<void> {
  const { epoch, step, nextBatch, reason, metric, epochTotals } = at;
  const state: TrainingState = { kind: spec.kind, epoch, step, nextBatch, spec, metric: metric ?? null, epochTotals };
  const files = await checkpointFiles(models, state as unknown as Record<string, unknown>);
  await hooks.onCheckpoint({
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

/** A checkpoint to continue from: its position and its verified files. */
export interface ResumeFrom extends LoopPosition {
  files: Record<string, Buffer>;
}
