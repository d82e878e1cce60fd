/**
 * The benches' numeric flags, as `parseArgs` gives them (strings, defaults filled in), read as
 * positive integers; a flag that is not one is an error naming it.
 */
export function positiveIntegerFlags<K extends string>(values: Record<K, string | undefined>): Record<K, number> {
  const parsed = {} as Record<K, number>;
  for (const name of Object.keys(values) as K[]) {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} takes a positive integer (got ${values[name]})`);
    parsed[name] = n;
  }
  return parsed;
}
