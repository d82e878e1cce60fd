import { ConsoleLogger, type ConsoleLoggerOptions } from '@nestjs/common';
import { escapeControlCharacters, redact } from './redact';

/**
 * Nest's console logger, but no line carries a secret (URL passwords, bearer tokens, registered
 * secret values) or a raw control character: a name with a newline cannot forge a log line.
 */
export class SafeConsoleLogger extends ConsoleLogger {
  constructor(context: string, options: ConsoleLoggerOptions) {
    super(context, options);
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
