import { PipelineSpecSchema, type PipelineSpecInput } from './pipeline-spec.schema';

const shapes = { name: 'synthetic-shapes' as const, imageSize: 16, perClass: 20 };
const valid: PipelineSpecInput = {
  name: 'shapes pipeline',
  pretrain: {
    name: 'ae',
    dataset: shapes,
    model: { type: 'conv-autoencoder', inputShape: [16, 16, 1], filters: [4], latentDim: 8 },
  },
  finetunes: [
    { name: 'ft 5', dataset: { ...shapes, labelsPerClass: 5 } },
    { kind: 'finetune', name: 'ft all', dataset: shapes },
  ],
  evaluations: [{ split: 'test' }],
};

function paths(input: unknown): string[] {
  const parsed = PipelineSpecSchema.safeParse(input);
  return parsed.success ? [] : parsed.error.issues.map((i) => i.path.join('.'));
}

describe('PipelineSpecSchema', () => {
  it('fills in the kinds and every default of the steps', () => {
    const spec = PipelineSpecSchema.parse(valid);
    expect(spec.pretrain).toMatchObject({ kind: 'pretrain', training: { epochs: 5 } });
    expect(spec.finetunes.map((f) => [f.kind, f.model.baseRunId])).toEqual([
      ['finetune', null],
      ['finetune', null],
    ]);
    expect(spec.evaluations).toEqual([{ split: 'test', topK: 5, batchSize: 64 }]);
    expect(PipelineSpecSchema.parse({ ...valid, evaluations: undefined }).evaluations).toEqual([]);
  });

  it("types a client's steps as pretrain and fine-tune specs, their kinds optional as the schema fills them in", () => {
    // The compiler's half is checked by `npm run typecheck`: an @ts-expect-error whose line compiles fails it.
    const written: PipelineSpecInput = {
      ...valid,
      pretrain: { ...valid.pretrain, kind: 'pretrain' },
      finetunes: [{ kind: 'finetune', name: 'ft', dataset: shapes }],
    };
    const pretrainNotASpec: PipelineSpecInput = {
      ...valid,
      // @ts-expect-error a pretrain is a pretrain spec, not any value
      pretrain: 'oops',
    };
    const finetunesNotSpecs: PipelineSpecInput = {
      ...valid,
      // @ts-expect-error each fine-tune is a fine-tune spec
      finetunes: [1, 2, 3],
    };
    const pretrainOtherKind: PipelineSpecInput = {
      ...valid,
      // @ts-expect-error a pretrain that names its kind names a pretrain's
      pretrain: { ...valid.pretrain, kind: 'finetune' },
    };
    const finetuneOtherKind: PipelineSpecInput = {
      ...valid,
      // @ts-expect-error a fine-tune that names its kind names a fine-tune's
      finetunes: [{ kind: 'evaluate', name: 'ft', dataset: shapes }],
    };
    expect(PipelineSpecSchema.safeParse(written).success).toBe(true);
    expect([pretrainNotASpec, finetunesNotSpecs, pretrainOtherKind, finetuneOtherKind].map((p) => paths(p)[0])).toEqual(
      ['pretrain', 'finetunes.0', 'pretrain.kind', 'finetunes.0.kind'],
    );
  });

  it('validates every step at submit, naming the step and field', () => {
    expect(
      paths({
        ...valid,
        pretrain: { ...(valid.pretrain as object), training: { learningRate: 3 } },
        finetunes: [valid.finetunes[0], { name: 'x', dataset: shapes, training: { epochs: 0 } }],
        evaluations: [{ split: 'holdout' }],
      }),
    ).toEqual(['pretrain.training.learningRate', 'finetunes.1.training.epochs', 'evaluations.0.split']);
  });

  it("refuses a base on a fine-tune: its base is the pipeline's pretrain", () => {
    const withBase = {
      ...valid,
      finetunes: [
        {
          name: 'x',
          dataset: shapes,
          model: { type: 'classifier', baseRunId: '00000000-0000-4000-8000-000000000000' },
        },
      ],
    };
    expect(paths(withBase)).toEqual(['finetunes.0.model.baseRunId']);
  });

  it("refuses a fine-tune whose images do not fit the pretrain's encoder", () => {
    expect(paths({ ...valid, finetunes: [{ name: 'mnist', dataset: { name: 'mnist' } }] })).toEqual([
      'finetunes.0.dataset',
    ]);
  });

  it('refuses an evaluation on images the classifiers cannot take, or on another number of classes, before anything trains', () => {
    for (const dataset of [
      { name: 'synthetic-shapes', imageSize: 32 },
      { name: 'synthetic-shapes', imageSize: 16, channels: 3 },
      { name: 'mnist', testPerClass: 5 },
    ]) {
      expect(paths({ ...valid, evaluations: [{ split: 'test' }, { split: 'validation', dataset }] })).toEqual([
        'evaluations.1.dataset',
      ]);
    }
    // 16×16 grey MNIST would fit a 16×16 encoder, not the shapes' classifiers: its 10 classes are not theirs.
    const mnistPipeline = {
      ...valid,
      pretrain: {
        ...valid.pretrain,
        dataset: { name: 'mnist' },
        model: { type: 'conv-autoencoder', inputShape: [28, 28, 1] },
      },
      finetunes: [{ name: 'ft', dataset: { name: 'mnist', labelsPerClass: 10 } }],
    };
    expect(paths({ ...mnistPipeline, evaluations: [{ dataset: { name: 'mnist', testPerClass: 5 } }] })).toEqual([]);
    expect(paths({ ...valid, evaluations: [{ dataset: { ...shapes, testPerClass: 3 } }] })).toEqual([]);
  });

  it('refuses an empty pipeline and unknown fields', () => {
    expect(paths({ ...valid, finetunes: [] })).toEqual(['finetunes']);
    expect(paths({ ...valid, retries: 3 })).toEqual(['']);
  });
});

describe('PipelineSpecSchema bounds its fan-out (issue #9)', () => {
  it('refuses more fine-tunes or evaluations than allowed, quickly, without cross-checking them', () => {
    const started = performance.now();
    expect(
      paths({ ...valid, finetunes: Array.from({ length: 5000 }, (_, i) => ({ name: `ft ${i}`, dataset: shapes })) }),
    ).toEqual(['finetunes']);
    expect(paths({ ...valid, evaluations: Array.from({ length: 5 }, () => ({})) })).toEqual(['evaluations']);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('refuses control characters in every name', () => {
    expect(paths({ ...valid, name: 'p\u0000' })).toEqual(['name']);
    expect(paths({ ...valid, evaluations: [{ name: 'eval\r\nfake' }] })).toEqual(['evaluations.0.name']);
  });
});
