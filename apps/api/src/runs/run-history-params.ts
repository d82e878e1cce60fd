import {
  COMPARE_MAX_RUNS,
  decimalInt,
  isForbiddenKey,
  RUN_KINDS,
  RUN_LIST_DEFAULT_LIMIT,
  RUN_ID_PREFIX,
  RUN_ID_PREFIX_MIN,
  RUN_LIST_MAX_LIMIT,
  RUN_STATUSES,
  RUN_TAGS_MAX,
  RunTagSchema,
  text,
  textProblem,
} from '@trainyard/contracts';
import { type RunListQuery, type SpecFilter, type SpecValue } from '@trainyard/db';
import { z } from 'zod';
import { RunIdSchema, RunListSortSchema } from './run-queries';

export { COMPARE_MAX_RUNS };

/** Default and ceiling of `maxPoints`: a chart is ~1,000–2,000 px wide, more points add nothing. */
export const SERIES_DEFAULT_MAX_POINTS = 1000;
export const SERIES_MAX_POINTS = 10_000;
/** The curves dashboards compare by default when no names are given. */
export const DEFAULT_COMPARE_NAMES = ['loss', 'val_loss', 'accuracy', 'val_accuracy'];
/**
 * Points one comparison may answer at most: runs × names × maxPoints, checked before any is read.
 * Its answer is built whole, about 190 bytes a point (800,000 were 149 MB, in 26 s): 100,000 is
 * ~19 MB, what one run's series of 10 names at SERIES_MAX_POINTS answers; the dashboard asks
 * 80,000 at most (20 runs × 4 names × 1,000), the CLI 10 a series.
 */
export const COMPARE_MAX_POINTS = 100_000;
const MAX_SPEC_FILTERS = 10;
const SPEC_PATH = /^spec\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+){0,5})$/;

/** `GET /v1/runs` as the repository takes it; spec filters always present (maybe empty). */
export type RunListRequest = RunListQuery & { spec: SpecFilter[] };

const BaseListSchema = z.strictObject({
  // Kinds are lowercase in specs (`pretrain`) and uppercase on runs (`PRETRAIN`); accept both.
  status: z.preprocess(upper, z.enum(RUN_STATUSES)).optional(),
  kind: z.preprocess(upper, z.enum(RUN_KINDS)).optional(),
  q: text({ max: 200 }).optional(),
  // `trainyard show 1a2b3c4d`: the runs whose id starts with these hex digits (either case).
  idPrefix: z
    .string()
    .max(32, 'At most 32 hex digits (a whole run id without its dashes)')
    .transform((value) => value.toLowerCase())
    .pipe(z.string().regex(RUN_ID_PREFIX, `Expected ${RUN_ID_PREFIX_MIN} to 32 hex digits (0-9, a-f) of a run id`))
    .optional(),
  // `tag=a&tag=b`: runs with all of them.
  tag: z.union([RunTagSchema.transform((tag) => [tag]), z.array(RunTagSchema).max(RUN_TAGS_MAX)]).optional(),
  archived: z
    .enum(['true', 'false', 'any'], 'Expected true, false or any')
    .transform((value) => (value === 'any' ? ('any' as const) : value === 'true'))
    .default(false),
  sort: RunListSortSchema.default({ by: 'createdAt' }),
  order: z.enum(['asc', 'desc']).default('desc'),
  limit: decimalInt({ min: 1, max: RUN_LIST_MAX_LIMIT }).default(RUN_LIST_DEFAULT_LIMIT),
  // Cursors are base64url (run-list-cursor.ts); anything else is refused here, naming `cursor`.
  cursor: z
    .string()
    .max(2000)
    .regex(/^[A-Za-z0-9_-]+$/, 'Expected the nextCursor of a previous page')
    .optional(),
});

const MAX_SPEC_VALUE_LENGTH = 500;

/**
 * Query of `GET /v1/runs`: the fixed parameters, plus any number of `spec.<path>=<value>`
 * equality filters on the run's spec. Anything else is refused, so a typo is not ignored. The
 * query's keys are the client's: they are only ever read into null-prototype objects, and a spec
 * path naming `__proto__`, `constructor` or `prototype` is refused with the parameter named.
 */
