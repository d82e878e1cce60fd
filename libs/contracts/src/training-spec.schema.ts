import { z } from 'zod';
import { metricGoal } from './metric-goal';
import { ONLY_WHEN_VALID } from './schema-guards';
import type { Inferred } from './named-schema';

export const MAX_TRAINING_EPOCHS = 1000;
/** About 1,000 epochs of the 60,000 MNIST training digits at batch 64: the same ceiling as epochs. */
export const MAX_TRAINING_STEPS = 1_000_000;
/** The budget of a spec that names neither `epochs` nor `steps`. */
export const DEFAULT_TRAINING_EPOCHS = 5;

/**
 * What the loops validate after each epoch, per run kind: `val_loss` (the training loss on the
 * validation split) always; a pretrain's `val_mse` is the reconstruction MSE whatever its loss,
 * so runs trained with different losses compare; a fine-tune's `val_accuracy`.
 */
export const VALIDATION_METRICS = {
  pretrain: ['val_loss', 'val_mse'],
  finetune: ['val_loss', 'val_accuracy'],
} as const;
const validationMetricSchema = z.enum(['val_loss', 'val_mse', 'val_accuracy']);
export interface ValidationMetricSchemaType extends Inferred<typeof validationMetricSchema> {}
const ValidationMetricSchema: ValidationMetricSchemaType = validationMetricSchema;
export type ValidationMetric = z.infer<typeof ValidationMetricSchema>;

/** The metric a run keeps its best checkpoint by when `training.earlyStopping` names none. */
export const DEFAULT_SELECTION_METRIC = { pretrain: 'val_loss', finetune: 'val_accuracy' } as const satisfies Record<
  keyof typeof VALIDATION_METRICS,
  ValidationMetric
>;

/** Validation rounds (one per epoch) in a row without an improvement: at least one. */
const Patience = z.int().min(1).max(10_000);
const MinDelta = z.number().min(0).max(1e6);
/** A learning-rate multiplier strictly between 0 and 1. */
const Factor = z.number().gt(0).lt(1);
const MinLearningRate = z.number().min(0).max(1).default(0);

/**
 * `mode` may be given (Keras's habit) but must be the metric's own goal: checkpoint retention keeps
 * the best checkpoint by the goal of its metric's name, so another mode would keep the wrong one.
 */
const monitored = {
  metric: ValidationMetricSchema.default('val_loss'),
  mode: z.enum(['min', 'max']).optional(),
  patience: Patience.default(5),
  minDelta: MinDelta.default(0),
};
function modeAgrees(rule: { metric: ValidationMetric; mode?: 'min' | 'max' }, ctx: z.RefinementCtx): void {
  const goal = metricGoal(rule.metric);
  if (rule.mode !== undefined && rule.mode !== goal) {
    ctx.addIssue({
      code: 'custom',
      path: ['mode'],
      message: `${rule.metric} improves when it goes ${goal === 'min' ? 'down' : 'up'}: mode must be '${goal}' (or left out)`,
    });
  }
}

const earlyStoppingSchema = z.object(monitored).strict().superRefine(modeAgrees, ONLY_WHEN_VALID);
export interface EarlyStoppingSchemaType extends Inferred<typeof earlyStoppingSchema> {}
/**
 * Stops training after `patience` validation rounds in a row in which `metric` did not improve
 * on its best by more than `minDelta` (Keras's EarlyStopping). The run's best checkpoint is kept
 * by the same metric and its test split is evaluated.
 */
export const EarlyStoppingSchema: EarlyStoppingSchemaType = earlyStoppingSchema;
export type EarlyStoppingSpec = z.infer<typeof EarlyStoppingSchema>;

/** Every schedule may start with a linear warm-up from `learningRate / warmupSteps` to the learning rate. */
const warmup = { warmupSteps: z.int().min(0).max(MAX_TRAINING_STEPS).default(0) };

const learningRateScheduleSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('constant'), ...warmup }).strict(),
  z
    .object({
      type: z.literal('step'),
      factor: Factor.default(0.1),
      everyEpochs: z.int().min(1).max(MAX_TRAINING_EPOCHS).optional(),
      everySteps: z.int().min(1).max(MAX_TRAINING_STEPS).optional(),
      ...warmup,
    })
    .strict()
    .superRefine((s, ctx) => {
      if ((s.everyEpochs === undefined) === (s.everySteps === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: ['everyEpochs'],
          message: 'A step schedule needs exactly one of everyEpochs and everySteps',
        });
      }
    }, ONLY_WHEN_VALID),
  z.object({ type: z.literal('cosine'), minLearningRate: MinLearningRate, ...warmup }).strict(),
  z
    .object({
      type: z.literal('reduceOnPlateau'),
      ...monitored,
      factor: Factor.default(0.1),
      cooldown: z.int().min(0).max(10_000).default(0),
      minLearningRate: MinLearningRate,
      ...warmup,
    })
    .strict()
    .superRefine(modeAgrees, ONLY_WHEN_VALID),
]);
export interface LearningRateScheduleSchemaType extends Inferred<typeof learningRateScheduleSchema> {}
/**
 * How the learning rate moves (per optimizer step), as a multiple of the stage's learning rate
 * (`training.learningRate`, or a two-stage fine-tune's second one):
 * - constant: fixed (with `warmupSteps`, a pure warm-up);
 * - step: × `factor` every `everyEpochs` epochs or every `everySteps` steps;
 * - cosine: half a cosine from the learning rate down to `minLearningRate` over the budget after warm-up;
 * - reduceOnPlateau: × `factor` after `patience` validation rounds without an improvement of
 *   `metric` by more than `minDelta`, then `cooldown` rounds of rest, never below `minLearningRate`.
 */
