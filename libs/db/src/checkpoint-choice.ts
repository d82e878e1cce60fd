import type { Prisma, PrismaClient } from './generated/prisma/client';
import { toCheckpoint, type Checkpoint } from './model-types';

/** Which of a run's checkpoints another run builds on: its best by its selection metric, or its latest. */
export type CheckpointChoice = 'best' | 'latest';

/**
 * The sequence of the checkpoint a finished training run chose as its best (its
 * `result.selection.best.sequence`: by `training.earlyStopping.metric`, else val_loss for a
 * pretrain and val_accuracy for a fine-tune), or null when its result records none (runs from
 * before selection, evaluations, best weights never checkpointed).
 */
export function bestCheckpointSequence(result: unknown): number | null {
  const best = (result as { selection?: { best?: { sequence?: unknown } } } | null)?.selection?.best;
  const sequence = best?.sequence;
  return typeof sequence === 'number' && Number.isSafeInteger(sequence) && sequence >= 0 ? sequence : null;
}

/**
 * The checkpoint of a SUCCEEDED run that a fine-tune, an evaluation, a model version or a
 * pipeline step builds on, by one rule everywhere: the run's best checkpoint when its result
 * records one that is COMPLETE (and holds `model`, when given), else its latest COMPLETE one
 * (holding `model`). The best is what the run's own test report measured; the latest is what was
 * used before selection existed. Null when the run has no such checkpoint.
 */
export async function chosenCheckpoint(
  client: PrismaClient | Prisma.TransactionClient,
  run: { id: string; result: unknown },
  model?: string,
): Promise<{ checkpoint: Checkpoint; chosen: CheckpointChoice } | null> {
  const holds = model === undefined ? {} : { models: { has: model } };
  const best = bestCheckpointSequence(run.result);
  if (best !== null) {
    const row = await client.checkpoint.findFirst({
      where: { runId: run.id, sequence: best, status: 'COMPLETE', ...holds },
    });
    if (row) return { checkpoint: toCheckpoint(row), chosen: 'best' };
  }
  const latest = await client.checkpoint.findFirst({
    where: { runId: run.id, status: 'COMPLETE', ...holds },
    orderBy: { sequence: 'desc' },
  });
  return latest ? { checkpoint: toCheckpoint(latest), chosen: 'latest' } : null;
}
