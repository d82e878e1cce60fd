import { hasImageSignature } from './image-signature';

describe('hasImageSignature', () => {
  it.each([
    ['PNG', [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d], true],
    ['JPEG', [0xff, 0xd8, 0xff, 0xe0], true],
    ['WebP', [...Buffer.from('RIFF'), 1, 2, 3, 4, ...Buffer.from('WEBPVP8 ')], true],
    ['HTML', [...Buffer.from('<html><body>Not found')], false],
    ['RIFF that is no WebP (a WAV)', [...Buffer.from('RIFF'), 1, 2, 3, 4, ...Buffer.from('WAVE')], false],
    ['a PNG cut short', [0x89, 0x50, 0x4e, 0x47], false],
    ['an empty file', [], false],
  ])('%s: %s', (_, bytes, expected) => {
    expect(hasImageSignature(Buffer.from(bytes as number[]))).toBe(expected);
  });
});
