import { BadRequestException } from '@nestjs/common';
import { ZodValidationPipe } from '../validation/zod-validation.pipe';
import { RunIdSchema } from './run-queries';

function errorsOf(run: () => unknown): { field: string; message: string }[] {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(BadRequestException);
    expect((err as BadRequestException).getStatus()).toBe(400);
    return ((err as BadRequestException).getResponse() as { errors: { field: string; message: string }[] }).errors;
  }
  throw new Error('expected a 400');
}

describe('run parameters', () => {
  it('names the id when a run id is malformed', () => {
    const pipe = new ZodValidationPipe(RunIdSchema, 'Invalid run id', { field: 'id' });
    expect(pipe.transform('6f1c2d3e-4a5b-4c6d-8e7f-8091a2b3c4d5')).toBe('6f1c2d3e-4a5b-4c6d-8e7f-8091a2b3c4d5');
    expect(errorsOf(() => pipe.transform('42'))).toEqual([{ field: 'id', message: 'Expected a run id (a UUID)' }]);
  });
});
