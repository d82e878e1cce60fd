import { cappedProduct } from './schema-guards';
import {
  INTEGER_SWEEP_PARAMETERS,
  MAX_SWEEP_RUNS,
  SWEEP_PARAMETERS,
  type SweepParameter,
  type SweepValue,
  type SweepValues,
} from './sweep-parameters';
import { mulberry32 } from './seeded-random';

type Range = { min: number; max: number; log?: true };

/** What expansion reads of a sweep spec (declared here, not imported: the schema imports this module). */
export interface SweepExpansionInput {
  strategy: 'grid' | 'random';
  parameters: Partial<Record<SweepParameter, SweepValue[] | Range>>;
  maxRuns: number;
  seed: number;
}

/**
 * The runs of a sweep, as the values each one takes, the parameters taken in SWEEP_PARAMETERS'
 * order whatever order they were given in (a stored spec's keys come back reordered). Grid: every
 * combination, each parameter's values in the order given (the last parameter varies fastest);
 * more than maxRuns is refused rather than silently cut. Random: maxRuns independent draws from a
 * PRNG seeded by `seed`: a list is drawn from uniformly, a range uniformly (or log-uniformly),
 * rounded for whole-number parameters. Pure and deterministic: the same spec gives the same runs,
 * and so does its copy with the parameters listed in another order.
 *
 * Its cost is bounded whatever it is given: maxRuns outside 1..MAX_SWEEP_RUNS throws, and a grid's
 * size is computed (capped, `tooMany` is then MAX_SWEEP_RUNS + 1 at most) before anything is built.
 */
export function expandSweep(spec: SweepExpansionInput): { runs: SweepValues[] } | { tooMany: number } {
  if (!Number.isSafeInteger(spec.maxRuns) || spec.maxRuns < 1 || spec.maxRuns > MAX_SWEEP_RUNS) {
    throw new RangeError(`A sweep's maxRuns must be an integer in 1..${MAX_SWEEP_RUNS}, got ${spec.maxRuns}`);
  }
  // In SWEEP_PARAMETERS' order, not the object's: a spec stored as JSONB comes back with its keys
  // reordered, and its resubmission must give the same runs.
  const entries = SWEEP_PARAMETERS.flatMap((key) => {
    const values = Object.hasOwn(spec.parameters, key) ? spec.parameters[key] : undefined;
    return values === undefined ? [] : [[key, values] as [SweepParameter, SweepValue[] | Range]];
  });
  if (spec.strategy === 'grid') {
    const lists = entries.map(
      ([key, values]) => [key, Array.isArray(values) ? values : [values.min, values.max]] as const,
    );
    const count = cappedProduct(
      lists.map(([, values]) => values.length),
      MAX_SWEEP_RUNS,
    );
    if (count > spec.maxRuns) return { tooMany: count };
    let runs: SweepValues[] = [{}];
    for (const [key, values] of lists)
      runs = runs.flatMap((run) => values.map((value): SweepValues => ({ ...run, [key]: value })));
    return { runs };
  }
  const random = mulberry32(spec.seed);
  const runs: SweepValues[] = [];
  for (let i = 0; i < spec.maxRuns; i++) {
    const run: SweepValues = {};
    for (const [key, values] of entries)
      run[key] = Array.isArray(values)
        ? values[Math.floor(random() * values.length)]!
        : draw(values, random, INTEGER_SWEEP_PARAMETERS.includes(key));
    runs.push(run);
  }
  return { runs };
}

function draw(range: Range, random: () => number, integer: boolean): number {
  return rangeValueAt(range, random(), integer);
}

/**
 * The value of a range at `u` in [0, 1): uniform, or log-uniform. Held to the range's ends:
 * `exp(log(0.3))` is 0.29999999999999993, below a range (and perhaps a field) that starts at 0.3,
 * and a draw outside what the sweep's ends were checked against would be refused as a run.
 */
export function rangeValueAt(range: Range, u: number, integer: boolean): number {
  const value = range.log
    ? Math.exp(Math.log(range.min) + u * (Math.log(range.max) - Math.log(range.min)))
    : range.min + u * (range.max - range.min);
  const held = Math.min(range.max, Math.max(range.min, value));
  return integer ? Math.round(held) : held;
}
