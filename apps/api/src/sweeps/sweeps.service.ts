import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import {
  applySweepValues,
  clipText,
  describeValues,
  expandSweep,
  FinetuneSpecSchema,
  isoDate,
  runKindOf,
  SWEEP_RUN_PRIORITY,
  sweepGoal,
  type SweepCreated,
  type SweepSpec,
  type SweepView,
} from '@trainyard/contracts';
import { SweepsRepository, type SweepRunCreation } from '@trainyard/db';
import { RunReferencesService } from '../runs/run-references.service';
import { RunsService } from '../runs/runs.service';
import { PlacementCheck } from '../runs/placement-check';
import { SubmissionQuota } from '../runs/submission-quota';
import { sweepLeaderboard } from './sweep-leaderboard';
import { notFound } from '../http/problems';

@Injectable()
export class SweepsService {
  private readonly logger = new Logger(SweepsService.name);

  constructor(
    private readonly sweeps: SweepsRepository,
    private readonly references: RunReferencesService,
    private readonly runs: RunsService,
    private readonly quota: SubmissionQuota,
    private readonly placement: PlacementCheck,
  ) {}

  /**
   * Expands the sweep (the schema already proved every run valid), checks the base's references
   * once (no parameter changes them), records the sweep and all its runs in one transaction, and
   * only then enqueues them: PostgreSQL first, as for any run. They are enqueued together and fail
   * together: when Redis does not answer, every run is FAILED with the reason and the answer is a
   * 503, rather than a few FAILED and the rest QUEUED without a job.
   */
  async submit(spec: SweepSpec, project: string): Promise<SweepCreated> {
    // The base alone first, before its references are read; each run once expanded, below.
    this.quota.checkModelSize([{ spec: spec.base, prefix: 'base.' }]);
    const resolved = await this.references.resolve(spec.base, project, 'base.');
    const { baseRunId, baseCheckpointId, baseSpec, folderImages } = resolved;
    // The base as resolved: on a pretrain's encoder, that encoder's architecture (withBaseArchitecture).
    const base = resolved.spec.kind === 'finetune' ? resolved.spec : spec.base;
    const expanded = expandSweep(spec);
    if ('tooMany' in expanded)
      throw new Error(`sweep "${spec.name}": ${expanded.tooMany} runs slipped past validation`);
    const id = randomUUID();
    const runs: SweepRunCreation[] = expanded.runs.map((params, i) => {
      const run = FinetuneSpecSchema.parse(applySweepValues(base, params));
      const name = clipText(`${spec.name} #${i + 1} (${describeValues(params)})`);
      return {
        id: randomUUID(),
        kind: runKindOf(run.kind),
        name,
        // Below single runs unless the sweep's base names a priority.
        spec: { ...run, name, priority: run.priority ?? SWEEP_RUN_PRIORITY },
        baseRunId,
        baseCheckpointId,
        params,
      };
    });
    // A swept parameter may size the model (model.headUnits): every run is held to the quota.
    // A refusal names the swept parameter that breaks it (parameters.model.headUnits), else the base's field.
    this.quota.checkModelSize(runs.map((run) => ({ spec: run.spec, prefix: 'base.', swept: run.params })));
    this.quota.checkImages(
      runs.map((run) => ({ spec: run.spec, folderImages, prefix: 'base.', swept: run.params })),
      'maxRuns',
    );
    // A refusal names the swept parameter whose value breaks it (parameters.training.batchSize), else the base's field.
    await this.placement.check(
      runs.map((run) => ({ spec: run.spec, swept: run.params })),
      'base.',
      { baseSpec },
    );
    // All its runs or none, held to the project's limits where they are inserted.
    const limits = this.quota.projectLimits(
      project,
      runs.map((run) => ({ spec: run.spec, prefix: 'base.', swept: run.params })),
    );
    await this.sweeps.create({ id, name: spec.name, spec, project }, runs, limits);
    await this.runs.enqueueMany(runs, { sweepId: id });
    this.logger.log(`Sweep ${id} ("${spec.name}", ${spec.strategy}) queued ${runs.length} runs`);
    return { id, runs: runs.length };
  }

  /**
   * Cancels the sweep's runs that have not ended: waiting ones at once (their jobs removed),
   * running ones between two batches. Runs that ended stay as they are, so a cancelled sweep keeps
   * its leaderboard; cancelling again changes nothing. 404 for an unknown sweep.
   */
  async cancel(id: string): Promise<SweepView> {
    const { cancelled, stopping } = await this.runs.cancelSweepRuns(id);
    this.logger.log(`Sweep ${id}: ${cancelled} waiting runs cancelled now, ${stopping} running asked to stop`);
    return this.detail(id);
  }

  async detail(id: string): Promise<SweepView> {
    const sweep = await this.sweeps.get(id);
    if (!sweep) throw notFound('sweep', id);
    const spec = sweep.spec as unknown as SweepSpec;
    const leaderboard = sweepLeaderboard(sweep, spec);
    const counts: SweepView['counts'] = Object.create(null);
    for (const run of sweep.runs) counts[run.status] = (counts[run.status] ?? 0) + 1;
    return {
      id: sweep.id,
      name: sweep.name,
      createdAt: isoDate(sweep.createdAt),
      spec,
      metric: spec.metric,
      goal: sweepGoal(spec),
      counts,
      leaderboard,
    };
  }
}
