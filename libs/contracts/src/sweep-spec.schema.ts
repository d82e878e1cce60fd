import { z } from 'zod';
import { FinetuneSpecSchema, type FinetuneSpecInput, type KindImplied } from './run-spec.schema';
import { CLASSIFICATION_SCORES, TEST_METRIC_PREFIX } from './evaluation.contract';
import { metricGoal } from './metric-goal';
import { VALIDATION_METRICS } from './training-spec.schema';
import { ONLY_WHEN_VALID, withKind } from './schema-guards';
import { expandSweep } from './sweep-expansion';
import {
  applySweepValues,
  MAX_SWEEP_RUNS,
  MAX_SWEEP_VALUES,
  SWEEP_PARAMETERS,
  type SweepParameter,
  type SweepValue,
} from './sweep-parameters';
import { NameSchema, text } from './text.schema';
import type { Inferred } from './named-schema';

const sweepValueSchema = z.union([z.number(), text({ max: 120, trim: false }), z.boolean()], {
  error: 'Expected a number, a string or a boolean',
});
export interface SweepValueSchemaType extends Inferred<typeof sweepValueSchema> {}
const SweepValueSchema: SweepValueSchemaType = sweepValueSchema;

const sweepValuesSchema = z.union(
  [
    z.array(SweepValueSchema).min(1).max(MAX_SWEEP_VALUES),
    z
      .object({ min: z.number(), max: z.number(), log: z.literal(true).optional() })
      .strict()
      .refine((r) => r.min < r.max, { message: 'min must be below max', path: ['max'] })
      .refine((r) => !r.log || r.min > 0, { message: 'a log range needs min > 0', path: ['min'] }),
  ],
  { error: `Expected a list of 1 to ${MAX_SWEEP_VALUES} values, or a range { min, max } (random sweeps)` },
);
export interface SweepValuesSchemaType extends Inferred<typeof sweepValuesSchema> {}
/** A list of values (grid or random choice), or a range to draw from (random only). */
export const SweepValuesSchema: SweepValuesSchemaType = sweepValuesSchema;
export type SweepParameterValues = z.infer<typeof SweepValuesSchema>;

/**
 * What a sweep may rank its runs by: what every fine-tune records, its epochs' `loss` and
 * `accuracy`, their validation twins, and its test scores. Another name would leave every run
 * unranked after all of them trained.
 */
export const SWEEP_METRICS: readonly string[] = [
  'loss',
  'accuracy',
  ...VALIDATION_METRICS.finetune,
  ...CLASSIFICATION_SCORES.map((score) => `${TEST_METRIC_PREFIX}${score}`),
];

/**
 * withKind typed by what it takes: a preprocess's argument is its schema's input type, which a
 * client's SweepSpecInput is made of (an untyped one would let any `base` through the compiler).
 */
const baseWithKind: (base: KindImplied<FinetuneSpecInput>) => unknown = withKind('finetune');

