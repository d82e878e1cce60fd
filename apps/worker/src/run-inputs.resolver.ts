import { join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import { classifierBase, type DatasetSpec, type RunSpec } from '@trainyard/contracts';
import { CheckpointsRepository, DatasetsRepository, type Run } from '@trainyard/db';
import { type CheckpointStore, LocalPathRefusedError, locateModelFile, ModelUriRefusedError, resolveUnderRoots } from '@trainyard/storage';
import type { TrainingJobInput } from '@trainyard/training';
import { CHECKPOINT_STORE, CONFIG } from './worker.tokens';

/** What the thread needs beyond the spec, resolved from PostgreSQL; or why the run cannot start. */
export type ResolvedInputs =
  | {
      ok: true;
      inputs: Pick<TrainingJobInput, 'baseCheckpointUri' | 'baseCheckpointModel' | 'baseCheckpointSequence' | 'imageFolder' | 'cacheDir' | 'paths'>;
    }
  | { ok: false; reason: string };

/**
 * Resolves the references a spec makes by id or name into what a training thread can read: the
 * base or evaluated checkpoint (pinned at submit), and a registered dataset's location. Local
 * paths are checked against this worker's TRAINYARD_LOCAL_ROOTS (the API checked its own at
 * submit; a worker's may differ, and links may have changed since): outside them the run fails
 * naming the field, before any file is opened.
 */
@Injectable()
export class RunInputsResolver {
  constructor(
    @Inject(CONFIG) private readonly config: TrainyardConfig,
    @Inject(CHECKPOINT_STORE) private readonly checkpointStore: CheckpointStore,
    private readonly checkpoints: CheckpointsRepository,
    private readonly datasets: DatasetsRepository,
  ) {}

  async resolve(run: Run, spec: RunSpec): Promise<ResolvedInputs> {
    const inputs: Extract<ResolvedInputs, { ok: true }>['inputs'] = { cacheDir: join(this.config.home, 'cache', 'images'), paths: this.config.paths };
    const imported = spec.kind === 'finetune' ? classifierBase(spec.model) : null;
    if (imported?.kind === 'imported') {
      const refused = await this.whyUnreadable(() => locateModelFile(imported.model.uri, this.checkpointStore.store, this.config.paths.localRoots));
      if (refused) return { ok: false, reason: `model.importedModel.uri ${refused}` };
    }
    const checkpoint = await this.checkpointOf(run, spec);
    if (checkpoint && 'reason' in checkpoint) return { ok: false, reason: checkpoint.reason };
    if (checkpoint) {
      inputs.baseCheckpointUri = checkpoint.uri;
      inputs.baseCheckpointModel = checkpoint.model;
      inputs.baseCheckpointSequence = checkpoint.sequence;
    }
    const dataset: DatasetSpec | undefined = spec.dataset;
    if (dataset?.name === 'image-folder') {
      const record = await this.datasets.get(dataset.datasetId);
      if (!record) return { ok: false, reason: `dataset ${dataset.datasetId} is not registered (POST /v1/datasets)` };
      inputs.imageFolder = record.location;
      if (record.location.kind === 'local') {
        const { path } = record.location;
        const refused = await this.whyUnreadable(() => resolveUnderRoots(path, this.config.paths.localRoots));
        if (refused) return { ok: false, reason: `dataset ${dataset.datasetId} location.path ${refused}` };
      }
    }
    return { ok: true, inputs };
  }

  /** The refusal of a local path or model URI, as a reason; null when it may be read. */
  private async whyUnreadable(check: () => Promise<unknown>): Promise<string | null> {
    try {
      await check();
      return null;
    } catch (error) {
      if (error instanceof LocalPathRefusedError || error instanceof ModelUriRefusedError) return error.message;
      throw error;
    }
  }

  private async checkpointOf(run: Run, spec: RunSpec): Promise<{ uri: string; sequence: number; model: 'encoder' | 'classifier' } | { reason: string } | null> {
    if (spec.kind === 'pretrain') return null;
    const base = spec.kind === 'finetune' ? classifierBase(spec.model) : null;
    if (base && (base.kind === 'scratch' || base.kind === 'imported')) return null;
    const owner =
      spec.kind === 'evaluate'
        ? `evaluated run ${spec.checkpoint.runId}`
        : base?.kind === 'run'
          ? `base run ${base.runId}`
          : `registered model ${base?.kind === 'registered' ? `${base.model.name} v${base.model.version}` : ''}`;
    // The API pinned the checkpoint at submit; older runs (before pinning) take the base run's latest.
    const row = run.baseCheckpointId
      ? await this.checkpoints.get(run.baseCheckpointId)
      : base?.kind === 'run'
        ? await this.checkpoints.latestComplete(base.runId)
        : null;
    const wanted = spec.kind === 'evaluate' ? ['classifier'] : ['encoder', 'classifier'];
    const model = row?.models.find((m) => wanted.includes(m)) as 'encoder' | 'classifier' | undefined;
    if (!row || row.status !== 'COMPLETE' || !model) {
      const which = run.baseCheckpointId ? `its pinned checkpoint ${run.baseCheckpointId} is ${row?.status ?? 'missing'}` : 'it has no complete checkpoint';
      const purpose = spec.kind === 'evaluate' ? 'evaluated' : 'fine-tuned from';
      return { reason: `${owner} cannot be ${purpose}: ${which} with ${wanted.map((m) => `an ${m}`).join(' or ')}` };
    }
    return { uri: row.uri, sequence: row.sequence, model };
  }
}
