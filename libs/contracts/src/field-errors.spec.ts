import { z } from 'zod';
import { fieldErrorsOf } from './field-errors';
import { FinetuneSpecSchema } from './run-spec.schema';
import { SweepSpecSchema } from './sweep-spec.schema';

const errorsOf = (schema: z.ZodType, input: unknown) => {
  const parsed = schema.safeParse(input);
  if (parsed.success) throw new Error('expected a refusal');
  return fieldErrorsOf(parsed.error);
};

const base = { kind: 'finetune', name: 'b', dataset: { name: 'synthetic-shapes' } };

describe('fieldErrorsOf', () => {
  it('names an unknown key at its own path, and an issue at the top by the root name', () => {
    const schema = z.object({ a: z.object({ b: z.int() }).strict() }).strict();
    expect(errorsOf(schema, { a: { b: 1, c: 2 }, d: 3 })).toEqual([
      { field: 'a.c', message: 'Unknown field' },
      { field: 'd', message: 'Unknown field' },
    ]);
    const parsed = z.int().safeParse('x');
    expect(fieldErrorsOf(parsed.error!, { root: 'id' })[0]!.field).toBe('id');
  });

  it('says what is wrong with a value shaped like one option of a union, not "Invalid input"', () => {
    const tooMany = Array.from({ length: 51 }, (_, i) => i);
    expect(
      errorsOf(SweepSpecSchema, { name: 's', base, strategy: 'grid', parameters: { 'training.seed': tooMany } }),
    ).toEqual([{ field: 'parameters.training.seed', message: 'Too big: expected array to have <=50 items' }]);
    // Nested: the range option of the same union, its own refinement at its own path.
    expect(
      errorsOf(SweepSpecSchema, {
        name: 's',
        base,
        strategy: 'random',
        parameters: { 'training.learningRate': { min: 1, max: 0.1 } },
      }),
    ).toEqual([{ field: 'parameters.training.learningRate.max', message: 'min must be below max' }]);
  });

  it("keeps a union's own message where the value has the shape of none of its options, or of several", () => {
    const [error] = errorsOf(SweepSpecSchema, {
      name: 's',
      base,
      strategy: 'grid',
      parameters: { 'training.learningRate': 'fast' },
    });
    expect(error).toEqual({
      field: 'parameters.training.learningRate',
      message: 'Expected a list of 1 to 50 values, or a range { min, max } (random sweeps)',
    });
    const twoTuples = z.union([z.tuple([z.int()]), z.tuple([z.int(), z.int()])], { error: 'one or two ints' });
    expect(errorsOf(twoTuples, ['a'])).toEqual([{ field: '(root)', message: 'one or two ints' }]);
  });

  it('gives one bound per field, the tightest: an integer past the safe range is not refused twice', () => {
    expect(
      errorsOf(SweepSpecSchema, {
        name: 's',
        base,
        strategy: 'grid',
        parameters: { 'training.seed': [1] },
        seed: 1e20,
      }),
    ).toEqual([{ field: 'seed', message: 'Too big: expected number to be <=2147483647' }]);
    expect(errorsOf(FinetuneSpecSchema, { ...base, training: { seed: -1e20 } })).toEqual([
      { field: 'training.seed', message: expect.stringMatching(/^Too small: expected (number|int) to be >=0$/) },
    ]);
  });

  it('keeps two different problems of one field', () => {
    const schema = z.object({
      name: z
        .string()
        .max(3)
        .regex(/^[a-z]+$/),
    });
    expect(errorsOf(schema, { name: 'ABCDE' }).map((e) => e.field)).toEqual(['name', 'name']);
  });
});
