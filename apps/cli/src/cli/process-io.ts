import { runCli } from './cli-main';
import { EXIT, type ExitCode } from './exit-codes';
import { systemError, systemErrorReason } from './local-file-error';

/** How long a command may take to end once its stdout is closed, before the process exits anyway. */
const CLOSED_OUTPUT_GRACE_MS = 2_000;

/**
 * `trainyard ARGV…` as the process it is: its output on stdout and stderr, Ctrl-C aborting the
 * command, and the exit code set when it ends.
 *
 * A reader that stops reading (`| head`, a pager quit) closes the pipe, and the next write to it
 * fails with EPIPE, which Node emits as an 'error' event on the stream: unhandled, it kills the
 * process with a stack trace. Here, for every command, it ends the command as a closed pipe ends a
 * C tool: nothing more is written (to stderr neither: what follows is the abort's own noise), the
 * signal every request and stream of the command takes is aborted, so a `logs -f` or a `watch`
 * stops at once, and the process exits EXIT.OUTPUT_CLOSED (141); one that does not end by itself
 * within CLOSED_OUTPUT_GRACE_MS is not waited for. Any other failure to write stdout (ENOSPC:
 * `> /dev/full`, a full disk) ends it the same way, said in one line on stderr, exit
 * EXIT.LOCAL_IO (7).
 */
export function runAsProcess(argv: string[]): void {
  const interrupt = new AbortController();
  process.once('SIGINT', () => interrupt.abort());
  // Set once stdout takes no more: the code the process ends with, whatever the command returns.
  let stoppedWith: ExitCode | undefined;
  let errorsClosed = false;
  const stop = (code: ExitCode) => {
    if (stoppedWith !== undefined) return;
    stoppedWith = code;
    process.exitCode = code;
    interrupt.abort();
    setTimeout(() => process.exit(code), CLOSED_OUTPUT_GRACE_MS).unref();
  };
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') return stop(EXIT.OUTPUT_CLOSED);
    // Any other failure (ENOSPC: `> /dev/full`, a full disk) is told, once, as a line of its own.
    if (stoppedWith === undefined && !errorsClosed) {
      const failed = systemError(error);
      process.stderr.write(
        `trainyard: cannot write to stdout: ${failed ? systemErrorReason(failed) : error.message}\n`,
      );
    }
    stop(EXIT.LOCAL_IO);
  });
  // A stderr that fails leaves nothing to tell it on: the command goes on, silent there.
  process.stderr.on('error', () => (errorsClosed = true));
  void runCli(argv, {
    out: (text) => void (stoppedWith === undefined && process.stdout.write(text)),
    err: (text) => void (stoppedWith === undefined && !errorsClosed && process.stderr.write(text)),
    stdoutIsTty: process.stdout.isTTY === true,
    env: process.env,
    signal: interrupt.signal,
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
  }).then((code) => {
    process.exitCode = stoppedWith ?? code;
  });
}
