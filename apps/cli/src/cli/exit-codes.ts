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
  /**
   * A local file or folder could not be written or read (the path and the reason named): a file
   * where `--out` needs a folder, no permission, a full disk, stdout that takes no more (ENOSPC).
   */
  LOCAL_IO: 7,
  /**
   * Whoever read stdout closed it before the command was done (`| head`, a pager quit): 128 +
   * SIGPIPE, what a shell reports for a C tool that a closed pipe ended (`git log | head -1`). Not
   * 0: the command did not finish (a `watch` cut short has no outcome to report).
   */
  OUTPUT_CLOSED: 141,
  /**
   * Ctrl-C (SIGINT) ended the command: 128 + SIGINT, what a shell reports for a C tool it ended,
   * and what the demo exits with. Not the API's 2: nothing went wrong there.
   */
  INTERRUPTED: 130,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The `title` of a failure's problem details under --json, by its exit code. */
export const EXIT_TITLES: Partial<Record<ExitCode, string>> = {
  [EXIT.USAGE]: 'Usage error',
  [EXIT.API]: 'API error',
  [EXIT.CHECKSUM]: 'Checkpoint does not match its manifest',
  [EXIT.NOT_CONFIGURED]: 'Not logged in',
  [EXIT.LOCAL_IO]: 'Local file error',
  [EXIT.INTERRUPTED]: 'Interrupted',
};

/** One wrong value the user gave: the flag, variable or argument that held it (`--status`, `TRAINYARD_URL`, `tag`) and why. */
export interface FieldProblem {
  field: string;
  message: string;
}

/** A failure the CLI reports as one line on stderr (and under --json as problem details on stdout) and exits with `code`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: ExitCode,
    /** Which value was wrong, for the `errors` of the problem details. */
    readonly errors: FieldProblem[] = [],
  ) {
    super(message);
  }
}

export const usageError = (message: string, field?: string) =>
  new CliError(message, EXIT.USAGE, field === undefined ? [] : [{ field, message }]);
