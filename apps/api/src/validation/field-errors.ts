import type { FieldError } from '@trainyard/contracts';

export interface ValidationErrorBody {
  statusCode: 400;
  error: 'Bad Request';
  message: string;
  errors: FieldError[];
}

export function validationErrorBody(message: string, errors: FieldError[]): ValidationErrorBody {
  return { statusCode: 400, error: 'Bad Request', message, errors };
}
