import { parseRunSpec } from './run-spec.schema';
import { clipText, NameSchema, text, textProblem } from './text.schema';

describe('text()', () => {
  const name = text({ max: 20 });

  it.each([
    ['NUL', 'a\u0000b'],
    ['newline (a forged log line)', 'run\n01:02 INFO ok'],
    ['carriage return', 'a\rb'],
    ['tab', 'a\tb'],
    ['escape (terminal colours)', '\u001b[31mred'],
    ['DEL', 'a\u007f'],
    ['C1 control (NEL)', 'a\u0085b'],
    ['line separator', 'a\u2028b'],
    ['lone high surrogate', 'a\ud800b'],
    ['lone low surrogate', 'a\udc00'],
    ['trailing newline, not trimmed away', 'name\n'],
  ])('refuses %s', (_what, value) => {
    const parsed = name.safeParse(value);
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0]!.message).toMatch(/Control character U\+[0-9A-F]{4}|Lone UTF-16 surrogate/);
  });

  it('accepts any printable script, emoji (surrogate pairs) and homoglyphs, trimmed', () => {
    for (const value of ['Ѕweep (Cyrillic S)', 'flowers 🌸', '猫と犬', 'ﬁne-tune'])
      expect(name.parse(value)).toBe(value);
    expect(name.parse('  padded  ')).toBe('padded');
    expect(name.safeParse('   ').success).toBe(false);
  });

  it('checks the length on the raw value, before anything else', () => {
    expect(name.safeParse('x'.repeat(21)).success).toBe(false);
  });

  it('names the character and where it is', () => {
    expect(textProblem('ab\u0000')).toBe('Control character U+0000 at position 2 is not allowed');
    expect(textProblem('fine')).toBeNull();
  });

  it('is what every name of a spec is checked with, so a 400 names the field', () => {
    expect(NameSchema.safeParse('a\nb').success).toBe(false);
    const parsed = parseRunSpec({ kind: 'pretrain', name: 'evil\n[INFO] run succeeded', dataset: { name: 'mnist' } });
    expect(parsed).toEqual({
      ok: false,
      errors: [{ field: 'name', message: 'Control character U+000A at position 4 is not allowed' }],
    });
  });
});

describe('clipText', () => {
  it('cuts to the limit without splitting a surrogate pair', () => {
    expect(clipText('abc', 5)).toBe('abc');
    expect(clipText('abcdef', 4)).toBe('abcd');
    expect(clipText('abc🌸', 4)).toBe('abc');
    expect(textProblem(clipText(`${'x'.repeat(119)}🌸🌸`))).toBeNull();
    expect(clipText(`${'x'.repeat(119)}🌸🌸`)).toHaveLength(119);
  });
});
