import { Inject, Injectable, Logger } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import { CheckpointsRepository, FencedError, withConnectionRetry, type Fence } from '@trainyard/db';
import type { CheckpointStore } from '@trainyard/storage';
import { OrphanCheckpointSweeper } from './orphan-checkpoints.sweeper';
import { CHECKPOINT_STORE } from './worker.tokens';
import { CONFIG } from '@trainyard/infrastructure';

/**
 * Keeps a run's last CHECKPOINT_KEEP_LAST checkpoints, its best one and any a fine-tune pinned
 * as its base; the rest are marked DELETED first (resume never reads them again), then their
 * objects are removed. Then folders no record stands for (uploads of replaced attempts,
 * interrupted deletes) are swept. Storage or database trouble here never fails training: the
 * next checkpoint tries again.
 */
@Injectable()
export class CheckpointRetention {
  private readonly logger = new Logger(CheckpointRetention.name);

  constructor(
    @Inject(CONFIG) private readonly config: TrainyardConfig,
    @Inject(CHECKPOINT_STORE) private readonly store: CheckpointStore,
    private readonly checkpoints: CheckpointsRepository,
    private readonly orphans: OrphanCheckpointSweeper,
  ) {}

  async apply(fence: Fence): Promise<void> {
    try {
      // Retried like the marking below: after a run's final checkpoint no later one retries it.
      const victims = await withConnectionRetry(() =>
        this.checkpoints.retentionCandidates(fence.runId, this.config.checkpoints.keepLast),
      );
      if (victims.length > 0) {
        const marked = new Set(
          await withConnectionRetry(() =>
            this.checkpoints.markDeleted(
              fence,
              victims.map((v) => v.id),
            ),
          ),
        );
        for (const victim of victims.filter((v) => marked.has(v.id))) {
          await this.store.delete(fence.runId, victim.sequence);
          this.logger.log(`run ${fence.runId}: checkpoint ${victim.sequence} deleted by retention`);
        }
      }
      await this.orphans.sweep(fence.runId);
    } catch (error) {
      if (error instanceof FencedError) throw error;
      this.logger.warn(
        `run ${fence.runId}: checkpoint retention failed, will retry at the next checkpoint: ${(error as Error).message}`,
      );
    }
  }
}
