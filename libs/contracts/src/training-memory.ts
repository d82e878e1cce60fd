import { type EncoderArchitecture, withBaseArchitecture } from './base-architecture';
import { builtInEncoderCut, builtInHead } from './built-in-models';
import { classifierBase, effectiveFreezing, type FreezingSpec } from './classifier-base.schema';
import { datasetClassCount } from './dataset.schema';
import { inferTopology, type LayersTopology, MAX_TOPOLOGY_LAYERS } from './layers-topology';
import type { Placement } from './resources.schema';
import {
  ConvAutoencoderSchema,
  ENCODER_LIMITS,
  type FinetuneSpec,
  HEAD_LIMITS,
  type PretrainSpec,
  type RunSpec,
  RunSpecSchema,
  type SpecTopology,
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
  /**
   * Of `parameters`, those held with no gradient and no optimizer slot: a frozen base's, and the
   * layers a fine-tune loads with its base that its cut leaves out (a registered fine-tune's head).
   */
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
  // A fine-tune's head fed by the base must follow it: a head whose input the spec does not decide is not counted here.
  if (spec.kind === 'finetune' && parts.every((p) => !HEAD_FIELDS.has(p.field))) return null;
  return partsFootprint(parts, baseFrozen(spec));
}

/**
 * The sizes of a model built of `parts` in order (the first's input is the model's), its parts
 * other than a head frozen when `frozen`; `heldOnly` parameters are loaded with them and never
 * trained. Null when a part's shapes do not infer.
 */
function partsFootprint(parts: readonly SpecTopology[], frozen: boolean, heldOnly = 0): ModelFootprint | null {
  let parameters = heldOnly;
  let activations = 0;
  let frozenParameters = heldOnly;
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
  if (!input) return null;
  const inputValues = product(input);
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
  return memoryOf(spec, modelFootprint(spec));
}

/** The estimate of a run whose model has `footprint`, at its spec's batch and optimizer. */
function memoryOf(spec: PretrainSpec | FinetuneSpec, footprint: ModelFootprint | null): TrainingMemory | null {
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
 * withBaseArchitecture gives it, cut at the same `cutAt`): the fine-tune is sized as that one. A
 * `layers-autoencoder`'s encoder is used whole under the step's head (layersEncoderBase). Null
 * for a step bringing `model.layers.base`, and on a `layers-autoencoder` for one giving `cutAt`
 * (the worker refuses it).
 */
