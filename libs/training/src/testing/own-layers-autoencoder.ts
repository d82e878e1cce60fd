/**
 * The own `layers-autoencoder` measured on the wasm backend (docs/training.md, "Training memory":
 * 64×64×3, conv 48 (3×3, same) → max pool → upsample ×2 → conv 3): calibrated by
 * tools/memory/calibrate-wasm.ts, and trapped on purpose by wasm-memory.int-spec.ts at a batch
 * past what it holds. One home for both, so the trap the test relies on is the model measured.
 */
export const OWN_LAYERS_AUTOENCODER = {
  type: 'layers-autoencoder',
  encoder: {
    class_name: 'Sequential',
    config: {
      layers: [
        {
          class_name: 'Conv2D',
          config: {
            name: 'conv',
            batch_input_shape: [null, 64, 64, 3],
            filters: 48,
            kernel_size: 3,
            padding: 'same',
            activation: 'relu',
          },
        },
        { class_name: 'MaxPooling2D', config: { name: 'pool', pool_size: 2 } },
      ],
    },
  },
  decoder: {
    class_name: 'Sequential',
    config: {
      layers: [
        { class_name: 'UpSampling2D', config: { name: 'up', size: [2, 2] } },
        {
          class_name: 'Conv2D',
          config: { name: 'out', filters: 3, kernel_size: 3, padding: 'same', activation: 'sigmoid' },
        },
      ],
    },
  },
} as const;
