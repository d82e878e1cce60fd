import { type EncoderArchitecture, withBaseArchitecture } from './base-architecture';
import { classifierBase, effectiveFreezing, type FreezingSpec } from './classifier-base.schema';
import { inferTopology } from './layers-topology';
import type { Placement } from './resources.schema';
import {
  ConvAutoencoderSchema,
  type FinetuneSpec,
  type PretrainSpec,
  type RunSpec,
  RunSpecSchema,
  specTopologies,
} from './run-spec.schema';
import type { TrainingSpec } from './training-spec.schema';

/**
 * What a run's training needs on its device, estimated at submit from the layers the contracts
 * infer (docs/training.md, "Training memory"), so that a batch no device of the fleet can hold is
 * refused before it waits in a queue and fails on its first step.
 */

/** Bytes of one float32, what every weight, gradient, slot and activation is held as. */
const FLOAT_BYTES = 4;

/** One GiB: what `resources.memoryGb` counts in (the workers table's MiB ÷ 1024). */
export const GIB = 2 ** 30;

/** What the wasm backend can hold: every tensor of a training lives in one wasm32 memory, at most 4 GiB. */
export const WASM_MEMORY_GIB = 4;

/**
 * The tensors each optimizer keeps per weight, as tfjs 4.22 keeps them: Adam its first and second
 * moments, RMSProp (not centred) its mean squares and its moments (kept even at momentum 0), SGD none.
 */
export const OPTIMIZER_SLOTS: Record<TrainingSpec['optimizer'], number> = { adam: 2, rmsprop: 2, sgd: 0 };

/**
 * How many times its layers' outputs a training step holds at its peak: the outputs kept for the
 * backward pass (1) and the backward pass's own temporaries (the gradient of each output, the
 * activations' derivatives, the wasm kernels' transposed and padded copies). Calibrated on the
 * wasm backend (tools/memory/calibrate-wasm.ts; the points are in docs/training.md): the three
 * models measured need 4.84–5.48 times their counted values an image; 4 is a sixth under the
 * lowest, so a model whose backward pass needs less than those three is not refused at a batch it
 * can train (a refusal must be sure; a batch let through past its limit fails on its first step,
 * as before).
 */
export const BACKWARD_FACTOR = 4;

/**
 * How many times its layers' outputs a frozen base (`freezing.mode: 'base'`, or `freezeBase`) costs
 * a step at its peak: tfjs records them on its tape and its kernels keep what they saved, but no
 * gradient flows back through layers with no trainable weight under them, so the backward pass's
 * temporaries are not made for them (their weights get no gradient and no slot either). Calibrated
 * on the wasm backend as BACKWARD_FACTOR is (docs/training.md): with the rest counted × 4, the two
 * frozen classifiers measured need 2.30 and 3.15 times their base's values an image at the batch
 * that trapped; 1.5 keeps their estimate at the largest batch that trained a sixth under 4 GiB or
 * more (3.32 and 2.47 GiB), so a frozen model is not refused at a batch it can train.
 */
export const FROZEN_FACTOR = 1.5;

/**
 * Layers whose training holds several tensors of their output's size where others hold one:
 * batch norm keeps the centred input, its square and the normalised output for its gradient.
 */
const HELD_OUTPUTS: Partial<Record<string, number>> = { BatchNormalization: 3 };

/** The sizes of a model the estimate is made of. */
export interface ModelFootprint {
  /** Weights the model holds (batch norm's moving statistics included). */
  parameters: number;
  /** Values one image fills across the model: its input and every layer's output (HELD_OUTPUTS times for some). */
  activationsPerImage: number;
  /** Values of one image's input and of its target (the image itself for an autoencoder, the one-hot classes for a classifier). */
  inputPerImage: number;
  /** Of `parameters`, those of a frozen base: held, with no gradient and no optimizer slot (0 unless the base is frozen). */
  frozenParameters: number;
  /** Of `activationsPerImage`, the outputs of a frozen base's layers: held for the tape, no backward pass (FROZEN_FACTOR). */
  frozenActivationsPerImage: number;
}

/** A run's estimate, and what it was made of. */
export interface TrainingMemory {
  bytes: number;
  /** The spec field that sets `batch`. */
  batchField: 'training.batchSize';
  batch: number;
  footprint: ModelFootprint;
  optimizer: TrainingSpec['optimizer'];
}

