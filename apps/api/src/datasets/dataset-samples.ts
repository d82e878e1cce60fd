import type { Readable } from 'node:stream';

/** Sample images a dataset page can show per class: the first ones of its folder, by key. */
export const DATASET_SAMPLES_PER_CLASS = 16;
/** A sample larger than this is not served (an image folder for training holds small images). */
export const DATASET_SAMPLE_MAX_BYTES = 4 * 1024 * 1024;

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
