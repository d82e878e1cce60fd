import { displayWidth, padToWidth, truncateToWidth } from './display-width';

/** A high surrogate with no low one after it, or a low one with no high one before: half a character. */
const HALF_A_CHARACTER = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe('display width', () => {
  it.each([
    ['ascii', 'cat', 3],
    ['CJK: two columns each', '猫の画像', 8],
    ['Hangul', '고양이', 6],
    ['an emoji', '🐈', 2],
    ['an emoji joined of several (U+200D)', '👩‍👩‍👧', 2],
    ['a flag (two regional indicators)', '🇯🇵', 2],
    ['a text symbol made emoji by VS16', '✔️', 2],
    ['a combining accent on its letter', 'e\u0301', 1],
    ['fullwidth Latin', 'ＡＢ', 4],
  ])('%s', (_what, text, width) => expect(displayWidth(text)).toBe(width));

  it('cuts on whole characters, never half an emoji or a joined one, within the columns asked', () => {
    for (const name of ['🐈'.repeat(40), `${'a'.repeat(46)}🐈🐈`, '👩‍👩‍👧'.repeat(30), '猫'.repeat(40)]) {
      const cut = truncateToWidth(name, 48);
      expect(cut).not.toMatch(HALF_A_CHARACTER);
      expect(cut.endsWith('…')).toBe(true);
      expect(displayWidth(cut)).toBeLessThanOrEqual(48);
      expect(name.startsWith(cut.slice(0, -1))).toBe(true);
    }
    expect(truncateToWidth('short 名前', 48)).toBe('short 名前');
  });

  it('pads to columns', () => {
    expect(padToWidth('猫', 4)).toBe('猫  ');
  });
});
