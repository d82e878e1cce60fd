import { z } from 'zod';
import type { Inferred } from './named-schema';

/**
 * C0 controls (NUL, tab, newline, escape…), DEL, C1 controls, and the Unicode line and paragraph
 * separators. None has a place in a name, a URI or a metric: a newline forges a log line, NUL is
 * refused by PostgreSQL text columns (a 500 instead of a 400), escapes repaint a terminal.
 */
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/**
 * The bidirectional embeddings, overrides and isolates (U+202A–202E, U+2066–2069), which reorder
 * the text after them ("Trojan Source", CVE-2021-42574): a run name holding U+202E reverses the
 * rest of its table row in a terminal or the dashboard. What right-to-left and other scripts need
 * stays allowed: their letters, the direction marks (U+200E, U+200F, U+061C: Hebrew and Arabic
 * text with Latin in it uses them, and they reorder nothing past a neutral character), the zero
 * width space (U+200B, a word break in Thai or Khmer), U+200C ZERO WIDTH NON-JOINER (Persian and
 * Indic spelling) and U+200D ZERO WIDTH JOINER (emoji sequences: 👩‍💻, 🏳️‍🌈).
 */
const FORMAT_CHARACTER = /[\u202a-\u202e\u2066-\u2069]/;
/** Either of the two: what textProblem refuses and escapeText escapes. */
const REFUSED_CHARACTER = new RegExp(`${CONTROL_CHARACTER.source}|${FORMAT_CHARACTER.source}`);
const EVERY_REFUSED_CHARACTER = new RegExp(REFUSED_CHARACTER.source, 'g');
/** A high surrogate not followed by a low one, or a low one without a high one before it. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** `U+202E`: how messages name a character. */
function codePoint(character: string): string {
  return `U+${character.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Why a string cannot be stored or logged as text, or null when it can. Shared by the contracts
 * and by the API's check of every string of a request (query values, header-less path params,
 * keys of bodies), so both say the same thing about the same character.
 */
export function textProblem(value: string): string | null {
  const refused = FORMAT_CHARACTER.exec(value);
  if (refused)
    return `Bidirectional formatting character ${codePoint(refused[0])} at position ${refused.index} is not allowed`;
  return storedTextProblem(value);
}

/**
 * What the server never stores in text it writes back to a client (control characters, refused in
 * names since 2026-12-05, and lone surrogates), or null: the check of values it reads back (a
 * list's cursor holding a name), which may hold what textProblem refuses only since 2026-12-06 (the
 * bidirectional overrides).
 */
export function storedTextProblem(value: string): string | null {
  const control = CONTROL_CHARACTER.exec(value);
  if (control) return `Control character ${codePoint(control[0])} at position ${control.index} is not allowed`;
  const surrogate = LONE_SURROGATE.exec(value);
  if (surrogate) return `Lone UTF-16 surrogate at position ${surrogate.index} is not allowed (not valid Unicode)`;
  return null;
}

const SHORT_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * `value` with every character textProblem refuses written as an escape (`\n`, `\u001b`, `\u202e`),
 * for text that is kept whatever it holds (a failure reason, a skipped file's name, a log line):
 * stored and shown, it can neither repaint a terminal nor reorder a row, and nothing is lost.
 * `keepLines` leaves newlines and tabs as they are, for text of several lines. Lone surrogates
 * are not this function's (see toWellFormed, JSON.stringify).
 */
export function escapeText(value: string, options: { keepLines?: boolean } = {}): string {
  return value.replace(EVERY_REFUSED_CHARACTER, (c) => {
    if (options.keepLines && (c === '\n' || c === '\t')) return c;
    return SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/**
 * `value` as a JSON string literal that is safe to show: JSON.stringify escapes C0 controls and
 * lone surrogates, escapeText the rest. For naming, in a message, something a user named.
 */
export function quoteText(value: string): string {
  return escapeText(JSON.stringify(value));
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
 * any printable script are fine; what is refused is what can break storage, logs or terminals, or
 * reorder what is shown after it.
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
const nameSchema = text({ max: NAME_MAX_LENGTH });
export interface NameSchemaType extends Inferred<typeof nameSchema> {}
export const NameSchema: NameSchemaType = nameSchema;

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
