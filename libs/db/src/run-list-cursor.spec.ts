import { decodeCursor, encodeCursor, metricCursorValue, sortKey } from './run-list-cursor';

const id = '0b6c7a8e-1f3e-4a51-9d3c-2b8f3f1e2d4c';

describe('run list cursor', () => {
  it('round-trips value and id for the same sort', () => {
    const key = sortKey({ by: 'metric', metric: 'val_loss', stat: 'best' }, 'asc');
    const raw = encodeCursor({ sort: key, value: '0.123456789012345', id });
    expect(raw).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(raw, key)).toEqual({ sort: key, value: '0.123456789012345', id });
  });

  it('keeps runs without the metric (null value)', () => {
    const key = sortKey({ by: 'createdAt' }, 'desc');
    expect(decodeCursor(encodeCursor({ sort: key, value: null, id }), key).value).toBeNull();
  });

  it('refuses a cursor from another sort or order', () => {
    const raw = encodeCursor({ sort: sortKey({ by: 'createdAt' }, 'desc'), value: 'x', id });
    expect(() => decodeCursor(raw, sortKey({ by: 'createdAt' }, 'asc'))).toThrow(/belongs to sort "createdAt:desc"/);
  });

  it('refuses garbage', () => {
    expect(() => decodeCursor('not-a-cursor', 'createdAt:asc')).toThrow(/Invalid run list cursor/);
    expect(() => decodeCursor(Buffer.from('{"s":"a","v":1,"i":"x"}').toString('base64url'), 'a')).toThrow(
      /Invalid run list cursor/,
    );
  });

  const key = sortKey({ by: 'metric', metric: 'val_loss', stat: 'best' }, 'asc');
  const forge = (v: string) => encodeCursor({ sort: key, value: v, id });

  it('spells a double as PostgreSQL prints a float8, and reads back every value it spells', () => {
    const spelled: [number, string][] = [
      [NaN, 'NaN'],
      [Infinity, 'Infinity'],
      [-Infinity, '-Infinity'],
      [-0, '0'],
      [0, '0'],
      [5e-324, '5e-324'],
      [1.7976931348623157e308, '1.7976931348623157e+308'],
      [-1.7976931348623157e308, '-1.7976931348623157e+308'],
      [1e15, '1e+15'],
      [999999999999999.9, '999999999999999.9'],
      [1e-5, '1e-05'],
      [0.0001, '0.0001'],
      [1e21, '1e+21'],
      [1.5e-7, '1.5e-07'],
      [0.1 + 0.2, '0.30000000000000004'],
      [1000, '1000'],
      [-2.5e20, '-2.5e+20'],
    ];
    for (const [n, text] of spelled) {
      expect([n, metricCursorValue(n)]).toEqual([n, text]);
      expect(decodeCursor(forge(text), key).value).toBe(text);
      expect(Object.is(Number(text), n === 0 ? 0 : n) || (Number.isNaN(n) && Number.isNaN(Number(text)))).toBe(true);
    }
  });

  it.each([
    '1e3',
    '-0',
    '1E3',
    '1e+3',
    '1000.0',
    '+1',
    ' 1',
    '0x10',
    '.5',
    '0.50',
    '1e15',
    '1e-5',
    '1e999',
    'nan',
    'inf',
    '',
  ])('refuses a metric value spelled %j, which the list never writes', (v) => {
    expect(() => decodeCursor(forge(v), key)).toThrow(/Invalid run list cursor/);
  });
});
