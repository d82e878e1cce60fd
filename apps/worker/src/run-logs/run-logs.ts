import { Inject, Injectable, Logger } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import type { ObjectStore } from '@trainyard/storage';
import { AttemptLog, type AttemptFields } from './attempt-log';
import { RUN_LOG_LINGER_MS, RunLogWriter } from './run-log.writer';
import { CONFIG, OBJECT_STORE } from '@trainyard/infrastructure';

/** How long a stopping worker gives the store to take the lines it still lacks, all logs at once. */
export const RUN_LOG_LAST_WRITE_MS = 2000;

/** Opens the log of each attempt this worker runs (see RunLogWriter for how it is stored). */
@Injectable()
export class RunLogs {
  private readonly logger = new Logger(RunLogs.name);
  /** Logs that may still write: open, or closed with a tail the store has not taken yet. */
  private readonly unfinished = new Map<RunLogWriter, AttemptFields>();

  constructor(
    @Inject(CONFIG) private readonly config: TrainyardConfig,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
  ) {}

  open(fields: AttemptFields): AttemptLog {
    const writer: RunLogWriter = new RunLogWriter({
      store: this.store,
      runId: fields.runId,
      attempt: fields.attempt,
      jobId: fields.jobId,
      chunkBytes: this.config.runLogs.chunkBytes,
      flushMs: this.config.runLogs.flushMs,
      onStoreError: (error) =>
        this.logger.warn(
          `the run's log could not be written to ${this.store.description} (${error.message}); lines wait in memory and are retried`,
          { ...fields },
        ),
      onGiveUp: (lines) =>
        this.logger.warn(
          `up to ${lines} lines of the run's log were lost: ${this.store.description} did not take them within ${RUN_LOG_LINGER_MS / 60_000} minutes of the attempt's end`,
          { ...fields },
        ),
      onFinished: () => this.unfinished.delete(writer),
    });
    this.unfinished.set(writer, fields);
    return new AttemptLog(fields, writer);
  }

  /**
   * The worker stops (after its trainings ended, or its shutdown deadline passed): every log whose
   * lines the store lacks (an attempt that ended while the store was down and still retries its
   * tail, or one still open) gets a last write, up to RUN_LOG_LAST_WRITE_MS for all of them; what
   * the store still lacks then goes with the process, and the process log says how many lines, per
   * attempt (`withinMs`: less, when the worker's shutdown deadline leaves less). Returns the lines lost.
   */
  async stop(withinMs = RUN_LOG_LAST_WRITE_MS): Promise<number> {
    const logs = [...this.unfinished];
    this.unfinished.clear();
    const lost = await Promise.all(
      logs.map(async ([writer, fields]) => {
        const lines = await writer.abandon(Math.min(withinMs, RUN_LOG_LAST_WRITE_MS));
        if (lines > 0)
          this.logger.warn(
            `up to ${lines} lines of the run's log were lost: the worker stopped before ${this.store.description} took them`,
            { ...fields },
          );
        return lines;
      }),
    );
    return lost.reduce((sum, lines) => sum + lines, 0);
  }
}
