import { parseRunSpec } from '@trainyard/contracts';
import { demoSpecs } from './demo-specs';

describe('demoSpecs', () => {
  const { pretrain, finetune } = demoSpecs();

  it('are specs the API accepts (a demo that submits one it refuses fails on a fresh clone)', () => {
    for (const spec of [pretrain, finetune(null), finetune('00000000-0000-4000-8000-000000000000')])
      expect(parseRunSpec(spec)).toMatchObject({ ok: true });
  });

  it("pretrain with the experiment's best recipe, and fine-tune both arms with the same encoder", () => {
    const parsed = parseRunSpec(pretrain);
    if (!parsed.ok || parsed.spec.kind !== 'pretrain' || parsed.spec.model.type !== 'conv-autoencoder')
      throw new Error('the demo pretrain is not a conv autoencoder');
    expect(parsed.spec.model).toMatchObject({ loss: 'binaryCrossentropy', latentActivation: 'linear' });
    expect(parsed.spec.training.earlyStopping).toMatchObject({ metric: 'val_mse' });
    const modelOf = (baseRunId: string | null) => {
      const run = parseRunSpec(finetune(baseRunId));
      if (!run.ok || run.spec.kind !== 'finetune') throw new Error('the demo fine-tune does not parse');
      return { ...run.spec.model, baseRunId: undefined };
    };
    expect(modelOf(null)).toEqual(modelOf('00000000-0000-4000-8000-000000000000'));
  });
});
