import { Inject, Injectable, Logger } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import { CheckpointsRepository, FencedError, type Fence } from '@trainyard/db';
import type { CheckpointStore } from '@trainyard/storage';
import { DatabasePatience, type PatienceWindow } from './database-patience';
import { OrphanCheckpointSweeper } from './orphan-checkpoints.sweeper';
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
 */
@Injectable()
export class CheckpointRetention {
  private readonly logger = new Logger(CheckpointRetention.name);

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
          await this.store.delete(fence.runId, victim.sequence);
          this.logger.log(`run ${fence.runId}: checkpoint ${victim.sequence} deleted by retention`);
        }
      }
      await this.orphans.sweep(fence.runId, { read: waiting });
    } catch (error) {
      if (error instanceof FencedError) throw error;
      this.logger.warn(
        `run ${fence.runId}: checkpoint retention failed, will retry at the next checkpoint: ${(error as Error).message}`,
      );
    }
  }
}
