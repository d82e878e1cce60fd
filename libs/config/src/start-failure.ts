import { EnvSchema } from './config.schema';
import { redact } from './redact';
import { SafeConsoleLogger } from './safe-console-logger';

/**
 * What an app's main.ts prints to stderr when the process cannot start (the caller then exits 1).
 * Under LOG_JSON (read from the environment itself: the configuration may be what failed) it is
 * one JSON line of the project's logger, like every other line of the process, the stack a field
 * of it; otherwise the text a person reads at a terminal: the message alone when it already says
 * what to fix (`explained`: a bad setting, Redis down, a schema to migrate…), else the stack.
 * Secrets are redacted either way.
 */
export function printStartFailure(
  context: string,
  error: unknown,
  explained: boolean,
  env: NodeJS.ProcessEnv = process.env,
): void {
  const json = EnvSchema.shape.LOG_JSON.safeParse(env['LOG_JSON']);
  const message = error instanceof Error ? error.message : String(error);
  const stack = !explained && error instanceof Error ? error.stack : undefined;
  if (json.success && json.data) {
    const logger = new SafeConsoleLogger(context, { json: true, logLevels: ['error'] });
    if (stack) logger.error(message, stack);
    else logger.error(message);
    return;
  }
  process.stderr.write(`${redact(explained ? message : (stack ?? message))}\n`);
}
