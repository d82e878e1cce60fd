// What a TypeScript user of @trainyard/client sees, checked at the type level: sample specs and
// answers assigned to the package's types and read back into plain ones, the relations between its
// types, and values it must refuse (`@ts-expect-error`: a type that became `any`, or lost or widened
// a field, fails to compile). `npm run typecheck` compiles this file against the sources;
// tools/client-package.int-spec.ts compiles it again in a consumer, against the packed package's
// declarations, so the declarations cannot say less or other than the sources.
import type {
  DatasetSpec,
  FinetuneSpecInput,
  KindImplied,
  PipelineSpecInput,
  PretrainSpecInput,
  ProblemDetails,
  RunDetailView,
  RunEvent,
  RunKind,
  RunListItemView,
  RunListPage,
  RunSpec,
  RunSpecInput,
  RunStatus,
  RunView,
  SweepSpecInput,
  TrainyardClient,
  TrainyardClientCore,
} from '@trainyard/client';

/** True when X and Y are the same type (not merely assignable). */
type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false;
type IsAny<T> = 0 extends 1 & T ? true : false;
type Expect<T extends true> = T;

export type Checks = [
  Expect<Equal<IsAny<RunSpecInput>, false>>,
  Expect<Equal<IsAny<RunSpec>, false>>,
  Expect<Equal<IsAny<RunDetailView>, false>>,
  Expect<Equal<IsAny<RunEvent>, false>>,
  Expect<Equal<IsAny<PipelineSpecInput>, false>>,
  Expect<Equal<IsAny<SweepSpecInput>, false>>,
  Expect<Equal<RunSpec['kind'], 'pretrain' | 'finetune' | 'evaluate'>>,
  Expect<Equal<RunView['spec'], RunSpec>>,
  Expect<Equal<RunDetailView['status'], RunStatus>>,
  Expect<Equal<RunListItemView['kind'], RunKind>>,
  Expect<Equal<RunListPage['items'][number], RunListItemView>>,
  Expect<Equal<Parameters<TrainyardClient['submit']>[0], RunSpecInput>>,
  Expect<Equal<Awaited<ReturnType<TrainyardClient['run']>>, RunDetailView>>,
  Expect<Equal<Awaited<ReturnType<TrainyardClientCore['run']>>, RunDetailView>>,
  Expect<Equal<KindImplied<FinetuneSpecInput>['kind'], 'finetune' | undefined>>,
  Expect<Equal<Extract<RunSpecInput, { kind: 'pretrain' }>, PretrainSpecInput>>,
  Expect<Equal<Extract<DatasetSpec, { name: 'mnist' }>['name'], 'mnist'>>,
  Expect<Equal<IsAny<EncoderLayer>, false>>,
  Expect<Equal<'Conv2D' extends EncoderLayer['class_name'] ? true : false, true>>,
  Expect<Equal<'Conv3D' extends EncoderLayer['class_name'] ? true : false, false>>,
];

/** A layer of a pretrain's own encoder, as a view's spec holds it. */
type EncoderLayer = Extract<
  Extract<RunSpec, { kind: 'pretrain' }>['model'],
  { type: 'layers-autoencoder' }
>['encoder']['config']['layers'][number];

/** A Sequential topology as `model.summary()`'s JSON writes it (the form `layers-autoencoder` takes). */
const encoder = {
  class_name: 'Sequential',
  config: {
    name: 'encoder',
    layers: [
      {
        class_name: 'Conv2D',
        config: {
          filters: 8,
          kernel_size: 3,
          activation: 'relu',
          padding: 'same',
          batch_input_shape: [null, 28, 28, 1],
        },
      },
      { class_name: 'MaxPooling2D', config: { pool_size: 2 } },
    ],
  },
} as const;

export const pretrain: PretrainSpecInput = {
  kind: 'pretrain',
  name: 'ae',
  dataset: { name: 'mnist', limit: 9000, testPerClass: 100 },
  model: {
    type: 'layers-autoencoder',
    encoder,
    decoder: {
      class_name: 'Sequential',
      config: {
        layers: [
          { class_name: 'UpSampling2D', config: { size: 2 } },
          { class_name: 'Conv2D', config: { filters: 1, kernel_size: 3, activation: 'sigmoid', padding: 'same' } },
        ],
      },
    },
    loss: 'binaryCrossentropy',
  },
  training: {
    epochs: 2,
    batchSize: 32,
    learningRate: 0.001,
    seed: 7,
    earlyStopping: { metric: 'val_mse', patience: 2 },
  },
  checkpoint: { everyEpochs: 1 },
  resources: { accelerator: 'gpu' },
};