export const RunListRequestSchema = z.unknown().transform((raw, ctx): RunListRequest => {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    ctx.addIssue({ code: 'custom', message: 'Expected query parameters' });
    return z.NEVER;
  }
  const fixed: Record<string, unknown> = Object.create(null);
  const spec: SpecFilter[] = [];
  for (const [key, value] of Object.entries(raw)) {
    const problem = specFilterProblem(key, value);
    if (problem) ctx.addIssue({ code: 'custom', path: [key], message: problem });
    else if (!key.startsWith('spec.')) fixed[key] = value;
    else spec.push({ path: SPEC_PATH.exec(key)![1]!.split('.'), value: specValue(value as string) });
  }
  if (spec.length > MAX_SPEC_FILTERS)
    ctx.addIssue({ code: 'custom', path: ['spec'], message: `At most ${MAX_SPEC_FILTERS} spec filters` });
  const parsed = BaseListSchema.safeParse(fixed);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.addIssue({ ...issue } as never);
    return z.NEVER;
  }
  const { q, tag, ...rest } = parsed.data;
  return { ...rest, search: q, tags: tag, spec };
});

/** Why a query parameter cannot be a spec filter (null for the fixed parameters, checked by their schema). */
function specFilterProblem(key: string, value: unknown): string | null {
  if (!key.startsWith('spec.')) return textProblem(key);
  const match = SPEC_PATH.exec(key);
  if (!match) return 'Expected spec.<field>[.<field>…] of letters, digits and _';
  const forbidden = match[1]!.split('.').find(isForbiddenKey);
  if (forbidden) return `"${forbidden}" cannot be a spec field`;
  if (typeof value !== 'string') return 'Give a spec filter once';
  if (value.length > MAX_SPEC_VALUE_LENGTH) return `At most ${MAX_SPEC_VALUE_LENGTH} characters`;
  return textProblem(value);
}

/**
 * Numbers, booleans and null are matched as JSON values (0.001 matches 1e-3); anything else as a
 * string. Double quotes force a string: `spec.dataset.name="10"`.
 */
export function specValue(text: string): SpecValue {
  if (/^".*"$/.test(text)) return text.slice(1, -1);
  if (text === 'true' || text === 'false') return text === 'true';
  if (text === 'null') return null;
  const n = Number(text);
  return text.trim() !== '' && Number.isFinite(n) ? n : text;
}

/** A comma-separated query value's items: trimmed, empty ones dropped, each once. */
const commaList = (value: string): string[] => [
  ...new Set(
    value
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean),
  ),
];

const NamesSchema = text({ max: 2000 })
  .transform(commaList)
  .pipe(z.array(z.string().max(200)).min(1, 'Give at least one metric name').max(20));

/**
 * Query of `GET /v1/runs/:id/metrics`. `name` (one metric) is kept for older clients; without
 * `maxPoints` every point is returned, with it each series is downsampled to at most that many.
 */
export const MetricSeriesQuerySchema = z
  .strictObject({
    name: text({ max: 200, trim: false }).optional(),
    names: NamesSchema.optional(),
    maxPoints: decimalInt({ min: 10, max: SERIES_MAX_POINTS }).optional(),
  })
  .transform((q) => ({ names: q.names ?? (q.name ? [q.name] : undefined), maxPoints: q.maxPoints }));
export type MetricSeriesQuery = z.output<typeof MetricSeriesQuerySchema>;

/** Query of `GET /v1/runs/compare`. */
export const CompareQuerySchema = z
  .strictObject({
    ids: z
      .string()
      .max(2000)
      .transform(commaList)
      .pipe(z.array(RunIdSchema).min(1, 'Give at least one run id').max(COMPARE_MAX_RUNS))
      // Once more after RunIdSchema lower-cased them: one run named in two cases is one run.
      .transform((ids) => [...new Set(ids)]),
    names: NamesSchema.optional(),
    maxPoints: decimalInt({ min: 10, max: SERIES_MAX_POINTS }).default(SERIES_DEFAULT_MAX_POINTS),
  })
  .superRefine((query, ctx) => {
    const names = (query.names ?? DEFAULT_COMPARE_NAMES).length;
    const points = query.ids.length * names * query.maxPoints;
    if (points <= COMPARE_MAX_POINTS) return;
    const allowed = Math.floor(COMPARE_MAX_POINTS / (query.ids.length * names));
    ctx.addIssue({
      code: 'custom',
      path: ['maxPoints'],
      message: `${query.ids.length} runs × ${names} names × ${query.maxPoints} points is ${points} points; a comparison answers at most ${COMPARE_MAX_POINTS}: ask maxPoints=${allowed} or less, or fewer runs or names`,
    });
  });
export type CompareQuery = z.output<typeof CompareQuerySchema>;

function upper(value: unknown): unknown {
  return typeof value === 'string' ? value.toUpperCase() : value;
}
