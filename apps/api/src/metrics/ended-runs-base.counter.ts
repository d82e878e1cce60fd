import type { Logger } from '@nestjs/common';
import type { RunKind, RunStatus } from '@trainyard/contracts';
import { withDeadline } from '../common/with-deadline';

export type RunCount = { status: RunStatus; kind: RunKind; n: number };
/** Every ended run up to `endedBefore`, counted at one instant of the database. */
export type EndedRunsBase = { endedBefore: Date; rows: RunCount[] };

/**
 * The base of ended runs that `trainyard_runs` adds each scrape's runs to, counted again in the
 * background every `periodMs` (METRICS_ENDED_RUNS_MAX_AGE_MS). The count reads every run ever
 * recorded (about 130 ms at 200,000 runs): the scrape that found it due used to wait for it. A
 * scrape now takes the last base whatever its age, which keeps its total exact (the scrape adds
 * every run ended since the base's bound; an older base only makes that read longer); only a scrape
 * that finds none, the first or one after every count failed, waits for the count under way or
 * starts one. A count that fails keeps the last base and is tried again `periodMs` later, logged
 * once until one answers. One count at a time: the next is scheduled once the last has settled, even
 * past its deadline (PostgreSQL may still be reading), and only while scrapes come: a period with
 * none lets the counting rest (an API scraped once, by hand, read every run every period for ever),
 * and the next scrape takes the last base, as exact, and starts a count beside it. `periodMs` 0 (each
 * scrape counting its own) is the registry's, which then reads the count as it reads its other queries.
 */
export class EndedRunsBaseCounter {
  private last?: EndedRunsBase;
  /** The count under way: what a scrape with no base waits for. */
  private counting?: Promise<EndedRunsBase | undefined>;
  private timer?: NodeJS.Timeout;
  private failing = false;
  private stopped = false;
  /** A scrape asked for the base since the last count started: the next one is worth making. */
  private asked = false;

  constructor(
    private readonly count: () => Promise<EndedRunsBase>,
    private readonly options: { periodMs: number; deadlineMs: number; logger: Logger },
  ) {}

  /** The base for this scrape; undefined when none could be counted (logged), and the runs are left out. */
  async base(): Promise<EndedRunsBase | undefined> {
    this.asked = true;
    // Resting since a period passed with no scrape: count again beside this one, which takes the last base.
    if (this.last && !this.counting && !this.timer) void this.refresh();
    return this.last ?? this.counting ?? this.refresh();
  }

  /**
   * No count starts after this; resolves once the one under way, if any, has ended, or at its
   * deadline (REDIS_CONNECT_TIMEOUT_MS) if PostgreSQL is silent, so the shutdown is not held longer.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.counting;
  }

  private refresh(): Promise<EndedRunsBase | undefined> {
    if (this.counting) return this.counting;
    if (this.stopped) return Promise.resolve(undefined);
    const { deadlineMs, logger, periodMs } = this.options;
    this.asked = false;
    const query = Promise.resolve().then(this.count);
    const counting = withDeadline(query, deadlineMs, `no answer within ${deadlineMs} ms`).then(
      (base) => {
        if (this.failing) logger.log('Metrics: ended runs by status counted again');
        this.failing = false;
        this.last = base;
        return base;
      },
      (err: unknown) => {
        if (!this.failing)
          logger.warn(
            `Metrics: ended runs by status not counted, ${
              this.last
                ? `trainyard_runs goes on from the base up to ${this.last.endedBefore.toISOString()}`
                : 'trainyard_runs left out until they are'
            }; tried again every ${periodMs} ms, logged once until they are counted: ${(err as Error).message}`,
          );
        this.failing = true;
        return undefined;
      },
    );
    this.counting = counting;
    void Promise.allSettled([query, counting]).then(() => {
      this.counting = undefined;
      if (this.stopped) return;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (this.asked) void this.refresh();
      }, periodMs).unref();
    });
    return counting;
  }
}
