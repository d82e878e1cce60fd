import type { RunSpecInput } from '@trainyard/contracts';

/**
 * The demo's experiment, sized to finish in a few minutes on two CPU cores: the pretrain reads
 * 9,000 of the 60,000 MNIST training digits (`limit`), every run tests on the first 100 official
 * test digits of each class. The same encoder architecture is used by the pretrain and by the
 * from-scratch fine-tune, so the comparison is fair. The pretrain is the experiment's best recipe
 * (docs/experiments/pretraining.md): binary cross-entropy, a linear latent, stopped when val_mse
 * stops improving; the fine-tunes cut it after the convolutions with a batch-normalised head input
 * (the defaults).
 */
export function demoSpecs() {
  const encoder = { inputShape: [28, 28, 1] as [number, number, 1], filters: [16, 32], latentDim: 64 };
  const pretrain: RunSpecInput = {
    kind: 'pretrain',
    name: 'demo: mnist autoencoder (no labels)',
    dataset: { name: 'mnist', testPerClass: 100, limit: 9000 },
    model: { type: 'conv-autoencoder', ...encoder, loss: 'binaryCrossentropy', latentActivation: 'linear' },
    training: {
      epochs: 5,
      batchSize: 32,
      learningRate: 1e-3,
      validationSplit: 0.05,
      seed: 7,
      earlyStopping: { metric: 'val_mse', patience: 2 },
    },
    checkpoint: { everyEpochs: 1 },
  };
  const finetune = (baseRunId: string | null): RunSpecInput => ({
    kind: 'finetune',
    name: baseRunId ? 'demo: fine-tune from pretrain (100 labels/class)' : 'demo: from scratch (100 labels/class)',
    dataset: { name: 'mnist', testPerClass: 100, labelsPerClass: 100 },
    model: { type: 'classifier', baseRunId, ...encoder, headUnits: 0, dropout: 0.2, freezing: { mode: 'none' } },
    training: { epochs: 15, batchSize: 32, learningRate: 1e-3, validationSplit: 0.1, seed: 7 },
    checkpoint: { everyEpochs: 5 },
  });
  return { pretrain, finetune };
}
