import { ServiceUnavailableException } from '@nestjs/common';

/** Rejects with `message` when `work` has not settled within `ms`; the timer never outlives the race. */
export async function withDeadline<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `work` that needs Redis, under the API's Redis deadline: when Redis fails or does not answer in
 * time, a 503 saying what is `unavailable`, naming Redis and why in words that hold no address
 * (`no answer within N ms`, `unreachable`): ioredis's own say where Redis is, which is no client's
 * business. The outage itself is in the API's log (libs/infrastructure's Redis reachability).
 */
export async function fromRedis<T>(work: Promise<T>, deadlineMs: number, unavailable: string): Promise<T> {
  const silent = `no answer within ${deadlineMs} ms`;
  try {
    return await withDeadline(work, deadlineMs, silent);
  } catch (err) {
    const why = (err as Error).message === silent ? silent : 'unreachable';
    throw new ServiceUnavailableException(`${unavailable}: Redis ${why}`);
  }
}