/**
 * The model's sizes when the spec alone decides the whole model: a pretrain, or a fine-tune that
 * builds its base (the built-in encoder or `model.layers.base`) with a head the contracts can size.
 * Null otherwise: a fine-tune on a base (a pretrain run's, a registered or imported model) is sized
 * by that base, which the spec does not hold, and an evaluation run by the model it evaluates.
 */
export function modelFootprint(spec: RunSpec): ModelFootprint | null {
  if (spec.kind === 'evaluate') return null;
  if (spec.kind === 'finetune' && classifierBase(spec.model).kind !== 'scratch') return null;
  const parts = specTopologies(spec);
  if (!parts.length) return null;
  const frozen = baseFrozen(spec);
  let parameters = 0;
  let activations = 0;
  let frozenParameters = 0;
  let frozenActivations = 0;
  let input: number[] | null = null;
  let output: number[] = [];
  for (const part of parts) {
    const result = inferTopology(part.topology, part.input);
    if (!result.ok) return null;
    const { inferred } = result;
    input ??= inferred.inputShape;
    output = inferred.outputShape;
    let values = 0;
    for (const layer of inferred.layers)
      if (layer.className !== 'InputLayer') values += product(layer.outputShape) * (HELD_OUTPUTS[layer.className] ?? 1);
    parameters += inferred.parameters;
    activations += values;
    if (frozen && !HEAD_FIELDS.has(part.field)) {
      frozenParameters += inferred.parameters;
      frozenActivations += values;
    }
  }
  // A fine-tune's head fed by the base must follow it: a head whose input the spec does not decide is not counted here.
  if (spec.kind === 'finetune' && parts.every((p) => !HEAD_FIELDS.has(p.field))) return null;
  const inputValues = product(input!);
  return {
    parameters,
    activationsPerImage: inputValues + activations,
    inputPerImage: inputValues + product(output),
    frozenParameters,
    frozenActivationsPerImage: frozenActivations,
  };
}

/** The parts of a fine-tune that are its head (specTopologies' fields): what trains when its base is frozen. */
const HEAD_FIELDS: ReadonlySet<string> = new Set(['built-in head', 'model.layers.head']);

/**
 * Whether a fine-tune trains with its base frozen throughout (`freezing.mode: 'base'`, or the older
 * `freezeBase`). Two-stage unfreezing is not: its peak is its second stage, with top layers
 * trained. A spec stored before `freezing` existed reads as unfrozen (the larger estimate).
 */
function baseFrozen(spec: RunSpec): boolean {
  if (spec.kind !== 'finetune') return false;
  const { freezing, freezeBase } = spec.model as { freezing?: FreezingSpec; freezeBase?: unknown };
  return !!freezing && effectiveFreezing({ freezing, freezeBase: freezeBase === true }).mode === 'base';
}

/**
 * Bytes a training step on `batch` images needs: the weights, their gradients and the optimizer's
 * slots, plus the batch's activations × BACKWARD_FACTOR, plus the batch itself (images and targets).
 * A frozen base's weights are held alone, and its layers' outputs × FROZEN_FACTOR.
 */
export function trainingBytes(footprint: ModelFootprint, optimizer: TrainingSpec['optimizer'], batch: number): number {
  const perWeight = 2 + OPTIMIZER_SLOTS[optimizer];
  const { frozenParameters, frozenActivationsPerImage } = footprint;
  const trainedParameters = footprint.parameters - frozenParameters;
  const backwardActivations = footprint.activationsPerImage - frozenActivationsPerImage;
  return (
    FLOAT_BYTES *
    (trainedParameters * perWeight +
      frozenParameters +
      batch *
        (backwardActivations * BACKWARD_FACTOR + frozenActivationsPerImage * FROZEN_FACTOR + footprint.inputPerImage))
  );
}

/** The estimate for a run spec (its training step; its validation and test passes run forward only on batches no larger), or null when the spec alone does not decide its model (modelFootprint). */
export function trainingMemory(spec: RunSpec): TrainingMemory | null {
  if (spec.kind === 'evaluate') return null;
  const footprint = modelFootprint(spec);
  if (!footprint) return null;
  const { batchSize: batch, optimizer } = spec.training;
  return {
    bytes: trainingBytes(footprint, optimizer, batch),
    batchField: 'training.batchSize',
    batch,
    footprint,
    optimizer,
  };
}

