/** The bounds of one folder walk or prefix listing: entries seen, and time since it started. */
export interface WalkLimits {
  /** FOLDER_WALK_MAX_FILES: entries (files and folders, or objects) seen before the walk gives up. */
  maxFiles: number;
  /** FOLDER_WALK_MAX_MS: how long the walk may take in all. */
  maxMs: number;
}

/** `config.paths` as the walk limits callers pass on. */
export function walkLimitsOf(paths: { walkMaxFiles: number; walkMaxMs: number }): WalkLimits {
  return { maxFiles: paths.walkMaxFiles, maxMs: paths.walkMaxMs };
}

/**
 * A folder walk (or S3 listing) stopped at one of its bounds. Refused, not retried: the same
 * folder is as large next time. The message names the setting, so a person knows what to raise.
 */
export class FolderWalkLimitError extends Error {
  constructor(
    /** The folder or prefix as a person would find it (`file:///data/x/`, `s3://bucket/x/`). */
    readonly folder: string,
    readonly limit: 'files' | 'time',
    readonly value: number,
  ) {
    super(
      limit === 'files'
        ? `listing ${folder} stopped after ${value} entries (FOLDER_WALK_MAX_FILES=${value}); use a smaller folder or raise the limit`
        : `listing ${folder} took longer than ${value} ms (FOLDER_WALK_MAX_MS=${value}); use a smaller folder or raise the limit`,
    );
    this.name = 'FolderWalkLimitError';
  }
}

/** Counts entries and watches the clock for one walk; `see()` throws when a bound is passed. */
export class WalkBudget {
  private seen = 0;
  private readonly deadline: number;

  constructor(
    private readonly folder: string,
    private readonly limits: WalkLimits,
  ) {
    this.deadline = Date.now() + limits.maxMs;
  }

  see(entries = 1): void {
    this.seen += entries;
    if (this.seen > this.limits.maxFiles) throw new FolderWalkLimitError(this.folder, 'files', this.limits.maxFiles);
    if (Date.now() > this.deadline) throw new FolderWalkLimitError(this.folder, 'time', this.limits.maxMs);
  }
}
