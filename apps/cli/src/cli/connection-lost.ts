import { setTimeout as sleep } from 'node:timers/promises';

/**
 * What went wrong, in words, when `error` is the connection to the API failing (none made, or one
 * dropped mid-answer); null for any other error. fetch's errors are matched by name and message:
 * they may come from another realm than this module's TypeError. An API never reached is named
 * by `url` (the client's, where known): fetch's error does not say where it tried.
 */
export function connectionLost(error: unknown, url?: string): string | null {
  // The client's TrainyardConnectionError (an API never reached) carries fetch's own error as its cause.
  const outer = error as { name?: string; cause?: unknown } | null;
  const failed = (outer?.name === 'TrainyardConnectionError' ? outer.cause : error) as {
    name?: string;
    message?: string;
    cause?: { code?: string; message?: string };
  } | null;
  if (failed?.name !== 'TypeError') return null;
  const reason = failed.cause?.code ?? failed.cause?.message ?? failed.message;
  const at = url === undefined ? '' : ` at ${url}`;
  // "fetch failed" hides the reason (ECONNREFUSED…) in its cause.
  if (failed.message === 'fetch failed')
    return `cannot reach the API${at}: ${reason}${UNREACHABLE_HINTS[failed.cause?.code ?? ''] ?? ''}`;
  // A body being read when its socket closes (the API restarted, a proxy gave up): UND_ERR_SOCKET…
  // The API was reached: its URL is no suspect.
  if (failed.message === 'terminated') return `the connection to the API dropped: ${reason}`;
  return null;
}

/** What the usual reasons of a connection never made mean, for the person who typed the URL. */
const UNREACHABLE_HINTS: Record<string, string> = {
  ECONNREFUSED: ' (nothing listens there: is the server running? Else check --url, TRAINYARD_URL or `trainyard login`)',
  ENOTFOUND: ' (no such host: check --url, TRAINYARD_URL or `trainyard login`)',
};

/** Pauses before reconnecting a dropped stream, one per drop in a row; past the last, it gives up. */
export const RECONNECT_DELAYS_MS: readonly number[] = [1_000, 2_000, 4_000, 8_000, 16_000];
/** A stream that stayed up this long before it dropped counts as working again: the drops in a row start over. */
const STABLE_MS = 60_000;

/**
 * How a followed stream (`watch`, `logs -f`) survives the API restarting: each drop waits a
 * little longer before the stream is opened again; a stream that delivers something new, or stayed
 * up a while, starts the count over; too many drops in a row and the last error stands.
 */
export class ReconnectBudget {
  private drops = 0;
  private openedAt = Date.now();
  /** Whether the stream was ever open: an API never reached is a wrong URL, not one restarting. */
  private wasOpen = false;

  constructor(private readonly delaysMs: readonly number[] = RECONNECT_DELAYS_MS) {}

  /** The stream opened (its first event, the snapshot, arrived): the API is there, a drop after it is one to ride out. */
  opened(): void {
    this.wasOpen = true;
  }

  /** The stream delivered something it had not: it works. */
  progressed(): void {
    this.drops = 0;
    this.wasOpen = true;
  }

  /**
   * After `error` ended the stream: rethrows it when it is no lost connection or the budget is
   * spent, else waits before the caller opens the stream again. `notice` says so on stderr.
   */
  async afterDrop(error: unknown, signal: AbortSignal, notice: (text: string) => void): Promise<void> {
    const lost = connectionLost(error);
    if (!lost || signal.aborted) throw error;
    if ((error as Error).message === 'terminated') this.wasOpen = true;
    if (!this.wasOpen || !(await this.pause(lost, signal, notice))) throw error;
  }

  /**
   * After the server ended the stream before its end (`what` says how): throws `giveUp()` when the
   * budget is spent, else waits before the caller opens the stream again.
   */
  async afterEnd(
    what: string,
    signal: AbortSignal,
    notice: (text: string) => void,
    giveUp: () => Error,
  ): Promise<void> {
    if (!(await this.pause(what, signal, notice))) throw giveUp();
  }

  private async pause(what: string, signal: AbortSignal, notice: (text: string) => void): Promise<boolean> {
    if (Date.now() - this.openedAt >= STABLE_MS) this.drops = 0;
    const delay = this.delaysMs[this.drops++];
    if (delay === undefined) return false;
    notice(
      `${what}; reconnecting in ${(delay / 1000).toFixed(delay < 1000 ? 1 : 0)} s (${this.drops} of ${this.delaysMs.length})\n`,
    );
    await sleep(delay, undefined, { signal });
    this.openedAt = Date.now();
    return true;
  }
}
