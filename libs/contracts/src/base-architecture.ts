import { ENCODER_DEFAULTS, type ClassifierSpec, type ConvAutoencoderSpec } from './run-spec.schema';

/** What a built-in pretrain's encoder is built from: the fields of its model a fine-tune on it takes. */
export type EncoderArchitecture = Pick<
  ConvAutoencoderSpec,
  'inputShape' | 'filters' | 'latentDim' | 'latentActivation'
>;

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * A fine-tune's model with the encoder architecture of the pretrain it builds on (`base`, the
 * pretrain's model): a classifier with a base trains the base's encoder, so the fields of its own
 * that describe one (filters, latentDim, latentActivation, inputShape) are the base's, and its
 * stored spec says what was trained. A field given another value than the base's and than its
 * default was meant, and cannot be honoured: it is named instead (field, message).
 */
export function withBaseArchitecture(
  model: ClassifierSpec,
  base: EncoderArchitecture,
): { model: ClassifierSpec } | { field: string; message: string } {
  for (const [field, byDefault] of Object.entries(ENCODER_DEFAULTS) as [keyof typeof ENCODER_DEFAULTS, unknown][]) {
    const given = model[field];
    if (!same(given, base[field]) && !same(given, byDefault))
      return {
        field: `model.${field}`,
        message: `The base's encoder has ${field} ${JSON.stringify(base[field])}, not ${JSON.stringify(given)}: a classifier with a base trains the base's encoder; leave model.${field} out`,
      };
  }
  return {
    model: {
      ...model,
      inputShape: base.inputShape,
      filters: base.filters,
      latentDim: base.latentDim,
      latentActivation: base.latentActivation,
    },
  };
}
