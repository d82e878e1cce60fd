/** What a `Range` header asks of a body of a known size (RFC 9110 §14): inclusive byte offsets. */
export type RangeAsked = { kind: 'whole' } | { kind: 'range'; start: number; end: number } | { kind: 'unsatisfiable' };

/**
 * One `bytes=` range of `header` within `size` bytes: `a-b` (the end clamped to the last byte), `a-`
 * or `-n` (the last n). No header, another unit, several ranges or a malformed one ask for the whole
 * body, as a server may answer them; a range that starts past the end (or any range of an empty
 * body) is unsatisfiable (416).
 */
export function rangeAsked(header: string | undefined, size: number): RangeAsked {
  const match = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return { kind: 'whole' };
  const [, from, to] = match as unknown as [string, string, string];
  if (from === '' && to === '') return { kind: 'whole' };
  if (from === '') {
    const last = Number(to);
    if (last === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', start: Math.max(0, size - last), end: size - 1 };
  }
  const start = Number(from);
  if (to !== '' && Number(to) < start) return { kind: 'whole' };
  if (start >= size) return { kind: 'unsatisfiable' };
  const end = to === '' ? size - 1 : Number(to);
  return { kind: 'range', start, end: Math.min(end, size - 1) };
}
