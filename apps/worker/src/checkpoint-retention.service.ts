import { Inject, Injectable, Logger } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import { CheckpointsRepository, FencedError, type Fence } from '@trainyard/db';
import type { CheckpointStore } from '@trainyard/storage';
import { CallsGivenUpAtStop } from './calls-given-up-at-stop';
import { DatabasePatience, type PatienceWindow } from './database-patience';
import { OrphanCheckpointSweeper, type StoreCall } from './orphan-checkpoints.sweeper';
import type { AttemptLog } from './run-logs/attempt-log';
import { CHECKPOINT_STORE } from './worker.tokens';
import { CONFIG } from '@trainyard/infrastructure';

/**
 * Keeps a run's last CHECKPOINT_KEEP_LAST checkpoints, its best one and any a fine-tune pinned
 * as its base; the rest are marked DELETED first (resume never reads them again), then their
 * objects are removed. Then folders no record stands for (uploads of replaced attempts,
 * interrupted deletes) are swept. Storage or database trouble here never fails training: the
 * next checkpoint tries again. Its database calls wait out an outage as the run's other writes do
 * (DatabasePatience): after a run's final checkpoint no later one would try again, and the run
 * would keep every checkpoint it made.
 *
 * Its object-store calls are bounded once the worker stops (stopWaiting): the attempt's end, and
 * with it the job's hand-back, waits for retention, and an S3 that does not answer would otherwise
 * hold it until the S3 client's own deadlines (S3_REQUEST_TIMEOUT_MS, 60 s without a byte, each of
 * up to 5 tries), past WORKER_SHUTDOWN_TIMEOUT_MS.
 */
@Injectable()
export class CheckpointRetention {
  private readonly logger = new Logger(CheckpointRetention.name);
  /** When the worker began to stop (Date.now()), and its shutdown deadline; undefined while it runs. */
  private stopping?: { at: number; deadlineMs: number };
  /** The store calls in flight, given up at half the deadline once the worker stops. */
  private readonly callsInFlight = new CallsGivenUpAtStop();

  constructor(
    @Inject(CONFIG) private readonly config: TrainyardConfig,
    @Inject(CHECKPOINT_STORE) private readonly store: CheckpointStore,
    private readonly checkpoints: CheckpointsRepository,
    private readonly orphans: OrphanCheckpointSweeper,
    private readonly patience: DatabasePatience,
  ) {}

  /**
   * `attemptLog`: the attempt whose checkpoint this follows, where lines about waiting for the
   * database go too. `window`: the patience window its calls join once there is one (the outcome's,
   * which waits for this).
   */
  async apply(fence: Fence, attemptLog?: AttemptLog, window?: () => PatienceWindow | undefined): Promise<void> {
    const log = attemptLog?.from(this.logger) ?? this.logger;
    const waiting = this.patience.forRun(fence.runId, log, window);
    const store: StoreCall = (what, fn) => this.storeCall(`run ${fence.runId}: ${what}`, fn);
    try {
      const victims = await waiting('checkpoint retention', () =>
        this.checkpoints.retentionCandidates(fence.runId, this.config.checkpoints.keepLast),
      );
      if (victims.length > 0) {
        const ids = victims.map((v) => v.id);
        const marked = new Set(
          await waiting('marking old checkpoints DELETED', () => this.checkpoints.markDeleted(fence, ids)),
        );
        for (const victim of victims.filter((v) => marked.has(v.id))) {
          await store(`deleting checkpoint ${victim.sequence}`, () => this.store.delete(fence.runId, victim.sequence));
          this.logger.log(`run ${fence.runId}: checkpoint ${victim.sequence} deleted by retention`);
        }
      }
      await this.orphans.sweep(fence.runId, { read: waiting, store });
    } catch (error) {
      if (error instanceof FencedError) throw error;
      if (error instanceof StoreGivenUpError) {
        this.logger.warn(`${error.message}; left to a later retention or the reconciler's sweep of the ended run`);
        return;
      }
      this.logger.warn(
        `run ${fence.runId}: checkpoint retention failed, will retry at the next checkpoint: ${(error as Error).message}`,
      );
    }
  }

  /**
   * The worker stops (WorkerHost, beside DatabasePatience.stopWaiting), with `deadlineMs` to hand
   * its jobs back: retention's store calls end at half
   * the deadline, when the run's database calls stop waiting (before a try of theirs is given up, so
   * a silent store is never counted as a silent PostgreSQL); one in flight then is given up, none is
   * begun after, and the pass ends there. Retention is best effort, so nothing is lost: a checkpoint
   * whose delete was given up is marked DELETED already, and an orphan folder stays an orphan; the
   * orphan sweep deletes both, at the next attempt's retention (the preempted job's, on whichever
   * worker takes it) or at the reconciler's sweep of the ended run (orphanCheckpointSequences:
   * DELETED rows' folders, and every unrecorded one once the run ended). A call given up goes on,
   * ended by the S3 client's deadline or the process's exit.
   */
  stopWaiting(deadlineMs: number): void {
    if (this.stopping) return;
    this.stopping = { at: Date.now(), deadlineMs };
    this.callsInFlight.stop();
  }

  private storeCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const startedAt = Date.now();
    const endsAt = () => this.stopping!.at + this.stopping!.deadlineMs / 2;
    if (this.stopping && startedAt >= endsAt())
      return Promise.reject(new StoreGivenUpError(`${what}: not tried, the worker stops (past half its deadline)`));
    const tried = fn();
    let giveUp!: (error: Error) => void;
    const givenUp = new Promise<never>((_, reject) => (giveUp = reject));
    // Given up, its late failure is nobody's: the watch's handlers catch it, not left unhandled.
    this.callsInFlight.watch(
      tried,
      () => endsAt() - Date.now(),
      () =>
        giveUp(
          new StoreGivenUpError(
            `${what}: no answer from the object store after ${Date.now() - startedAt} ms, given up as the worker stops`,
          ),
        ),
    );
    return Promise.race([tried, givenUp]);
  }
}

/** A retention store call a stopping worker gave up unanswered (CheckpointRetention.stopWaiting). */
class StoreGivenUpError extends Error {}
