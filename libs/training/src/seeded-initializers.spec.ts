import * as tf from '@tensorflow/tfjs';
import { buildClassifier } from './classifier.model';
import { buildConvAutoencoder } from './conv-autoencoder.model';

const arch = { inputShape: [16, 16, 1] as [number, number, 1], filters: [4, 8], latentDim: 8 };
const weightsOf = (model: tf.LayersModel) => model.getWeights().map((w) => Array.from(w.dataSync()));

describe('seeded starting weights', () => {
  beforeAll(() => tf.setBackend('cpu'));

  it('builds the same autoencoder for the same seed, and a different one for another', () => {
    const a = weightsOf(buildConvAutoencoder(arch, 5).autoencoder);
    const b = weightsOf(buildConvAutoencoder(arch, 5).autoencoder);
    const c = weightsOf(buildConvAutoencoder(arch, 6).autoencoder);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('gives every layer its own draw', () => {
    const [conv1, , conv2] = weightsOf(buildConvAutoencoder(arch, 5).autoencoder);
    expect(conv1.slice(0, 4)).not.toEqual(conv2.slice(0, 4));
  });

  it('seeds a from-scratch classifier, encoder and head', () => {
    const spec = {
      type: 'classifier',
      baseRunId: null,
      ...arch,
      latentActivation: 'relu',
      headNorm: 'batchNorm',
      headUnits: 4,
      dropout: 0,
      freezeBase: false,
      freezing: { mode: 'none', unfreezeTopLayers: 2, unfreezeAfterEpochs: 1 },
    } as const;
    const a = weightsOf(buildClassifier({ encoder: null, spec, numClasses: 3, seed: 9 }));
    expect(weightsOf(buildClassifier({ encoder: null, spec, numClasses: 3, seed: 9 }))).toEqual(a);
  });
});
