import { ConsoleLogger, type ConsoleLoggerOptions, type LogLevel } from '@nestjs/common';
import { escapeText } from '@trainyard/contracts';
import { LOG_FIELD_NAMES, logFieldsInEffect, logFieldsPrefix, type LogFields } from './log-fields';
import { redact } from './redact';

type Params = Record<string, unknown>;

/** The context Nest logs an app's creation error under (`ExceptionHandler`), before rethrowing it. */
const NEST_CREATION_ERROR_CONTEXT = 'ExceptionHandler';

/**
 * Nest's console logger, but no line carries a secret (URL passwords, bearer tokens, registered
 * secret values) or a raw control character: a name with a newline cannot forge a log line. The one
 * text printed over several lines is the stack argument of `error` and `fatal`, one frame a line.
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
    // A stack-shaped argument reaches here unescaped (so Nest could tell it apart) when Nest
    // took it for a message after all: escaped like any message.
    const escaped = messages.map((m) => (typeof m === 'string' ? escapeText(m) : m));
    const stack = typeof errorStack === 'string' ? stackLines(errorStack) : errorStack;
    super.printMessages(escaped, context, logLevel, writeStreamType, stack, cleaned);
  }

  protected override printStackTrace(stack: string): void {
    super.printStackTrace(stack ? stackLines(stack) : stack);
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
    // Nest's ExceptionHandler logs an error thrown while an app is created, then hands it to the
    // caller (abortOnError: false, as create-api-app.ts and create-worker.ts create theirs), whose
    // start-failure message says it: printed here as well, every start failure came out twice.
    if (rest.at(-1) === NEST_CREATION_ERROR_CONTEXT) return;
    super.error(clean(message), ...rest.map((r) => this.cleanStackArgument(r)));
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
    super.fatal(clean(message), ...rest.map((r) => this.cleanStackArgument(r)));
  }

  /** A stack keeps its newlines until Nest has told it from the context (see printStackTrace). */
  private cleanStackArgument(value: unknown): unknown {
    return typeof value === 'string' && this.isStackFormat(value) ? redact(value) : clean(value);
  }
}

function clean(value: unknown): unknown {
  if (typeof value === 'string') return escapeText(redact(value));
  if (value instanceof Error) {
    const copy = new Error(escapeText(redact(value.message)));
    copy.name = escapeText(value.name);
    copy.stack = errorStackLines(value);
    return copy;
  }
  return value;
}

/**
 * An Error's stack with its head (`Name: message`) on one line, whatever the message holds, so a
 * message cannot add a line even one shaped like a frame; then its frames, one a line.
 */
function errorStackLines({ stack, message }: Error): string | undefined {
  if (!stack) return undefined;
  const at = message ? stack.indexOf(message) : -1;
  if (at < 0 || stack.slice(0, at).includes('\n')) return stackLines(redact(stack));
  const end = at + message.length;
  return escapeText(redact(stack.slice(0, end))) + stackLines(redact(stack.slice(end)));
}

/** A V8 stack frame: `    at fn (file:1:2)`, `    at async Promise.all (index 0)`. */
const STACK_FRAME = /^[ \t]+at \S/;

/**
 * A stack as lines of frames: a frame keeps its line, and every other newline is escaped, those of
 * the error's message (`Error: <message>` heads a stack, and a message can quote a user's text) and
 * of any text made to look like a stack, so nothing in it starts a line of its own that is not a frame.
 */
function stackLines(stack: string): string {
  const [head = '', ...rest] = stack.split('\n');
  let out = escapeText(head);
  for (const line of rest) out += STACK_FRAME.test(line) ? `\n${escapeText(line)}` : escapeText(`\n${line}`);
  return out;
}
