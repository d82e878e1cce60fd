import { applyAugmentationToBytes } from '../augment-bytes';
import { augmentationRandom, drawAugmentation } from '../augmentation';
import { type AugmentationSpec, isIdentityAugmentation } from '../augmentation.schema';
import { decodeImage, type ImageShape, type ResizeFit } from '../image-decode';

/** What a batch is made from: encoded images in epoch order, their labels, and where the batch starts. */
export interface EncodedBatch {
  /** Encoded bytes, or why the entry cannot be served (a bad shard). */
  files: (Uint8Array | string)[];
  labels: Int32Array;
  /** Epoch position of files[0]: file i uses augmentation draw firstDraw + i. */
  firstDraw: number;
  augmentationSeed: number;
}

export interface DecodedBatch {
  /** The good images only, `[count, h, w, c]`. */
  x: Float32Array;
  y: Int32Array;
  /** Index in `files` and reason of each image left out. */
  bad: { index: number; reason: string }[];
}

/**
 * Decodes (sharp: resize to the shape) and augments one batch. A picture that does not decode is
 * left out and named; the others keep their epoch position's augmentation draw, so the batch is
 * the same whichever thread made it and whatever else in it was bad.
 */
export async function decodeBatch(
  batch: EncodedBatch,
  shape: ImageShape,
  fit: ResizeFit,
  augmentation: AugmentationSpec | null,
  /** The files are raw pixels at `shape` (a version packed with decodeTo): nothing to decode. */
  raw = false,
): Promise<DecodedBatch> {
  const length = shape[0] * shape[1] * shape[2];
  const augment = augmentation !== null && !isIdentityAugmentation(augmentation);
  const decoded = await Promise.all(
    batch.files.map((f) =>
      typeof f === 'string'
        ? { ok: false as const, reason: f }
        : raw
          ? rawPixels(f, length)
          : decodeImage(Buffer.from(f.buffer, f.byteOffset, f.byteLength), shape, fit).then(
              (pixels) => ({ ok: true as const, pixels }),
              (error: Error) => ({ ok: false as const, reason: `not a readable image: ${error.message}` }),
            ),
    ),
  );
  const good = decoded.filter((d) => d.ok).length;
  const x = new Float32Array(good * length);
  const y = new Int32Array(good);
  const bad: DecodedBatch['bad'] = [];
  const floats = augment ? new Float32Array(length) : undefined;
  let n = 0;
  decoded.forEach((d, i) => {
    if (!d.ok) {
      bad.push({ index: i, reason: d.reason });
      return;
    }
    y[n] = batch.labels[i];
    if (floats && augmentation) {
      const params = drawAugmentation(
        augmentation,
        shape,
        augmentationRandom(batch.augmentationSeed, batch.firstDraw + i),
      );
      // From the uint8 pixels: the wasm kernel divides by 255 itself (floats is the JS path's scratch).
      applyAugmentationToBytes(d.pixels, x, n * length, shape, augmentation, params, floats);
    } else {
      for (let p = 0; p < length; p++) x[n * length + p] = d.pixels[p] / 255;
    }
    n++;
  });
  return { x, y, bad };
}

function rawPixels(file: Uint8Array, length: number): { ok: true; pixels: Uint8Array } | { ok: false; reason: string } {
  return file.length === length
    ? { ok: true, pixels: file }
    : { ok: false, reason: `holds ${file.length} bytes of pixels, the shape needs ${length}` };
}
