import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import type { io } from '@tensorflow/tfjs-core';
import { LocalObjectStore } from './local-object-store';
import { filesToModelArtifacts, modelArtifactsToFiles } from './model-artifacts';
import { storeIOHandler } from './store-io-handler';

// Real tfjs in the test only (the library imports types): loaded lazily with the cpu backend so
// no native or wasm binary is needed.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const tf: typeof TF = require('@tensorflow/tfjs');

function smallModel(): TF.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.dense({ inputShape: [4], units: 8, activation: 'relu' }));
  model.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

describe('storeIOHandler', () => {
  let root: string;
  let store: LocalObjectStore;

  beforeAll(async () => {
    tf.env().set('PROD', true); // silences the "install tfjs-node" banner
    await tf.setBackend('cpu');
  });
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'trainyard-io-'));
    store = new LocalObjectStore(root);
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('saves a layers model (with optimizer state) and loads it back with identical predictions', async () => {
    const model = smallModel();
    const input = tf.tensor2d([
      [0.1, 0.2, 0.3, 0.4],
      [1, -1, 0.5, 2],
    ]);
    // One step of training so Adam has state worth saving.
    await model.fit(
      input,
      tf.tensor2d([
        [1, 0, 0],
        [0, 0, 1],
      ]),
      { epochs: 1, verbose: 0 },
    );
    const before = (model.predict(input) as TF.Tensor).arraySync();

    const result = await model.save(storeIOHandler(store, 'models/m1/'), { includeOptimizer: true });
    expect(result.modelArtifactsInfo.weightDataBytes).toBeGreaterThan((4 * 8 + 8 + 8 * 3 + 3) * 4);
    expect((await store.list('models/m1/')).map((o) => o.key)).toEqual([
      'models/m1/model.json',
      'models/m1/weights.bin',
    ]);
    const json = JSON.parse((await store.get('models/m1/model.json')).toString());
    expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
    expect(json.format).toBe('layers-model');
    expect(json.trainingConfig.loss).toBe('categorical_crossentropy');

    const loaded = await tf.loadLayersModel(storeIOHandler(store, 'models/m1/'));
    const after = (loaded.predict(input) as TF.Tensor).arraySync();
    expect(after).toEqual(before);
    expect(loaded.optimizer?.getClassName()).toBe('Adam');
    tf.dispose([input]);
  });

  it('concatenates sharded weightData and round-trips user metadata', async () => {
    const artifacts: io.ModelArtifacts = {
      modelTopology: { class_name: 'Sequential' },
      format: 'layers-model',
      generatedBy: 'test',
      convertedBy: null,
      weightSpecs: [
        { name: 'a', shape: [2], dtype: 'float32' },
        { name: 'b', shape: [1], dtype: 'float32' },
      ],
      weightData: [new Float32Array([1, 2]).buffer, new Float32Array([3]).buffer],
      userDefinedMetadata: { epoch: 3 },
    };
    const handler = storeIOHandler(store, 'shards/');
    await handler.save!(artifacts);
    const loaded = await handler.load!();
    expect(new Float32Array(loaded.weightData as ArrayBuffer)).toEqual(new Float32Array([1, 2, 3]));
    expect(loaded.weightSpecs).toEqual(artifacts.weightSpecs);
    expect(loaded.userDefinedMetadata).toEqual({ epoch: 3 });
    expect(loaded.trainingConfig).toBeUndefined();
  });

  it('maps artifacts to files under a name and back', () => {
    const artifacts: io.ModelArtifacts = {
      modelTopology: { x: 1 },
      weightSpecs: [{ name: 'w', shape: [2], dtype: 'float32' }],
      weightData: new Float32Array([5, 6]).buffer,
    };
    const files = modelArtifactsToFiles('encoder', artifacts);
    expect(Object.keys(files).sort()).toEqual(['encoder/model.json', 'encoder/weights.bin']);
    const back = filesToModelArtifacts('encoder', files);
    expect(back.modelTopology).toEqual({ x: 1 });
    expect(new Float32Array(back.weightData as ArrayBuffer)).toEqual(new Float32Array([5, 6]));
    expect(() => filesToModelArtifacts('head', files)).toThrow(/head\/model\.json is missing/);
  });
});
