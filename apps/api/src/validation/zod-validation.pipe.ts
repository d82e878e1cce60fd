import { BadRequestException, Injectable, type PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { toFieldErrors, validationErrorBody } from './field-errors';
import { hostileInputErrors } from './hostile-input';

/**
 * Validates query strings and path parameters with a zod schema; a 400 names each bad
 * parameter, e.g. `{ field: 'limit', message: 'Too big: expected number to be <=200' }`.
 */
@Injectable()
export class ZodValidationPipe<S extends z.ZodType> implements PipeTransform<unknown, z.output<S>> {
  constructor(
    private readonly schema: S,
    private readonly message: string,
    /** Names the field when the schema validates a single value (a path parameter). */
    private readonly field = '(root)',
  ) {}

  transform(value: unknown): z.output<S> {
    const hostile = hostileInputErrors(value, this.field);
    if (hostile.length) throw new BadRequestException(validationErrorBody(this.message, hostile));
    const parsed = this.schema.safeParse(value);
    if (!parsed.success)
      throw new BadRequestException(validationErrorBody(this.message, toFieldErrors(parsed.error, this.field)));
    return parsed.data;
  }
}
