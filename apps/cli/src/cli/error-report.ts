import { TrainyardApiError } from '@trainyard/client';
import { jsonText, terminalSafe } from '../terminal-safe';
import { connectionLost } from './connection-lost';
import { CliError, EXIT, EXIT_TITLES, usageError, type ExitCode } from './exit-codes';
import { localFileFailure } from './local-file-error';
import { SpecFileError } from './spec-file';

/** Where a failure is reported: the CLI's stdout and stderr. */
export interface ReportIo {
  out(text: string): void;
  err(text: string): void;
}

/** How a failure is told: the stderr text (a line, or lines of the CLI's own), its problem details, its exit code. */
interface Failure {
  code: ExitCode;
  /** For stderr, without its trailing line feed. */
  message: string;
  /** RFC 9457-like problem details: the API's own for an API error, the CLI's (no `status`) for the rest. */
  problem: Record<string, unknown>;
}

/**
 * Reports a command's failure: its message on stderr and, with --json, its problem details as JSON
 * on stdout (`{ "error": { … } }`; one line after JSON Lines), the API's for an API error, the CLI's for its own (a usage
 * error, a spec that does not validate, an API it cannot reach), so a script reading stdout learns
 * of every failure the same way. Returns the exit code for its kind. Messages carry the API's words
 * (a problem's detail, a blocker, a cause): all are made terminal-safe; the API's own message as
 * one line, the CLI's (which may span lines) as lines.
 */
export function reportFailure(
  error: unknown,
  io: ReportIo,
  flags: { json: boolean; jsonLines?: boolean; apiUrl?: string; help?: string; interrupted?: boolean },
): ExitCode {
  const failure = flags.interrupted ? INTERRUPTED : describeFailure(error, flags.apiUrl);
  if (flags.json) io.out(`${jsonText({ error: failure.problem }, flags.jsonLines ? undefined : 2)}\n`);
  io.err(`${failure.message}\n${flags.help ?? ''}`);
  return failure.code;
}

/** An unknown command (`trainyard frobnicate`), reported as any usage error is, with the commands listed after it. */
export function reportUnknownCommand(name: string, io: ReportIo, flags: { json: boolean; help: string }): ExitCode {
  return reportFailure(usageError(`unknown command "${name}"`), io, { json: flags.json, help: `\n${flags.help}` });
}

/**
 * Ctrl-C: whatever the command was doing rejects (fetch and streams with an AbortError, a
 * socket torn down as a TypeError), and every one of those means only that it was asked to stop.
 */
const INTERRUPTED: Failure = {
  code: EXIT.INTERRUPTED,
  message: 'trainyard: interrupted',
  problem: { title: EXIT_TITLES[EXIT.INTERRUPTED], detail: 'interrupted' },
};

function describeFailure(error: unknown, apiUrl: string | undefined): Failure {
  const lines = (text: string) => terminalSafe(text, { multiline: true });
  if (error instanceof SpecFileError) {
    // `file:line:column: field: message`, one a line, as compilers print them: no `trainyard:` before.
    return {
      code: EXIT.USAGE,
      message: lines(error.message),
      problem: {
        title: 'Invalid spec',
        detail: error.message,
        file: error.file,
        errors: error.problems.map(({ field, message, line, column }) => ({ field, message, line, column })),
      },
    };
  }
  if (error instanceof CliError) {
    return {
      code: error.code,
      message: lines(`trainyard: ${error.message}`),
      problem: {
        title: EXIT_TITLES[error.code] ?? 'Error',
        detail: error.message,
        ...(error.errors.length ? { errors: error.errors } : {}),
      },
    };
  }
  if (error instanceof TrainyardApiError) {
    return {
      code: EXIT.API,
      message: `trainyard: ${terminalSafe(`${error.message}${error.requestId ? ` (request ${error.requestId})` : ''}`)}`,
      problem: { status: error.status, ...error.body },
    };
  }
  // Matched by name: fetch's errors may come from another realm than this module's Error.
  const failed = error as { name?: string; message?: string } | null;
  if (failed?.name === 'AbortError' || failed?.name === 'TimeoutError') return INTERRUPTED;
  const lost = connectionLost(error, apiUrl);
  if (lost) {
    return {
      code: EXIT.API,
      message: `trainyard: ${terminalSafe(lost)}`,
      problem: {
        title: lost.startsWith('cannot reach') ? 'API unreachable' : 'Connection to the API dropped',
        detail: lost,
        ...(apiUrl === undefined ? {} : { url: apiUrl }),
      },
    };
  }
  const local = localFileFailure(error);
  if (local) {
    return {
      code: EXIT.LOCAL_IO,
      message: `trainyard: ${terminalSafe(local.detail)}`,
      problem: { title: EXIT_TITLES[EXIT.LOCAL_IO], detail: local.detail, path: local.path, reason: local.reason },
    };
  }
  return {
    code: EXIT.API,
    message: lines(`trainyard: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`),
    problem: { title: 'Error', detail: error instanceof Error ? error.message : String(error) },
  };
}
