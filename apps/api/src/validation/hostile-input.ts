import { isForbiddenKey, textProblem, type FieldError } from '@trainyard/contracts';

/** Deeper than any body of this API (a pipeline's fine-tune's model's freezing is 5 levels). */
export const MAX_INPUT_DEPTH = 32;
/** Values (objects, arrays, scalars) one request may hold: a pipeline of 20 fine-tunes needs about 1,000. */
export const MAX_INPUT_VALUES = 10_000;
const MAX_REPORTED = 20;

/**
 * What no request of this API may carry anywhere, found before any schema reads it: keys that
 * reach prototype machinery (`__proto__`, `constructor`, `prototype`), strings or keys with control
 * characters or lone surrogates, nesting deeper than MAX_INPUT_DEPTH, more than MAX_INPUT_VALUES
 * values. The walk is iterative and stops at the first bound, so its cost is linear in what the
 * body parser already accepted and a 50,000-deep array cannot overflow the stack.
 */
export function hostileInputErrors(input: unknown, root = '(root)'): FieldError[] {
  const errors: FieldError[] = [];
  const field = (path: readonly string[]) => (path.length ? path.join('.') : root);
  const stack: { value: unknown; path: readonly string[] }[] = [{ value: input, path: [] }];
  let seen = 0;
  while (stack.length && errors.length < MAX_REPORTED) {
    const { value, path } = stack.pop()!;
    if (++seen > MAX_INPUT_VALUES) {
      errors.push({ field: root, message: `More than ${MAX_INPUT_VALUES} values` });
      break;
    }
    if (typeof value === 'string') {
      const problem = textProblem(value);
      if (problem) errors.push({ field: field(path), message: problem });
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (path.length >= MAX_INPUT_DEPTH) {
      errors.push({ field: field(path), message: `Nested deeper than ${MAX_INPUT_DEPTH} levels` });
      break;
    }
    const size = Array.isArray(value) ? value.length : Object.keys(value).length;
    if (seen + stack.length + size > MAX_INPUT_VALUES) {
      // Named at the array or object whose items pass the bound (a topology's 10,000 layers).
      errors.push({ field: field(path), message: `More than ${MAX_INPUT_VALUES} values` });
      break;
    }
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], path: [...path, String(i)] });
      continue;
    }
    const keys = Object.keys(value);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i]!;
      const keyProblem = isForbiddenKey(key) ? `"${key}" is not allowed as a key` : textProblem(key);
      if (keyProblem) errors.push({ field: field([...path, key]), message: keyProblem });
      else stack.push({ value: (value as Record<string, unknown>)[key], path: [...path, key] });
    }
  }
  return errors.slice(0, MAX_REPORTED);
}
