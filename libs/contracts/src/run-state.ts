export const RUN_KINDS = ['PRETRAIN', 'FINETUNE', 'EVALUATE'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

export const RUN_STATUSES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'PREEMPTED'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** States a run never leaves. */
export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

export function isTerminal(status: RunStatus): boolean {
  return TERMINAL_RUN_STATUSES.includes(status);
}

export const ATTEMPT_OUTCOMES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'PREEMPTED', 'CRASHED'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

export const CHECKPOINT_STATUSES = ['WRITING', 'COMPLETE', 'CORRUPT', 'DELETED'] as const;
export type CheckpointStatus = (typeof CHECKPOINT_STATUSES)[number];
