import { BadRequestException, ConflictException, Inject, Injectable, Logger } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import {
  RUN_TAGS_MAX,
  type RunDeletion,
  type RunDeletionBlocker,
  type RunDetailView,
  type RunUpdate,
  type RunView,
} from '@trainyard/contracts';
import { RunHousekeepingRepository, RunsRepository, type RunDeletionOutcome } from '@trainyard/db';
import { CONFIG, OBJECT_STORE } from '@trainyard/infrastructure';
import { walkLimitsOf, type ObjectStore } from '@trainyard/storage';
import { objectsToRemove, removeObjects } from '../common/stored-objects-removal';
import { notFound } from '../http/problems';
import { validationErrorBody } from '../validation/field-errors';

/** Keys a deletion answer shows; the counts cover them all. */
const SAMPLE_KEYS = 100;

/** Renaming, tagging, annotating, archiving and deleting runs (`PATCH`, `archive`, `DELETE /v1/runs/:id`). */
@Injectable()
export class RunHousekeepingService {
  private readonly logger = new Logger(RunHousekeepingService.name);

  constructor(
    private readonly housekeeping: RunHousekeepingRepository,
    private readonly runs: RunsRepository,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(CONFIG) private readonly config: TrainyardConfig,
  ) {}

  async update(id: string, change: RunUpdate): Promise<RunDetailView> {
    const updated = await this.housekeeping.update(id, change, RUN_TAGS_MAX);
    if (updated.outcome === 'not-found') throw notFound('run', id);
    if (updated.outcome === 'too-many-tags') {
      const field = change.addTags ? 'addTags' : 'tags';
      const message = `The run would have ${updated.tags} tags; a run has ${RUN_TAGS_MAX} at most`;
      throw new BadRequestException(validationErrorBody(message, [{ field, message }]));
    }
    const run = await this.runs.getDetail(id);
    if (!run) throw notFound('run', id);
    return run;
  }

  async setArchived(id: string, archived: boolean): Promise<RunView> {
    const run = await this.housekeeping.setArchived(id, archived);
    if (!run) throw notFound('run', id);
    return run;
  }

  /**
   * With `dryRun`, what deleting would remove; otherwise removes it: under the run's lock, its
   * blockers checked again (a model version or fine-tune may have pinned it since the answer's
   * check), the run's objects first, then its rows, in one transaction. A DELETE that fails between
   * the two leaves the rows, so retrying it converges (deleting objects that are gone is a no-op);
   * once the rows are gone it is a 404.
   */
  async delete(id: string, dryRun: boolean): Promise<RunDeletion> {
    const plan = deletable(id, await this.housekeeping.deletionPlan(id));
    const prefix = `runs/${id}/`;
    const objects = await objectsToRemove(this.store, prefix, walkLimitsOf(this.config.paths), `Run ${id}`);
    const answer = (counts: typeof plan): RunDeletion => ({
      runId: id,
      dryRun,
      metricPoints: counts.metricPoints,
      attempts: counts.attempts,
      checkpoints: counts.checkpoints,
      objects: {
        prefix: this.store.uri(prefix),
        count: objects.length,
        bytes: objects.reduce((sum, o) => sum + o.size, 0),
        sample: objects.slice(0, SAMPLE_KEYS).map((o) => o.key),
      },
      sweep: counts.sweep,
      pipeline: counts.pipeline,
    });
    if (dryRun) return answer(plan);

    const removed = deletable(id, await this.housekeeping.delete(id, () => removeObjects(this.store, objects)));
    this.logger.log(
      `Run ${id} deleted: ${removed.metricPoints} metric points, ${removed.checkpoints.count} checkpoints, ${objects.length} objects under ${this.store.uri(prefix)}`,
    );
    return answer(removed);
  }
}

/** The counts of a run that may be deleted; a 404 or a 409 listing what is in the way otherwise. */
function deletable(
  id: string,
  outcome: RunDeletionOutcome,
): Extract<RunDeletionOutcome, { outcome: 'deleted' | 'deletable' }> {
  if (outcome.outcome === 'not-found') throw notFound('run', id);
  if (outcome.outcome === 'blocked') throw blocked(id, outcome.blockers);
  return outcome;
}

function blocked(id: string, blockers: RunDeletionBlocker[]): ConflictException {
  return new ConflictException({
    message: `Run ${id} cannot be deleted: ${blockers.map((b) => b.message).join('; ')}`,
    errors: blockers.map((b) => ({ field: b.reason, message: b.message })),
    blockers,
  });
}
