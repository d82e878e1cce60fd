import type { FieldError } from '@trainyard/contracts';

/**
 * What a 400 for bad fields carries: the problem-details filter adds the status, title and
 * request id, so the exception's body holds only the message and the fields.
 */
export interface ValidationErrorBody {
  message: string;
  errors: FieldError[];
}

export function validationErrorBody(message: string, errors: FieldError[]): ValidationErrorBody {
  return { message, errors };
}
