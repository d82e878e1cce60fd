import { z } from 'zod';

/**
 * Plain decimal digits, as `String(n)` writes a safe integer: no sign, space, exponent, point,
 * `0x`, leading zero, nor digits of other scripts (`\d` in a JS regex is ASCII only). What
 * `Number()` and `z.coerce.number()` also take (`0x10`, `1e1`, `+5`, `" 1"`, `-0`) is refused:
 * one spelling per number, so no two URLs mean one page and no proxy or cache in front reads a
 * parameter differently from the API.
 */
export const DECIMAL_DIGITS = /^(?:0|[1-9][0-9]*)$/;

export interface DecimalIntOptions {
  min: number;
  max: number;
  /** What the number is, for the refusal: `Expected <what> in decimal digits …`; a whole number otherwise. */
  what?: string;
}

/**
 * A numeric query or path parameter of the HTTP API: a string of decimal digits (DECIMAL_DIGITS),
 * given once, turned into an integer within `min`–`max`, out of which the answer is zod's own range
 * message (`Too big: expected number to be <=100`).
 */
export function decimalInt({ min, max, what = 'a whole number' }: DecimalIntOptions) {
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || max >= Number.MAX_SAFE_INTEGER || min > max)
    throw new Error(`decimalInt: bad range ${min}–${max}`);
  const expected = `Expected ${what} in decimal digits (0-9), without sign, spaces, exponent, point or leading zero`;
  return (
    z
      // A parameter given twice (`?limit=1&limit=2`) arrives as a list.
      .string({ error: (issue) => (Array.isArray(issue.input) ? `Give it once: ${expected}` : expected) })
      .regex(DECIMAL_DIGITS, expected)
      // Past MAX_SAFE_INTEGER (400 nines) Number() is inexact or Infinity: it is above any max, said as such.
      .transform((digits) => (digits.length > 15 ? Number.MAX_SAFE_INTEGER : Number(digits)))
      .pipe(z.int().min(min).max(max))
  );
}
