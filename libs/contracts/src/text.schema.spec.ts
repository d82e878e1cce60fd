import { parseRunSpec } from './run-spec.schema';
import { clipText, escapeText, NameSchema, quoteText, text, textProblem } from './text.schema';

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
    ['right-to-left override (reverses the rest of a row)', 'run\u202efdp.exe'],
    ['left-to-right embedding', 'a\u202ab'],
    ['pop directional formatting', 'a\u202cb'],
    ['right-to-left isolate', 'a\u2067b'],
    ['pop directional isolate', 'a\u2069b'],
  ])('refuses %s', (_what, value) => {
    const parsed = name.safeParse(value);
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0]!.message).toMatch(
      /(Control character|Bidirectional formatting character) U\+[0-9A-F]{4}|Lone UTF-16 surrogate/,
    );
  });

  it('names a bidirectional control by its code point, like a control character', () => {
    expect(textProblem('run \u202eevil')).toBe(
      'Bidirectional formatting character U+202E at position 4 is not allowed',
    );
    expect(textProblem('\u2066x')).toMatch(/U\+2066 at position 0/);
  });

  it('accepts right-to-left scripts, their direction marks, and the joiners and breaks text needs', () => {
    for (const value of [
      'שלום Trainyard\u200f v2', // RIGHT-TO-LEFT MARK after Latin in Hebrew text
      'a\u200eb', // LEFT-TO-RIGHT MARK
      'تدريب\u061c 3', // ARABIC LETTER MARK
      'ภาษา\u200bไทย', // ZERO WIDTH SPACE, a word break in Thai
      'قطط وكلاب', // Arabic
      'חתולים', // Hebrew
      'run 👩\u200d💻', // ZERO WIDTH JOINER inside an emoji sequence
      '🏳️\u200d🌈 flags',
      'می\u200cخواهم', // ZERO WIDTH NON-JOINER in Persian spelling
    ])
      expect({ value, problem: textProblem(value), parsed: name.safeParse(value).success }).toEqual({
        value,
        problem: null,
        parsed: true,
      });
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

describe('escapeText and quoteText', () => {
  it('escape what textProblem refuses, so nothing is lost and nothing is raw', () => {
    const osc52 = '\u001b]52;c;cm0gLXJmIH4K\u0007';
    expect(escapeText(`${osc52}\r\n\tx\u0085\u2028\u202e`)).toBe(
      '\\u001b]52;c;cm0gLXJmIH4K\\u0007\\r\\n\\tx\\u0085\\u2028\\u202e',
    );
    expect(escapeText('line one\n\tline two\u001b', { keepLines: true })).toBe('line one\n\tline two\\u001b');
    expect(escapeText('猫 👩\u200d💻 قطط')).toBe('猫 👩\u200d💻 قطط');
    for (const value of [osc52, 'a\u202eb\u0085', 'x\ud800', 'plain "quoted" \\ path'])
      expect({ value, quoted: textProblem(quoteText(value)), back: JSON.parse(quoteText(value)) }).toEqual({
        value,
        quoted: null,
        back: value,
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
