import { runCli } from './cli-main';
import { EXIT } from './exit-codes';

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
 * within CLOSED_OUTPUT_GRACE_MS is not waited for.
 */
export function runAsProcess(argv: string[]): void {
  const interrupt = new AbortController();
  process.once('SIGINT', () => interrupt.abort());
  let outputClosed = false;
  let errorsClosed = false;
  onClosedPipe(process.stdout, () => {
    if (outputClosed) return;
    outputClosed = true;
    process.exitCode = EXIT.OUTPUT_CLOSED;
    interrupt.abort();
    setTimeout(() => process.exit(EXIT.OUTPUT_CLOSED), CLOSED_OUTPUT_GRACE_MS).unref();
  });
  onClosedPipe(process.stderr, () => (errorsClosed = true));
  void runCli(argv, {
    out: (text) => void (outputClosed || process.stdout.write(text)),
    err: (text) => void (outputClosed || errorsClosed || process.stderr.write(text)),
    stdoutIsTty: process.stdout.isTTY === true,
    env: process.env,
    signal: interrupt.signal,
  }).then((code) => {
    process.exitCode = outputClosed ? EXIT.OUTPUT_CLOSED : code;
  });
}

/** Calls `closed` when a write to `stream` finds its reader gone (EPIPE); any other error of the stream stays fatal. */
function onClosedPipe(stream: NodeJS.WriteStream, closed: () => void): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    closed();
  });
}
