import { BadRequestException } from '@nestjs/common';
import { ZodValidationPipe } from '../validation/zod-validation.pipe';
import { MetricSeriesQuerySchema, RunIdSchema, RunListQuerySchema } from './run-queries';

const listPipe = new ZodValidationPipe(RunListQuerySchema, 'Invalid query');

function errorsOf(run: () => unknown): { field: string; message: string }[] {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(BadRequestException);
    const body = (err as BadRequestException).getResponse() as { statusCode: number; errors: { field: string; message: string }[] };
    expect(body.statusCode).toBe(400);
    return body.errors;
  }
  throw new Error('expected a 400');
}

describe('GET /v1/runs query', () => {
  it('defaults to newest first by creation, 50 per page', () => {
    expect(listPipe.transform({})).toEqual({ sort: { by: 'createdAt' }, order: 'desc', limit: 50 });
  });

  it('parses filters, a metric sort, order, limit and cursor', () => {
    expect(
      listPipe.transform({ status: 'succeeded', kind: 'finetune', sort: 'metric:val_accuracy:best', order: 'asc', limit: '200', cursor: 'abc' }),
    ).toEqual({
      status: 'SUCCEEDED',
      kind: 'FINETUNE',
      sort: { by: 'metric', metric: 'val_accuracy', stat: 'best' },
      order: 'asc',
      limit: 200,
      cursor: 'abc',
    });
  });

  it.each(['last', 'min', 'max'] as const)('accepts the %s statistic', (stat) => {
    expect(listPipe.transform({ sort: `metric:loss:${stat}` }).sort).toEqual({ by: 'metric', metric: 'loss', stat });
  });

  it.each([
    [{ sort: 'metric:loss' }, 'sort'],
    [{ sort: 'metric:loss:median' }, 'sort'],
    [{ sort: 'name' }, 'sort'],
    [{ order: 'up' }, 'order'],
    [{ limit: '0' }, 'limit'],
    [{ limit: '201' }, 'limit'],
    [{ limit: '2.5' }, 'limit'],
    [{ limit: 'ten' }, 'limit'],
    [{ status: 'DONE' }, 'status'],
    [{ kind: 'distill' }, 'kind'],
    [{ stauts: 'QUEUED' }, 'stauts'],
    [{ status: ['QUEUED', 'RUNNING'] }, 'status'],
  ])('answers 400 naming the parameter for %j', (query, field) => {
    expect(errorsOf(() => listPipe.transform(query)).map((e) => e.field)).toEqual([field]);
  });
});

describe('other run parameters', () => {
  it('accepts a metric name filter and refuses unknown parameters', () => {
    const pipe = new ZodValidationPipe(MetricSeriesQuerySchema, 'Invalid query');
    expect(pipe.transform({ name: 'loss' })).toEqual({ name: 'loss' });
    expect(pipe.transform({})).toEqual({});
    expect(errorsOf(() => pipe.transform({ metric: 'loss' }))[0]!.field).toBe('metric');
  });

  it('names the id when a run id is malformed', () => {
    const pipe = new ZodValidationPipe(RunIdSchema, 'Invalid run id', 'id');
    expect(pipe.transform('6f1c2d3e-4a5b-4c6d-8e7f-8091a2b3c4d5')).toBe('6f1c2d3e-4a5b-4c6d-8e7f-8091a2b3c4d5');
    expect(errorsOf(() => pipe.transform('42'))).toEqual([{ field: 'id', message: 'Expected a run id (a UUID)' }]);
  });
});