export function trainingMemoryOnPretrain(finetune: FinetuneSpec, pretrain: PretrainSpec): TrainingMemory | null {
  if (pretrain.model.type === 'conv-autoencoder') return trainingMemoryOnEncoder(finetune, pretrain.model);
  return finetune.model.layers?.base
    ? null
    : onLoadedBase(finetune, layersEncoderBase(finetune, pretrain.model.encoder));
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

/** The spec of the run a fine-tune builds on (a base run, a registered version's run): a pretrain's or a fine-tune's. */
export type BaseRunSpec = PretrainSpec | FinetuneSpec;

/**
 * The estimate of a fine-tune on a base run (`baseRunId`, or the run of a registered `baseModel`
 * version), given that run's spec as it reads (`base`: what RunReferencesResolver read and parsed
 * at submit, null when its stored spec no longer reads), sized by the layers the worker loads
 * from its checkpoint and cuts (run-training-job.ts's loadBase; built-in-model-sizes.spec.ts):
 * - a built-in `conv-autoencoder` pretrain's encoder, as trainingMemoryOnPretrain sizes it;
 * - a `layers-autoencoder` pretrain's encoder, used whole (a `cutAt` fails the run: none);
 * - a registered fine-tune trained from scratch (the built-in encoder or its `layers.base`): its
 *   classifier cut below its head, or at `cutAt` for the built-in encoder (only where the worker
 *   finds that layer), its head's weights held unused.
 * Null for any other base (a registered fine-tune that was itself trained on a base, whose
 * architecture is its base's, in another row) and any other spec.
 */
export function trainingMemoryOnBase(spec: RunSpec, base: BaseRunSpec | null): TrainingMemory | null {
  if (spec.kind !== 'finetune' || !base || !onBaseRun(spec)) return null;
  return base.kind === 'pretrain'
    ? trainingMemoryOnPretrain(spec, base)
    : onLoadedBase(spec, fineTunedBase(spec, base));
}

/** The estimate of a fine-tune on a base as it loads it, under the fine-tune's own head (`model.layers.head`, or the built-in one). */
function onLoadedBase(spec: FinetuneSpec, loaded: LoadedBase | null): TrainingMemory | null {
  if (!loaded) return null;
  const features = outputOf(loaded.parts);
  if (!features) return null;
  const head: SpecTopology = spec.model.layers?.head
    ? { field: 'model.layers.head', topology: spec.model.layers.head, input: features }
    : builtInHead(spec.model, features, 'model.baseModel', datasetClassCount(spec.dataset) ?? 2);
  return memoryOf(spec, partsFootprint([...loaded.parts, head], baseFrozen(spec), loaded.heldOnly));
}

/** A base as a fine-tune on it loads it: the layers it trains on (`parts`), and the parameters loaded with them that its cut leaves out. */
interface LoadedBase {
  parts: SpecTopology[];
  heldOnly: number;
}

/** A `layers-autoencoder` pretrain's encoder: the checkpoint's encoder, used whole (the worker refuses a `cutAt`). */
function layersEncoderBase(spec: FinetuneSpec, encoder: LayersTopology): LoadedBase | null {
  return spec.model.cutAt === undefined
    ? { parts: [{ field: 'model.encoder', topology: encoder }], heldOnly: 0 }
    : null;
}

/**
 * A registered fine-tune's classifier (`trained`, its run's spec) cut as a fine-tune on it cuts
 * it: below its head (its base as it trained it), or at `cutAt` on the built-in encoder ('conv'
 * always; 'latent' only where its classifier kept the latent layer). Its head (and the latent
 * layer a lower cut leaves out) is loaded and held, never trained. Only a classifier trained from
 * scratch: one trained on a base is that base's, which its spec does not hold.
 */
function fineTunedBase(spec: FinetuneSpec, trained: FinetuneSpec): LoadedBase | null {
  if (classifierBase(trained.model).kind !== 'scratch') return null;
  const own = trained.model.layers;
  let whole: SpecTopology;
  let kept: SpecTopology;
  if (own?.base) {
    // Its layers are the spec's own: whether the worker finds a layer to cut at (enc_pool<n>, latent) is not known here.
    if (spec.model.cutAt !== undefined) return null;
    whole = kept = { field: 'model.layers.base', topology: own.base };
  } else {
    const trainedCut = trained.model.cutAt ?? 'conv';
    const cut = spec.model.cutAt ?? trainedCut;
    if (cut === 'latent' && trainedCut === 'conv') return null;
    whole = builtInEncoderCut(trained.model, trainedCut);
    kept = builtInEncoderCut(trained.model, cut);
  }
  const features = outputOf([whole]);
  if (!features) return null;
  const head: SpecTopology = own?.head
    ? { field: 'model.layers.head', topology: own.head, input: features }
    : builtInHead(trained.model, features, 'model.baseModel', datasetClassCount(trained.dataset) ?? 2);
  const held = parametersOf([whole, head]);
  const used = parametersOf([kept]);
  return held === null || used === null ? null : { parts: [kept], heldOnly: held - used };
}

/** What the last of `parts` outputs per image, fed in order; null when a shape does not infer. */
function outputOf(parts: readonly SpecTopology[]): number[] | null {
  let shape: number[] | undefined;
  for (const part of parts) {
    const result = inferTopology(part.topology, part.input ?? shape);
    if (!result.ok) return null;
    shape = result.inferred.outputShape;
  }
  return shape ?? null;
}

/** The parameters `parts` hold, each fed its own input; null when a shape does not infer. */
function parametersOf(parts: readonly SpecTopology[]): number | null {
  let total = 0;
  for (const part of parts) {
    const result = inferTopology(part.topology, part.input);
    if (!result.ok) return null;
    total += result.inferred.parameters;
  }
  return total;
}

/**
 * trainingMemoryOnBase on that run's stored spec (PostgreSQL's, as `GET /v1/runs/:id` gives it),
 * parsed with RunSpecSchema: null when it no longer reads or is an evaluation's.
 */
export function trainingMemoryOnBaseRun(spec: RunSpec, storedBase: unknown): TrainingMemory | null {
  if (spec.kind !== 'finetune' || !onBaseRun(spec)) return null;
  const stored = RunSpecSchema.safeParse(storedBase);
  return stored.success && stored.data.kind !== 'evaluate' ? trainingMemoryOnBase(spec, stored.data) : null;
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
 * read as stored (as storedTrainingMemory reads a spec): the fields of the base the estimate reads
 * are checked, for their types and the ranges RunSpecSchema allows (storedBaseRunSpec), not
 * parsed, so a worker's job costs no parse of the base (0.2–0.3 ms with RunSpecSchema). Null for
 * any other spec or base, or one that no longer reads (an older release's, a row altered by hand).
 */
export function storedTrainingMemoryOnBaseRun(stored: unknown, storedBase: unknown): TrainingMemory | null {
  if (!storedOnBaseRun(stored)) return null;
  const base = storedBaseRunSpec(storedBase);
  if (!base) return null;
  try {
    const memory = trainingMemoryOnBase(stored as FinetuneSpec, base);
    return memory && Number.isFinite(memory.bytes) && memory.bytes > 0 && counted(memory.footprint) ? memory : null;
  } catch {
    return null;
  }
}

/** Whether every size of a footprint is a count (a stored topology's layer of, say, negative units would give less). */
const counted = (footprint: ModelFootprint) => Object.values(footprint).every((n) => Number.isSafeInteger(n) && n >= 0);

/**
 * The fields of a base run's stored spec (the output of RunSpecSchema at its submit) that
 * trainingMemoryOnBase reads, each the run's own (not inherited), of the type and in the range
 * the schema gave it, copied into a spec of their own: a built-in pretrain's encoder fields, a
 * `layers-autoencoder` pretrain's encoder topology, a fine-tune's model and its dataset's name.
 * Null for any other spec, or one whose fields no longer read so. A topology is checked for its
 * form here, and its shapes by inferTopology where it is sized.
 */
function storedBaseRunSpec(storedBase: unknown): BaseRunSpec | null {
  const kind = ownField(storedBase, 'kind');
  const model = ownField(storedBase, 'model');
  if (kind === 'pretrain') {
    const type = ownField(model, 'type');
    if (type === 'layers-autoencoder') {
      const encoder = ownField(model, 'encoder');
      return isTopology(encoder) ? ({ kind, model: { type, encoder } } as unknown as PretrainSpec) : null;
    }
    const encoder = type === 'conv-autoencoder' ? storedEncoder(model) : null;
    return encoder ? ({ kind, model: { type, ...encoder } } as unknown as PretrainSpec) : null;
  }
  if (kind !== 'finetune' || ownField(model, 'type') !== 'classifier') return null;
  // Only a classifier trained from scratch is sized by its spec (fineTunedBase).
  if (ownField(model, 'baseRunId') || ownField(model, 'baseModel') || ownField(model, 'importedModel')) return null;
  const name = ownField(ownField(storedBase, 'dataset'), 'name');
  const layers = ownField(model, 'layers');
  const base = ownField(layers, 'base');
  const head = ownField(layers, 'head');
  if (typeof name !== 'string') return null;
  if ((base !== undefined && !isTopology(base)) || (head !== undefined && !isTopology(head))) return null;
  const cutAt = ownField(model, 'cutAt');
  if (cutAt !== undefined && cutAt !== 'conv' && cutAt !== 'latent') return null;
  const encoder = base ? {} : storedEncoder(model);
  const builtInHead = head ? {} : storedHead(model);
  if (!encoder || !builtInHead) return null;
  const copy = { type: 'classifier', baseRunId: null, cutAt, ...encoder, ...builtInHead, layers: { base, head } };
  return { kind, dataset: { name }, model: copy } as unknown as FinetuneSpec;
}

/**
 * The built-in encoder's fields of a stored model (a conv-autoencoder's, a classifier's), each of
 * the type and in the range the schema allows (ENCODER_LIMITS), copied; null otherwise.
 */
function storedEncoder(model: unknown): EncoderArchitecture | null {
  const inputShape = ownField(model, 'inputShape');
  const filters = ownField(model, 'filters');
  const latentDim = ownField(model, 'latentDim');
  const latentActivation = ownField(model, 'latentActivation');
  const { side, blocks, filters: perBlock, latentDim: latent } = ENCODER_LIMITS;
  if (!Array.isArray(inputShape) || inputShape.length !== 3) return null;
  const [height, width, channels] = inputShape as unknown[];
  if (!inRange(height, side) || !inRange(width, side) || (channels !== 1 && channels !== 3)) return null;
  if (!Array.isArray(filters) || !inRange(filters.length, blocks) || !filters.every((f) => inRange(f, perBlock)))
    return null;
  if (!inRange(latentDim, latent) || !LATENT_ACTIVATIONS.includes(latentActivation as never)) return null;
  return {
    inputShape: [height, width, channels] as EncoderArchitecture['inputShape'],
    filters: [...(filters as number[])],
    latentDim,
    latentActivation: latentActivation as EncoderArchitecture['latentActivation'],
  };
}

/** The built-in head's fields of a stored classifier, of the type and in the range the schema allows (HEAD_LIMITS), copied; null otherwise. */
function storedHead(model: unknown): { headNorm: 'batchNorm' | 'none'; headUnits: number; dropout: number } | null {
  const headNorm = ownField(model, 'headNorm');
  const headUnits = ownField(model, 'headUnits');
  const dropout = ownField(model, 'dropout');
  if (headNorm !== 'batchNorm' && headNorm !== 'none') return null;
  if (!inRange(headUnits, HEAD_LIMITS.headUnits)) return null;
  const { min, max } = HEAD_LIMITS.dropout;
  if (typeof dropout !== 'number' || !(dropout >= min && dropout <= max)) return null;
  return { headNorm, headUnits, dropout };
}

/** A Sequential topology's form (its layers' classes and names); its shapes are inferTopology's to check. */
function isTopology(value: unknown): value is LayersTopology {
  const layers = ownField(ownField(value, 'config'), 'layers');
  return (
    ownField(value, 'class_name') === 'Sequential' &&
    Array.isArray(layers) &&
    layers.length > 0 &&
    layers.length <= MAX_TOPOLOGY_LAYERS &&
    layers.every(
      (layer) =>
        typeof ownField(layer, 'class_name') === 'string' &&
        typeof ownField(ownField(layer, 'config'), 'name') === 'string',
    )
  );
}

/** The latent activations RunSpecSchema accepts, read from it once. */
const LATENT_ACTIVATIONS: readonly string[] = ConvAutoencoderSchema.shape.latentActivation.unwrap().options;

/** A field an object (not an array) holds itself, else undefined. */
function ownField(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.hasOwn(value, key)
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

/** A whole number in `range` (bounds included). */
const inRange = (value: unknown, range: { min: number; max: number }): value is number =>
  Number.isSafeInteger(value) && (value as number) >= range.min && (value as number) <= range.max;

/** placementMemoryGb of a spec as a run stores it, by its storedTrainingMemory (given, when the caller has it already). */
export function storedPlacementMemoryGb(
  stored: unknown,
  memory: TrainingMemory | null = storedTrainingMemory(stored),
): number | undefined {
  const declared = (stored as Placement | null)?.resources?.memoryGb;
  return placementMemoryGb({ resources: { memoryGb: typeof declared === 'number' ? declared : undefined } }, memory);
}

const product = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
