import * as tf from '@tensorflow/tfjs';
import { ClassifierSchema, FreezingSchema } from '@trainyard/contracts';
import { cutModel, defaultCutLayer } from './base-model';
import { buildClassifier } from './classifier.model';
import { stageAt, stageLearningRate } from './freezing';

describe('bases cut from other models', () => {
  it('cuts a Keras-style model below its dense top, and a Trainyard classifier below its own head', () => {
    const keras = tf.sequential({ name: 'vgg' });
    keras.add(tf.layers.conv2d({ name: 'block1_conv1', inputShape: [8, 8, 1], filters: 2, kernelSize: 3 }));
    keras.add(tf.layers.flatten({ name: 'flatten' }));
    keras.add(tf.layers.dense({ name: 'fc1', units: 4 }));
    keras.add(tf.layers.dropout({ name: 'drop', rate: 0.5 }));
    keras.add(tf.layers.dense({ name: 'predictions', units: 3, activation: 'softmax' }));
    expect(defaultCutLayer(keras)).toBe('flatten');
    expect(cutModel(keras, 'block1_conv1').outputs[0].shape).toEqual([null, 6, 6, 2]);
    expect(() => cutModel(keras, 'nope')).toThrow(/no layer 'nope' to cut at \(its layers: block1_conv1, flatten/);
    expect(() => cutModel(keras, 'predictions')).toThrow(/keeps a layer named 'predictions'/);

    const spec = ClassifierSchema.parse({ type: 'classifier', inputShape: [8, 8, 1], filters: [2], latentDim: 3, headUnits: 4 });
    const classifier = buildClassifier({ encoder: null, spec, numClasses: 2 });
    expect(defaultCutLayer(classifier)).toBe('latent');
  });

  it('flattens a convolutional cut before the head', () => {
    const conv = tf.sequential({ layers: [tf.layers.conv2d({ name: 'c', inputShape: [8, 8, 1], filters: 2, kernelSize: 3 })] });
    const classifier = buildClassifier({ encoder: conv, spec: ClassifierSchema.parse({ type: 'classifier' }), numClasses: 3 });
    expect(classifier.layers.map((l) => l.name)).toEqual(expect.arrayContaining(['head_flatten', 'predictions']));
    expect(classifier.outputs[0].shape).toEqual([null, 3]);
  });
});

describe('two-stage freezing', () => {
  const freezing = FreezingSchema.parse({ mode: 'two-stage', unfreezeAfterEpochs: 2 });
  it('switches at the start of epoch index unfreezeAfterEpochs, so a checkpoint at that boundary is still stage 1', () => {
    expect(stageAt(freezing, undefined)).toBe(1);
    expect(stageAt(freezing, { epoch: 2, nextBatch: 0 })).toBe(1);
    expect(stageAt(freezing, { epoch: 2, nextBatch: 1 })).toBe(2);
    expect(stageAt(freezing, { epoch: 3, nextBatch: 0 })).toBe(2);
    expect(stageAt({ ...freezing, mode: 'base' }, { epoch: 5, nextBatch: 0 })).toBe(1);
  });
  it('defaults the second learning rate to a tenth of the first', () => {
    const training = { epochs: 5, batchSize: 8, optimizer: 'adam', learningRate: 0.01, validationSplit: 0.1, seed: 1 } as const;
    expect(stageLearningRate(freezing, training, 1)).toBe(0.01);
    expect(stageLearningRate(freezing, training, 2)).toBeCloseTo(0.001);
    expect(stageLearningRate({ ...freezing, fineTuneLearningRate: 1e-5 }, training, 2)).toBe(1e-5);
  });
});
