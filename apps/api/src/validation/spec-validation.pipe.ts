import { BadRequestException, type PipeTransform } from '@nestjs/common';
import { fieldErrorsOf } from '@trainyard/contracts';
import type { z } from 'zod';
import { validationErrorBody } from './field-errors';
import { hostileInputErrors } from './hostile-input';

/** A request body validated by a contracts schema: 400 with every bad field's dotted path, or the parsed value with defaults. */
export class SpecValidationPipe<S extends z.ZodType> implements PipeTransform<unknown, z.output<S>> {
  constructor(
    private readonly schema: S,
    private readonly message: string,
  ) {}

  transform(value: unknown): z.output<S> {
    const hostile = hostileInputErrors(value);
    if (hostile.length) throw new BadRequestException(validationErrorBody(this.message, hostile));
    const parsed = this.schema.safeParse(value);
    if (!parsed.success) throw new BadRequestException(validationErrorBody(this.message, fieldErrorsOf(parsed.error)));
    return parsed.data;
  }
}
