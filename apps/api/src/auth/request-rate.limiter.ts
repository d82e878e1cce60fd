import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpException, HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import type { TrainingQueues } from '@trainyard/queue';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { CONFIG, REDIS, TRAINING_QUEUES } from '@trainyard/infrastructure';
import { withDeadline } from '../common/with-deadline';

/** How long a request waits for Redis to count it before it is counted in this process instead. */
const STORE_DEADLINE_MS = 500;
/** How long requests are counted in this process after Redis failed to count one. */
const STORE_RETRY_AFTER_MS = 5000;

/** One budget: counted in Redis, and in this process while Redis does not answer. */
interface Budget {
  shared: RateLimiterRedis;
  inProcess: RateLimiterMemory;
}

/**
 * Requests per minute per key (or per client address before a key is proven), and per project
 * for its keys together, counted in Redis so every API replica spends from the same budgets.
 * While Redis does not answer, each process counts on its own rather than letting everything
 * through: a count Redis has not answered within STORE_DEADLINE_MS sends that request, and every
 * request for STORE_RETRY_AFTER_MS after it, to the process's own count. A stalled Redis costs one
 * request in STORE_RETRY_AFTER_MS that wait.
 */
@Injectable()
export class RequestRateLimiter {
  private readonly logger = new Logger(RequestRateLimiter.name);
  /** RATE_LIMIT_PER_MINUTE: a key's, or a client address's failed authentications. */
  private readonly requests: Budget;
  /** RATE_LIMIT_PER_PROJECT_PER_MINUTE: the requests of one project's keys together. */
  private readonly projectRequests: Budget;
  /** Until when requests are counted in this process only, after Redis failed to count one. */
  private storeDownUntil = 0;

  constructor(
    @Inject(REDIS) redis: Redis,
    @Inject(CONFIG) config: TrainyardConfig,
    @Inject(TRAINING_QUEUES) queues: TrainingQueues,
  ) {
    // Per deployment: the replicas serving one queue share a budget (the queue an app was given,
    // not only TRAINYARD_QUEUE's value, so two deployments on one Redis never spend each other's).
    const budget = (keyPrefix: string, points: number): Budget => ({
      shared: new RateLimiterRedis({ storeClient: redis, keyPrefix, points, duration: 60 }),
      inProcess: new RateLimiterMemory({ points, duration: 60 }),
    });
    this.requests = budget(`trainyard:rate:${queues.name}`, config.limits.requestsPerMinute);
    this.projectRequests = budget(`trainyard:rate-project:${queues.name}`, config.limits.requestsPerMinutePerProject);
  }

  /** Spends one request of `subject`'s minute: null when allowed, else the seconds until it may retry. */
  async spend(subject: string, budget = this.requests): Promise<number | null> {
    try {
      await this.counted(budget, (limiter) => limiter.consume(subject, 1));
      return null;
    } catch (outcome) {
      if (!(outcome instanceof RateLimiterRes)) {
        this.logger.warn(`Rate limiter unavailable, request let through: ${(outcome as Error).message}`);
        return null;
      }
      return Math.max(1, Math.ceil(outcome.msBeforeNext / 1000));
    }
  }

  /**
   * Whether `subject` has spent its minute, spending nothing: null when it has some left, else the
   * seconds until it has. Asked before work a refused request must not cause (a key's lookup).
   */
  async spent(subject: string): Promise<number | null> {
    try {
      const state = await this.counted(this.requests, (limiter) => limiter.get(subject));
      if (!state || state.consumedPoints < this.requests.shared.points) return null;
      return Math.max(1, Math.ceil(state.msBeforeNext / 1000));
    } catch (error) {
      this.logger.warn(`Rate limiter unavailable, request let through: ${(error as Error).message}`);
      return null;
    }
  }

  /** `operation` on Redis's count, or on this process's while Redis is away or silent. */
  private async counted<T>(budget: Budget, operation: (limiter: RateLimiterAbstract) => Promise<T>): Promise<T> {
    if (Date.now() < this.storeDownUntil) return operation(budget.inProcess);
    try {
      return await withDeadline(
        operation(budget.shared),
        STORE_DEADLINE_MS,
        `Redis did not count the request within ${STORE_DEADLINE_MS} ms`,
      );
    } catch (outcome) {
      if (outcome instanceof RateLimiterRes) throw outcome;
      this.storeDownUntil = Date.now() + STORE_RETRY_AFTER_MS;
      this.logger.warn(
        `Counting requests in this process for ${STORE_RETRY_AFTER_MS / 1000} s: ${(outcome as Error).message}`,
      );
      return operation(budget.inProcess);
    }
  }

  /** Spends one request of `subject`'s minute, or throws the 429 (with Retry-After set on `response`). */
  async enforce(subject: string, response: ServerResponse): Promise<void> {
    const retryAfterS = await this.spend(subject);
    if (retryAfterS === null) return;
    response.setHeader('retry-after', String(retryAfterS));
    throw tooManyRequests(retryAfterS);
  }

  /**
   * Spends one request of `project`'s minute (RATE_LIMIT_PER_PROJECT_PER_MINUTE, its keys
   * together), or throws the 429 naming the setting (with Retry-After set on `response`).
   */
  async enforceProject(project: string, response: ServerResponse): Promise<void> {
    const retryAfterS = await this.spend(`project:${project}`, this.projectRequests);
    if (retryAfterS === null) return;
    response.setHeader('retry-after', String(retryAfterS));
    throw tooManyRequests(
      retryAfterS,
      `Project ${project}'s keys together have made their ${this.projectRequests.shared.points} requests of this minute (RATE_LIMIT_PER_PROJECT_PER_MINUTE)`,
    );
  }

  /** Throws the 429 (with Retry-After set on `response`) when `subject` has spent its minute; spends nothing. */
  async refuseIfSpent(subject: string, response: ServerResponse): Promise<void> {
    const retryAfterS = await this.spent(subject);
    if (retryAfterS === null) return;
    response.setHeader('retry-after', String(retryAfterS));
    throw tooManyRequests(retryAfterS);
  }
}

/**
 * The budget of a request without a proven key: its client address — express's `req.ip`, which is
 * the socket's peer unless API_TRUST_PROXY names the proxy in front (then X-Forwarded-For's client).
 */
export function addressSubject(request: IncomingMessage & { ip?: string }): string {
  return `ip:${request.ip ?? request.socket.remoteAddress ?? 'unknown'}`;
}

function tooManyRequests(retryAfterS: number, why = 'Rate limit reached'): HttpException {
  return new HttpException(
    {
      message: `${why}; retry in ${retryAfterS} s`,
      retryAfterSeconds: retryAfterS,
    },
    HttpStatus.TOO_MANY_REQUESTS,
  );
}
