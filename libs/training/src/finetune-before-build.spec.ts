import * as tf from '@tensorflow/tfjs';
import { FinetuneSpecSchema } from '@trainyard/contracts';
import { loadDataset } from '@trainyard/datasets';
import { cutModel } from './base-model';
import { buildEncoder } from './conv-autoencoder.model';
import { runFinetune } from './finetune';
import { InvalidTrainingInputError } from './invalid-training-input.error';
import { recordingHooks } from './recording-hooks.testing';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const dataset = { name: 'synthetic-shapes', imageSize: 16, perClass: 4, testPerClass: 1 } as const;

/**
 * A fine-tune refuses what does not fit before it allocates anything: before, the classifier was
 * built first (its weights allocated, and left behind by the failed attempt) and only then held
 * against the images.
 */
describe('runFinetune, before it builds the classifier', () => {
  it('refuses images the fresh encoder does not take (28×28×1, the default specs stored before kept, which the API lets through)', async () => {
    // On 16×16 shapes; 256 filters: 200,704 values a digit-sized map.
    const spec = FinetuneSpecSchema.parse({
      kind: 'finetune',
      name: 'x',
      dataset,
      model: { type: 'classifier', inputShape: [28, 28, 1], filters: [256, 256] },
    });
    const data = loadDataset(spec.dataset, { seed: 1, labeled: true });
    const before = tf.memory().numTensors;
    const attempt = runFinetune(data, spec, null, recordingHooks());
    await expect(attempt).rejects.toThrow(InvalidTrainingInputError);
    await expect(attempt).rejects.toThrow('model.inputShape expects images 28x28x1 but the dataset has 16x16x1');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a built-in head past the limits on a base only the training process reads, naming the field', async () => {
    // A run's encoder cut after its convolutions: 64×64×3 → 32×32×32 = 32,768 features; × 4,096 hidden units is 134M.
    const encoder = cutModel(buildEncoder({ inputShape: [64, 64, 3], filters: [32], latentDim: 2 }, 1), 'enc_pool1');
    const spec = FinetuneSpecSchema.parse({
      kind: 'finetune',
      name: 'x',
      dataset: { ...dataset, imageSize: 64, channels: 3 },
      model: { type: 'classifier', baseRunId: '6f1c1a0e-2b7d-4c51-9a77-0d7f2f6f9d11', headUnits: 4096 },
    });
    const data = loadDataset(spec.dataset, { seed: 1, labeled: true });
    const before = tf.memory().numTensors;
    const attempt = runFinetune(data, spec, encoder, recordingHooks());
    await expect(attempt).rejects.toThrow(
      /^model\.headUnits: the built-in head's Dense 'head_hidden': Brings the model to 134,352,896 parameters; .*fed the base's features \[32, 32, 32\]/,
    );
    expect(tf.memory().numTensors).toBe(before);
    encoder.dispose();
  });
});
