import type { Env } from './config.schema';

const ORDER = ['error', 'warn', 'log', 'debug', 'verbose'] as const;
export type LogLevel = (typeof ORDER)[number];

/** Nest's logger takes the list of enabled levels; LOG_LEVEL names the most verbose one. */
export function logLevelsUpTo(level: Env['LOG_LEVEL']): LogLevel[] {
  return ORDER.slice(0, ORDER.indexOf(level) + 1);
}