/**
 * The estimate of a fine-tune that trains on a pretrain's encoder, the pretrain's spec at hand (a
 * pipeline's fine-tune step and its pretrain, in one request). A built-in `conv-autoencoder`'s
 * encoder is the encoder a fine-tune from scratch builds with the same encoder fields (the ones
 * withBaseArchitecture gives it, cut at the same `cutAt`): the fine-tune is sized as that one.
 * Null for a pretrain of the spec's own layers (its encoder is not cut as the built-in one is;
 * not calibrated) and for a step bringing `model.layers.base`.
 */
export function trainingMemoryOnPretrain(finetune: FinetuneSpec, pretrain: PretrainSpec): TrainingMemory | null {
  return pretrain.model.type === 'conv-autoencoder' ? trainingMemoryOnEncoder(finetune, pretrain.model) : null;
}

/** trainingMemoryOnPretrain on a built-in pretrain's encoder, given by its fields. */
function trainingMemoryOnEncoder(finetune: FinetuneSpec, encoder: EncoderArchitecture): TrainingMemory | null {
  if (finetune.model.layers?.base) return null;
  const taken = withBaseArchitecture(finetune.model, encoder);
  if ('field' in taken) return null;
  const { baseModel: _registered, importedModel: _imported, ...model } = taken.model;
  return trainingMemory({ ...finetune, model: { ...model, baseRunId: null } });
}

/** Whether a fine-tune builds on a base run's checkpoint (`baseRunId`, or a registered `baseModel` version's run). */
function onBaseRun(spec: FinetuneSpec): boolean {
  const base = classifierBase(spec.model).kind;
  return base === 'run' || base === 'registered';
}

/**
 * The estimate of a fine-tune on a base run (`baseRunId`, or the run of a registered `baseModel`
 * version), given that run's spec as it reads (`base`: what RunReferencesResolver read and parsed
 * at submit, null when the base is no pretrain or its spec no longer reads): on a built-in
 * `conv-autoencoder` pretrain's encoder, as trainingMemoryOnPretrain sizes it. Null for any other
 * base (a registered fine-tune, a pretrain of the spec's own layers) and any other spec.
 */
export function trainingMemoryOnBase(spec: RunSpec, base: PretrainSpec | null): TrainingMemory | null {
  if (spec.kind !== 'finetune' || !base || !onBaseRun(spec)) return null;
  return trainingMemoryOnPretrain(spec, base);
}

/**
 * trainingMemoryOnBase on that run's stored spec (PostgreSQL's, as `GET /v1/runs/:id` gives it),
 * parsed with RunSpecSchema: null when it no longer reads or is no pretrain.
 */
export function trainingMemoryOnBaseRun(spec: RunSpec, storedBase: unknown): TrainingMemory | null {
  if (spec.kind !== 'finetune' || !onBaseRun(spec)) return null;
  const stored = RunSpecSchema.safeParse(storedBase);
  return stored.success && stored.data.kind === 'pretrain' ? trainingMemoryOnBase(spec, stored.data) : null;
}

/** The largest batch whose estimate fits in `limitBytes` (0 when not even one image does). */
export function largestBatchWithin(
  memory: Pick<TrainingMemory, 'footprint' | 'optimizer'>,
  limitBytes: number,
): number {
  const fixed = trainingBytes(memory.footprint, memory.optimizer, 0);
  const perImage = trainingBytes(memory.footprint, memory.optimizer, 1) - fixed;
  return Math.max(0, Math.floor((limitBytes - fixed) / perImage));
}

/** GiB, as a person reads them: two decimals (0.01 at least, so a small model does not read as nothing). */
export function gibText(bytes: number): string {
  return `${Math.max(0.01, Math.ceil((bytes / GIB) * 100) / 100).toFixed(2)} GiB`;
}

/**
 * The memory a run is placed by: the larger of what it declares (`resources.memoryGb`) and its
 * estimate, in GiB; undefined when it declares none and has no estimate (it fits anywhere).
 */
export function placementMemoryGb(spec: Placement, memory: TrainingMemory | null): number | undefined {
  const declared = spec.resources?.memoryGb;
  const estimated = memory ? memory.bytes / GIB : undefined;
  if (declared === undefined) return estimated;
  return estimated === undefined ? declared : Math.max(declared, estimated);
}

