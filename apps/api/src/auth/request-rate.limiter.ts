import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpException, HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import type { TrainingQueues } from '@trainyard/queue';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { CONFIG, REDIS, TRAINING_QUEUES } from '@trainyard/infrastructure';

/**
 * Requests per minute per key (or per client address before a key is proven), counted in Redis
 * so every API replica spends from the same budget. While Redis does not answer, each process
 * counts on its own (the insurance limiter) rather than letting everything through.
 */
@Injectable()
export class RequestRateLimiter {
  private readonly logger = new Logger(RequestRateLimiter.name);
  private readonly limiter: RateLimiterRedis;

  constructor(
    @Inject(REDIS) redis: Redis,
    @Inject(CONFIG) config: TrainyardConfig,
    @Inject(TRAINING_QUEUES) queues: TrainingQueues,
  ) {
    const points = config.limits.requestsPerMinute;
    this.limiter = new RateLimiterRedis({
      storeClient: redis,
      // Per deployment: the replicas serving one queue share a budget (the queue an app was given,
      // not only TRAINYARD_QUEUE's value, so two deployments on one Redis never spend each other's).
      keyPrefix: `trainyard:rate:${queues.name}`,
      points,
      duration: 60,
      insuranceLimiter: new RateLimiterMemory({ points, duration: 60 }),
    });
  }

  /** Spends one request of `subject`'s minute: null when allowed, else the seconds until it may retry. */
  async spend(subject: string): Promise<number | null> {
    try {
      await this.limiter.consume(subject, 1);
      return null;
    } catch (outcome) {
      if (!(outcome instanceof RateLimiterRes)) {
        this.logger.warn(`Rate limiter unavailable, request let through: ${(outcome as Error).message}`);
        return null;
      }
      return Math.max(1, Math.ceil(outcome.msBeforeNext / 1000));
    }
  }

  /** Spends one request of `subject`'s minute, or throws the 429 (with Retry-After set on `response`). */
  async enforce(subject: string, response: ServerResponse): Promise<void> {
    const retryAfterS = await this.spend(subject);
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

function tooManyRequests(retryAfterS: number): HttpException {
  return new HttpException(
    {
      message: `Rate limit reached; retry in ${retryAfterS} s`,
      retryAfterSeconds: retryAfterS,
    },
    HttpStatus.TOO_MANY_REQUESTS,
  );
}