const sweepSpecSchema = z
  .object({
    name: NameSchema,
    /** The fine-tune every run starts from; the parameters override its fields. */
    base: z.preprocess(baseWithKind, FinetuneSpecSchema),
    strategy: z.enum(['grid', 'random']),
    parameters: z
      .partialRecord(z.enum(SWEEP_PARAMETERS), SweepValuesSchema)
      .refine((p) => Object.keys(p).length > 0, { message: `Name at least one of: ${SWEEP_PARAMETERS.join(', ')}` }),
    /** Random: the number of runs; grid: an upper bound the full grid must fit in. */
    maxRuns: z.int().min(1).max(MAX_SWEEP_RUNS).default(20),
    /** Seeds the random draws (the same seed gives the same runs). */
    seed: z
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(0),
    /** `test/<field>` of a run's result (test/accuracy, test/macroF1…), or a metric summary's name (val_accuracy). */
    metric: text({ max: 120 }).default('test/accuracy'),
    /**
     * Which end of `metric` ranks first: a `test/<field>`'s as given (its name's own when left out:
     * lowest for a loss or an error, highest otherwise); a summary metric's is its own (the summary
     * keeps its best by that goal), so another is refused.
     */
    goal: z.enum(['max', 'min']).optional(),
  })
  .strict()
  // Reads base, strategy, parameters and maxRuns: only once each of them is valid (maxRuns bounds the work).
  .superRefine((sweep, ctx) => {
    if (!SWEEP_METRICS.includes(sweep.metric)) {
      ctx.addIssue({
        code: 'custom',
        path: ['metric'],
        message: `A sweep ranks its runs by one of ${SWEEP_METRICS.join(', ')}; no run records "${sweep.metric}"`,
      });
      return;
    }
    if (
      sweep.goal !== undefined &&
      !sweep.metric.startsWith(TEST_METRIC_PREFIX) &&
      sweep.goal !== metricGoal(sweep.metric)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['goal'],
        message: `${sweep.metric} keeps its ${metricGoal(sweep.metric) === 'min' ? 'lowest' : 'highest'} value as each run's best; ranking by the ${sweep.goal === 'min' ? 'lowest' : 'highest'} of those would put the worst run first: leave goal out or give "${metricGoal(sweep.metric)}"`,
      });
      return;
    }
    if (sweep.parameters['training.epochs'] !== undefined && sweep.parameters['training.steps'] !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['parameters', 'training.steps'],
        message: 'A budget is epochs or steps: sweep training.epochs or training.steps, not both',
      });
      return;
    }
    let ok = true;
    for (const [key, values] of Object.entries(sweep.parameters) as [SweepParameter, SweepParameterValues][]) {
      if (!Array.isArray(values)) {
        if (sweep.strategy === 'grid') {
          ctx.addIssue({
            code: 'custom',
            path: ['parameters', key],
            message: 'A grid needs a list of values; ranges are for strategy "random"',
          });
          ok = false;
          continue;
        }
        // The values a swept field takes over a base form an interval (the fine-tune schema's
        // bounds, a whole number where it asks for one), so a range whose two ends fit it draws
        // only values that fit, whatever the seed; an end that does not is named with the bound.
        for (const end of ['min', 'max'] as const) {
          const issue = firstIssue(applySweepValues(sweep.base, { [key]: values[end] }));
          if (issue) {
            ctx.addIssue({ code: 'custom', path: ['parameters', key, end], message: `${values[end]}: ${issue}` });
            ok = false;
          }
        }
        continue;
      }
      // Each value on its own, so a 400 names the exact bad one.
      values.forEach((value, i) => {
        const issue = firstIssue(applySweepValues(sweep.base, { [key]: value }));
        if (issue) {
          ctx.addIssue({ code: 'custom', path: ['parameters', key, i], message: `${JSON.stringify(value)}: ${issue}` });
          ok = false;
        }
      });
    }
    if (!ok) return;
    const expanded = expandSweep(sweep);
    if ('tooMany' in expanded) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxRuns'],
        message: `The grid has ${expanded.tooMany > MAX_SWEEP_RUNS ? `more than ${MAX_SWEEP_RUNS}` : expanded.tooMany} combinations; raise maxRuns (≤ ${MAX_SWEEP_RUNS}) or trim the lists`,
      });
      return;
    }
    // Values valid alone may clash together (two-stage freezing needs more epochs than unfreezeAfterEpochs).
    for (const [i, values] of expanded.runs.entries()) {
      const issue = firstIssue(applySweepValues(sweep.base, values));
      if (issue) {
        ctx.addIssue({
          code: 'custom',
          path: ['parameters'],
          message: `Run ${i + 1} (${describeValues(values)}): ${issue}`,
        });
        return;
      }
    }
  }, ONLY_WHEN_VALID);
export interface SweepSpecSchemaType extends Inferred<typeof sweepSpecSchema> {}
export const SweepSpecSchema: SweepSpecSchemaType = sweepSpecSchema;
export type SweepSpec = z.infer<typeof SweepSpecSchema>;

/**
 * The end of a sweep's metric that ranks first: a summary metric's own goal (its summary's best is
 * kept by it, whatever a sweep recorded before the check above), a `test/<field>`'s given goal,
 * else its name's.
 */
export function sweepGoal(spec: Pick<SweepSpec, 'metric' | 'goal'>): 'max' | 'min' {
  if (!spec.metric.startsWith(TEST_METRIC_PREFIX)) return metricGoal(spec.metric);
  return spec.goal ?? metricGoal(spec.metric);
}
export type SweepSpecInput = z.input<typeof SweepSpecSchema>;

function firstIssue(candidate: unknown): string | null {
  const parsed = FinetuneSpecSchema.safeParse(candidate);
  if (parsed.success) return null;
  const issue = parsed.error.issues[0]!;
  const keys = issue.code === 'unrecognized_keys' ? `.${issue.keys.join(',')}` : '';
  return `${issue.path.join('.')}${keys}: ${issue.code === 'unrecognized_keys' ? 'Unknown field' : issue.message}`;
}

export function describeValues(values: Partial<Record<SweepParameter, SweepValue>>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toPrecision(4)) : v}`)
    .join(', ');
}
