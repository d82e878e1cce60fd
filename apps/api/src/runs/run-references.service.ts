import { Inject, Injectable, UnprocessableEntityException } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import type { FieldError, RunSpec } from '@trainyard/contracts';
import { CheckpointsRepository, DatasetsRepository, ModelVersionsRepository, RunsRepository, type Checkpoint } from '@trainyard/db';
import { LocalPathRefusedError, locateModelFile, ModelUriRefusedError, type ObjectStore } from '@trainyard/storage';
import { TRAINYARD_CONFIG } from '../config/config.tokens';
import { OBJECT_STORE } from '../infrastructure/infrastructure.tokens';

/** A spec with every reference checked, and the run/checkpoint it builds on (pinned against retention). */
export interface ResolvedReferences {
  spec: RunSpec;
  baseRunId: string | null;
  baseCheckpointId: string | null;
  /** Images in the registered folder the spec trains on (null for built-in datasets): what quotas count. */
  folderImages: number | null;
}

function unprocessable(message: string, field: string, why: string): UnprocessableEntityException {
  const errors: FieldError[] = [{ field, message: why }];
  return new UnprocessableEntityException({ statusCode: 422, error: 'Unprocessable Entity', message, errors });
}

/**
 * Checks, at submit, what a spec refers to by id or name — a base run, a registered model
 * version, a checkpoint to evaluate, a registered dataset — so a run that would fail on a worker
 * is refused with a 422 naming the field instead. The checkpoint a run builds on is pinned.
 * Everything referred to must belong to the submitting project: another project's run, model or
 * dataset is answered exactly like one that does not exist.
 */
@Injectable()
export class RunReferencesService {
  constructor(
    private readonly runs: RunsRepository,
    private readonly checkpoints: CheckpointsRepository,
    private readonly datasets: DatasetsRepository,
    private readonly models: ModelVersionsRepository,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(TRAINYARD_CONFIG) private readonly config: TrainyardConfig,
  ) {}

  async resolve(spec: RunSpec, project: string): Promise<ResolvedReferences> {
    const resolved = await this.base(spec, project);
    const dataset = resolved.spec.dataset;
    if (dataset?.name !== 'image-folder') return { ...resolved, folderImages: null };
    const record = await this.datasets.get(dataset.datasetId);
    if (!record || record.project !== project) {
      throw unprocessable('The dataset is not registered', 'dataset.datasetId', `No dataset with id ${dataset.datasetId}; register the folder with POST /v1/datasets`);
    }
    return { ...resolved, folderImages: record.counts.reduce((a, b) => a + b, 0) };
  }

  /** A run of the project, or null (another project's run is as absent as an unknown one). */
  private async ownRun(id: string, project: string) {
    const run = await this.runs.get(id);
    return run && run.project === project ? run : null;
  }

  private async base(spec: RunSpec, project: string): Promise<Omit<ResolvedReferences, 'folderImages'>> {
    if (spec.kind === 'evaluate') return this.evaluated(spec, project);
    if (spec.kind === 'pretrain') return { spec, baseRunId: null, baseCheckpointId: null };
    const { baseRunId, baseModel, importedModel } = spec.model;
    if (importedModel) await this.checkImportedUri(importedModel.uri);
    if (baseRunId) {
      const why = await this.whyBaseUnusable(baseRunId, project);
      if (typeof why === 'string') throw unprocessable('The base run cannot be fine-tuned from', 'model.baseRunId', why);
      return { spec, baseRunId, baseCheckpointId: why.checkpointId };
    }
    if (baseModel) {
      const version = await this.models.get(baseModel.name, baseModel.version, project);
      if (!version) throw unprocessable('The base model is not registered', 'model.baseModel', `No version ${baseModel.version} of model "${baseModel.name}"`);
      if (version.checkpoint.status !== 'COMPLETE') {
        throw unprocessable('The base model cannot be fine-tuned from', 'model.baseModel', `Its checkpoint ${version.checkpointId} is ${version.checkpoint.status}`);
      }
      return { spec, baseRunId: version.runId, baseCheckpointId: version.checkpointId };
    }
    return { spec, baseRunId: null, baseCheckpointId: null };
  }

