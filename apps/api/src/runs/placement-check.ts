import { Inject, Injectable, UnprocessableEntityException } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import {
  type BaseRunSpec,
  GIB,
  gibText,
  largestBatchWithin,
  placementMemoryGb,
  resourceClassOf,
  type RunSpec,
  type SweepValues,
  trainingMemory,
  trainingMemoryOnBase,
  type TrainingMemory,
  WASM_MEMORY_GIB,
} from '@trainyard/contracts';
import { WorkersRepository } from '@trainyard/db';
import { CONFIG } from '@trainyard/infrastructure';
import { placeError, type SpecPlace } from './submission-quota';

/** One run of a sweep: its spec and the values the sweep gave it. */
export interface SweptSpec {
  spec: RunSpec;
  swept: SweepValues;
}

/**
 * Refuses, at submit, a run no live worker could ever serve — none consumes its resource class, or
 * none has the memory it needs — with a 422 naming `resources` (QUEUE_UNSERVABLE_RUNS=true
 * queues it anyway). With no live worker at all the fleet may be scaling up from zero: the run
 * waits. The memory it needs is the larger of what it declares and its training-memory estimate
 * (libs/contracts training-memory.ts); a declared `resources.memoryGb` below the estimate is
 * refused (422 at `resources.memoryGb`), and so is a batch whose estimate is past the wasm
 * backend's 4 GiB when every live worker that would serve the run trains on wasm (422 at
 * `training.batchSize`).
 */
@Injectable()
export class PlacementCheck {
  constructor(
    @Inject(CONFIG) private readonly config: TrainyardConfig,
    private readonly workers: WorkersRepository,
  ) {}

  /**
   * `field`: where the spec sits in the request (`base.` for a sweep's, `finetunes.0.` for a
   * pipeline step). A sweep gives all its runs with their values (a swept training.batchSize sizes
   * each): the one whose estimate is largest is checked, and a refusal names the swept parameter
   * where its value is what breaks the limit (`parameters.training.batchSize`; SpecPlace), saying
   * which values. A fine-tune on a base run (the resolved one, a registered version's run too) is
   * sized by that run's spec as the references' resolver read it (`baseSpec`, a pretrain's or a
   * registered fine-tune's, SubmittedReferences: the base is not read again; trainingMemoryOnBase); `estimateOf` sizes a
   * spec whose base is elsewhere (a pipeline's fine-tune step on the encoder its pretrain makes:
   * trainingMemoryOnPretrain); trainingMemory by default.
   */
  async check(
    specs: RunSpec | readonly SweptSpec[],
    field = '',
    options: {
      estimateOf?: (spec: RunSpec) => TrainingMemory | null;
      baseSpec?: BaseRunSpec | null;
    } = {},
  ): Promise<void> {
    const list: readonly SweptSpec[] = Array.isArray(specs) ? specs : [{ spec: specs as RunSpec, swept: {} }];
    const { spec, swept, memory } = mostDemanding(list, options.estimateOf ?? estimator(options.baseSpec ?? null));
    const place: SpecPlace = { prefix: field, swept };
    const declared = spec.resources?.memoryGb;
    if (memory && declared !== undefined && declared * GIB < memory.bytes) {
      const message = `Declares ${declared} GB on its device, but its training needs about ${gibText(memory.bytes)} (estimated from its layers at ${memory.batchField} ${memory.batch}, docs/training.md): declare at least that, or lower ${memory.batchField}`;
      unprocessable(place, 'resources.memoryGb', message);
    }
    if (this.config.limits.queueUnservable) return;
    const neededGb = placementMemoryGb(spec, memory);
    const placed = { ...spec, resources: { ...spec.resources, memoryGb: neededGb } };
    const { live, serving } = await this.workers.servability(placed, this.config.worker.lostAfterMs);
    if (live === 0) return;
    if (serving === 0) {
      const resourceClass = resourceClassOf(spec);
      const memoryText = neededGb === undefined ? '' : ` with ${gbText(neededGb)} GB on its device`;
      const message =
        `None of the ${live} live workers serves resource class "${resourceClass}"${memoryText}; ` +
        'start one that does (WORKER_RESOURCE_CLASSES, a GPU node), ask for less, or set QUEUE_UNSERVABLE_RUNS=true to queue it anyway';
      unprocessable(place, 'resources', message);
    }
    if (
      memory &&
      memory.bytes > WASM_MEMORY_GIB * GIB &&
      (await this.workers.onlyBackendServes(resourceClassOf(spec), 'wasm', this.config.worker.lostAfterMs))
    ) {
      const largest = largestBatchWithin(memory, WASM_MEMORY_GIB * GIB);
      const message = `A training step on a batch of ${memory.batch} needs about ${gibText(memory.bytes)} (estimated from its layers, docs/training.md), more than the ${WASM_MEMORY_GIB} GiB the wasm backend can hold, and every live worker that serves resource class "${resourceClassOf(spec)}" trains on wasm: lower ${memory.batchField} to at most ${largest}, or train on a GPU worker (resources.accelerator: 'gpu')`;
      unprocessable(place, memory.batchField, message);
    }
  }
}

/** trainingMemory, or on a base run, the estimate its spec (read at submit) allows. */
function estimator(baseSpec: BaseRunSpec | null): (spec: RunSpec) => TrainingMemory | null {
  return baseSpec ? (spec) => trainingMemory(spec) ?? trainingMemoryOnBase(spec, baseSpec) : trainingMemory;
}

function mostDemanding(
  specs: readonly SweptSpec[],
  estimateOf: (spec: RunSpec) => TrainingMemory | null,
): SweptSpec & { memory: TrainingMemory | null } {
  let best = { ...specs[0]!, memory: estimateOf(specs[0]!.spec) };
  for (const run of specs.slice(1)) {
    const memory = estimateOf(run.spec);
    if (memory && (!best.memory || memory.bytes > best.memory.bytes)) best = { ...run, memory };
  }
  return best;
}

/** GB as the refusal says them: as declared, or an estimate rounded up to two decimals. */
const gbText = (gb: number) => String(Math.ceil(gb * 100) / 100);

/** A 422 naming `field` of the spec at its place in the request (a sweep's run: the swept parameter that set it, and its values). */
function unprocessable(place: SpecPlace, field: string, message: string): never {
  const error = placeError({ field, message }, place);
  throw new UnprocessableEntityException({ message: error.message, errors: [error] });
}
