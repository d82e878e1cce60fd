import type { Readable } from 'node:stream';

/** Sample images a dataset page can show per class: the first ones of its folder, by key. */
export const DATASET_SAMPLES_PER_CLASS = 16;
/** A sample larger than this is not served (an image folder for training holds small images). */
export const DATASET_SAMPLE_MAX_BYTES = 4 * 1024 * 1024;

export type SampleImageType = 'image/png' | 'image/jpeg' | 'image/webp';

/**
 * The image type by its first bytes, whatever the file is named: only PNG, JPEG and WebP (what a
 * dataset may hold) are served, so a file named .png that holds HTML or SVG never reaches a
 * browser as something it would run.
 */
export function sniffImageType(head: Buffer): SampleImageType | null {
  if (head.length >= 8 && head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])))
    return 'image/png';
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'image/jpeg';
  if (head.length >= 12 && head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'WEBP')
    return 'image/webp';
  return null;
}

/** Thrown when a stream holds more than the cap allows; reading stops there. */
export class SampleTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`the sample is larger than ${maxBytes} bytes`);
    this.name = 'SampleTooLargeError';
  }
}

/** Reads a stream of at most `maxBytes` (destroying it past that): a bounded buffer, never more. */
export async function readBounded(body: Readable, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of body) {
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      total += bytes.length;
      if (total > maxBytes) throw new SampleTooLargeError(maxBytes);
      chunks.push(bytes);
    }
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks, total);
}