  /**
   * An imported model is read by the worker from the configured bucket, or from a local file under
   * TRAINYARD_LOCAL_ROOTS; anything else is refused here rather than failing the run later. The
   * worker checks again before it reads (roots and links may change in between).
   */
  private async checkImportedUri(uri: string): Promise<void> {
    try {
      await locateModelFile(uri, this.store, this.config.paths.localRoots);
    } catch (error) {
      if (error instanceof LocalPathRefusedError || error instanceof ModelUriRefusedError) {
        throw unprocessable('The imported model cannot be read', 'model.importedModel.uri', error.message);
      }
      throw error;
    }
  }

  /** A fine-tune starts from a finished pretrain run's encoder. Returns the checkpoint to pin. */
  private async whyBaseUnusable(baseRunId: string, project: string): Promise<string | { checkpointId: string }> {
    const base = await this.ownRun(baseRunId, project);
    if (!base) return `No run with id ${baseRunId}`;
    if (base.kind !== 'PRETRAIN') return `Run ${baseRunId} is a ${base.kind} run; the base must be a PRETRAIN run`;
    if (base.status !== 'SUCCEEDED') return `Run ${baseRunId} is ${base.status}; the base must have SUCCEEDED`;
    const checkpoint = await this.checkpoints.latestComplete(baseRunId);
    if (!checkpoint) return `Run ${baseRunId} has no complete checkpoint`;
    if (!checkpoint.models.includes('encoder')) {
      return `The latest complete checkpoint of run ${baseRunId} (#${checkpoint.sequence}) holds no encoder (it has: ${checkpoint.models.join(', ') || 'nothing'})`;
    }
    return { checkpointId: checkpoint.id };
  }

  /**
   * An evaluation needs a SUCCEEDED fine-tune's COMPLETE checkpoint with a classifier. Without a
   * dataset in the spec it evaluates on the run's own dataset, written into the stored spec so
   * the run says exactly what it measured.
   */
  private async evaluated(spec: Extract<RunSpec, { kind: 'evaluate' }>, project: string): Promise<Omit<ResolvedReferences, 'folderImages'>> {
    const { runId, sequence } = spec.checkpoint;
    const run = await this.ownRun(runId, project);
    const refuse = (field: string, why: string) => unprocessable('The checkpoint cannot be evaluated', field, why);
    if (!run) throw refuse('checkpoint.runId', `No run with id ${runId}`);
    if (run.kind !== 'FINETUNE') throw refuse('checkpoint.runId', `Run ${runId} is a ${run.kind} run; only FINETUNE runs have a classifier to evaluate`);
    if (run.status !== 'SUCCEEDED') throw refuse('checkpoint.runId', `Run ${runId} is ${run.status}; it must have SUCCEEDED`);
    const checkpoint: Checkpoint | null =
      sequence === undefined ? await this.checkpoints.latestComplete(runId) : await this.checkpoints.bySequence(runId, sequence);
    const field = sequence === undefined ? 'checkpoint.runId' : 'checkpoint.sequence';
    if (!checkpoint || checkpoint.status !== 'COMPLETE') {
      throw refuse(field, `Run ${runId} has no complete checkpoint${sequence === undefined ? '' : ` #${sequence}`}`);
    }
    if (!checkpoint.models.includes('classifier')) throw refuse(field, `Checkpoint #${checkpoint.sequence} of run ${runId} holds no classifier`);
    const dataset = spec.dataset ?? (run.spec as unknown as { dataset: typeof spec.dataset }).dataset;
    return { spec: { ...spec, dataset }, baseRunId: runId, baseCheckpointId: checkpoint.id };
  }
}
