export const RUN_KINDS = ['PRETRAIN', 'FINETUNE', 'EVALUATE'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

/**
 * A run's kind as a spec and a job name spell it (`kind: 'pretrain'`) and as the runs table does
 * (`PRETRAIN`): the one mapping between the two spellings.
 */
const RUN_KIND_OF_SPEC_KIND = {
  pretrain: 'PRETRAIN',
  finetune: 'FINETUNE',
  evaluate: 'EVALUATE',
} as const satisfies Record<string, RunKind>;
const SPEC_KIND_OF_RUN_KIND = Object.fromEntries(
  Object.entries(RUN_KIND_OF_SPEC_KIND).map(([spec, run]) => [run, spec]),
) as {
  [K in keyof typeof RUN_KIND_OF_SPEC_KIND as (typeof RUN_KIND_OF_SPEC_KIND)[K]]: K;
};
export type SpecKind = keyof typeof RUN_KIND_OF_SPEC_KIND;

/** `pretrain` → `PRETRAIN`. */
export function runKindOf<K extends SpecKind>(kind: K): (typeof RUN_KIND_OF_SPEC_KIND)[K] {
  return RUN_KIND_OF_SPEC_KIND[kind];
}

/** `PRETRAIN` → `pretrain`. */
export function specKindOf<K extends RunKind>(kind: K): (typeof SPEC_KIND_OF_RUN_KIND)[K] {
  return SPEC_KIND_OF_RUN_KIND[kind];
}

export const RUN_STATUSES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'PREEMPTED'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** States a run never leaves. */
export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

export function isTerminal(status: RunStatus): boolean {
  return TERMINAL_RUN_STATUSES.includes(status);
}

/** States in which a run waits in its queue for a worker (its job is not held). */
export const WAITING_RUN_STATUSES: readonly RunStatus[] = ['QUEUED', 'PREEMPTED'];

export function isWaiting(status: RunStatus): boolean {
  return WAITING_RUN_STATUSES.includes(status);
}

export const ATTEMPT_OUTCOMES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'PREEMPTED', 'CRASHED'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

export const CHECKPOINT_STATUSES = ['WRITING', 'COMPLETE', 'CORRUPT', 'DELETED'] as const;
export type CheckpointStatus = (typeof CHECKPOINT_STATUSES)[number];