export const LearningRateScheduleSchema: LearningRateScheduleSchemaType = learningRateScheduleSchema;
export type LearningRateSchedule = z.infer<typeof LearningRateScheduleSchema>;

const trainingSpecSchema = z
  .object({
    epochs: z.int().min(1).max(MAX_TRAINING_EPOCHS).optional(),
    steps: z.int().min(1).max(MAX_TRAINING_STEPS).optional(),
    batchSize: z.int().min(1).max(1024).default(32),
    optimizer: z.enum(['adam', 'sgd', 'rmsprop']).default('adam'),
    learningRate: z.number().positive().max(1).default(1e-3),
    validationSplit: z.number().min(0).max(0.5).default(0.1),
    seed: z
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(42),
    earlyStopping: EarlyStoppingSchema.optional(),
    schedule: LearningRateScheduleSchema.optional(),
  })
  .strict()
  .superRefine((training, ctx) => {
    if (training.epochs !== undefined && training.steps !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['steps'],
        message: 'Give training.epochs or training.steps, not both: each is a whole budget',
      });
    }
    // A floor above the rate it lowers would never be reached: the schedule would do nothing.
    const schedule = training.schedule;
    if (schedule && 'minLearningRate' in schedule && schedule.minLearningRate > training.learningRate) {
      ctx.addIssue({
        code: 'custom',
        path: ['schedule', 'minLearningRate'],
        message: `The floor the schedule lowers the learning rate to: at most training.learningRate (${training.learningRate})`,
      });
    }
  }, ONLY_WHEN_VALID)
  .transform((training) =>
    training.epochs === undefined && training.steps === undefined
      ? { ...training, epochs: DEFAULT_TRAINING_EPOCHS }
      : training,
  );
export interface TrainingSpecSchemaType extends Inferred<typeof trainingSpecSchema> {}
/**
 * The budget is `epochs` or `steps` (optimizer steps, i.e. batches), never both; neither means
 * `DEFAULT_TRAINING_EPOCHS` epochs, written into the spec. A steps budget ends part-way through
 * an epoch when it falls there: that last epoch is validated and checkpointed like the others.
 */
export const TrainingSpecSchema: TrainingSpecSchemaType = trainingSpecSchema;
export type TrainingSpec = z.infer<typeof TrainingSpecSchema>;

/** A run's budget, from a parsed training spec. */
export type TrainingBudget = { unit: 'epochs'; epochs: number } | { unit: 'steps'; steps: number };
export function trainingBudget(training: Pick<TrainingSpec, 'epochs' | 'steps'>): TrainingBudget {
  return training.steps !== undefined
    ? { unit: 'steps', steps: training.steps }
    : { unit: 'epochs', epochs: training.epochs ?? DEFAULT_TRAINING_EPOCHS };
}

/**
 * An upper bound on the images a training budget processes: epochs × the images one epoch
 * trains on, or steps × the batch size (a batch never holds more than an epoch's images).
 */
export function imagesInBudget(
  training: Pick<TrainingSpec, 'epochs' | 'steps' | 'batchSize'>,
  imagesPerEpoch: number,
): number {
  const budget = trainingBudget(training);
  return budget.unit === 'epochs'
    ? budget.epochs * imagesPerEpoch
    : budget.steps * Math.min(training.batchSize, imagesPerEpoch);
}

/** The validation metric a run of `kind` keeps its best checkpoint by (and tests). */
export function selectionMetric(
  kind: keyof typeof VALIDATION_METRICS,
  training: Pick<TrainingSpec, 'earlyStopping'>,
): ValidationMetric {
  return training.earlyStopping?.metric ?? DEFAULT_SELECTION_METRIC[kind];
}

/**
 * Cross-field checks of a pretrain or fine-tune's training spec: the metrics its rules watch are
 * ones this kind validates, and there is validation data to watch (`validationFraction`: the
 * share held out, `training.validationSplit` or an image folder's `split.validation`).
 */
export function checkValidationRules(
  kind: keyof typeof VALIDATION_METRICS,
  training: TrainingSpec,
  validationFraction: { value: number; field: string },
  ctx: z.RefinementCtx,
): void {
  const rules = [
    ['earlyStopping', training.earlyStopping],
    ['schedule', training.schedule?.type === 'reduceOnPlateau' ? training.schedule : undefined],
  ] as const;
  const allowed: readonly string[] = VALIDATION_METRICS[kind];
  for (const [field, rule] of rules) {
    if (!rule) continue;
    if (!allowed.includes(rule.metric)) {
      ctx.addIssue({
        code: 'custom',
        path: ['training', field, 'metric'],
        message: `A ${kind} run validates ${allowed.join(' and ')}; ${rule.metric} is not one of them`,
      });
    }
    if (validationFraction.value === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['training', field],
        message: `Watching ${rule.metric} needs validation data, but ${validationFraction.field} is 0`,
      });
    }
  }
}
