import { Inject, Injectable, Logger } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import type { ObjectStore } from '@trainyard/storage';
import { AttemptLog, type AttemptFields } from './attempt-log';
import { RUN_LOG_LINGER_MS, RunLogWriter } from './run-log.writer';
import { CONFIG, OBJECT_STORE } from '@trainyard/infrastructure';

/** Opens the log of each attempt this worker runs (see RunLogWriter for how it is stored). */
@Injectable()
export class RunLogs {
  private readonly logger = new Logger(RunLogs.name);

  constructor(
    @Inject(CONFIG) private readonly config: TrainyardConfig,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
  ) {}

  open(fields: AttemptFields): AttemptLog {
    const writer = new RunLogWriter({
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
    });
    return new AttemptLog(fields, writer);
  }
}
