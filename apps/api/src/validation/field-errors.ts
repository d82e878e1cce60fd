import type { FieldError } from '@trainyard/contracts';
import type { z } from 'zod';

/** Zod issues as `{ field, message }`, the shape every 400 from this API uses. */
export function toFieldErrors(error: z.ZodError, root = '(root)'): FieldError[] {
  return error.issues.flatMap((issue) => {
    const path = issue.path.map(String);
    // An unknown key is reported at its parent; name the key itself so the client sees which.
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ field: [...path, key].join('.'), message: 'Unknown parameter' }));
    }
    return [{ field: path.length ? path.join('.') : root, message: issue.message }];
  });
}

export interface ValidationErrorBody {
  statusCode: 400;
  error: 'Bad Request';
  message: string;
  errors: FieldError[];
}

export function validationErrorBody(message: string, errors: FieldError[]): ValidationErrorBody {
  return { statusCode: 400, error: 'Bad Request', message, errors };
}
