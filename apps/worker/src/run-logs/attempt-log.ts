import { Logger } from '@nestjs/common';
import type { RunLogLevel } from '@trainyard/contracts';
import type { TrainingOutputLine } from '@trainyard/training/supervisor';
import type { RunLogWriter } from './run-log.writer';

/** The run, attempt and BullMQ job a line is about: fields of every such line in the process log. */
export interface AttemptFields {
  runId: string;
  attempt: number;
  jobId: string;
}

const FLUSH_BEFORE_CONCLUSION_MS = 5000;

/** Where lines of the training's own output appear in the process log. */
const OUTPUT_LOGGERS = { stdout: new Logger('training:stdout'), stderr: new Logger('training:stderr') } as const;

/**
 * The log of one attempt: each line goes to the process log (with runId, attempt and jobId as
 * fields) and to the run's own log in the object store. The worker's lines about the run come
 * through here, and so does everything the training prints.
 */
export class AttemptLog {
  constructor(
    readonly fields: AttemptFields,
    private readonly writer: RunLogWriter,
  ) {}

  log(from: Logger, message: string): void {
    this.line(from, 'log', message);
  }

  warn(from: Logger, message: string): void {
    this.line(from, 'warn', message);
  }

  error(from: Logger, message: string): void {
    this.line(from, 'error', message);
  }

  debug(from: Logger, message: string): void {
    this.line(from, 'debug', message);
  }

  /** Lines `from` one logger, as what takes only warnings and lines wants them (PatienceLog). */
  from(logger: Logger): { warn(message: string): void; log(message: string): void } {
    return { warn: (message) => this.warn(logger, message), log: (message) => this.log(logger, message) };
  }

  /** A line the training printed; stderr lines are warnings in the process log. */
  output(line: TrainingOutputLine): void {
    const logger = OUTPUT_LOGGERS[line.stream];
    if (line.stream === 'stderr') logger.warn(line.text, { ...this.fields });
    else logger.log(line.text, { ...this.fields });
    this.writer.append(line.stream === 'stderr' ? 'warn' : 'log', line.stream, line.text);
  }

  /**
   * Writes the lines so far to the store: before the run is recorded as ended, so a reader that
   * sees it ended reads them all. A store that does not answer holds the conclusion up to 5 s.
   */
  flush(): Promise<void> {
    return this.writer.flush(FLUSH_BEFORE_CONCLUSION_MS);
  }

  close(): Promise<void> {
    return this.writer.close();
  }

  private line(from: Logger, level: RunLogLevel, message: string): void {
    from[level](message, { ...this.fields });
    this.writer.append(level, 'worker', message);
  }
}
