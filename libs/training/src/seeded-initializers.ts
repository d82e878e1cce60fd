import * as tf from '@tensorflow/tfjs';

/**
 * Kernel initializers derived from the run's seed, one seed per layer in build order, so that the
 * same spec builds the same starting weights (tfjs's default Glorot-uniform is unseeded). Without a
 * seed the layers keep tfjs's defaults. Dropout is deliberately not seeded here: a seeded tfjs
 * dropout layer draws the same mask on every batch.
 */
export function seededKernels(
  seed: number | undefined,
): () => { kernelInitializer?: ReturnType<typeof tf.initializers.glorotUniform> } {
  let layer = 0;
  return () => {
    if (seed === undefined) return {};
    layer += 1;
    return { kernelInitializer: tf.initializers.glorotUniform({ seed: (seed * 7919 + layer * 104729) % 2 ** 31 }) };
  };
}
