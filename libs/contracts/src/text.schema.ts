import { z } from 'zod';

/**
 * C0 controls (NUL, tab, newline, escape…), DEL, C1 controls, and the Unicode line and paragraph
 * separators. None has a place in a name, a URI or a metric: a newline forges a log line, NUL is
 * refused by PostgreSQL text columns (a 500 instead of a 400), escapes repaint a terminal.
 */
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/** A high surrogate not followed by a low one, or a low one without a high one before it. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Why a string cannot be stored or logged as text, or null when it can. Shared by the contracts
 * and by the API's check of every string of a request (query values, header-less path params,
 * keys of bodies), so both say the same thing about the same character.
 */
export function textProblem(value: string): string | null {
  const control = CONTROL_CHARACTER.exec(value);
  if (control) {
    const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    return `Control character U+${code} at position ${control.index} is not allowed`;
  }
  const surrogate = LONE_SURROGATE.exec(value);
  if (surrogate) return `Lone UTF-16 surrogate at position ${surrogate.index} is not allowed (not valid Unicode)`;
  return null;
}

export interface TextOptions {
  /** Longest accepted length in UTF-16 units, checked on the raw value before anything else. */
  max: number;
  /** Shortest accepted length after trimming (default 1: no empty or blank values). */
  min?: number;
  /** Trim surrounding spaces (default true). Control characters are refused before trimming, never trimmed away. */
  trim?: boolean;
}

/**
 * The one string type of the contracts: bounded, single-line, well-formed Unicode. Homoglyphs and
 * any printable script are fine; what is refused is what can break storage, logs or terminals.
 */
export function text(options: TextOptions): z.ZodString {
  const { max, min = 1, trim = true } = options;
  let schema = z
    .string()
    .max(max)
    .superRefine((value, ctx) => {
      const problem = textProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });
  if (trim) schema = schema.trim();
  return min > 0 ? schema.min(min) : schema;
}

/** A name a person gives a run, pipeline, sweep, model or dataset. */
export const NAME_MAX_LENGTH = 120;
export const NameSchema = text({ max: NAME_MAX_LENGTH });

/**
 * `text` cut to at most `max` UTF-16 units without splitting a surrogate pair (half an emoji is a
 * lone surrogate, which every text schema refuses): for names the API composes from a client's
 * name, such as a sweep's runs and a pipeline's evaluations.
 */
export function clipText(text: string, max: number = NAME_MAX_LENGTH): string {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}
