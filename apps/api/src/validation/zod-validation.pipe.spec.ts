import { BadRequestException } from '@nestjs/common';
import { RunSpecSchema } from '@trainyard/contracts';
import { z } from 'zod';
import { runUpdatePipe } from '../runs/run-update.pipe';
import { ZodValidationPipe } from './zod-validation.pipe';

function rejection(pipe: { transform(value: unknown): unknown }, body: unknown): Record<string, unknown> {
  try {
    pipe.transform(body);
  } catch (err) {
    expect(err).toBeInstanceOf(BadRequestException);
    expect((err as BadRequestException).getStatus()).toBe(400);
    return (err as BadRequestException).getResponse() as Record<string, unknown>;
  }
  throw new Error('expected the pipe to reject the body');
}

describe('ZodValidationPipe over a run spec body', () => {
  const pipe = new ZodValidationPipe(RunSpecSchema, 'Invalid run spec', { in: 'body' });

  it('returns the spec with every default filled in', () => {
    const spec = pipe.transform({ kind: 'pretrain', name: ' mnist ae ', dataset: { name: 'mnist' } });
    expect(spec).toMatchObject({
      kind: 'pretrain',
      name: 'mnist ae',
      model: { type: 'conv-autoencoder', filters: [16, 32] },
      training: { epochs: 5, batchSize: 32, optimizer: 'adam' },
      checkpoint: { everyEpochs: 1 },
    });
  });

  it('answers 400 with the field path of every bad value', () => {
    const body = rejection(pipe, {
      kind: 'finetune',
      name: '',
      dataset: { name: 'mnist' },
      training: { learningRate: 5, epochs: 0 },
      model: { type: 'classifier', baseRunId: 'not-a-uuid' },
    });
    expect(body).toMatchObject({ message: 'Invalid run spec' });
    const fields = (body.errors as { field: string }[]).map((e) => e.field).sort();
    expect(fields).toEqual(['model.baseRunId', 'name', 'training.epochs', 'training.learningRate']);
  });

  it('names unknown fields instead of dropping them', () => {
    const body = rejection(pipe, { kind: 'pretrain', name: 'x', dataset: { name: 'mnist' }, training: { epoch: 3 } });
    expect(body.errors).toEqual([{ field: 'training.epoch', message: 'Unknown field' }]);
  });

  it('rejects an unknown kind and a missing body', () => {
    expect((rejection(pipe, { kind: 'distill', name: 'x' }).errors as { field: string }[])[0]!.field).toBe('kind');
    expect((rejection(pipe, undefined).errors as { field: string }[])[0]!.field).toBe('(root)');
  });
});

describe('ZodValidationPipe over query strings and path parameters', () => {
  const query = new ZodValidationPipe(z.strictObject({ limit: z.coerce.number().int().max(200) }), 'Invalid query');
  const param = new ZodValidationPipe(z.uuid(), 'Invalid run id', { field: 'id' });

  it('names an unknown key of a query string a parameter, and a bad value by its key', () => {
    expect(rejection(query, { limit: '500', lmit: '5' })).toMatchObject({
      message: 'Invalid query',
      errors: expect.arrayContaining([
        { field: 'lmit', message: 'Unknown parameter' },
        { field: 'limit', message: expect.stringContaining('200') },
      ]),
    });
  });

  it('names a path parameter by its name, for the schema and for hostile input', () => {
    expect((rejection(param, 'not-a-uuid').errors as { field: string }[])[0]!.field).toBe('id');
    expect(rejection(param, 'a\u0000b').errors).toEqual([{ field: 'id', message: expect.any(String) }]);
  });
});

describe('runUpdatePipe (PATCH /v1/runs/:id)', () => {
  it('lets Markdown notes keep their newlines and tabs, and parses the body as sent', () => {
    expect(runUpdatePipe.transform({ notes: '# Notes\n\n\t- one' })).toEqual({ notes: '# Notes\n\n\t- one' });
  });

  it('still refuses other control characters in the notes, and hostile input anywhere', () => {
    expect(rejection(runUpdatePipe, { notes: 'bell \u0007' }).errors).toEqual([
      { field: 'notes', message: expect.any(String) },
    ]);
    expect(rejection(runUpdatePipe, { name: 'x\u0000' }).errors).toEqual([
      { field: 'name', message: expect.any(String) },
    ]);
  });

  it('names an unknown key of the body a field, as every other body does', () => {
    expect(rejection(runUpdatePipe, { name: 'x', colour: 'red' })).toMatchObject({
      message: 'Invalid run update',
      errors: [{ field: 'colour', message: 'Unknown field' }],
    });
  });
});
