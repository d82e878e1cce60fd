import { BadRequestException } from '@nestjs/common';
import { z } from 'zod';
import { hostileInputErrors, MAX_INPUT_DEPTH, MAX_INPUT_VALUES } from './hostile-input';
import { ZodValidationPipe } from './zod-validation.pipe';

describe('hostileInputErrors', () => {
  it('passes ordinary bodies, homoglyphs and emoji included', () => {
    expect(hostileInputErrors({ name: 'Ѕweep 🌸', training: { epochs: 3 }, filters: [16, 32] })).toEqual([]);
  });

  it('passes right-to-left scripts and the joiners of emoji sequences and Persian', () => {
    const names = ['قطط وكلاب', 'חתולים', 'run 👩\u200d💻', 'می\u200cخواهم'];
    expect(hostileInputErrors({ names, מפתח: 'ערך' })).toEqual([]);
  });

  it('names strings and keys with bidirectional embeddings, overrides and isolates, by code point', () => {
    const errors = hostileInputErrors({
      name: 'run\u202egnp.exe',
      'k\u2066': 1,
      list: ['ok', 'a\u202bb'],
      m: '\u2069',
    });
    expect(errors).toEqual(
      expect.arrayContaining([
        {
          field: 'name',
          message: 'Bidirectional formatting character U+202E at position 3 is not allowed',
        },
        {
          field: 'k\u2066',
          message: 'Bidirectional formatting character U+2066 at position 1 is not allowed',
        },
        { field: 'list.1', message: expect.stringContaining('U+202B at position 1') },
        { field: 'm', message: expect.stringContaining('U+2069 at position 0') },
      ]),
    );
    expect(errors).toHaveLength(4);
  });

  it('names keys that reach prototype machinery, wherever they sit', () => {
    const body = JSON.parse('{"__proto__":{"x":1},"model":{"constructor":1,"freezing":{"prototype":2}}}');
    expect(
      hostileInputErrors(body)
        .map((e) => e.field)
        .sort(),
    ).toEqual(['__proto__', 'model.constructor', 'model.freezing.prototype']);
  });

  it('names strings and keys with control characters or lone surrogates', () => {
    const errors = hostileInputErrors({ name: 'a\nb', list: ['ok', 'x\u0000'], 'k\u001b': 1, s: '\ud800' });
    expect(errors).toHaveLength(4);
    expect(errors).toEqual(
      expect.arrayContaining([
        { field: 'name', message: 'Control character U+000A at position 1 is not allowed' },
        { field: 'list.1', message: 'Control character U+0000 at position 1 is not allowed' },
        { field: 'k\u001b', message: 'Control character U+001B at position 1 is not allowed' },
        { field: 's', message: 'Lone UTF-16 surrogate at position 0 is not allowed (not valid Unicode)' },
      ]),
    );
    expect(hostileInputErrors('a\u0000', 'id')).toEqual([{ field: 'id', message: expect.stringContaining('U+0000') }]);
  });

  it('bounds depth and size without recursion', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(hostileInputErrors(deep)[0]!.message).toBe(`Nested deeper than ${MAX_INPUT_DEPTH} levels`);
    expect(hostileInputErrors(Array.from({ length: MAX_INPUT_VALUES + 1 }, () => 0))).toEqual([
      { field: '(root)', message: `More than ${MAX_INPUT_VALUES} values` },
    ]);
    const layers = Array.from({ length: 10_000 }, (_, i) => ({ class_name: 'Dense', config: { name: `d${i}` } }));
    expect(hostileInputErrors({ model: { layers: { base: { config: { layers } } } } })).toEqual([
      { field: 'model.layers.base.config.layers', message: `More than ${MAX_INPUT_VALUES} values` },
    ]);
  });

  it('runs in every validation pipe before the schema', () => {
    const pipe = new ZodValidationPipe(z.strictObject({ name: z.string() }), 'Invalid query');
    try {
      pipe.transform({ name: 'x\ny' });
      throw new Error('expected a 400');
    } catch (err) {
      expect(err).toBeInstanceOf(BadRequestException);
      expect((err as BadRequestException).getStatus()).toBe(400);
      expect((err as BadRequestException).getResponse()).toMatchObject({ errors: [{ field: 'name' }] });
    }
  });
});
