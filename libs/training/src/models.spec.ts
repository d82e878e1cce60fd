import * as tf from '@tensorflow/tfjs';
import { ClassifierSchema, ConvAutoencoderSchema } from '@trainyard/contracts';
import { buildClassifier, calibrateHeadNorm } from './classifier.model';
import { buildConvAutoencoder } from './conv-autoencoder.model';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('models', () => {
  const aeSpec = ConvAutoencoderSchema.parse({
    type: 'conv-autoencoder',
    inputShape: [16, 16, 1],
    filters: [4, 8],
    latentDim: 8,
  });

  it('builds an autoencoder back to the input shape and an encoder to the latent size', () => {
    const { autoencoder, encoder } = buildConvAutoencoder(aeSpec);
    expect(autoencoder.outputs[0].shape).toEqual([null, 16, 16, 1]);
    expect(encoder.outputs[0].shape).toEqual([null, 8]);
    expect(encoder.getLayer('latent')).toBeDefined();
  });

  it('crops back to input sizes that are not a multiple of 2^blocks, for 3 channels too', () => {
    const { autoencoder } = buildConvAutoencoder({ inputShape: [13, 10, 3], filters: [2, 2], latentDim: 4 });
    expect(autoencoder.outputs[0].shape).toEqual([null, 13, 10, 3]);
    const { autoencoder: mnist } = buildConvAutoencoder({ inputShape: [28, 28, 1], filters: [16, 32], latentDim: 64 });
    expect(mnist.outputs[0].shape).toEqual([null, 28, 28, 1]);
  });

  it('shares the encoder layers (and weights) with the autoencoder', () => {
    const { autoencoder, encoder } = buildConvAutoencoder(aeSpec);
    for (const layer of encoder.layers) expect(autoencoder.layers).toContain(layer);
    const kernel = encoder.getLayer('latent').getWeights()[0];
    encoder.getLayer('latent').setWeights([tf.onesLike(kernel), encoder.getLayer('latent').getWeights()[1]]);
    expect(autoencoder.getLayer('latent').getWeights()[0].sum().dataSync()[0]).toBe(kernel.size);
  });

  it('puts a softmax head on a given encoder, freezing it on request', () => {
    const { encoder } = buildConvAutoencoder(aeSpec);
    const spec = ClassifierSchema.parse({ type: 'classifier', headUnits: 6, dropout: 0.2, freezeBase: true });
    const classifier = buildClassifier({ encoder, spec, numClasses: 4 });
    expect(classifier.outputs[0].shape).toEqual([null, 4]);
    expect(classifier.layers.map((l) => l.name)).toEqual(
      expect.arrayContaining(['latent', 'head_hidden', 'head_dropout', 'predictions']),
    );
    expect(encoder.layers.every((l) => !l.trainable)).toBe(true);
    // Only the head's weights remain trainable (the batch norm's moving statistics never are).
    expect(classifier.trainableWeights.map((w) => w.originalName).sort()).toEqual([
      'head_hidden/bias',
      'head_hidden/kernel',
      'head_norm/beta',
      'head_norm/gamma',
      'predictions/bias',
      'predictions/kernel',
    ]);
    const out = classifier.predict(tf.zeros([2, 16, 16, 1])) as tf.Tensor;
    expect(out.sum(1).dataSync()[0]).toBeCloseTo(1);
  });

  it('builds a fresh encoder from the spec when there is no base, cut where a pretrained one would be', () => {
    const spec = ClassifierSchema.parse({ type: 'classifier', inputShape: [16, 16, 3], filters: [4], latentDim: 5 });
    const classifier = buildClassifier({ encoder: null, spec, numClasses: 3 });
    expect(classifier.inputs[0].shape).toEqual([null, 16, 16, 3]);
    expect(classifier.layers.map((l) => l.name)).toEqual([
      'image',
      'enc_conv1',
      'enc_pool1',
      'head_flatten',
      'head_norm',
      'predictions',
    ]);
    expect(classifier.getLayer('head_flatten').outputShape).toEqual([null, 8 * 8 * 4]);
    const latent = buildClassifier({
      encoder: null,
      spec: { ...spec, cutAt: 'latent', headNorm: 'none' },
      numClasses: 3,
    });
    expect(latent.layers.map((l) => l.name)).toEqual([
      'image',
      'enc_conv1',
      'enc_pool1',
      'enc_flatten',
      'latent',
      'predictions',
    ]);
    expect(latent.getLayer('latent').outputShape).toEqual([null, 5]);
  });

  it('gives the latent layer the activation asked for', () => {
    const relu = buildConvAutoencoder(aeSpec).encoder.getLayer('latent').getConfig();
    const linear = buildConvAutoencoder({ ...aeSpec, latentActivation: 'linear' })
      .encoder.getLayer('latent')
      .getConfig();
    expect([relu.activation, linear.activation]).toEqual(['relu', 'linear']);
  });

  it("sets the head's batch-norm statistics to the base's features', not 0 and 1", async () => {
    const spec = ClassifierSchema.parse({ type: 'classifier', inputShape: [16, 16, 1], filters: [4], latentDim: 5 });
    const classifier = buildClassifier({ encoder: null, spec, numClasses: 3, seed: 1 });
    const count = 6;
    const images = Float32Array.from({ length: count * 256 }, (_, i) => ((i * 7919) % 256) / 255);
    await calibrateHeadNorm(classifier, { images, labels: new Int32Array(count), count }, [16, 16, 1]);
    const features = tf.model({
      inputs: classifier.inputs,
      outputs: classifier.getLayer('head_flatten').output as tf.SymbolicTensor,
    });
    const { mean, variance } = tf.moments(features.predict(tf.tensor4d(images, [count, 16, 16, 1])) as tf.Tensor, 0);
    const [, , movingMean, movingVariance] = classifier.getLayer('head_norm').getWeights();
    expect(Array.from(movingMean.dataSync())).toEqual(Array.from(mean.dataSync()).map((v) => expect.closeTo(v, 5)));
    expect(Array.from(movingVariance.dataSync())).toEqual(
      Array.from(variance.dataSync()).map((v) => expect.closeTo(v, 5)),
    );
    expect(movingVariance.dataSync().some((v) => Math.abs(v - 1) > 0.01)).toBe(true);
  });
});
