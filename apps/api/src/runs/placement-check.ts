import { Inject, Injectable, UnprocessableEntityException } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import { resourceClassOf, type Placement } from '@trainyard/contracts';
import { WorkersRepository } from '@trainyard/db';
import { CONFIG } from '@trainyard/infrastructure';

/**
 * Refuses, at submit, a run no live worker could ever serve — none consumes its resource class, or
 * none has the memory it asks for — with a 422 naming `resources` (QUEUE_UNSERVABLE_RUNS=true
 * queues it anyway). With no live worker at all the fleet may be scaling up from zero: the run
 * waits.
 */
@Injectable()
export class PlacementCheck {
  constructor(
    @Inject(CONFIG) private readonly config: TrainyardConfig,
    private readonly workers: WorkersRepository,
  ) {}

  /** `field`: where the spec sits in the request (`base.` for a sweep's, `finetunes.0.` for a pipeline step). */
  async check(spec: Placement, field = ''): Promise<void> {
    if (this.config.limits.queueUnservable) return;
    const { live, serving } = await this.workers.servability(spec, this.config.worker.lostAfterMs);
    if (live === 0 || serving > 0) return;
    const resourceClass = resourceClassOf(spec);
    const memory = spec.resources?.memoryGb === undefined ? '' : ` with ${spec.resources.memoryGb} GB on its device`;
    const message =
      `None of the ${live} live workers serves resource class "${resourceClass}"${memory}; ` +
      'start one that does (WORKER_RESOURCE_CLASSES, a GPU node), ask for less, or set QUEUE_UNSERVABLE_RUNS=true to queue it anyway';
    throw new UnprocessableEntityException({
      message,
      errors: [{ field: `${field}resources`, message }],
    });
  }
}
