import { decodeCursor, encodeCursor, sortKey } from './run-list-cursor';

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
});
