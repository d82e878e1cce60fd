import type { FinetuneSpec } from './run-spec.schema';

/**
 * What a sweep may vary. `augmentation.strength` s scales a reference augmentation (rotation 20°,
 * shifts 0.15, shear 15°, zoom 0.15 at s = 1; none at s = 0) over the base's own augmentation.
 */
export const SWEEP_PARAMETERS = [
  'training.learningRate',
  'training.batchSize',
  'training.epochs',
  'training.steps',
  'training.seed',
  'model.freezing.mode',
  'model.headUnits',
  'model.dropout',
  'dataset.labelsPerClass',
  'augmentation.strength',
] as const;
export type SweepParameter = (typeof SWEEP_PARAMETERS)[number];
export type SweepValue = number | string | boolean;
/** One run's choice: a value per swept parameter. */
export type SweepValues = Partial<Record<SweepParameter, SweepValue>>;

/** Parameters whose values are whole numbers: a random draw from a range is rounded. */
export const INTEGER_SWEEP_PARAMETERS: readonly SweepParameter[] = [
  'training.batchSize',
  'training.epochs',
  'training.steps',
  'training.seed',
  'model.headUnits',
  'dataset.labelsPerClass',
];

export const MAX_SWEEP_RUNS = 200;
/** Values one parameter's list may hold. */
export const MAX_SWEEP_VALUES = 50;

const REFERENCE_AUGMENTATION = {
  rotationRange: 20,
  widthShiftRange: 0.15,
  heightShiftRange: 0.15,
  shearRange: 15,
  zoomRange: 0.15,
};

/**
 * The base fine-tune with the chosen values written in (a new object; the base is left alone).
 * Not validated here: the caller parses the result, so a value that does not fit is named.
 */
export function applySweepValues(base: FinetuneSpec, values: SweepValues): Record<string, unknown> {
  const spec = structuredClone(base) as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(values) as [SweepParameter, SweepValue][]) {
    // The keys reach here from requests and stored rows: only the known paths are ever walked.
    if (!SWEEP_PARAMETERS.includes(key)) throw new RangeError(`Unknown sweep parameter "${String(key).slice(0, 200)}"`);
    if (key === 'augmentation.strength') {
      spec['augmentation'] = typeof value === 'number' ? strengthAugmentation(base.augmentation, value) : value;
      continue;
    }
    // A budget is epochs or steps, never both: a swept one replaces the base's other one.
    const training = spec['training'] as Record<string, unknown> | undefined;
    if (key === 'training.steps' && training) delete training['epochs'];
    if (key === 'training.epochs' && training) delete training['steps'];
    const path = key.split('.');
    let node = spec;
    for (const part of path.slice(0, -1)) {
      const next = Object.hasOwn(node, part) ? node[part] : undefined;
      if (typeof next !== 'object' || next === null || Array.isArray(next)) node[part] = {};
      node = node[part] as Record<string, unknown>;
    }
    node[path.at(-1)!] = value;
  }
  return spec;
}

function strengthAugmentation(
  own: FinetuneSpec['augmentation'],
  strength: number,
): Record<string, unknown> | undefined {
  if (strength === 0) return own;
  const scaled = Object.fromEntries(Object.entries(REFERENCE_AUGMENTATION).map(([k, v]) => [k, v * strength]));
  return { ...(own ?? {}), ...scaled };
}
