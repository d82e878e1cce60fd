/**
 * Text from the API (run, class and dataset names, failure reasons, log lines, error messages) or
 * from the object store is not trusted on a terminal: an ESC or a C1 CSI starts a control sequence
 * (OSC 52 writes the clipboard, OSC 8 hides a link), a CR overwrites the line, a bidi override
 * reverses the rest of a table row, a zero-width character shifts its columns. The API refuses
 * these characters now, but older rows, other servers and stored files still hold them. Each is
 * shown as a visible `\uXXXX` escape, never dropped: what is printed says what is there.
 */

/** Characters other than C0 shown escaped: DEL, C1 (U+009B is a one-character CSI), line and paragraph separators, bidi controls and marks, the zero-width space and BOM (the joiners U+200C and U+200D stay: Persian spelling and emoji are built with them). */
const UNSAFE_ABOVE_C0 =
  '\\u007f-\\u009f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069\\u200e\\u200f\\u061c\\u200b\\ufeff';
const UNSAFE = new RegExp(`[\\u0000-\\u001f${UNSAFE_ABOVE_C0}]`, 'g');
/** Multi-line text keeps its line feeds and tabs; a CR before a line feed is a line ending, not an overwrite. */
const UNSAFE_MULTILINE = new RegExp(`\\r(?!\\n)|[\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f${UNSAFE_ABOVE_C0}]`, 'g');
const UNSAFE_IN_JSON = new RegExp(`[${UNSAFE_ABOVE_C0}]`, 'g');

const escape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * `text` as it may be printed: every control, bidi and zero-width character as `\u001b`-style
 * text. A single-line value (a cell, a name, a reason) escapes its line feeds and tabs too;
 * `multiline` keeps them, for text that is lines by nature (notes, a whole command's output).
 * Escaping twice changes nothing: the escapes are plain ASCII.
 */
export function terminalSafe(text: string, options: { multiline?: boolean } = {}): string {
  return text.replace(options.multiline ? UNSAFE_MULTILINE : UNSAFE, escape);
}

/**
 * `JSON.stringify(value, null, indent)` with the characters it leaves raw (DEL, C1, U+2028/2029,
 * bidi and zero-width characters) as `\u` escapes too: still JSON, the same value when parsed,
 * and nothing a terminal acts on when `--json` output is read there. Outside strings the text
 * holds only ASCII, so every such character found is inside a string.
 */
export function jsonText(value: unknown, indent?: number): string {
  return (JSON.stringify(value, null, indent) ?? 'null').replace(UNSAFE_IN_JSON, escape);
}
