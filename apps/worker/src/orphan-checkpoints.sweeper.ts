import { Inject, Injectable, Logger } from '@nestjs/common';
import { CheckpointsRepository, databaseUnavailable } from '@trainyard/db';
import type { CheckpointStore } from '@trainyard/storage';
import type { RunPatience } from './database-patience';
import { CHECKPOINT_STORE } from './worker.tokens';

/**
 * Each attempt numbers its checkpoints from its own block. A replaced attempt that still runs
 * (paused past its lock, then resumed) may upload a folder before it notices it was fenced; in
 * its own block it can never overwrite a folder the attempt that replaced it recorded.
 */
export const CHECKPOINT_SEQUENCE_BLOCK = 1000;

/**
 * How many checkpoints past its last recorded one an attempt that still runs may have uploaded:
 * it uploads a checkpoint, then tells its worker, which records it after the events before it
 * (a backlog bounded by EVENT_BACKLOG, and a checkpoint takes at least an epoch of training).
 */
export const UNRECORDED_CHECKPOINTS_MARGIN = 100;

/**
 * Where an attempt numbers its first checkpoint: its block's start, above every checkpoint the
 * run recorded. An earlier attempt that outgrew its block (a thousand checkpoints and more: a
 * steps budget checkpointing every epoch of a tiny dataset) reaches into this one; if it still
 * runs, it may be uploading the folders after its last recorded one, so the attempt starts past
 * UNRECORDED_CHECKPOINTS_MARGIN of them: a folder is never written by two attempts.
 */
export function firstCheckpointSequence(attemptNumber: number, lastRecorded: number): number {
  const blockStart = (attemptNumber - 1) * CHECKPOINT_SEQUENCE_BLOCK + 1;
  return lastRecorded > 0 && lastRecorded >= blockStart - 1
    ? lastRecorded + 1 + UNRECORDED_CHECKPOINTS_MARGIN
    : blockStart;
}

/**
 * A folder written to within this long is never swept. Uploads write a checkpoint's files one
 * after another, seconds apart; this is far longer, so a live upload is never touched even if the
 * database reasoning below were wrong.
 */
export const ORPHAN_CHECKPOINT_GRACE_MS = 15 * 60_000;

export interface SweepOptions {
  now?: Date;
  graceMs?: number;
  /**
   * How its database read is made: a training's retention gives it the run's patience, so a
   * PostgreSQL that does not answer holds it only as long as the run's other calls (a stopping
   * worker gives it up with them) rather than until pg's query deadline, which the attempt's end
   * (and with it the job's hand-back) waits for. Without it, one plain read.
   */
  read?: RunPatience;
  /**
   * How its object-store calls are made: a training's retention bounds them once the worker stops
   * (CheckpointRetention.stopWaiting). Without it, plain calls.
   */
  store?: StoreCall;
}

/** One object-store call, `what` naming it. */
export type StoreCall = <T>(what: string, fn: () => Promise<T>) => Promise<T>;

/**
 * Deletes checkpoint folders that no Checkpoint row will ever stand for: uploads of attempts
 * that were replaced (fenced) or crashed mid-way, and leftovers of interrupted retention
 * deletes (see orphanCheckpointSequences for exactly which). Runs after each retention pass
 * (folders of earlier attempts) and, from the reconciler, once a run has ended (everything).
 */
@Injectable()
export class OrphanCheckpointSweeper {
  private readonly logger = new Logger(OrphanCheckpointSweeper.name);

  constructor(
    @Inject(CHECKPOINT_STORE) private readonly store: CheckpointStore,
    private readonly checkpoints: CheckpointsRepository,
  ) {}

  /** Returns the sequences whose folders were deleted. */
  async sweep(runId: string, options: SweepOptions = {}): Promise<number[]> {
    const read: RunPatience = options.read ?? ((_what, fn) => fn());
    const store: StoreCall = options.store ?? ((_what, fn) => fn());
    const orphans = await read(
      'finding orphan checkpoint folders',
      () =>
        this.checkpoints.orphanFolders(
          runId,
          () => store('listing its checkpoint folders', () => this.store.folders(runId)),
          {
            now: options.now ?? new Date(),
            graceMs: options.graceMs ?? ORPHAN_CHECKPOINT_GRACE_MS,
            sequenceBlock: CHECKPOINT_SEQUENCE_BLOCK,
          },
        ),
      // It lists the store's folders too: only the database's lost connections are waited for.
      (error) => databaseUnavailable(error) === 'unreachable',
    );
    for (const sequence of orphans) {
      await store(`deleting orphan checkpoint folder ${sequence}`, () => this.store.delete(runId, sequence));
      this.logger.log(
        `run ${runId}: orphan checkpoint folder ${this.store.prefix(runId, sequence)} deleted (no checkpoint record stands for it)`,
      );
    }
    return orphans;
  }
}
