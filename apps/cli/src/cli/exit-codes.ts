/** What `trainyard` exits with, for scripts (README lists them). */
export const EXIT = {
  OK: 0,
  /** Bad arguments, an unknown command, a spec file that does not parse or validate. */
  USAGE: 1,
  /** The API answered an error, or could not be reached. */
  API: 2,
  /** `watch`: the run ended FAILED. */
  RUN_FAILED: 3,
  /** `watch`: the run ended CANCELLED. */
  RUN_CANCELLED: 4,
  /**
   * `download`: a file's sha256 or size differs from the checkpoint's manifest, a file it lists is
   * missing, or the manifest or the archive is damaged.
   */
  CHECKSUM: 5,
  /** Not logged in: no API URL configured. */
  NOT_CONFIGURED: 6,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure the CLI reports as one line on stderr and exits with `code`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: ExitCode,
  ) {
    super(message);
  }
}

export const usageError = (message: string) => new CliError(message, EXIT.USAGE);
