import { isTerminal, isWaiting, type RunStatus } from '@trainyard/contracts';
import { arg, type Command } from './command';
import { EXIT, type ExitCode } from './exit-codes';
import { queueText } from './run-report';
import { WatchRenderer } from './watch-renderer';

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

export const watchCommand: Command = {
  name: 'watch',
  usage: '<run>',
  summary: 'Follow a run live (progress bar, loss, ETA) until it ends; exit with its outcome.',
  details:
    'Redraws one line on a terminal, prints one line per epoch otherwise; while the run waits, says how many jobs are ahead of it and how many live workers serve its class. Exits 0 SUCCEEDED, 3 FAILED, 4 CANCELLED. With --json, prints each event as one JSON line.',
  async run(ctx) {
    const id = arg(ctx, 0, 'run id');
    const renderer = new WatchRenderer({ write: (t: string) => ctx.out(t) }, ctx.stdoutIsTty && !ctx.json);
    // The stream stays open after the run ends; this controller closes it once the outcome is known.
    const done = new AbortController();
    const signal = AbortSignal.any([ctx.signal, done.signal]);
    let final: RunStatus | null = null;
    // While the run waits: where it stands, read again every QUEUE_REFRESH_MS (best effort: the
    // watch goes on without it).
    const queue = new Repeating(QUEUE_REFRESH_MS, async (still) => {
      const view = await ctx
        .client()
        .runQueue(id, { signal })
        .catch(() => null);
      if (view && still()) renderer.waiting(`waiting: ${queueText(view)}`);
    });
    try {
      for await (const event of ctx.client().events(id, { signal })) {
        if (ctx.json) ctx.out(`${JSON.stringify(event)}\n`);
        if (event.type === 'progress' && !ctx.json) renderer.progress(event.progress);
        if (event.type === 'status') {
          if (!ctx.json) {
            renderer.status(id, event.status, event.failureReason);
            if (event.progress && !isTerminal(event.status)) renderer.progress(event.progress);
            queue.follow(isWaiting(event.status));
          }
          if (isTerminal(event.status)) {
            final = event.status;
            done.abort();
            break;
          }
        }
      }
    } catch (error) {
      if (!done.signal.aborted) throw error;
    } finally {
      queue.follow(false);
    }
    renderer.endLine();
    // The stream ended without a terminal status (the API restarted): ask once for where the run is.
    if (final === null) {
      const run = await ctx.client().run(id, { signal: ctx.signal });
      if (!isTerminal(run.status)) {
        ctx.err(`the event stream of run ${run.id} ended while it is ${run.status}; watch it again\n`);
        return EXIT.API;
      }
      if (!ctx.json) renderer.status(id, run.status, run.failureReason);
      final = run.status;
    }
    return outcomeExitCode(final);
  },
};
