import { decimalInt } from './decimal-int';

/** What `Number()` / `z.coerce.number()` took, and what no client formatting a number with `String(n)` sends. */
const NOT_DECIMAL_DIGITS = [
  '0x10',
  '1e1',
  '+5',
  '-0',
  '-1',
  ' 1',
  '1 ',
  '１',
  '٣',
  '00',
  '01',
  '1.0',
  '',
  'abc',
  'Infinity',
];

describe('decimalInt', () => {
  const limit = decimalInt({ min: 1, max: 100 });

  it('takes plain decimal digits within the range, as String(n) writes them', () => {
    expect(['1', '5', '100'].map((v) => limit.parse(v))).toEqual([1, 5, 100]);
    expect(decimalInt({ min: 0, max: 10 }).parse('0')).toBe(0);
    expect(limit.default(20).parse(undefined)).toBe(20);
  });

  it.each(NOT_DECIMAL_DIGITS)('refuses %j, saying what it takes', (value) => {
    const parsed = limit.safeParse(value);
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((i) => i.message)).toEqual([
      'Expected a whole number in decimal digits (0-9), without sign, spaces, exponent, point or leading zero',
    ]);
  });

  it('keeps the range messages, 400 nines included', () => {
    const messages = (value: string) => limit.safeParse(value).error!.issues.map((i) => i.message);
    expect(messages('0')).toEqual(['Too small: expected number to be >=1']);
    expect(messages('101')).toEqual(['Too big: expected number to be <=100']);
    expect(messages('9'.repeat(400))).toEqual(['Too big: expected number to be <=100']);
    expect(messages('9007199254740993')).toEqual(['Too big: expected number to be <=100']);
  });

  it('refuses a parameter given twice, and names what the number is', () => {
    expect(limit.safeParse(['1', '2']).error!.issues[0]!.message).toMatch(/^Give it once: Expected a whole number/);
    expect(decimalInt({ min: 0, max: 9, what: 'a sample index' }).safeParse('x').error!.issues[0]!.message).toMatch(
      /^Expected a sample index in decimal digits/,
    );
  });

  it('refuses a range it cannot hold exactly', () => {
    expect(() => decimalInt({ min: 0, max: Number.MAX_SAFE_INTEGER })).toThrow(/bad range/);
    expect(() => decimalInt({ min: 2, max: 1 })).toThrow(/bad range/);
  });
});
