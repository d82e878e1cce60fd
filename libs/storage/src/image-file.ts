/**
 * What a file of a dataset folder must be, beyond its name (isFolderImage), to be one of its
 * images: at most MAX_IMAGE_FILE_BYTES, and a PNG, JPEG or WebP by its first bytes. One rule for
 * an upload (which refuses or leaves out what breaks it), a registered folder's load and pack
 * (which skip and list it) and the sample route, so a file is an image on every path or on none.
 * Here, not in libs/datasets, because the API checks it too and never loads sharp.
 */

/**
 * The largest image file a dataset holds: no picture to train on is near it (a 50-megapixel photo,
 * MAX_INPUT_PIXELS, is ~10–25 MB as a JPEG). An upload refuses an image over it; a registered
 * folder's load skips one without reading a byte of it (its listing gives the size), so loading
 * holds at most this many bytes per file read at once, whatever else the folder holds.
 */
export const MAX_IMAGE_FILE_BYTES = 64 * 2 ** 20;

/** Why a file of `size` bytes is too large to be an image of a dataset (MAX_IMAGE_FILE_BYTES), or null. */
export function imageFileTooLarge(size: number): string | null {
  if (size <= MAX_IMAGE_FILE_BYTES) return null;
  return `the file is ${size} bytes, over the ${MAX_IMAGE_FILE_BYTES}-byte (${MAX_IMAGE_FILE_BYTES / 2 ** 20} MiB) limit per image (MAX_IMAGE_FILE_BYTES)`;
}

/** The bytes that tell an image from other bytes: WebP's signature is the longest (`RIFF` + size + `WEBP`). */
export const IMAGE_SIGNATURE_BYTES = 12;

/** The formats a dataset may hold, as media types. */
export type ImageType = 'image/png' | 'image/jpeg' | 'image/webp';

/** Each format's name, as reasons say it. */
export const IMAGE_TYPE_NAMES: Readonly<Record<ImageType, string>> = {
  'image/png': 'PNG',
  'image/jpeg': 'JPEG',
  'image/webp': 'WebP',
};

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * The image type by its first bytes (at least IMAGE_SIGNATURE_BYTES of them, or the whole file),
 * whatever the file is named: only PNG, JPEG and WebP. sharp reads more (TIFF, GIF's first frame,
 * AVIF, even SVG, which it renders): those are no dataset's images under any name, so a training
 * process never hands them to a decoder, nor the API to a browser.
 */
export function sniffImageType(head: Uint8Array): ImageType | null {
  const bytes = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(PNG_SIGNATURE)) return 'image/png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.length >= 12 && bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP')
    return 'image/webp';
  return null;
}

/**
 * Why a file starting with `head` (its first IMAGE_SIGNATURE_BYTES or more, or all of it when
 * shorter) cannot be an image of a dataset (no PNG, JPEG or WebP signature), or null.
 */
export function notAnImage(head: Uint8Array): string | null {
  if (head.length === 0) return 'an empty file';
  if (sniffImageType(head)) return null;
  const start = [...head.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return `not a PNG, JPEG or WebP image (it starts with ${start})`;
}
