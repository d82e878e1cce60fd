import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What a log line is about, as fields a log shipper can filter on: the run, attempt and BullMQ
 * job of a training, the request id of an API call.
 */
export interface LogFields {
  runId?: string;
  attempt?: number;
  jobId?: string;
  requestId?: string;
}

const current = new AsyncLocalStorage<LogFields>();

/**
 * Runs `fn` so that every line logged from it, and from whatever it starts (promises, timers,
 * events of the resources it creates), carries `fields` as well as those already in effect.
 */
export function withLogFields<T>(fields: LogFields, fn: () => T): T {
  return current.run({ ...current.getStore(), ...fields }, fn);
}

/**
 * Runs `fn` with no fields in effect: for what outlives the work it was started from (a training
 * process started ahead for the next attempt must not carry the ended one's run).
 */
export function withoutLogFields<T>(fn: () => T): T {
  return current.exit(fn);
}

/** The fields in effect here; empty outside withLogFields. */
export function logFieldsInEffect(): LogFields {
  return current.getStore() ?? {};
}

/** The text-mode form of the fields: `[run <id> attempt <n> job <id>]`, `[request <id>]`, or ''. */
export function logFieldsPrefix(fields: LogFields): string {
  const parts: string[] = [];
  if (fields.runId !== undefined) parts.push(`run ${fields.runId}`);
  if (fields.attempt !== undefined) parts.push(`attempt ${fields.attempt}`);
  if (fields.jobId !== undefined) parts.push(`job ${fields.jobId}`);
  if (fields.requestId !== undefined) parts.push(`request ${fields.requestId}`);
  return parts.length ? `[${parts.join(' ')}]` : '';
}

export const LOG_FIELD_NAMES: readonly (keyof LogFields)[] = ['runId', 'attempt', 'jobId', 'requestId'];