/**
 * trainingMemory of a spec as a run stores it (what a worker reads): the output of RunSpecSchema
 * at submit, defaults applied, so it is read as it is, as the worker reads it to train, rather than
 * parsed again for every job (0.16 ms of a worker's CPU a job). A spec stored by an older version
 * that lacks what the estimate reads has none (it is placed by what it declares).
 */
export function storedTrainingMemory(stored: unknown): TrainingMemory | null {
  if (typeof stored !== 'object' || stored === null) return null;
  try {
    const memory = trainingMemory(stored as RunSpec);
    return memory && Number.isFinite(memory.bytes) && memory.bytes > 0 ? memory : null;
  } catch {
    return null;
  }
}

/**
 * Whether a spec as a run stores it is a fine-tune on a base run (`baseRunId`, or a registered
 * `baseModel` version, whose run the run's row holds): the one kind whose estimate needs another
 * run's stored spec (storedTrainingMemoryOnBaseRun). Reads two fields, so a worker reads the base
 * for such a job only.
 */
export function storedOnBaseRun(stored: unknown): boolean {
  const { kind, model } = (typeof stored === 'object' && stored !== null ? stored : {}) as {
    kind?: unknown;
    model?: { baseRunId?: unknown; baseModel?: unknown } | null;
  };
  return kind === 'finetune' && typeof model === 'object' && model !== null && !!(model.baseRunId || model.baseModel);
}

/**
 * trainingMemoryOnBaseRun of a fine-tune as a run stores it, on its base run's stored spec, both
 * read as stored (as storedTrainingMemory reads a spec): the base's encoder fields are checked
 * (storedEncoder), not parsed, so a worker's job costs no parse of the base (0.2–0.3 ms with
 * RunSpecSchema). Null for any other spec or base, or one that no longer reads.
 */
export function storedTrainingMemoryOnBaseRun(stored: unknown, storedBase: unknown): TrainingMemory | null {
  if (!storedOnBaseRun(stored)) return null;
  const encoder = storedEncoder(storedBase);
  if (!encoder) return null;
  try {
    const memory = trainingMemoryOnEncoder(stored as FinetuneSpec, encoder);
    return memory && Number.isFinite(memory.bytes) && memory.bytes > 0 ? memory : null;
  } catch {
    return null;
  }
}

/**
 * The encoder fields of a built-in `conv-autoencoder` pretrain's spec as a run stores it (the
 * output of RunSpecSchema at its submit), each of the type the schema gave it and the run's own
 * (not inherited), copied into an object of their own; null for any other spec, or one whose
 * fields no longer read so (a spec stored by an older version, or altered by hand).
 */
function storedEncoder(storedBase: unknown): EncoderArchitecture | null {
  const model = ownField(storedBase, 'kind') === 'pretrain' ? ownField(storedBase, 'model') : undefined;
  if (ownField(model, 'type') !== 'conv-autoencoder') return null;
  const inputShape = ownField(model, 'inputShape');
  const filters = ownField(model, 'filters');
  const latentDim = ownField(model, 'latentDim');
  const latentActivation = ownField(model, 'latentActivation');
  if (!countsList(inputShape) || inputShape.length !== 3 || !countsList(filters) || !filters.length) return null;
  if (!isCount(latentDim) || !LATENT_ACTIVATIONS.includes(latentActivation as never)) return null;
  return {
    inputShape: [...inputShape] as EncoderArchitecture['inputShape'],
    filters: [...filters],
    latentDim,
    latentActivation: latentActivation as EncoderArchitecture['latentActivation'],
  };
}

/** The latent activations RunSpecSchema accepts, read from it once. */
const LATENT_ACTIVATIONS: readonly string[] = ConvAutoencoderSchema.shape.latentActivation.unwrap().options;

/** A field an object (not an array) holds itself, else undefined. */
function ownField(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.hasOwn(value, key)
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) > 0;
const countsList = (value: unknown): value is number[] => Array.isArray(value) && value.every(isCount);

/** placementMemoryGb of a spec as a run stores it, by its storedTrainingMemory (given, when the caller has it already). */
export function storedPlacementMemoryGb(
  stored: unknown,
  memory: TrainingMemory | null = storedTrainingMemory(stored),
): number | undefined {
  const declared = (stored as Placement | null)?.resources?.memoryGb;
  return placementMemoryGb({ resources: { memoryGb: typeof declared === 'number' ? declared : undefined } }, memory);
}

const product = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
