import type { SkippedUploadEntry } from '@trainyard/contracts';

/** How many class folders without an image a refusal names (it counts them all). */
const EMPTY_LISTED = 10;

/** The class folders without an image, and the files in them that were named as images but are none. */
export interface FoldersWithoutImages {
  /** In the order the archive named them, the first EMPTY_LISTED. */
  listed: string[];
  count: number;
  notImages: { count: number; first?: SkippedUploadEntry };
}

/**
 * The top-level folders an uploaded tar names — by a folder entry or by any entry inside — and
 * whether an image of each was stored. Only images reach the store, and it keeps no empty folder,
 * so a class folder that is empty or holds only other files would vanish from the dataset
 * silently: the registration's "class without images" check can only be made here.
 */
export class UploadClassFolders {
  private readonly folders = new Map<
    string,
    { images: number; notImages: number; firstNotImage?: SkippedUploadEntry }
  >();

  /** Whether `folder` would be one more than `max` class folders. */
  wouldPass(folder: string, max: number): boolean {
    return !this.folders.has(folder) && this.folders.size >= max;
  }

  seen(folder: string): void {
    if (!this.folders.has(folder)) this.folders.set(folder, { images: 0, notImages: 0 });
  }

  stored(folder: string): void {
    this.seen(folder);
    this.folders.get(folder)!.images++;
  }

  /** A file of `folder` named as an image whose bytes are none (left out). */
  notImage(folder: string, entry: SkippedUploadEntry): void {
    this.seen(folder);
    const tally = this.folders.get(folder)!;
    tally.notImages++;
    tally.firstNotImage ??= entry;
  }

  /** The class folders with no image stored, or null when every one has one (tools' folders are never seen: decideUploadEntry). */
  withoutImages(): FoldersWithoutImages | null {
    const empty = [...this.folders].filter(([, tally]) => tally.images === 0);
    if (empty.length === 0) return null;
    const withNotImages = empty.filter(([, tally]) => tally.notImages > 0);
    return {
      listed: empty.slice(0, EMPTY_LISTED).map(([name]) => name),
      count: empty.length,
      notImages: {
        count: withNotImages.reduce((sum, [, tally]) => sum + tally.notImages, 0),
        first: withNotImages[0]?.[1].firstNotImage,
      },
    };
  }
}
