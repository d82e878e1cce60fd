/** Images of one split, row-major `[count, h, w, c]`, pixels in [0, 1]. */
export interface ImageSplit {
  images: Float32Array;
  /** Class index per image (present even for unlabeled pretraining, where it is ignored). */
  labels: Int32Array;
  count: number;
}

export interface LoadedDataset {
  classNames: string[];
  imageShape: [number, number, number];
  train: ImageSplit;
  test: ImageSplit;
}

export interface LoadOptions {
  seed: number;
  /** false for pretraining: every pool image is used and labels are ignored. */
  labeled: boolean;
}

export function pixelsPerImage(shape: readonly [number, number, number]): number {
  return shape[0] * shape[1] * shape[2];
}

/** Copies the given images (by index) of a split into a new split. */
export function selectImages(split: ImageSplit, indices: ArrayLike<number>, pixels: number): ImageSplit {
  const images = new Float32Array(indices.length * pixels);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const from = indices[i];
    images.set(split.images.subarray(from * pixels, (from + 1) * pixels), i * pixels);
    labels[i] = split.labels[from];
  }
  return { images, labels, count: indices.length };
}
