import { BadRequestException, Injectable, type PipeTransform } from '@nestjs/common';
import { fieldErrorsOf } from '@trainyard/contracts';
import type { z } from 'zod';
import { validationErrorBody } from './field-errors';
import { hostileInputErrors } from './hostile-input';

export interface ZodValidationOptions {
  /** Names the value when the schema validates a single one (a path parameter); `(root)` otherwise. */
  field?: string;
  /** Where the value comes from: an unknown key of a `body` is an unknown field, of a `query` an unknown parameter. */
  in?: 'query' | 'body';
  /**
   * The value as the hostile-input check should see it, where the schema itself allows more
   * (Markdown notes, whose newlines and tabs are text): the schema still parses the value as sent.
   */
  screen?: (value: unknown) => unknown;
}

/**
 * The API's one validation pipe, for bodies, query strings and path parameters alike: hostile
 * input first (hostile-input.ts), then the contracts' zod schema. A 400 names each bad field or
 * parameter, e.g. `{ field: 'limit', message: 'Too big: expected number to be <=200' }`; what
 * passes is the schema's output, defaults filled in.
 */
@Injectable()
export class ZodValidationPipe<S extends z.ZodType> implements PipeTransform<unknown, z.output<S>> {
  constructor(
    private readonly schema: S,
    private readonly message: string,
    private readonly options: ZodValidationOptions = {},
  ) {}

  transform(value: unknown): z.output<S> {
    const { field = '(root)', screen } = this.options;
    const hostile = hostileInputErrors(screen ? screen(value) : value, field);
    if (hostile.length) throw new BadRequestException(validationErrorBody(this.message, hostile));
    const parsed = this.schema.safeParse(value);
    if (!parsed.success) {
      const unknownKey = this.options.in === 'body' ? 'field' : 'parameter';
      throw new BadRequestException(
        validationErrorBody(this.message, fieldErrorsOf(parsed.error, { root: field, unknownKey })),
      );
    }
    return parsed.data;
  }
}
