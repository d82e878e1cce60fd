import { decodeCreatedCursor, decodeNameCursor, encodeCreatedCursor, encodeNameCursor } from './catalog-page';
import { InvalidCursorError } from './errors';

const id = '0b6c7a8e-1f3e-4a51-9d3c-2b8f3f1e2d4c';
const forge = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('catalog list cursors', () => {
  it('round-trip the last row of each list', () => {
    const at = { createdAt: new Date('2026-03-01T10:00:00.123Z'), id };
    const raw = encodeCreatedCursor('sweeps', at);
    expect(raw).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCreatedCursor('sweeps', raw)).toEqual(at);
    const name = { name: 'caf\u00e9 \ud83d\ude00 vision', project: 'default' };
    expect(decodeNameCursor(encodeNameCursor(name))).toEqual(name);
    // A model named before the bidirectional controls were refused: the list pages on past it.
    const older = { name: 'model \u202eevil', project: 'default' };
    expect(decodeNameCursor(encodeNameCursor(older))).toEqual(older);
  });

  it('refuses a cursor of another list', () => {
    const raw = encodeCreatedCursor('pipelines', { createdAt: new Date(), id });
    expect(() => decodeCreatedCursor('sweeps', raw)).toThrow(
      /^Invalid sweeps list cursor ".*": it belongs to the pipelines list$/,
    );
    expect(() => decodeNameCursor(raw)).toThrow(/^Invalid models list cursor /);
    // Named by the list it was given to (a sweeps cursor was once "Invalid run list cursor").
    expect(() => decodeCreatedCursor('keys', 'garbage')).toThrow(/^Invalid keys list cursor "garbage": not a cursor/);
  });

  it.each([
    ['NUL in the name', { k: 'models', n: '\u0000', p: 'a' }],
    ['NUL in the project', { k: 'models', n: 'a', p: 'a\u0000' }],
    ['an escape sequence', { k: 'models', n: '\u001b[2J', p: 'a' }],
    ['a newline', { k: 'models', n: 'a\nb', p: 'a' }],
    ['a C1 control', { k: 'models', n: 'a\u0085', p: 'a' }],
    ['a lone surrogate', { k: 'models', n: 'a', p: '\udc00' }],
    ['a name over 500 characters', { k: 'models', n: 'a'.repeat(501), p: 'a' }],
    ['a number for a name', { k: 'models', n: 1, p: 'a' }],
    ['a key of its own', { k: 'models', n: 'a', p: 'a', x: 1 }],
  ])('refuses a models cursor holding %s', (_what, value) => {
    expect(() => decodeNameCursor(forge(value))).toThrow(InvalidCursorError);
  });

  it.each([
    ['the year 0', '0000-01-01T00:00:00Z'],
    ['a day February lacks', '2026-02-29T00:00:00Z'],
    ['an offset', '2026-01-01T00:00:00+02:00'],
    ['a NUL', '2026-01-01T00:00:00Z\u0000'],
    ['no time', '2026-01-01'],
  ])('refuses a pipelines or sweeps cursor holding %s', (_what, t) => {
    for (const k of ['pipelines', 'sweeps'] as const)
      expect(() => decodeCreatedCursor(k, forge({ k, t, i: id }))).toThrow(InvalidCursorError);
  });

  it('takes the first and last years PostgreSQL holds', () => {
    for (const t of ['0001-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z'])
      expect(decodeCreatedCursor('pipelines', forge({ k: 'pipelines', t, i: id })).createdAt.toISOString()).toBe(
        new Date(t).toISOString(),
      );
  });

  it('refuses garbage', () => {
    expect(() => decodeNameCursor('not-a-cursor')).toThrow(InvalidCursorError);
    expect(() => decodeCreatedCursor('sweeps', forge({ k: 'sweeps', t: '2026-01-01T00:00:00Z', i: 'x' }))).toThrow(
      InvalidCursorError,
    );
  });
});
