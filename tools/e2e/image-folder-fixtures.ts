import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { type ObjectStore, storeIOHandler } from '@trainyard/storage';

/** Writes a 3-class folder of 20×20 PNGs (red, green, blue, with jitter) under `prefix`, plus one corrupt file in red. */
export async function writeColourFolder(store: ObjectStore, prefix: string, perClass = 12): Promise<void> {
  const colours: Record<string, [number, number, number]> = {
    red: [220, 30, 30],
    green: [30, 200, 40],
    blue: [30, 40, 220],
  };
  for (const [name, [r, g, b]] of Object.entries(colours)) {
    for (let i = 0; i < perClass; i++) {
      const pixels = Buffer.alloc(20 * 20 * 3);
      for (let p = 0; p < 400; p++) {
        const jitter = ((p * 7 + i * 13) % 40) - 20;
        pixels.set(
          [r + jitter, g + jitter, b + jitter].map((v) => Math.max(0, Math.min(255, v))),
          p * 3,
        );
      }
      await store.put(
        `${prefix}${name}/${i}.png`,
        await sharp(pixels, { raw: { width: 20, height: 20, channels: 3 } })
          .png()
          .toBuffer(),
      );
    }
  }
  await store.put(`${prefix}red/broken.png`, Buffer.from('not a png at all'));
}

/** A tiny "VGG-like" LayersModel (conv blocks, flatten, fc1, predictions) saved as model.json + weights under `prefix`. */
export async function saveTinyVgg(store: ObjectStore, prefix: string): Promise<string> {
  // Seeded kernels: the "pretrained" weights are the same on every run, so the accuracy bar is stable.
  const kernel = (seed: number) => ({ kernelInitializer: tf.initializers.glorotUniform({ seed }) });
  const model = tf.sequential({ name: 'tiny_vgg' });
  model.add(
    tf.layers.conv2d({
      name: 'block1_conv1',
      inputShape: [16, 16, 3],
      filters: 4,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      ...kernel(1),
    }),
  );
  model.add(tf.layers.maxPooling2d({ name: 'block1_pool', poolSize: 2 }));
  model.add(
    tf.layers.conv2d({
      name: 'block2_conv1',
      filters: 8,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      ...kernel(2),
    }),
  );
  model.add(tf.layers.maxPooling2d({ name: 'block2_pool', poolSize: 2 }));
  model.add(tf.layers.flatten({ name: 'flatten' }));
  model.add(tf.layers.dense({ name: 'fc1', units: 16, activation: 'relu', ...kernel(3) }));
  model.add(tf.layers.dense({ name: 'predictions', units: 10, activation: 'softmax', ...kernel(4) }));
  // "Pretrained" convolutions that pass each colour through (centre tap), as a real feature
  // extractor would keep colour; random ReLU features can merge two colours into one.
  const centreTaps = (inputs: number, filters: number) => {
    const kernel = tf.buffer([3, 3, inputs, filters]);
    for (let f = 0; f < filters; f++) kernel.set(1, 1, 1, f % inputs, f);
    return [kernel.toTensor(), tf.zeros([filters])];
  };
  model.getLayer('block1_conv1').setWeights(centreTaps(3, 4));
  model.getLayer('block2_conv1').setWeights(centreTaps(4, 8));
  await model.save(storeIOHandler(store, prefix));
  model.dispose();
  return store.uri(`${prefix}model.json`);
}
