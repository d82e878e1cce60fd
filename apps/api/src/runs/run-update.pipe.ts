import { BadRequestException, Injectable, type PipeTransform } from '@nestjs/common';
import { RunUpdateSchema, type RunUpdate } from '@trainyard/contracts';
import { toFieldErrors, validationErrorBody } from '../validation/field-errors';
import { hostileInputErrors } from '../validation/hostile-input';

const MESSAGE = 'Invalid run update';

/**
 * The body of `PATCH /v1/runs/:id`. Like every body it is checked for hostile input first, except
 * that `notes` are Markdown: their newlines and tabs are text there, not control characters
 * (RunNotesSchema still refuses every other one).
 */
@Injectable()
export class RunUpdatePipe implements PipeTransform<unknown, RunUpdate> {
  transform(value: unknown): RunUpdate {
    const notes = isRecord(value) && typeof value['notes'] === 'string' ? value['notes'] : undefined;
    const screened =
      notes === undefined
        ? value
        : { ...(value as Record<string, unknown>), notes: notes.replace(/\r\n|[\n\t]/g, ' ') };
    const hostile = hostileInputErrors(screened);
    if (hostile.length) throw new BadRequestException(validationErrorBody(MESSAGE, hostile));
    const parsed = RunUpdateSchema.safeParse(value);
    if (!parsed.success) throw new BadRequestException(validationErrorBody(MESSAGE, toFieldErrors(parsed.error)));
    return parsed.data;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
