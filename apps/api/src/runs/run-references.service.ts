import { Injectable } from '@nestjs/common';
import type { RunSpec } from '@trainyard/contracts';
import { RunReferencesResolver, type SubmittedReferences } from '@trainyard/db';

/** A spec with every reference checked, and the run/checkpoint it builds on (pinned against retention). */
export type ResolvedReferences = SubmittedReferences;

/**
 * Checks, at submit, what a spec refers to by id or name (RunReferencesResolver.atSubmit, the
 * rules the worker applies again when the run starts), so a run that would fail on a worker is
 * refused with a 422 naming the field instead. The checkpoint a run builds on is pinned.
 */
@Injectable()
export class RunReferencesService {
  constructor(private readonly resolver: RunReferencesResolver) {}

  /** A refused reference is a RunReferenceRefusedError, which the problem filter answers 422 naming the field. */
  resolve(spec: RunSpec, project: string): Promise<ResolvedReferences> {
    return this.resolver.atSubmit(spec, project);
  }
}
