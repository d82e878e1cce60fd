import { Inject, Injectable } from '@nestjs/common';
import type { RunSpec } from '@trainyard/contracts';
import { RunReferenceRefusedError, RunReferencesResolver, type SubmittedReferences } from '@trainyard/db';
import { CONFIG, OBJECT_STORE } from '@trainyard/infrastructure';
import type { TrainyardConfig } from '@trainyard/config';
import { packedManifestKey, type ObjectStore } from '@trainyard/storage';

/** A spec with every reference checked, and the run/checkpoint it builds on (pinned against retention). */
export type ResolvedReferences = SubmittedReferences;

/**
 * Checks, at submit, what a spec refers to by id or name (RunReferencesResolver.atSubmit, the
 * rules the worker applies again when the run starts), and that a packed dataset version it
 * streams from exists in the object store, so a run that would fail on a worker is refused with a
 * 422 naming the field instead. The checkpoint a run builds on is pinned.
 */
@Injectable()
export class RunReferencesService {
  constructor(
    private readonly resolver: RunReferencesResolver,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(CONFIG) private readonly config: TrainyardConfig,
  ) {}

  /** A refused reference is a RunReferenceRefusedError, which the problem filter answers 422 naming the field. */
  async resolve(spec: RunSpec, project: string): Promise<ResolvedReferences> {
    const resolved = await this.resolver.atSubmit(spec, project);
    const dataset = spec.dataset;
    if (dataset?.name === 'image-folder' && dataset.stream) await this.mustExist(dataset.stream.version);
    return resolved;
  }

  /** The version's manifest is in the store (the spec's schema already holds the version to a sha256). */
  private async mustExist(version: string): Promise<void> {
    const key = packedManifestKey(version);
    const found = await this.store.list(key, { maxFiles: 10, maxMs: this.config.paths.walkMaxMs });
    if (!found.some((o) => o.key === key))
      throw new RunReferenceRefusedError(
        'The dataset version cannot be streamed',
        'dataset.stream.version',
        `no packed version ${version} in ${this.store.description} (npm run dataset:pack prints the version of a folder it packed)`,
      );
  }
}
