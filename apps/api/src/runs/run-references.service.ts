import { Inject, Injectable, UnprocessableEntityException } from '@nestjs/common';
import type { RunSpec } from '@trainyard/contracts';
import { RunReferenceRefusedError, RunReferencesResolver, type SubmittedReferences } from '@trainyard/db';
import { CONFIG } from '@trainyard/infrastructure';
import type { TrainyardConfig } from '@trainyard/config';
import { datasetMemoryErrors } from './submission-quota';

/** A spec with every reference checked, and the run/checkpoint it builds on (pinned against retention). */
export type ResolvedReferences = SubmittedReferences;

/**
 * Checks, at submit, what a spec refers to by id or name (RunReferencesResolver.atSubmit, the
 * rules the worker applies again when the run starts) — a packed dataset version it streams must
 * be in the object store and packed from the dataset's own folder —, and that the images its
 * image folder makes a worker decode fit QUOTA_IN_MEMORY_DATASET_BYTES, so a run that would fail
 * on a worker, or take its memory, is refused with a 422 naming the field instead. Every way a
 * run is written (a run, a sweep's base, each step of a pipeline) comes through here. The
 * checkpoint a run builds on is pinned.
 */
@Injectable()
export class RunReferencesService {
  constructor(
    private readonly resolver: RunReferencesResolver,
    @Inject(CONFIG) private readonly config: TrainyardConfig,
  ) {}

  /** A refused reference is a RunReferenceRefusedError, which the problem filter answers 422 naming the field. */
  /** `prefix`: where the spec sits in the request (`base.` of a sweep, `finetunes.1.` of a pipeline), put before each field named. */
  async resolve(spec: RunSpec, project: string, prefix = ''): Promise<ResolvedReferences> {
    let resolved: ResolvedReferences;
    try {
      resolved = await this.resolver.atSubmit(spec, project);
    } catch (error) {
      if (error instanceof RunReferenceRefusedError && prefix)
        throw new RunReferenceRefusedError(error.summary, `${prefix}${error.field}`, error.why);
      throw error;
    }
    // The resolved spec: an evaluation without a dataset of its own reads its run's.
    const errors = datasetMemoryErrors(resolved.spec, resolved, this.config.limits.inMemoryDatasetBytes).map(
      (error) => ({ ...error, field: `${prefix}${error.field}` }),
    );
    if (errors.length)
      throw new UnprocessableEntityException({
        message: "The dataset would not fit in a worker's memory",
        errors,
      });
    return resolved;
  }
}