export const finetune: RunSpecInput = {
  kind: 'finetune',
  name: 'ft',
  dataset: { name: 'mnist', labelsPerClass: 100 },
  model: {
    type: 'classifier',
    baseRunId: '00000000-0000-4000-8000-000000000000',
    headUnits: 32,
    dropout: 0.2,
    freezing: { mode: 'base' },
  },
  augmentation: { rotationRange: 10, horizontalFlip: true, zoomRange: [0.9, 1.1], fillMode: 'nearest' },
  training: { epochs: 8 },
};

export const evaluate: RunSpecInput = {
  kind: 'evaluate',
  name: 'ev',
  checkpoint: { runId: '00000000-0000-4000-8000-000000000000', sequence: 3 },
  split: 'test',
};

export const pipeline: PipelineSpecInput = {
  name: 'p',
  pretrain: { name: 'ae', dataset: { name: 'mnist' } },
  finetunes: [{ name: 'ft', dataset: { name: 'mnist', labelsPerClass: 10 } }],
};

export const sweep: SweepSpecInput = {
  name: 's',
  strategy: 'grid',
  base: { name: 'b', dataset: { name: 'mnist' } },
  parameters: { 'training.learningRate': [0.01, 0.001] },
};

/** An answer read back into plain types: the fields a program reads keep their exact types. */
export function describe(view: RunDetailView): string[] {
  const out: string[] = [view.id, view.status, view.name, view.createdAt, view.endedAt ?? '-', ...view.tags];
  const spec = view.spec;
  if (spec.kind === 'pretrain') {
    const epochs: number | undefined = spec.training.epochs;
    const everyEpochs: number = spec.checkpoint.everyEpochs;
    out.push(String(epochs), String(everyEpochs));
    if (spec.model.type === 'layers-autoencoder') {
      const topology: { class_name: 'Sequential'; config: { layers: readonly { class_name: string }[] } } =
        spec.model.encoder;
      out.push(...topology.config.layers.map((layer) => layer.class_name));
    } else {
      const filters: number[] = spec.model.filters;
      const shape: [number, number, number] = spec.model.inputShape;
      out.push(filters.join(','), shape.join('x'));
    }
  } else if (spec.kind === 'finetune') {
    const dropout: number = spec.model.dropout;
    const flip: boolean | undefined = spec.augmentation?.horizontalFlip;
    out.push(String(dropout), String(flip), spec.model.baseRunId ?? 'scratch');
  } else {
    const runId: string = spec.checkpoint.runId;
    out.push(runId, spec.split);
  }
  for (const attempt of view.attempts) out.push(String(attempt.number), attempt.outcome);
  for (const summary of view.summaries) out.push(summary.name, String(summary.best ?? NaN));
  for (const checkpoint of view.checkpoints) out.push(String(checkpoint.sequence));
  return out;
}

export const listed: RunListPage = {
  items: [
    {
      id: '00000000-0000-4000-8000-000000000000',
      kind: 'FINETUNE',
      status: 'SUCCEEDED',
      name: 'ft',
      baseRunId: null,
      failureReason: null,
      cancelRequested: false,
      progress: null,
      result: null,
      dataReport: null,
      backend: 'wasm',
      createdAt: '2026-12-07T04:00:00.000Z',
      updatedAt: '2026-12-07T04:00:00.000Z',
      startedAt: null,
      endedAt: null,
      currentAttemptId: null,
      baseCheckpointId: null,
      pipelineId: null,
      held: false,
      sweepId: null,
      sweepParams: null,
      project: 'default',
      tags: ['a'],
      notes: null,
      archivedAt: null,
      metricsCompactedAt: null,
      summaries: [],
      baseRunName: null,
    },
  ],
  nextCursor: null,
};

export const problem: ProblemDetails = {
  type: 'about:blank',
  title: 'Bad Request',
  status: 400,
  detail: 'Invalid run spec',
  statusCode: 400,
  error: 'Bad Request',
  message: 'Invalid run spec',
  errors: [{ field: 'training.epochs', message: 'Too small' }],
};

// What the API would refuse, refused by the types too.
// @ts-expect-error a run kind that is none
export const wrongKind: RunSpecInput = { kind: 'pretrian', name: 'x', dataset: { name: 'mnist' } };
// @ts-expect-error a field no spec has (the schemas are strict)
export const unknownField: PretrainSpecInput = { kind: 'pretrain', name: 'x', dataset: { name: 'mnist' }, epochs: 3 };
// @ts-expect-error epochs is a number
export const epochsText: FinetuneSpecInput['training'] = { epochs: '3' };
// @ts-expect-error an answer's status is one of RUN_STATUSES
export const badStatus: RunStatus = 'DONE';
export function readsNoSuchField(view: RunDetailView): unknown {
  // @ts-expect-error a view has no field the contract does not declare
  return view.spec.kind === 'pretrain' && view.spec.model.latentSize;
}
