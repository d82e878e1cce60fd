import { BodySizeMismatchError } from './body-size-mismatch.error';

/**
 * What a streamed put stores at most per request to S3: the smallest part S3 takes in a multipart
 * upload (every part but the last must be at least 5 MiB), so an object streamed in holds no more
 * than this in memory at once.
 */
export const PUT_STREAM_PART_BYTES = 5 * 2 ** 20;

function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** `body`'s chunks as they come, throwing BodySizeMismatchError as soon as they run past `size`, or once they end short of it. */
export async function* chunksOfSize(
  body: AsyncIterable<Uint8Array>,
  size: number,
  key: string,
): AsyncGenerator<Buffer> {
  let received = 0;
  for await (const chunk of body) {
    received += chunk.byteLength;
    if (received > size) throw new BodySizeMismatchError(key, size, received);
    if (chunk.byteLength > 0) yield asBuffer(chunk);
  }
  if (received !== size) throw new BodySizeMismatchError(key, size, received);
}

/**
 * `body`'s `size` bytes in parts of exactly `partBytes` (the last one shorter), each copied as the
 * chunks come into one buffer that every part reuses: a part is valid until the next one is asked
 * for, so send it first. One buffer, not one per part, because a suspended async function keeps
 * what its registers last held (the part before) alive until they are overwritten: a new buffer
 * per part held two parts' worth of memory per stream, not one.
 */
export async function* partsOf(
  body: AsyncIterable<Uint8Array>,
  size: number,
  partBytes: number,
  key: string,
): AsyncGenerator<Buffer> {
  const buffer = Buffer.allocUnsafe(Math.min(partBytes, size));
  let left = size;
  let partLength = Math.min(partBytes, left);
  let filled = 0;
  for await (const chunk of chunksOfSize(body, size, key)) {
    for (let at = 0; at < chunk.length;) {
      const copied = chunk.copy(buffer, filled, at, at + (partLength - filled));
      at += copied;
      filled += copied;
      if (filled === partLength) {
        yield buffer.subarray(0, partLength);
        left -= partLength;
        partLength = Math.min(partBytes, left);
        filled = 0;
      }
    }
  }
}

/** `bytes` in parts of `partBytes` (the last one shorter), as views into it: nothing copied. */
export async function* viewsOf(bytes: Buffer, partBytes: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += partBytes) yield bytes.subarray(at, at + partBytes);
}
