/**
 * What a file of a dataset folder must be, beyond its name (isFolderImage), to be one of its
 * images: at most MAX_IMAGE_FILE_BYTES, and a PNG, JPEG or WebP by its first bytes. One rule for
 * an upload (which refuses or leaves out what breaks it), a registered folder's load and pack
 * (which skip and list it) and the sample route, so a file is an image on every path or on none.
 * Here, not in libs/datasets, because the API checks it too and never loads sharp.
 */
import { textProblem } from '@trainyard/contracts';

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

/** The longest name (one path segment, in UTF-8 bytes) a file system holds: ext4, APFS, NTFS. */
export const MAX_FILE_NAME_BYTES = 255;

/**
 * Why an image file's path in its folder (`cat/sub/a\b.png`, class folder first) cannot name one
 * of its images, by what lies below the class folder (the class folder has rules of its own, which
 * refuse the folder), or null. Such a file is left out and listed, not refused with its folder: a
 * folder of thousands of pictures is not refused for one bad name. One rule for a registration's
 * listing (not counted), a load (in the data report), a pack (in the manifest's `skipped`) and an
 * upload (in its `skipped`):
 * - a control or bidirectional character or a lone surrogate: the name is stored in reports and
 *   manifests and printed, and an escape sequence in it would reach every terminal showing it;
 * - a backslash (a separator on Windows) or a `.`, `..` or empty segment (an S3 key may hold
 *   them): no object key may, so neither store could read the file (it registered, then was
 *   skipped by every load);
 * - a name over MAX_FILE_NAME_BYTES (an S3 key may be 1,024 bytes): no disk holds it, so neither
 *   the local store nor a copy of the folder could.
 * Two names that are one spelt two ways in Unicode (NFC and NFD `café.png`) are two files, and two
 * images, on every path: unlike two class folders, they are not two outputs of a classifier.
 */
export function imageNameProblem(path: string): string | null {
  const inClass = path.slice(path.indexOf('/') + 1);
  const text = textProblem(inClass);
  if (text) return `its name below the class folder is not text (${text.charAt(0).toLowerCase()}${text.slice(1)})`;
  if (inClass.includes('\\'))
    return 'its name holds "\\" (a folder separator on Windows), which no object key may hold';
  for (const segment of inClass.split('/')) {
    if (segment === '' || segment === '.' || segment === '..')
      return `its path holds ${segment === '' ? 'an empty segment ("//")' : `a "${segment}" segment`}, which no object key may hold`;
    const bytes = Buffer.byteLength(segment);
    if (bytes > MAX_FILE_NAME_BYTES)
      return `a name of ${bytes} bytes, over the ${MAX_FILE_NAME_BYTES} bytes a file system holds`;
  }
  return null;
}
