import { quoteText } from '@trainyard/contracts';
import { InvalidImageFolderError } from '../invalid-image-folder.error';
import { manifestLabels, type PackedManifest } from './packed-manifest';

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
 * A class of the version with no usable image: none packed (a version written before packs refused
 * that), or every one unusable. A run could not learn it, as the in-memory load of a folder says
 * (UnreadableClassesError): it fails for good.
 */
export class UnusableClassesError extends InvalidImageFolderError {
  constructor(
    folder: string,
    reason: string,
    readonly classNames: string[],
  ) {
    super(folder, reason);
    this.name = 'UnusableClassesError';
  }
}

/**
 * The images of a packed version that turned out unusable at training time (a picture that does
 * not decode, an entry of a truncated, altered or missing shard), each counted once whether a
 * holdout or a training image, and whether found when the run loaded or as the stream met it.
 * `maxBadFraction` is a share of the version's images (`manifest.images`); the files the pack left
 * out (`manifest.skipped`) are no images of the version and do not count. A class left with no
 * usable image fails the run whatever the share.
 */
export class UnusableImages {
  private readonly found = new Map<number, BadImage>();
  private last: BadImage | undefined;
  private readonly labels: Int32Array;
  /** Per class: the version's images, and those found unusable. */
  private readonly images: Int32Array;
  private readonly unusable: Int32Array;

  constructor(
    private readonly manifest: PackedManifest,
    readonly maxBadFraction: number,
  ) {
    this.labels = manifestLabels(manifest);
    this.images = new Int32Array(manifest.classNames.length);
    this.unusable = new Int32Array(manifest.classNames.length);
    for (const label of this.labels) this.images[label]++;
  }

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
    this.unusable[this.labels[id]]++;
    return true;
  }

  /**
   * What fails the run now: a class with no usable image (first: the more useful reason), or more
   * unusable images than `maxBadFraction` allows; null while neither.
   */
  problem(): Error | null {
    const lost = this.manifest.classNames.flatMap((name, c) =>
      this.unusable[c] < this.images[c]
        ? []
        : [`${quoteText(name)} (${this.images[c] === 0 ? 'no image packed' : `all ${this.images[c]} unusable`})`],
    );
    if (lost.length > 0) {
      const leftOut = this.manifest.skipped?.length ?? 0;
      return new UnusableClassesError(
        this.manifest.source,
        `${lost.length === 1 ? 'class' : 'classes'} ${lost.join(', ')} ${lost.length === 1 ? 'has' : 'have'} no usable image in the packed version${
          leftOut > 0 ? ` (the pack left out ${leftOut} file${leftOut === 1 ? '' : 's'}, named in the data report)` : ''
        }: a run could not learn it`,
        this.manifest.classNames,
      );
    }
    if (this.found.size <= this.allowed) return null;
    return new TooManyBadImagesError(this.found.size, this.manifest.images, this.maxBadFraction, this.last!);
  }
}
