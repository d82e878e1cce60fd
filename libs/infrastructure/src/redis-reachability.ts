import { Logger } from '@nestjs/common';
import { withoutLogFields } from '@trainyard/config';
import { createRedisConnection, type RedisConnectionOptions } from '@trainyard/queue';
import type { Redis } from 'ioredis';

/**
 * Every Redis connection of a process reports here, through the project's logger (secrets
 * redacted, control characters escaped, one JSON object a line under LOG_JSON): one line when a
 * Redis becomes unreachable, one more for each new reason while it stays so, and one when every
 * connection that failed is back. ioredis emits an 'error' per reconnection attempt (several a
 * second), and BullMQ re-emits each on its Queues, Workers and QueueEvents, printing it raw,
 * stack and all, wherever nothing listens: per attempt is a flood, not a log.
 */
class RedisReachability {
  private readonly logger = new Logger('Redis');
  /**
   * Lines about the process's Redis, never about the request or run in whose context a connection
   * happened to be opened (its events inherit that context).
   */
  private readonly log = {
    error: (message: string) => withoutLogFields(() => this.logger.error(message)),
    log: (message: string) => withoutLogFields(() => this.logger.log(message)),
  };
  private readonly outages = new Map<string, Outage>();

  failed(endpoint: string, connection: Redis, reason: string): void {
    let outage = this.outages.get(endpoint);
    if (!outage) {
      outage = { since: Date.now(), failing: new Set(), reasons: new Set([reason]), recovered: false };
      this.outages.set(endpoint, outage);
      this.log.error(`Redis at ${endpoint} unreachable (${reason}); retrying`);
    }
    outage.failing.add(connection);
    this.stillFailing(endpoint, reason);
  }

  /**
   * A failing connection failed again: a line only for a reason not seen in this outage that says
   * more than the network did (a socket's EPIPE, then ECONNREFUSED, is one outage): a refusal by
   * Redis itself, say WRONGPASS once it answers again with another password.
   */
  stillFailing(endpoint: string, reason: string): void {
    const outage = this.outages.get(endpoint);
    if (!outage || outage.reasons.has(reason) || SYSTEM_ERROR_CODE.test(reason)) return;
    outage.reasons.add(reason);
    this.log.error(`Redis at ${endpoint} still unreachable, now ${reason}; retrying`);
  }

  recovered(endpoint: string, connection: Redis): void {
    const outage = this.outages.get(endpoint);
    if (!outage?.failing.delete(connection)) return;
    outage.recovered = true;
    this.endIfNoneFailing(endpoint, outage);
  }

  /** A failing connection was closed (a shutdown, a Queue closed): it no longer holds the outage open. */
  closed(endpoint: string, connection: Redis): void {
    const outage = this.outages.get(endpoint);
    if (!outage?.failing.delete(connection)) return;
    if (outage.recovered) this.endIfNoneFailing(endpoint, outage);
    else if (outage.failing.size === 0) this.outages.delete(endpoint);
  }

  private endIfNoneFailing(endpoint: string, outage: Outage): void {
    if (outage.failing.size > 0) return;
    this.outages.delete(endpoint);
    const seconds = ((Date.now() - outage.since) / 1000).toFixed(1);
    this.log.log(`Redis at ${endpoint} reachable again (unreachable for ${seconds} s)`);
  }
}

interface Outage {
  since: number;
  /** The connections whose last word was an error. */
  failing: Set<Redis>;
  reasons: Set<string>;
  /** Whether any connection got through since the outage began. */
  recovered: boolean;
}

/** Node's system error codes (ECONNREFUSED, EPIPE, ETIMEDOUT, ENOTFOUND…): the network's reasons. */
const SYSTEM_ERROR_CODE = /^E[A-Z0-9_]+$/;

/** One per process: the API and a worker in one process (the demo) share their Redis's outages. */
const reachability = new RedisReachability();
/** Errors a watched connection has reported: BullMQ re-emits these very objects. */
const reported = new WeakSet<object>();

/**
 * A Redis connection (createRedisConnection) whose failures and recovery are logged once per state
 * change, as are those of every connection duplicated from it (BullMQ's Workers and QueueEvents
 * duplicate the connection they are given).
 */
export function openRedisConnection(url: string, options: RedisConnectionOptions = {}): Redis {
  return watchRedisConnection(createRedisConnection(url, options));
}

/** Where `redis` connects, as the process's Redis lines name it (never the URL: it may hold the password). */
export function redisEndpoint(redis: Redis): string {
  const { host, port, path } = redis.options;
  return path ? String(path) : `${host ?? '127.0.0.1'}:${port ?? 6379}`;
}

/** Reports `connection`'s failures and recovery (see openRedisConnection), and those of its duplicates. */
export function watchRedisConnection(connection: Redis): Redis {
  const endpoint = redisEndpoint(connection);
  let failing = false;
  connection.on('error', (error: unknown) => {
    if (typeof error === 'object' && error !== null) reported.add(error);
    const reason = reasonOf(error);
    if (failing) return reachability.stillFailing(endpoint, reason);
    failing = true;
    reachability.failed(endpoint, connection, reason);
  });
  connection.on('ready', () => {
    if (!failing) return;
    failing = false;
    reachability.recovered(endpoint, connection);
  });
  connection.on('end', () => {
    if (!failing) return;
    failing = false;
    reachability.closed(endpoint, connection);
  });
  const duplicate = connection.duplicate.bind(connection);
  connection.duplicate = (...args: Parameters<Redis['duplicate']>) => watchRedisConnection(duplicate(...args));
  return connection;
}

/**
 * Logs what a BullMQ Queue, Worker or QueueEvents emits as 'error', except the failures of a watched
 * connection, which it re-emits: those are logged once per outage by the connection itself. A
 * Queue with no 'error' listener prints each one raw (console.error), so every one needs this.
 */
export function logQueueErrors(
  emitter: { on(event: 'error', listener: (error: Error) => void): unknown },
  logger: { error(message: string): void },
  what: string,
): void {
  emitter.on('error', (error: Error) => {
    if (reported.has(error)) return;
    logger.error(`${what}: ${error.message}`);
  });
}

/** What a person needs of a connection error: its system code (ECONNREFUSED, ENOTFOUND…) or its message. */
function reasonOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code) return code;
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 200 ? `${message.slice(0, 200)}…` : message;
}
