import { Inject, Injectable } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import type { RunSpec } from '@trainyard/contracts';
import { RunReferencesResolver, type Database, type SubmittedReferences } from '@trainyard/db';
import type { ObjectStore } from '@trainyard/storage';
import { TRAINYARD_CONFIG } from '../config/config.tokens';
import { DATABASE, OBJECT_STORE } from '../infrastructure/infrastructure.tokens';

/** A spec with every reference checked, and the run/checkpoint it builds on (pinned against retention). */
export type ResolvedReferences = SubmittedReferences;

/**
 * Checks, at submit, what a spec refers to by id or name (RunReferencesResolver.atSubmit, the
 * rules the worker applies again when the run starts), so a run that would fail on a worker is
 * refused with a 422 naming the field instead. The checkpoint a run builds on is pinned.
 */
@Injectable()
export class RunReferencesService {
  private readonly resolver: RunReferencesResolver;

  constructor(
    @Inject(DATABASE) database: Database,
    @Inject(OBJECT_STORE) store: ObjectStore,
    @Inject(TRAINYARD_CONFIG) config: TrainyardConfig,
  ) {
    this.resolver = new RunReferencesResolver(database.prisma, { store, localRoots: config.paths.localRoots });
  }

  /** A refused reference is a RunReferenceRefusedError, which the problem filter answers 422 naming the field. */
  resolve(spec: RunSpec, project: string): Promise<ResolvedReferences> {
    return this.resolver.atSubmit(spec, project);
  }
}
