/**
 * Whether `bytes` start as a PNG, JPEG or WebP file does: what a run can decode, whatever the file
 * is named (an HTML error page saved as .jpg has no such start). Only the signature is read: a
 * truncated image with a valid one passes, and is found when decoded.
 */
export function hasImageSignature(bytes: Buffer): boolean {
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length >= 8 && png.every((b, i) => bytes[i] === b)) return true;
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return true;
  return bytes.length >= 12 && bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP';
}
