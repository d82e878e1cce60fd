import { join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import type { RunSpec } from '@trainyard/contracts';
import { RunReferencesResolver, type Run } from '@trainyard/db';
import { CONFIG } from '@trainyard/infrastructure';
import type { TrainingJobInput } from '@trainyard/training/supervisor';

/** What the training process needs beyond the spec, resolved from PostgreSQL; or why the run cannot start. */
export type ResolvedInputs =
  | {
      ok: true;
      inputs: Pick<
        TrainingJobInput,
        | 'baseCheckpointUri'
        | 'baseCheckpointModel'
        | 'baseCheckpointSequence'
        | 'baseCheckpointOf'
        | 'baseCheckpointTrainedOn'
        | 'imageFolder'
        | 'cacheDir'
        | 'imageCacheBytes'
        | 'paths'
        | 'shardCacheBytes'
        | 'modelParameterQuota'
      >;
    }
  | { ok: false; reason: string };

/**
 * Turns the references a spec makes by id or name into what a training process can read: the
 * base or evaluated checkpoint pinned at submit, and a registered dataset's location
 * (RunReferencesResolver.atStart, the rules the API applied at submit). Local paths are checked
 * against this worker's TRAINYARD_LOCAL_ROOTS (a worker's may differ from the API's, and links may
 * have changed since): outside them the run fails naming the field, before any file is opened.
 */
@Injectable()
export class RunInputsResolver {
  constructor(
    @Inject(CONFIG) private readonly config: TrainyardConfig,
    private readonly references: RunReferencesResolver,
  ) {}

  async resolve(run: Run, spec: RunSpec): Promise<ResolvedInputs> {
    const resolved = await this.references.atStart(run, spec);
    if (!resolved.ok) return resolved;
    const { checkpoint, imageFolder } = resolved.references;
    const inputs: Extract<ResolvedInputs, { ok: true }>['inputs'] = {
      cacheDir: join(this.config.home, 'cache', 'images'),
      imageCacheBytes: this.config.worker.imageCacheBytes,
      paths: this.config.paths,
      shardCacheBytes: this.config.worker.shardCacheBytes,
      // A head on a base only the training process reads is held to the quota there (the API cannot size it).
      modelParameterQuota: this.config.limits.modelParameters,
    };
    if (checkpoint) {
      inputs.baseCheckpointUri = checkpoint.uri;
      inputs.baseCheckpointModel = checkpoint.model;
      inputs.baseCheckpointSequence = checkpoint.sequence;
      inputs.baseCheckpointOf = { runId: checkpoint.runId, best: checkpoint.best };
      inputs.baseCheckpointTrainedOn = checkpoint.trainedOn;
    }
    if (imageFolder) inputs.imageFolder = imageFolder;
    return { ok: true, inputs };
  }
}
