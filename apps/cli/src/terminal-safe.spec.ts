import { jsonText, terminalSafe } from './terminal-safe';

const hex = (code: number) => `\\u${code.toString(16).padStart(4, '0')}`;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Every character the CLI must never print raw, by code point. */
const C0_BUT_LF_TAB = range(0x00, 0x1f).filter((c) => c !== 0x0a && c !== 0x09);
const ABOVE_C0 = [
  0x7f, // DEL
  ...range(0x80, 0x9f), // C1, U+009B a one-character CSI
  0x2028,
  0x2029,
  ...range(0x202a, 0x202e),
  ...range(0x2066, 0x2069),
  0x200e,
  0x200f,
  0x061c,
  0x200b,
  0xfeff,
];

describe('terminalSafe', () => {
  it('shows every control, bidi and zero-width character as its \\u escape, between the text around it', () => {
    const all = [...C0_BUT_LF_TAB, 0x0a, 0x09, ...ABOVE_C0];
    const shown = all.map((code) => terminalSafe(`a${String.fromCharCode(code)}b`));
    expect(shown).toEqual(all.map((code) => `a${hex(code)}b`));
  });

  it('neutralises the sequences the audit found', () => {
    expect(terminalSafe('\u001b]52;c;cm0gLXJmIH4K\u0007cat')).toBe('\\u001b]52;c;cm0gLXJmIH4K\\u0007cat');
    expect(terminalSafe('\u001b]8;;https://evil\u0007dog\u001b]8;;\u0007')).toBe(
      '\\u001b]8;;https://evil\\u0007dog\\u001b]8;;\\u0007',
    );
    expect(terminalSafe('ok\rFAILED')).toBe('ok\\u000dFAILED');
    expect(terminalSafe('\u009b31mred')).toBe('\\u009b31mred');
    expect(terminalSafe('run\u202egnp.exe')).toBe('run\\u202egnp.exe');
  });

  it('leaves printable text alone, other scripts and emoji (joined by U+200D) included', () => {
    for (const text of ['cat', 'Ünïcödé – “quoted” …', '猫と犬', 'قطة', '👩‍🔬 lab', 'a\\u001b literal backslash', ''])
      expect(terminalSafe(text)).toBe(text);
  });

  it('keeps line feeds, tabs and CRLF line endings in multi-line text, and escapes the rest', () => {
    expect(terminalSafe('one\n\ttwo\r\nthree', { multiline: true })).toBe('one\n\ttwo\r\nthree');
    expect(terminalSafe('one\rtwo\u001b[2J\u202e\n', { multiline: true })).toBe('one\\u000dtwo\\u001b[2J\\u202e\n');
    expect(terminalSafe('\r\n\r', { multiline: true })).toBe('\r\n\\u000d');
  });

  it('changes nothing when applied twice: its escapes are plain ASCII', () => {
    const once = terminalSafe('\u001b[31m\u009b\u202e\u200b\r\n');
    expect(terminalSafe(once)).toBe(once);
    expect(terminalSafe(once, { multiline: true })).toBe(once);
  });
});

describe('jsonText', () => {
  const hostile = {
    name: 'run\u202e\u200b\u2028\u2029\u0085\u009b31m\u007f',
    reason: '\u001b]52;c;cm0gLXJmIH4K\u0007\r\n',
    nested: [{ className: 'cat\u200d🐈\ufeff' }],
    value: -0.5,
  };

  it('is the same value when parsed, with no raw DEL, C1, separator, bidi or zero-width character', () => {
    const text = jsonText(hostile, 2);
    expect(JSON.parse(text)).toEqual(hostile);
    expect([...text].filter((c) => ABOVE_C0.includes(c.codePointAt(0)!))).toEqual([]);
    expect(text).toContain('\\u0085\\u009b31m\\u007f');
    expect(text).toContain('\\u2028\\u2029');
    // JSON.stringify's own escapes, and its indentation, stay as they were.
    expect(text).toContain('"reason": "\\u001b]52;c;cm0gLXJmIH4K\\u0007\\r\\n"');
    expect(text.split('\n')[1]).toBe('  "name": "run\\u202e\\u200b\\u2028\\u2029\\u0085\\u009b31m\\u007f",');
  });

  it('writes what JSON.stringify writes when nothing needs escaping', () => {
    const plain = { id: 'r-1', tags: ['a', 'b'], loss: 0.25, notes: 'line 1\nline 2', emoji: '👩‍🔬' };
    expect(jsonText(plain)).toBe(JSON.stringify(plain));
    expect(jsonText(plain, 2)).toBe(JSON.stringify(plain, null, 2));
  });
});
