import type { z } from 'zod';

export interface FieldError {
  /** Dotted path of the offending field, e.g. `training.learningRate`. */
  field: string;
  message: string;
}

export interface FieldErrorNaming {
  /** The field of an issue at the top: the name of a value validated alone (a path parameter), else `(root)`. */
  root?: string;
  /** What an unknown key is called: a `field` of a body (the default), a `parameter` of a query string. */
  unknownKey?: 'field' | 'parameter';
}

type Issue = z.core.$ZodIssue;

/**
 * Zod issues as `{ field, message }` with dotted paths, the shape of every 400 of the API: the one
 * formatter of the API's validation pipe and of parseRunSpec.
 */
export function fieldErrorsOf(error: z.ZodError, naming: FieldErrorNaming = {}): FieldError[] {
  const root = naming.root ?? '(root)';
  const unknown = naming.unknownKey === 'parameter' ? 'Unknown parameter' : 'Unknown field';
  return tightestBounds(surfaceUnions(error.issues, [])).flatMap((issue): FieldError[] => {
    const path = issue.path.map(String);
    // An unknown key is reported at its parent; name the key itself so the client sees which.
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ field: [...path, key].join('.'), message: unknown }));
    }
    return [{ field: path.length ? path.join('.') : root, message: issue.message }];
  });
}

/**
 * A union none of whose options matched is zod's bare "Invalid input". Where the value had the
 * shape of exactly one option (a list for "a list or a range") and failed only its checks, that
 * option's issues say what is wrong (`<=50 items`), so they replace it, at their full paths.
 */
function surfaceUnions(issues: readonly Issue[], prefix: readonly PropertyKey[]): Issue[] {
  return issues.flatMap((issue): Issue[] => {
    const path = [...prefix, ...issue.path];
    if (issue.code !== 'invalid_union') return [{ ...issue, path }];
    const shaped = issue.errors.filter(
      (option) => !option.some((inner) => inner.code === 'invalid_type' && inner.path.length === 0),
    );
    return shaped.length === 1 ? surfaceUnions(shaped[0]!, path) : [{ ...issue, path }];
  });
}

/**
 * One bound per field: `z.int().max(2 ** 31 - 1)` checks the safe-integer range too, so 1e20 broke
 * two maxima; the tightest is the one the caller must meet.
 */
function tightestBounds(issues: Issue[]): Issue[] {
  const tightest = new Map<string, Issue>();
  for (const issue of issues) {
    const key = boundKey(issue);
    const kept = key === undefined ? undefined : tightest.get(key);
    if (key !== undefined && (kept === undefined || tighter(issue, kept))) tightest.set(key, issue);
  }
  return issues.filter((issue) => {
    const key = boundKey(issue);
    return key === undefined || tightest.get(key) === issue;
  });
}

/** A bound's field and side; undefined for an issue of another kind. */
function boundKey(issue: Issue): string | undefined {
  if (issue.code !== 'too_big' && issue.code !== 'too_small') return undefined;
  return `${issue.code}\u0000${issue.path.map(String).join('.')}`;
}

function tighter(issue: Issue, than: Issue): boolean {
  if (issue.code === 'too_big' && than.code === 'too_big') return Number(issue.maximum) < Number(than.maximum);
  if (issue.code === 'too_small' && than.code === 'too_small') return Number(issue.minimum) > Number(than.minimum);
  return false;
}
