import type { PackedManifest } from './packed-manifest';

/** An image a run could not use: named in the run's data report. */
export interface BadImage {
  file: string;
  reason: string;
}

export class TooManyBadImagesError extends Error {
  constructor(bad: number, images: number, maxBadFraction: number, last: BadImage) {
    super(
      `${bad} of the version's ${images} images are unusable, more than maxBadFraction ${maxBadFraction} allows (the last: ${last.file}: ${last.reason})`,
    );
    this.name = 'TooManyBadImagesError';
  }
}

/**
 * The images of a packed version that turned out unusable at training time (a picture that does
 * not decode, an entry of a truncated, altered or missing shard), each counted once whether a
 * holdout or a training image, and whether found when the run loaded or as the stream met it.
 * `maxBadFraction` is a share of the version's images (`manifest.images`); the files the pack left
 * out (`manifest.skipped`) are no images of the version and do not count.
 */
export class UnusableImages {
  private readonly found = new Map<number, BadImage>();
  private last: BadImage | undefined;

  constructor(
    private readonly manifest: PackedManifest,
    readonly maxBadFraction: number,
  ) {}

  /** How many of the version's images may be unusable before the run fails. */
  get allowed(): number {
    // The epsilon keeps 0.29 × 100 (28.999…) at 29.
    return Math.floor(this.maxBadFraction * this.manifest.images + 1e-9);
  }

  get count(): number {
    return this.found.size;
  }

  has(id: number): boolean {
    return this.found.has(id);
  }

  /** Notes entry `id` (a global id) as unusable; false when it was already. */
  add(id: number, bad: BadImage): boolean {
    if (this.found.has(id)) return false;
    this.found.set(id, bad);
    this.last = bad;
    return true;
  }

  /** What fails the run now, or null while the unusable images are within `maxBadFraction`. */
  problem(): Error | null {
    if (this.found.size <= this.allowed) return null;
    return new TooManyBadImagesError(this.found.size, this.manifest.images, this.maxBadFraction, this.last!);
  }
}
