import { ConsoleLogger, type ConsoleLoggerOptions, type LogLevel } from '@nestjs/common';
import { LOG_FIELD_NAMES, logFieldsInEffect, logFieldsPrefix, type LogFields } from './log-fields';
import { escapeControlCharacters, redact } from './redact';

type Params = Record<string, unknown>;

/**
 * Nest's console logger, but no line carries a secret (URL passwords, bearer tokens, registered
 * secret values) or a raw control character: a name with a newline cannot forge a log line.
 * Lines carry what they are about (run, attempt, job, request: see log-fields.ts), from a params
 * object (`logger.log('started', { runId, attempt, jobId })`) or withLogFields: top-level fields
 * of the JSON object in JSON mode, a `[run … attempt … job …]` prefix in text mode.
 */
export class SafeConsoleLogger extends ConsoleLogger {
  constructor(context: string, options: ConsoleLoggerOptions) {
    super(context, { flattenParams: true, ...options });
  }

  protected override printMessages(
    messages: unknown[],
    context?: string,
    logLevel?: LogLevel,
    writeStreamType?: 'stdout' | 'stderr',
    errorStack?: unknown,
    params?: Params,
  ): void {
    const merged: Params = { ...logFieldsInEffect(), ...params };
    const cleaned = Object.keys(merged).length
      ? (Object.fromEntries(Object.entries(merged).map(([k, v]) => [k, clean(v)])) as Params)
      : undefined;
    super.printMessages(messages, context, logLevel, writeStreamType, errorStack, cleaned);
  }

  protected override formatMessage(
    logLevel: LogLevel,
    message: unknown,
    pidMessage: string,
    formattedLogLevel: string,
    contextMessage: string,
    timestampDiff: string,
    params?: Params,
  ): string {
    const fields: LogFields = {};
    const rest: Params = {};
    for (const [key, value] of Object.entries(params ?? {})) {
      if ((LOG_FIELD_NAMES as string[]).includes(key)) (fields as Params)[key] = value;
      else rest[key] = value;
    }
    const prefix = logFieldsPrefix(fields);
    const about = prefix ? `${contextMessage}${prefix} ` : contextMessage;
    return super.formatMessage(
      logLevel,
      message,
      pidMessage,
      formattedLogLevel,
      about,
      timestampDiff,
      Object.keys(rest).length ? rest : undefined,
    );
  }

  override log(message: unknown, ...rest: unknown[]): void {
    super.log(clean(message), ...rest.map(clean));
  }
  override error(message: unknown, ...rest: unknown[]): void {
    super.error(clean(message), ...rest.map(clean));
  }
  override warn(message: unknown, ...rest: unknown[]): void {
    super.warn(clean(message), ...rest.map(clean));
  }
  override debug(message: unknown, ...rest: unknown[]): void {
    super.debug(clean(message), ...rest.map(clean));
  }
  override verbose(message: unknown, ...rest: unknown[]): void {
    super.verbose(clean(message), ...rest.map(clean));
  }
  override fatal(message: unknown, ...rest: unknown[]): void {
    super.fatal(clean(message), ...rest.map(clean));
  }
}

function clean(value: unknown): unknown {
  if (typeof value === 'string') return escapeStackSafe(redact(value));
  if (value instanceof Error) {
    const copy = new Error(redact(value.message));
    copy.name = value.name;
    copy.stack = value.stack ? redact(value.stack) : undefined;
    return copy;
  }
  return value;
}

/** Stack traces keep their newlines (they are ours, not a user's); other text has them escaped. */
function escapeStackSafe(text: string): string {
  return /^\s*at .+\(.+:\d+:\d+\)$/m.test(text) ? text : escapeControlCharacters(text);
}
