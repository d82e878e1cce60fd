import { Inject, Injectable } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import {
  DatabaseOutageError,
  databaseErrorLine,
  withConnectionRetry,
  type ConnectionRetryOptions,
} from '@trainyard/db';
import { CONFIG } from '@trainyard/infrastructure';
import { CallsGivenUpAtStop } from './calls-given-up-at-stop';

/** The longest wait between two tries of a call riding an outage: the database is used again within 5 s of its return. */
export const DATABASE_RETRY_MAX_DELAY_MS = 5000;
/** A call still waiting says so again at most this often: a minute's outage is a few lines, not hundreds. */
export const DATABASE_WAIT_REPORT_MS = 10_000;

/** Where a waiting call's lines go: the attempt's log when there is one, else the worker's. */
export interface PatienceLog {
  warn(message: string): void;
  log(message: string): void;
}

/**
 * Once a stopping worker stops waiting (half its shutdown deadline), a try the database has not
 * answered this share of the deadline after that, or after the try began if later, is given up.
 */
export const STOPPING_TRY_SHARE = 1 / 8;

/**
 * One patience window for calls that are one step together (an attempt's outcome: a read, then
 * the write it decides): it opens at the first lost connection of any of them, and each later call
 * waits only what is left of it, so the step as a whole waits WORKER_DATABASE_OUTAGE_PATIENCE_MS at
 * most, not that much for each of its calls.
 */
export class PatienceWindow {
  /** When the first of its calls lost its connection (Date.now()); undefined while none has. */
  openedAt?: number;
}

/**
 * The window a call shares: one, or where to find it at each of the call's tries (a call begun
 * before its step's window existed joins it at its next lost connection, bringing when it lost its
 * first).
 */
export type PatienceWindowSource = PatienceWindow | (() => PatienceWindow | undefined);

/** A run's patient calls: `what` is named `run <id>: <what>` in the lines about its wait (DatabasePatience.forRun). */
export type RunPatience = <T>(what: string, fn: () => Promise<T>, retryOn?: (error: unknown) => boolean) => Promise<T>;

/**
 * The worker's database calls for its trainings (the events' writes, the outcome, the reads and
 * the opening of an attempt) wait for a PostgreSQL they cannot reach for up to
 * WORKER_DATABASE_OUTAGE_PATIENCE_MS: a restart or a failover delays the run rather than costing it
 * an attempt, since nothing can be recorded without the database anyway. The training pauses behind
 * its waiting writes (its event backlog). Only calls that are safe to repeat go through here.
 *
 * A stopping worker waits only half its shutdown deadline (WORKER_SHUTDOWN_TIMEOUT_MS), and for a
 * try in flight STOPPING_TRY_SHARE of it more: the rest is for the training to stop and the job to
 * go back to BullMQ, as it does without an outage.
 */
@Injectable()
export class DatabasePatience {
  private readonly stopping = new AbortController();
  private stopTimer?: NodeJS.Timeout;
  /** How long, once the worker stops waiting, a try may go unanswered (stopWaiting). */
  private stoppingTryMs = 0;
  /** The tries in flight, given up once the worker stops waiting (giveUpIfHung). */
  private readonly triesInFlight = new CallsGivenUpAtStop();
  /** Tries given up unanswered as the worker stops (giveUpIfHung) that PostgreSQL has still not answered. */
  private readonly unanswered = new Set<Promise<unknown>>();
  /** What whenTryUnanswered's callers wait for: the next try given up unanswered. */
  private nextUnanswered?: { given: Promise<void>; resolve: () => void };

  constructor(@Inject(CONFIG) private readonly config: TrainyardConfig) {
    this.stopping.signal.addEventListener('abort', () => this.triesInFlight.stop(), { once: true });
  }

