import { BadRequestException } from '@nestjs/common';
import { RunSpecValidationPipe } from './run-spec-validation.pipe';

function rejection(pipe: RunSpecValidationPipe, body: unknown): Record<string, unknown> {
  try {
    pipe.transform(body);
  } catch (err) {
    expect(err).toBeInstanceOf(BadRequestException);
    return (err as BadRequestException).getResponse() as Record<string, unknown>;
  }
  throw new Error('expected the pipe to reject the body');
}

describe('RunSpecValidationPipe', () => {
  const pipe = new RunSpecValidationPipe();

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
    expect(body).toMatchObject({ statusCode: 400, error: 'Bad Request', message: 'Invalid run spec' });
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
