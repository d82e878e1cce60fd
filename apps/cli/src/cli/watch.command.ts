import { isTerminal, isWaiting, type RunLiveState, type RunStatus } from '@trainyard/contracts';
import { jsonText } from '../terminal-safe';
import { type Command, type CommandContext } from './command';
import { RECONNECT_DELAYS_MS, ReconnectBudget } from './connection-lost';
import { CliError, EXIT, type ExitCode } from './exit-codes';
import { queueText } from './run-report';
import { WatchRenderer } from './watch-renderer';
import { runIdArg } from './run-id-arg';

const QUEUE_REFRESH_MS = 10_000;

/**
 * Runs `task` now and every `everyMs` while followed; a run already under way when following
 * stops is told so by `still()`, so what it learnt late is not drawn.
 */
class Repeating {
  private timer: NodeJS.Timeout | undefined;
  private generation = 0;

  constructor(
    private readonly everyMs: number,
    private readonly task: (still: () => boolean) => Promise<void>,
  ) {}

  follow(on: boolean): void {
    clearInterval(this.timer);
    this.timer = undefined;
    const generation = ++this.generation;
    if (!on) return;
    const run = () => void this.task(() => generation === this.generation);
    run();
    this.timer = setInterval(run, this.everyMs);
  }
}

/** The exit code a run's outcome maps to, for scripts that `watch` to wait. */
export function outcomeExitCode(status: RunStatus): ExitCode {
  return status === 'FAILED' ? EXIT.RUN_FAILED : status === 'CANCELLED' ? EXIT.RUN_CANCELLED : EXIT.OK;
}

export interface WatchTiming {
  /**
   * How long the event stream may stay quiet (keepalives only) before the run's status is read
   * over plain HTTP: a run can end with no event at all (a pipeline step held without a job and
   * cancelled in SQL, a BullMQ event lost with Redis).
   */
  statusRecheckMs: number;
  /** Pauses before opening a dropped stream again (see ReconnectBudget). */
  reconnectDelaysMs: readonly number[];
}

export const WATCH_TIMING: WatchTiming = { statusRecheckMs: 20_000, reconnectDelaysMs: RECONNECT_DELAYS_MS };

/** `watch`, with its timings given (the specs shorten them). */
export function watchCommandWith(timing: WatchTiming): Command {
  return {
    name: 'watch',
    usage: '<run>',
    maxArgs: 1,
    jsonLines: true,
    summary: 'Follow a run live (progress bar, loss, ETA) until it ends; exit with its outcome.',
    details:
      'Redraws one line on a terminal, prints a line at each change of phase or epoch otherwise (about two an epoch); while the run waits, says how many jobs are ahead of it and how many live workers serve its class. ' +
      `Reads the run's status again after ${timing.statusRecheckMs / 1000} s without an event, and opens a dropped stream again (${timing.reconnectDelaysMs.length} tries in a row at most). ` +
      'Exits 0 SUCCEEDED, 3 FAILED, 4 CANCELLED. With --json, prints each event as one JSON line.',
    run: async (ctx) => watchRun(ctx, await runIdArg(ctx, 0), timing),
  };
}

export const watchCommand: Command = watchCommandWith(WATCH_TIMING);

async function watchRun(ctx: CommandContext, id: string, timing: WatchTiming): Promise<ExitCode> {
  const client = ctx.client();
  const renderer = new WatchRenderer(
    { write: (t: string) => ctx.out(t), redraw: (line: string) => ctx.redraw(line) },
    ctx.stdoutIsTty && !ctx.json,
  );
  // The stream stays open after the run ends; this controller closes it once the outcome is known.
  const done = new AbortController();
  const signal = AbortSignal.any([ctx.signal, done.signal]);
  let final: RunStatus | null = null;
  // The status last drawn: a reconnected stream's snapshot repeats it.
  let shown: RunStatus | null = null;
  // When the stream last said something, or the status was last read.
  let lastHeardAt = Date.now();
  // While the run waits: where it stands, read again every QUEUE_REFRESH_MS (best effort: the
  // watch goes on without it).
  const queue = new Repeating(QUEUE_REFRESH_MS, async (still) => {
    const view = await client.runQueue(id, { signal }).catch(() => null);
    if (view && still()) renderer.waiting(`waiting: ${queueText(view)}`);
  });
  // A reconnected stream opens with a snapshot of what was shown already: not printed again.
  const onStatus = (event: RunLiveState, repeat = false) => {
    if (ctx.json) {
      if (!repeat) ctx.out(`${jsonText({ type: 'status', runId: id, ...event })}\n`);
    } else {
      if (event.status !== shown) renderer.status(id, event.status, event.failureReason);
      if (event.progress && !isTerminal(event.status)) renderer.progress(event.progress);
      queue.follow(isWaiting(event.status));
    }
    shown = event.status;
    if (isTerminal(event.status) && final === null) {
      final = event.status;
      done.abort();
    }
  };
  /** The run's status over plain HTTP, drawn as if the stream had sent it when it has ended. */
  const askStatus = async (): Promise<RunStatus> => {
    const run = await client.run(id, { signal });
    if (isTerminal(run.status) && final === null)
      onStatus({ status: run.status, progress: run.progress, failureReason: run.failureReason, endedAt: run.endedAt });
    return run.status;
  };
  const recheck = setInterval(() => {
    if (Date.now() - lastHeardAt < timing.statusRecheckMs) return;
    lastHeardAt = Date.now();
    void askStatus().catch(() => undefined); // best effort: the stream, or the next read, may tell
  }, timing.statusRecheckMs / 4);
  const reconnects = new ReconnectBudget(timing.reconnectDelaysMs);
  const notice = (text: string) => {
    renderer.endLine();
    ctx.err(`trainyard: ${text}`);
  };
  try {
    // Streams opened so far: a reconnected one's snapshot repeats what was shown.
    let streams = 0;
    while (final === null) {
      streams++;
      try {
        let first = true;
        for await (const event of client.events(id, { signal })) {
          lastHeardAt = Date.now();
          // Every stream opens with a snapshot: only what follows it shows the stream works.
          if (!first) reconnects.progressed();
          else reconnects.opened();
          const repeat = first && streams > 1 && event.type === 'status' && event.status === shown;
          first = false;
          if (event.type === 'status') onStatus(event, repeat);
          else if (ctx.json) ctx.out(`${jsonText(event)}\n`);
          else if (event.type === 'progress') renderer.progress(event.progress);
          if (final !== null) break;
        }
        if (final !== null) break;
        // The server ended the stream while the run goes on (the API restarting): ask, then follow again.
        const status = await askStatus();
        if (final !== null) break;
        await reconnects.afterEnd(
          `the event stream of run ${id} ended while it is ${status}`,
          signal,
          notice,
          () => new CliError(`the event stream of run ${id} ended while it is ${status}; watch it again`, EXIT.API),
        );
      } catch (error) {
        if (done.signal.aborted) break;
        // A dropped stream is opened again: its first event is the run's status, ended or not.
        await reconnects.afterDrop(error, signal, notice);
      }
    }
  } catch (error) {
    // The status read meanwhile ended the watch: the pause before a reconnect was cut short.
    if (!done.signal.aborted) throw error;
  } finally {
    queue.follow(false);
    clearInterval(recheck);
  }
  renderer.endLine();
  return outcomeExitCode(final!);
}
