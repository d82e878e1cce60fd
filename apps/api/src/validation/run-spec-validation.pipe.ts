import { BadRequestException, Injectable, type PipeTransform } from '@nestjs/common';
import { parseRunSpec, type RunSpec } from '@trainyard/contracts';
import { validationErrorBody } from './field-errors';
import { hostileInputErrors } from './hostile-input';

/**
 * Validates a submitted body with the contracts' zod schema (the one the worker trusts), so
 * the API never stores a spec a worker would reject. Returns the spec with defaults filled in.
 */
@Injectable()
export class RunSpecValidationPipe implements PipeTransform<unknown, RunSpec> {
  transform(value: unknown): RunSpec {
    const hostile = hostileInputErrors(value);
    if (hostile.length) throw new BadRequestException(validationErrorBody('Invalid run spec', hostile));
    const parsed = parseRunSpec(value);
    if (!parsed.ok) throw new BadRequestException(validationErrorBody('Invalid run spec', parsed.errors));
    return parsed.spec;
  }
}
