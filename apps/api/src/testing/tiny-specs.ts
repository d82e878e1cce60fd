const encoder = { inputShape: [16, 16, 1], filters: [4], latentDim: 8 };

/**
 * The smallest specs the API takes (16×16 synthetic shapes, 8 a class, one epoch): bodies for
 * tests of routes, not of training. `dataset` adds to the synthetic-shapes dataset.
 */
export function tinySpecs(dataset: Record<string, unknown> = {}) {
  const shapes = { name: 'synthetic-shapes', imageSize: 16, perClass: 8, ...dataset };
  return {
    /** The architecture both use, for bodies that spell their own model out. */
    encoder,
    pretrain: (name: string) => ({
      kind: 'pretrain',
      name,
      dataset: shapes,
      model: { type: 'conv-autoencoder', ...encoder },
      training: { epochs: 1 },
    }),
    finetune: (name: string, extra: Record<string, unknown> = {}) => ({
      kind: 'finetune',
      name,
      dataset: shapes,
      model: { type: 'classifier', ...encoder },
      training: { epochs: 1 },
      ...extra,
    }),
  };
}
