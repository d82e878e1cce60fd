import { InvalidObjectKeyError } from './invalid-object-key.error';
import { normalizeObjectPrefix } from './object-key';

describe('normalizeObjectPrefix', () => {
  it('makes a folder of a relative prefix', () => {
    expect(normalizeObjectPrefix('datasets/flowers')).toBe('datasets/flowers/');
    expect(normalizeObjectPrefix('datasets/flowers/')).toBe('datasets/flowers/');
  });

  it.each([
    ['./x/', '"." segment'],
    ['a//b/', 'empty path segment'],
    ['../x', '".." segment'],
    ['a/../b', '".." segment'],
    ['/abs', 'starts with "/"'],
    ['a\\b', '"\\"'],
    ['a/\u0007b', 'control character'],
    ['a/\0', 'control character'],
    ['', 'empty'],
  ])('refuses %j (%s)', (prefix, why) => {
    let error: unknown;
    try {
      normalizeObjectPrefix(prefix);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidObjectKeyError);
    expect((error as InvalidObjectKeyError).reason).toContain(why);
  });
});
