import { Inject, Injectable, UnprocessableEntityException } from '@nestjs/common';
import type { RunSpec } from '@trainyard/contracts';
import { RunReferencesResolver, type SubmittedReferences } from '@trainyard/db';
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
  async resolve(spec: RunSpec, project: string): Promise<ResolvedReferences> {
    const resolved = await this.resolver.atSubmit(spec, project);
    // The resolved spec: an evaluation without a dataset of its own reads its run's.
    const errors = datasetMemoryErrors(resolved.spec, resolved, this.config.limits.inMemoryDatasetBytes);
    if (errors.length)
      throw new UnprocessableEntityException({
        message: "The dataset would not fit in a worker's memory",
        errors,
      });
    return resolved;
  }
}