  /**
   * `fn`, retried while the database is unreachable; `what` names the call in the lines about it.
   * `retryOn` tells a lost database connection from other errors (default `isConnectionError`):
   * see withConnectionRetry. Given a `window`, it waits only what is left of it (PatienceWindow).
   */
  call<T>(
    what: string,
    fn: () => Promise<T>,
    log: PatienceLog,
    retryOn?: (error: unknown) => boolean,
    window?: PatienceWindowSource,
  ): Promise<T> {
    const windowNow = typeof window === 'function' ? window : () => window;
    const openedAt = windowNow()?.openedAt;
    const fullMs = this.config.worker.databaseOutagePatienceMs;
    // What is left of a window another call opened; 1 ms rather than 0, which would mean "a few tries".
    const patienceMs = openedAt === undefined || fullMs <= 0 ? fullMs : Math.max(1, openedAt + fullMs - Date.now());
    const reports = waitReports(what, patienceMs, log);
    let lostSince: number | undefined;
    let tries = 0;
    let giveUp!: (error: Error) => void;
    const givenUp = new Promise<never>((_, reject) => (giveUp = reject));
    const tryOnce = () => {
      const triedAt = Date.now();
      // One promise for the retry and the clock, read once: Prisma's calls run when first read.
      const tried = Promise.resolve(fn());
      const tryNumber = ++tries;
      this.giveUpIfHung(tried, () => {
        const now = Date.now();
        const unanswered = Object.assign(
          new Error(`no answer to try ${tryNumber} after ${duration(now - triedAt)}; left to pg's own deadline`),
          { code: 'ETIMEDOUT' },
        );
        giveUp(new DatabaseOutageError(now - (lostSince ?? triedAt), tryNumber, unanswered, true));
      });
      return tried;
    };
    const retried = withConnectionRetry(tryOnce, {
      patienceMs,
      maxDelayMs: DATABASE_RETRY_MAX_DELAY_MS,
      signal: this.stopping.signal,
      retryOn,
      ...reports,
      onRetry: (error, attempt, awayMs) => {
        lostSince ??= Date.now() - awayMs;
        const shared = windowNow();
        if (shared) shared.openedAt ??= Date.now() - awayMs;
        reports.onRetry(error, attempt, awayMs);
      },
    });
    // With the database silent, a try in flight holds its call until pg's own deadlines
    // (DATABASE_CONNECT_TIMEOUT_MS, DATABASE_QUERY_TIMEOUT_MS: 10 s and 30 s by default); a stopping
    // worker stops waiting for it, so its job can still go back to the queue while Redis answers.
    return Promise.race([retried, givenUp]);
  }

  /**
   * Once the worker stops waiting, `giveUp` is called if `tried` is still unanswered
   * STOPPING_TRY_SHARE of the shutdown deadline later (counted from when the try began, if later).
   * The try itself goes on, ended by pg's deadline or the process's exit: only safe-to-repeat
   * calls come here, and an attempt's writes are fenced, so one landing late changes nothing
   * another worker did since.
   */
  private giveUpIfHung(tried: Promise<unknown>, giveUp: () => void): void {
    this.triesInFlight.watch(
      tried,
      () => this.stoppingTryMs,
      () => {
        this.unanswered.add(tried);
        this.nextUnanswered?.resolve();
        this.nextUnanswered = undefined;
        giveUp();
      },
    );
    const answered = () => this.unanswered.delete(tried);
    tried.then(answered, answered);
  }

  /**
   * `call` for one run's database work: each call is named after the run, its lines go to `log`;
   * calls given one `window` wait one patience window between them.
   */
  forRun(runId: string, log: PatienceLog, window?: PatienceWindowSource): RunPatience {
    return (what, fn, retryOn) => this.call(`run ${runId}: ${what}`, fn, log, retryOn, window);
  }

  /**
   * A call of the worker's own shutdown, made once rather than through `call` (marking the worker
   * draining): given up as a try is once the worker stops waiting, and counted in unansweredTries
   * then, so a silent PostgreSQL shows there even when the worker holds no job whose calls would.
   * The call itself goes on; its caller waits for it as it would.
   */
  watchShutdownCall(tried: Promise<unknown>): void {
    this.giveUpIfHung(tried, () => undefined);
  }

