import { FinetuneSpecSchema } from '@trainyard/contracts';
import { loadDataset } from '@trainyard/datasets';
import { initEngine } from '@trainyard/engine';
import { DivergedError } from './diverged.error';
import { runFinetune } from './finetune';
import { recordingHooks } from './recording-hooks.testing';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

const hooks = recordingHooks();

/**
 * Categorical cross-entropy clips predictions, so a fine-tune whose weights went NaN reports a
 * finite loss (about 16.1) forever: divergence has to be seen in the weights themselves.
 */
describe('divergence of a fine-tune', () => {
  it('fails with "diverged at epoch E, step S" once its weights are not finite, though its loss stays finite', async () => {
    const spec = FinetuneSpecSchema.parse({
      kind: 'finetune',
      name: 'nan weights',
      dataset: { name: 'synthetic-shapes', imageSize: 16, perClass: 8, testPerClass: 4 },
      model: { type: 'classifier', inputShape: [16, 16, 1], filters: [4], latentDim: 8, headUnits: 8 },
      training: { epochs: 3, batchSize: 8, learningRate: 0.01, validationSplit: 0.25, seed: 1 },
    });
    const data = loadDataset(spec.dataset, { seed: 1, labeled: true });
    // A NaN pixel in every image (wherever the validation split falls): the first batch's gradient
    // turns the weights NaN.
    for (let i = 0; i < data.train.count; i++) data.train.images[i * 16 * 16 + 5] = NaN;
    const losses: number[] = [];
    const outcome = runFinetune(data, spec, null, {
      ...hooks,
      onMetrics: (points) => losses.push(...points.filter((p) => p.name === 'batch_loss').map((p) => p.value)),
    });
    await expect(outcome).rejects.toThrow(DivergedError);
    await expect(runFinetune(data, spec, null, hooks)).rejects.toThrow(
      /diverged at epoch 1, step \d+ \(non-finite weights\)/,
    );
    expect(losses.every(Number.isFinite)).toBe(true);
  });
});
