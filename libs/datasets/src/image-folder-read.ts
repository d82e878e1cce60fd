import {
  IMAGE_SIGNATURE_BYTES,
  imageFileTooLarge,
  notAnImage,
  type ImageFile,
  type ObjectStore,
} from '@trainyard/storage';

/** One file of a folder, read: its bytes, or why it is no image (the reason a data report lists). */
export type FolderImageRead = { ok: true; bytes: Buffer } | { ok: false; reason: string };

/**
 * Reads one image file of a scanned folder, refusing what cannot be one of its images before its
 * bytes go further: a file over MAX_IMAGE_FILE_BYTES by the size its listing gave is not read at
 * all (a 1.2 GB `video.jpg` was read whole, eight at a time, only to fail decoding), an empty one
 * is skipped, and bytes without a PNG, JPEG or WebP signature are skipped as uploads skip them,
 * before any hash or decode. Reasons are the same for the same file on every load and pack.
 *
 * Reads with `store.get`, which retries a transient failure (an S3 reset mid-body) whole: a file
 * that grew past the cap after the listing is read once and then skipped the same way.
 */
export async function readFolderImage(
  store: ObjectStore,
  file: Pick<ImageFile, 'key' | 'size'>,
): Promise<FolderImageRead> {
  const listedTooLarge = imageFileTooLarge(file.size);
  if (listedTooLarge) return { ok: false, reason: `${listedTooLarge}; it was not read` };
  let bytes: Buffer;
  try {
    bytes = await store.get(file.key);
  } catch (error) {
    // A file deleted since the scan, or a permission error on one file: skip it, not the run.
    return { ok: false, reason: `cannot be read: ${(error as Error).message}` };
  }
  const problem = imageBytesProblem(bytes);
  return problem ? { ok: false, reason: problem } : { ok: true, bytes };
}

/**
 * Why the bytes read of a folder's file are no image of it (empty, over MAX_IMAGE_FILE_BYTES, no
 * PNG, JPEG or WebP signature), or null: the reason a load's data report and a pack's `skipped`
 * both give, so a file is left out of both for the same words.
 */
export function imageBytesProblem(bytes: Buffer): string | null {
  if (bytes.length === 0) return 'the file is empty (0 bytes)';
  const tooLarge = imageFileTooLarge(bytes.length);
  if (tooLarge) return tooLarge;
  const notImage = notAnImage(bytes.subarray(0, IMAGE_SIGNATURE_BYTES));
  return notImage ? `not a readable image: ${notImage}` : null;
}
