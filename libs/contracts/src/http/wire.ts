import { z } from 'zod';

/**
 * How values look on the wire, shared by every response contract. Dates are ISO 8601 strings in
 * UTC with milliseconds (`Date.prototype.toISOString()`): what JSON.stringify makes of a Date, so
 * a view built with `isoDate()` is already exactly what a client parses.
 */
export const Timestamp = z.iso.datetime().meta({ example: '2026-12-05T07:11:15.123Z' });
export const NullableTimestamp = Timestamp.nullable();

/**
 * The response header, `true`, of a request that changed nothing because an earlier one had: a
 * `POST /v1/runs` replayed under its Idempotency-Key, a `DELETE /v1/keys/:id` of a key revoked
 * before. The first answer has none; the body is the same either way.
 */
export const IDEMPOTENT_REPLAYED_HEADER = 'idempotent-replayed';

/** Any 8-4-4-4-12 hex id: what PostgreSQL's uuid columns hold (the API refuses other shapes). */
export const Id = z.guid();

/** Whether `text` has the shape of an `Id`: a malformed id never reaches a uuid column. */
export function isId(text: unknown): text is string {
  return Id.safeParse(text).success;
}

/**
 * A measured value. JSON has no NaN or ±Infinity (JSON.stringify writes null), and a diverged
 * loss is NaN, so a value that is not finite is null on the wire: views map it with `finiteOrNull`.
 */
export const MeasuredValue = z.number().nullable();

/** `date.toISOString()`, or null. */
export function isoDate(date: Date): string;
export function isoDate(date: Date | null): string | null;
export function isoDate(date: Date | null): string | null {
  return date === null ? null : date.toISOString();
}

export function finiteOrNull(value: number | null): number | null {
  return value !== null && Number.isFinite(value) ? value : null;
}

/**
 * A JSON column served as it was recorded (a run's spec, progress or result): an object typed by
 * the contract that wrote it (RunSpec, RunProgress…), which validated it on the way in. It is not
 * re-validated on the way out: a run recorded under an older spec stays readable.
 */
export function recorded<T>(description: string): z.ZodType<T> {
  return z.record(z.string(), z.unknown()).meta({ description }) as unknown as z.ZodType<T>;
}
