/**
 * An image folder that cannot make a classification dataset (no classes, one class, an empty
 * class). Refused before any training starts: retrying will not help, the folder must change.
 */
export class InvalidImageFolderError extends Error {
  constructor(
    /** The folder as a person would find it: `file:///data/flowers/` or `s3://bucket/flowers/`. */
    readonly folder: string,
    readonly reason: string,
  ) {
    super(`image folder ${folder} cannot be used: ${reason}`);
    this.name = 'InvalidImageFolderError';
  }
}