  /** Resolves once a try is given up unanswered (unansweredTries above 0): at once if one is already. */
  whenTryUnanswered(): Promise<void> {
    if (this.unanswered.size > 0) return Promise.resolve();
    if (!this.nextUnanswered) {
      let resolve!: () => void;
      const given = new Promise<void>((r) => (resolve = r));
      this.nextUnanswered = { given, resolve };
    }
    return this.nextUnanswered.given;
  }

  /**
   * How many tries this stopping worker gave up unanswered are still without an answer: while any
   * is, PostgreSQL is silent, and closing pg's pool would wait for it until pg's query deadline.
   */
  get unansweredTries(): number {
    return this.unanswered.size;
  }

  /**
   * The worker stops: calls waiting for the database give up within `deadlineMs / 2`, and later
   * ones at their first lost connection; a try unanswered `deadlineMs * STOPPING_TRY_SHARE` past
   * that (or past its start) is given up too.
   */
  stopWaiting(deadlineMs: number): void {
    if (this.stopTimer) return;
    this.stoppingTryMs = deadlineMs * STOPPING_TRY_SHARE;
    this.stopTimer = setTimeout(() => this.stopping.abort(), deadlineMs / 2).unref();
  }
}

/**
 * The lines about one call waiting for the database: a warning at its first lost connection, then
 * at most one every DATABASE_WAIT_REPORT_MS, and one line when the database answers again.
 */
export function waitReports(
  what: string,
  patienceMs: number,
  log: PatienceLog,
): Required<Pick<ConnectionRetryOptions, 'onRetry' | 'onRecovered'>> {
  let reportedAtMs: number | undefined;
  return {
    onRetry: (error, attempt, awayMs) => {
      if (reportedAtMs !== undefined && awayMs - reportedAtMs < DATABASE_WAIT_REPORT_MS) return;
      const first = reportedAtMs === undefined;
      reportedAtMs = awayMs;
      log.warn(
        first
          ? `${what} waits for the database (try ${attempt}: ${databaseErrorLine(error)}); it tries again ${patienceMs > 0 ? `for up to ${duration(patienceMs)}` : 'a few times over about 3 s'} (WORKER_DATABASE_OUTAGE_PATIENCE_MS)`
          : `${what} still waits for the database after ${duration(awayMs)} (try ${attempt}: ${databaseErrorLine(error)})`,
      );
    },
    onRecovered: (awayMs, tries) =>
      log.log(`the database answers again after ${duration(awayMs)} away; ${what} went on (try ${tries})`),
  };
}

/**
 * The lines about a check repeated every fraction of a second (a training's cancel check) while it
 * fails: the first failure, then at most one every DATABASE_WAIT_REPORT_MS with how many failed,
 * and one line once it answers again. Before, an outage of two minutes wrote 240 lines a training.
 */
export function repeatedFailureReports(
  what: string,
  log: PatienceLog,
  now: () => number = Date.now,
): { failed(error: unknown): void; answered(): void } {
  let since: number | undefined;
  let reportedAtMs = 0;
  let failures = 0;
  return {
    failed(error) {
      const at = now();
      failures++;
      if (since === undefined) {
        since = reportedAtMs = at;
        log.warn(`${what} failed: ${databaseErrorLine(error)}`);
      } else if (at - reportedAtMs >= DATABASE_WAIT_REPORT_MS) {
        reportedAtMs = at;
        log.warn(`${what} still fails after ${duration(at - since)} (${failures} tries): ${databaseErrorLine(error)}`);
      }
    },
    answered() {
      if (since === undefined) return;
      log.log(`${what} answers again after ${duration(now() - since)} (${failures} failed)`);
      since = undefined;
      failures = 0;
    },
  };
}

function duration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${Math.round(ms / 1000)} s`;
}
